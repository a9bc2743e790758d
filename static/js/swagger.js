// Starts Swagger UI on /api/docs (Flask-RESTX's inline start-up script, as a file for the CSP).
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = new SwaggerUIBundle({
    url: root.dataset.specUrl,
    validatorUrl: null,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset.slice(1)], // no top bar
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    docExpansion: root.dataset.docExpansion || "none",
  });
});
