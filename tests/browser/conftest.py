"""Fixtures of the browser tests: a live gunicorn with CSRF on, Debian's Chromium, pages.

Every test here is marked `browser` and fails on a traceback in the server's log. Without
/usr/bin/chromium the tests are skipped with the reason.
"""

from pathlib import Path

import pytest

from tests.browser_fixtures import CHROMIUM, launch, open_page
from tests.live_server import LiveServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    missing = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(missing)


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn on the session's database, with CSRF protection on."""
    with LiveServer(
        app.config["SQLALCHEMY_DATABASE_URI"],
        workers=2,
        threads=8,
        # Pages open live streams: at most 3 per process, so 5 threads serve everything else.
        env={"WTF_CSRF_ENABLED": "true", "STREAM_MAX_PER_PROCESS": "3"},
    ) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory: a page in its own browser context (one per person in the test)."""
    contexts = []

    def make(**options):
        page = open_page(browser, live_server.url, **options)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def server_errors_fail_the_test(live_server):
    """A traceback in gunicorn's log during a test fails it, even if the page looked fine."""
    before = len(live_server.log(last_chars=10**9))
    yield
    new_output = live_server.log(last_chars=10**9)[before:]
    assert "Traceback" not in new_output, new_output
