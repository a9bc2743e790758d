"""Helpers for the Playwright browser tests: the browser, the live server and page actions."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from parkapp.extensions import db
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path("/tmp/parkapp-shots")
# The browser's zone differs from every lot's on purpose: lot pages read times in the lot's zone.
BROWSER_TZ = "Asia/Tokyo"
TIMEOUT_MS = 10_000  # a page that has not answered in 10 s is broken, not slow


def launch(playwright):
    """Debian's Chromium, headless (Playwright's own browsers are never downloaded)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_page(browser, base_url, **context_options):
    """A page in a fresh context (its own cookies) that accepts confirm() dialogs."""
    context = browser.new_context(
        base_url=base_url, timezone_id=BROWSER_TZ, locale="en-GB", **context_options
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def log_in(page, email, password=PASSWORD):
    """Log in through the login form and wait for the signed-in navigation (folded on phones)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out", include_hidden=True).wait_for(state="attached")


def flash(page):
    """The flashed messages of a page."""
    return page.locator(".flashes")


def search_lots(page, term):
    """Search the home page by name or city."""
    page.goto("/")
    page.get_by_label("Where").fill(term)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/\?"))


def lot_card(page, name):
    """The result card of one lot on the home page."""
    return page.locator("article.lot-card").filter(has=page.get_by_role("link", name=name))


def local_input(instant):
    """A datetime-local input value (no zone, whole minutes)."""
    return instant.strftime("%Y-%m-%dT%H:%M")


def lot_local_now(zone_name):
    """The wall-clock time now in a lot's zone, naive."""
    return datetime.now(ZoneInfo(zone_name)).replace(tzinfo=None, second=0, microsecond=0)


def tomorrow_at(zone_name, hour):
    """Tomorrow at `hour`:00 in a lot's zone, naive."""
    return (lot_local_now(zone_name) + timedelta(days=1)).replace(hour=hour, minute=0)


def count(model):
    """Rows of a model as the database holds them now (other processes wrote them)."""
    db.session.rollback()  # end any snapshot the test's session still reads from
    return db.session.scalar(select(func.count()).select_from(model))


def only(model):
    """The single row of a model, fresh from the database."""
    db.session.rollback()
    rows = db.session.scalars(select(model)).all()
    assert len(rows) == 1, rows
    return rows[0]
