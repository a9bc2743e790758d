"""Absolute links to pages for emails: from the request being served, else from PUBLIC_URL."""

from functools import partial
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

from parkapp.core import links

PAGES = {
    "memberships": "user.memberships",
    "waitlist": "user.waitlist",
    "export_download": "user.export_download",
    "booking": "user.booking_detail",
}


def register():
    """Provide the domain's named links (a renamed endpoint fails loudly when mail is built)."""
    for name, endpoint in PAGES.items():
        links.provide(name, partial(external_url, endpoint))


def external_url(endpoint, **values):
    """The page's absolute URL, or None outside a request when PUBLIC_URL is not set."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return None
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
