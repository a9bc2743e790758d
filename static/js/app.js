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

  let streaming = false; // the lot's live stream pushes the counts: no polling meanwhile
  const schedule = () => {
    if (!streaming && timer === null && !document.hidden) timer = setTimeout(poll, delay);
  };
  document.addEventListener("parkapp:counts", (event) => show(event.detail));
  document.addEventListener("parkapp:stream", (event) => {
    streaming = event.detail === "start";
    clearTimeout(timer);
    timer = null;
    schedule();
  });

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
    if (!document.hidden && !streaming) poll();
  });
  schedule();
})();

// Pushed updates: the lot page's counts come from the lot's live stream (server-sent events)
// instead of polling; a region marked data-live-region (my bookings, my waitlists, the gate
// dashboard) is fetched again when one of its lots changes. Without EventSource, or when the
// stream fails, the page falls back to polling.
(() => {
  const streamUrl = (lot) => `/api/v1/lots/${lot}/stream`;

  const follow = (lot, onChange, onFail) => {
    if (!window.EventSource || !lot) return onFail();
    const source = new EventSource(streamUrl(lot));
    let failures = 0;
    source.addEventListener("availability", (event) => {
      failures = 0;
      onChange(JSON.parse(event.data));
    });
    source.onerror = () => {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures > 3) {
        source.close();
        onFail();
      }
    };
    return source;
  };

  // The lot page: one lot's counts.
  const cells = document.querySelectorAll("[data-live][data-lot-id]");
  const lots = [...new Set([...cells].map((el) => el.dataset.lotId))];
  if (lots.length === 1) {
    document.dispatchEvent(new CustomEvent("parkapp:stream", { detail: "start" }));
    follow(
      lots[0],
      (data) => {
        const total = Object.values(data.by_kind).reduce((sum, k) => sum + k.total, 0);
        const doc = { [data.lot_id]: { available_now: data.available_now, total_spots: total, by_kind: data.by_kind } };
        document.dispatchEvent(new CustomEvent("parkapp:counts", { detail: doc }));
      },
      () => document.dispatchEvent(new CustomEvent("parkapp:stream", { detail: "failed" })),
    );
  }

  // Regions that are fetched again when their lot changes (or every data-poll-seconds).
  document.querySelectorAll("[data-live-region]").forEach((region) => {
    const seconds = Number(region.dataset.pollSeconds) || 30;
    let busy = false;
    let again = false; // a change heard while fetching: fetch once more afterwards
    const refresh = async () => {
      if (busy) {
        again = true;
        return;
      }
      if (document.hidden) return;
      const focused = document.activeElement;
      if (focused && region.contains(focused) && focused.matches("input, select, textarea")) return;
      busy = true;
      try {
        const response = await fetch(window.location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
        if (response.ok) {
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = page.getElementById(region.id);
          if (fresh) region.innerHTML = fresh.innerHTML;
        }
      } catch (error) {
        // offline or restarting: the next tick tries again
      }
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    };
    const lot = (region.dataset.streamLots || "").split(",").filter(Boolean)[0];
    // Every event refreshes, the stream's first one too: a change made between this page's
    // render and the stream's subscription would otherwise wait for the next poll.
    follow(lot, refresh, () => {});
    setInterval(refresh, seconds * 1000);
  });
})();
