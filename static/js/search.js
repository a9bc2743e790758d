// Progressive enhancement: tell the server our time zone, and search near the browser's
// position with "Near me". Without JavaScript, or when the position is refused, the typed
// search works as before.
(function () {
  var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var field = document.querySelector("[data-browser-tz]");
  if (tz && field && !field.value) {
    field.value = tz;
    document.querySelectorAll("[data-tz-label]").forEach(function (el) { el.textContent = tz; });
  }
  var button = document.querySelector("[data-locate]");
  if (!button || !navigator.geolocation) return;
  var status = document.querySelector("[data-locate-status]");
  var form = button.form;
  var lat = form.querySelector("[data-lat]");
  var lon = form.querySelector("[data-lon]");
  var where = form.querySelector("#q");
  button.hidden = false;
  function submit() {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  button.addEventListener("click", function () {
    status.textContent = "Finding you…";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(5);
      lon.value = pos.coords.longitude.toFixed(5);
      if (where) where.value = "";  // near me replaces the typed place
      status.textContent = "Searching near you…";
      submit();
    }, function () {
      button.disabled = false;
      lat.value = "";
      lon.value = "";
      var typed = where && where.value.trim();
      status.textContent = typed
        ? "Your browser did not share a location; searching for what you typed."
        : "Your browser did not share a location; type a place name instead.";
      if (typed) submit(); else if (where) where.focus();
    }, { timeout: 10000, maximumAge: 60000 });
  });
})();
