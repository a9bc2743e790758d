"""Browser security headers: CSP without inline script, no framing, nosniff, HSTS in production."""

import re

import pytest
import requests

from parkapp.security_headers import content_security_policy
from tests.live_server import LiveServer


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers["Content-Security-Policy"]
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize(
    "path", ["/", "/login", "/register", "/reset", "/api/docs", "/api/v1/lots", "/nowhere"]
)
def test_every_page_and_api_answer_carries_the_headers(client, lot, path):
    response = client.get(path)
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # not outside production


def inline_code(html):
    """Executable inline <script> blocks, on* handler attributes and style attributes."""
    scripts = [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]
    handlers = re.findall(r"<[^>]+\son[a-z]+\s*=", html)
    styles = re.findall(r"<[^>]+\sstyle\s*=", html)
    return scripts + handlers + styles


def logged_in(client, user):
    client.post("/login", data={"email": user.email, "password": "correct-horse-battery-42"})
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/",
        "/api/docs",
        "/bookings",
        "/exports",
        "/admin/",
        "/admin/analytics",
        "/gate/lot",
    ],
)
def test_pages_hold_no_inline_script_and_their_style_blocks_carry_the_nonce(
    client, admin, lot, path
):
    if path != "/login":
        logged_in(client, admin)
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    assert inline_code(html) == []
    nonces = re.findall(r"<style nonce=\"([^\"]+)\"", html)
    assert len(nonces) == html.count("<style")
    for nonce in nonces:
        assert f"'nonce-{nonce}'" in policy(response)["style-src"]


def test_map_tiles_host_is_allowed_as_an_image_source():
    assert content_security_policy({})["img-src"] == ["'self'", "data:"]
    tiles = content_security_policy(
        {"MAP_TILE_URL": "https://{s}.tile.example.org/{z}/{x}/{y}.png"}
    )
    assert tiles["img-src"] == ["'self'", "data:", "https://*.tile.example.org"]


def test_production_sends_hsts_on_https_requests_only(app):
    env = {
        "SECRET_KEY": "x" * 40,
        "SECURITY_PASSWORD_SALT": "y" * 40,
        "JWT_SECRET_KEY": "z" * 40,
        "PROXY_FIX_X_PROTO": "1",
    }
    with LiveServer(
        app.config["SQLALCHEMY_DATABASE_URI"], workers=1, threads=2, config="production", env=env
    ) as server:
        plain = requests.get(f"{server.url}/login", timeout=10)
        proxied = requests.get(
            f"{server.url}/login", timeout=10, headers={"X-Forwarded-Proto": "https"}
        )
    assert "Strict-Transport-Security" not in plain.headers
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert (
        "Secure" in proxied.headers["Set-Cookie"]
        and "SameSite=Lax" in proxied.headers["Set-Cookie"]
    )
