// Draws the admin analytics charts with the vendored Chart.js from the JSON in the page.
// Each <canvas data-chart> names its chart, the x column, the y column(s), an optional
// column that splits rows into datasets (currency) and a scale (cents -> units).
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var colours = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];

  function column(chart, name) {
    return chart.columns.indexOf(name);
  }

  function datasets(chart, canvas, labels) {
    var x = column(chart, canvas.dataset.x);
    var scale = parseFloat(canvas.dataset.scale || "1");
    var split = canvas.dataset.series ? column(chart, canvas.dataset.series) : -1;
    var out = [];
    canvas.dataset.y.split(",").forEach(function (yName) {
      var y = column(chart, yName);
      var groups = {};
      chart.rows.forEach(function (row) {
        var key = split >= 0 ? (row[split] || "—") : yName;
        groups[key] = groups[key] || {};
        groups[key][row[x]] = row[y] === null ? null : row[y] * scale;
      });
      Object.keys(groups).forEach(function (key) {
        var colour = colours[out.length % colours.length];
        out.push({
          label: key.replace(/_/g, " "),
          data: labels.map(function (label) {
            return label in groups[key] ? groups[key][label] : null;
          }),
          backgroundColor: colour,
          borderColor: colour,
        });
      });
    });
    return out;
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var chart = data[canvas.dataset.chart];
    if (!chart) return;
    var x = column(chart, canvas.dataset.x);
    var labels = [];
    chart.rows.forEach(function (row) {
      if (labels.indexOf(row[x]) < 0) labels.push(row[x]);
    });
    new Chart(canvas, {
      type: canvas.dataset.type,
      data: { labels: labels, datasets: datasets(chart, canvas, labels) },
      options: {
        animation: false,
        indexAxis: canvas.dataset.horizontal ? "y" : "x",
        spanGaps: true,
        plugins: { legend: { display: true } },
      },
    });
  });
})();
