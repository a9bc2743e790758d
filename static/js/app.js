// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Live free counts: an element with data-live data-lot-id (and data-kind for one kind of spot) holding
// <span data-free> and <span data-total> is refreshed every few seconds while the tab is shown.
(() => {
  const cells = () => document.querySelectorAll("[data-live][data-lot-id]");
  if (!cells().length || !window.fetch) return;
  const ids = [...new Set([...cells()].map((el) => el.dataset.lotId))].slice(0, 100);
  const url = `/lots/availability?ids=${ids.join(",")}`;
  let etag = null;
  let delay = 3000;
  let timer = null;

  const show = (doc) => {
    cells().forEach((el) => {
      const lot = doc[el.dataset.lotId];
      if (!lot) return;
      const kind = el.dataset.kind;
      const counts = kind
        ? lot.by_kind[kind] || { total: 0, available: 0 }
        : { total: lot.total_spots, available: lot.available_now };
      const free = el.querySelector("[data-free]");
      const total = el.querySelector("[data-total]");
      if (free) free.textContent = counts.available;
      if (total) total.textContent = counts.total;
      el.classList.toggle("some", counts.available > 0);
      el.classList.toggle("none", counts.available === 0);
    });
  };

  const schedule = () => {
    if (timer === null && !document.hidden) timer = setTimeout(poll, delay);
  };

  const poll = async () => {
    timer = null;
    if (document.hidden) return;
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      const response = await fetch(url, { headers, cache: "no-store" });
      const seconds = Number(response.headers.get("X-Poll-Seconds"));
      if (seconds > 0) delay = seconds * 1000;
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        show(await response.json());
      }
    } catch (error) {
      // offline or the server restarting: try again at the next tick
    }
    schedule();
  };

  document.addEventListener("visibilitychange", () => {
    clearTimeout(timer);
    timer = null;
    if (!document.hidden) poll();
  });
  schedule();
})();
