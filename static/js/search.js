// Progressive enhancement: tell the server our time zone, and fill in our position.
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
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = "Finding you…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lat").value = pos.coords.latitude.toFixed(5);
      document.getElementById("lon").value = pos.coords.longitude.toFixed(5);
      var radius = document.getElementById("radius");
      if (!radius.value) radius.value = 5;
      status.textContent = "Got it.";
      button.form.requestSubmit ? button.form.requestSubmit() : button.form.submit();
    }, function () {
      status.textContent = "Your browser did not share a location; type a place name instead.";
    }, { timeout: 10000 });
  });
})();
