"""Browser security headers on every answer, set by Flask-Talisman.

The Content-Security-Policy allows scripts and styles from our own origin only: pages keep
their JavaScript in static/js and their styles in static/css, and the few <style> blocks in
templates carry the per-request nonce (`csp_nonce()`). Map tiles are images from
MAP_TILE_URL's host when it is set. HTTPS is the proxy's job (see PROXY_FIX_X_* and ProxyFix),
so Talisman never redirects; HSTS is sent in production only, on requests that came over
HTTPS.
"""

from urllib.parse import urlsplit

from parkapp.extensions import talisman

SELF, NONE = "'self'", "'none'"


def init_app(app):
    """Install the headers; cookie flags stay where config.py sets them."""
    talisman.init_app(
        app,
        force_https=False,
        strict_transport_security=app.config["HSTS_SECONDS"] > 0,
        strict_transport_security_max_age=app.config["HSTS_SECONDS"],
        frame_options="DENY",
        content_security_policy=content_security_policy(app.config),
        content_security_policy_nonce_in=["style-src"],
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )


def content_security_policy(config):
    """The policy: our own origin for everything, plus the map tile host for images."""
    images = [SELF, "data:"]  # Leaflet and Swagger UI draw a few icons from data: URLs
    if config.get("MAP_TILE_URL"):
        images.append(tile_source(config["MAP_TILE_URL"]))
    return {
        "default-src": SELF,
        "script-src": SELF,
        "style-src": SELF,
        "img-src": images,
        "font-src": SELF,
        "connect-src": SELF,
        "object-src": NONE,
        "base-uri": SELF,
        "frame-ancestors": NONE,
    }


def tile_source(url):
    """The CSP source of a tile URL template: its scheme and host, `{s}` as a wildcard."""
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"
