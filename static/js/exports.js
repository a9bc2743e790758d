// Progressive enhancement for the exports pages: poll each unfinished job every second.
(() => {
  const unfinished = (status) => status === "pending" || status === "running";

  function render(row, job) {
    const field = (name) => row.querySelector(`[data-field="${name}"]`);
    row.dataset.status = job.status;
    field("status").textContent = job.status;
    field("status").className = `badge job-${job.status}`;
    field("progress").value = job.progress;
    field("progress").textContent = `${job.progress}%`;
    field("percent").textContent = `${job.progress}%`;
    const result = field("result");
    result.replaceChildren();
    if (job.download_url) {
      const link = Object.assign(document.createElement("a"), {
        className: "button small", href: job.download_url, textContent: job.download_label });
      link.setAttribute("download", "");
      result.append(link);
    }
    if (job.error) {
      const error = Object.assign(document.createElement("p"), {
        className: "field-error", textContent: job.error });
      error.setAttribute("role", "alert");
      result.append(error);
    }
    if (!job.download_url && !job.error) {
      result.append(Object.assign(document.createElement("span"), {
        className: "muted", textContent: job.status === "pending" ? "Queued" : "Working on it…" }));
    }
  }

  async function poll(row) {
    try {
      const response = await fetch(row.dataset.statusUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) render(row, await response.json());
    } catch (error) { /* offline for a moment: try again next tick */ }
    if (unfinished(row.dataset.status)) setTimeout(() => poll(row), 1000);
  }

  document.querySelectorAll("tr[data-export]").forEach((row) => {
    if (unfinished(row.dataset.status)) setTimeout(() => poll(row), 1000);
  });
})();
