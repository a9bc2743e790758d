// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
