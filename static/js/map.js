// The search results on a map: only loaded when MAP_TILE_URL is configured.
(() => {
  const box = document.getElementById("lot-map");
  const data = document.getElementById("lot-map-data");
  if (!box || !data || !window.L) return;
  const lots = JSON.parse(data.textContent);
  box.hidden = false;
  const map = L.map(box);
  L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);

  // The popup reads the card's count, which app.js keeps live.
  const popup = (lot) => () => {
    const live = document.querySelector(`.lot-card [data-live][data-lot-id="${lot.id}"] [data-free]`);
    const wrap = document.createElement("div");
    const link = document.createElement("a");
    link.href = lot.url;
    link.textContent = lot.name;
    const free = document.createElement("div");
    free.textContent = `${live ? live.textContent : lot.free} free`;
    wrap.append(link, free);
    return wrap;
  };

  const bounds = lots.map((lot) => {
    L.marker([lot.lat, lot.lon], { title: lot.name, alt: lot.name })
      .bindPopup(popup(lot))
      .addTo(map);
    return [lot.lat, lot.lon];
  });
  map.fitBounds(bounds, { maxZoom: 15, padding: [24, 24] });
})();
