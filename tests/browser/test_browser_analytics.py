"""The admin analytics dashboard in real Chromium over two weeks of demo-style history.

An admin follows the Analytics link; every chart canvas is drawn by the vendored Chart.js
with data, the peak-hours heat map is shaded, a lot filter redraws the charts in that lot's
zone, and the page logs no console error and asks nothing of any other host.
"""

import random

from playwright.sync_api import expect

from parkapp import demo
from parkapp.demo import people
from tests.browser_fixtures import log_in

DRAWN = """canvas => {
  const chart = Chart.getChart(canvas);
  if (!chart) return null;
  return chart.data.datasets.reduce(
    (n, set) => n + set.data.filter(v => v !== null && v !== undefined).length, 0);
}"""

# Chart.js and analytics.js are deferred: Chart exists a moment before the charts do.
# A function, not a bare expression: Playwright polls a bare expression with eval(), which
# the Content-Security-Policy refuses.
CHARTS_MADE = (
    "() => typeof Chart !== 'undefined' && "
    "[...document.querySelectorAll('canvas[data-chart]')].every(c => Chart.getChart(c))"
)


def test_admin_sees_every_chart_drawn(new_page, make_user, make_lot, live_server):
    make_user(email="avery@example.com", roles=("admin",), full_name="Avery Admin")
    driver = make_user(email="dana@example.com")
    lots = [
        make_lot(name="Harbour", timezone="Europe/London", spots={"standard": 3}),
        make_lot(name="Midtown", timezone="America/New_York", currency="USD", spots={"ev": 2}),
    ]
    regulars = people.driver_regulars(driver, [lots[0], lots[1], lots[0]])
    demo._history(random.Random(5), lots, regulars, days=14)

    page = new_page()
    problems = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "favicon" not in (msg.location or {}).get("url", "")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda res: (
            problems.append(f"{res.status} {res.url}")
            if res.status >= 400 and not res.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on(
        "request",
        lambda req: None if req.url.startswith(live_server.url) else problems.append(req.url),
    )
    log_in(page, "avery@example.com")
    page.goto("/admin/")
    page.get_by_label("Admin sections").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    page.wait_for_function(CHARTS_MADE)

    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(7)
    for i in range(canvases.count()):
        canvas = canvases.nth(i)
        name = canvas.get_attribute("id")
        drawn = canvas.evaluate(DRAWN)
        assert drawn, f"{name} has no chart or no data: {drawn}"
        assert canvas.bounding_box()["height"] > 50, name
    assert page.locator("#heat-map td.heat-5").count() >= 1
    assert (
        page.locator("#card-peak-hours a", has_text="CSV")
        .get_attribute("href")
        .startswith("/admin/analytics/peak-hours.csv?")
    )

    page.get_by_label("Lot", exact=True).select_option(label="Midtown")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#card-occupancy .note")).to_contain_text("America/New_York")
    page.wait_for_function(CHARTS_MADE)
    revenue = "c => Chart.getChart(c).data.datasets[0].data.reduce((a, v) => a + (v || 0), 0)"
    assert page.locator("#chart-revenue-by-day").evaluate(revenue) > 0
    assert page.locator("#chart-rates").evaluate("c => Chart.getChart(c).data.datasets.length") == 2
    assert problems == []
