"""Rate tables on pages: the admin's rates pages and price check, the driver's lot page."""

import re
from datetime import date, time

import pytest
from sqlalchemy import select

from parkapp.extensions import db
from parkapp.models import Rate
from parkapp.pricing import rates
from tests.conftest import PASSWORD
from tests.test_rates import add, stored

# -- admin pages --------------------------------------------------------------------------------


@pytest.fixture
def as_admin(admin, auth):
    auth.login(admin.email)
    return admin


def field_errors(html, name):
    """The error messages rendered inside the form field holding input `name`."""
    for chunk in html.split('<div class="field')[1:]:
        if f'name="{name}"' in chunk:
            return re.findall(r'class="field-error"[^>]*>([^<]*)<', chunk)
    raise AssertionError(f"no field {name!r} on the page")


FORM = {
    "name": "Night",
    "kind": "hourly",
    "amount": "1.00",
    "unit_minutes": "60",
    "daily_max": "",
    "grace_minutes": "",
    "spot_kind": "",
    "vehicle_type": "",
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "band_starts": "18:00",
    "band_ends": "06:00",
    "effective_from": "",
    "effective_until": "",
}


def test_the_rates_page_shows_the_table_in_words(client, as_admin, lot):
    add(lot, "Night", 100, band_starts=time(18), band_ends=time(6), weekdays=0b0011111)
    rates.deactivate_rate(add(lot, "Old", spot_kind="ev", effective_until=date(2030, 1, 31)))
    assert f'href="/admin/lots/{lot.id}/rates"' in client.get(f"/admin/lots/{lot.id}").text
    page = client.get(f"/admin/lots/{lot.id}/rates").text
    assert "Mon\u2013Fri 18:00\u201306:00" in page and "1.00 GBP per started hour" in page
    assert "until 31 Jan 2030" in page and "ev spots" in page
    assert "2.00 GBP per started hour · at most 15.00 GBP a day · first 10 min free" in page


def test_an_admin_adds_a_rate_through_the_form(client, as_admin, lot):
    response = client.post(f"/admin/lots/{lot.id}/rates/new", data=FORM)
    assert response.status_code == 302
    rate = db.session.scalar(select(Rate).where(Rate.lot_id == lot.id))
    assert (rate.name, rate.amount_cents, rate.weekdays) == ("Night", 100, 0b0011111)
    assert (rate.band_starts, rate.band_ends, rate.spot_kind) == (time(18), time(6), None)


def test_form_errors_show_next_to_their_fields(client, as_admin, lot):
    bad = {**FORM, "amount": "1.005", "band_ends": "", "weekdays": [], "unit_minutes": "0"}
    response = client.post(f"/admin/lots/{lot.id}/rates/new", data=bad)
    assert response.status_code == 422
    assert field_errors(response.text, "amount") == ["Use at most two decimal places."]
    assert field_errors(response.text, "weekdays") == ["Pick at least one weekday."]
    assert field_errors(response.text, "unit_minutes")
    # the service's own checks land next to their fields too
    response = client.post(f"/admin/lots/{lot.id}/rates/new", data={**FORM, "band_ends": ""})
    assert response.status_code == 422
    assert field_errors(response.text, "band_ends") == ["Give both times or neither."]
    response = client.post(f"/admin/lots/{lot.id}/rates/new", data={**FORM, "daily_max": "20"})
    assert field_errors(response.text, "daily_max")
    assert db.session.scalar(select(Rate.id)) is None


def test_a_clash_is_explained_on_the_form(client, as_admin, lot):
    night = add(lot, "Night", 100, band_starts=time(18), band_ends=time(6), weekdays=0b0011111)
    response = client.post(f"/admin/lots/{lot.id}/rates/new", data={**FORM, "name": "Again"})
    assert response.status_code == 409
    assert f"Rate {night.id} (&#39;Night&#39;)" in response.text


def test_an_admin_edits_deactivates_and_reactivates_a_rate(client, as_admin, lot):
    rate = add(lot, "Night", 100, band_starts=time(18), band_ends=time(6))
    form = client.get(f"/admin/rates/{rate.id}/edit").text
    assert 'value="1.00"' in form and 'value="18:00"' in form
    saved = client.post(f"/admin/rates/{rate.id}/edit", data={**FORM, "amount": "1.20"})
    assert saved.status_code == 302
    assert (stored(rate.id).amount_cents, stored(rate.id).weekdays) == (120, 0b0011111)
    assert client.post(f"/admin/rates/{rate.id}/deactivate").status_code == 302
    assert not stored(rate.id).is_active
    assert client.post(f"/admin/rates/{rate.id}/reactivate").status_code == 302
    assert stored(rate.id).is_active


def test_the_price_check_shows_the_quote_lines(client, as_admin, make_lot):
    lot = make_lot(daily_max_cents=None, grace_minutes=0)
    add(lot, "Night", 100, band_starts=time(18), band_ends=time(6))
    check = {"starts": "2030-03-04T16:00", "ends": "2030-03-05T08:00", "spot_kind": ""}
    page = client.get(f"/admin/lots/{lot.id}/rates", query_string=check).text
    assert "4 h at 2.00 GBP/h" in page and "12 h at 1.00 GBP/h (Night)" in page
    assert "20.00 GBP" in page  # 8.00 + 12.00
    backwards = {**check, "ends": "2030-03-04T15:00"}
    response = client.get(f"/admin/lots/{lot.id}/rates", query_string=backwards)
    assert response.status_code == 422
    assert field_errors(response.text, "ends") == ["Leave after you arrive."]
    skipped = {**check, "starts": "2030-03-31T01:30"}  # the clocks go forward at 01:00
    response = client.get(f"/admin/lots/{lot.id}/rates", query_string=skipped)
    assert field_errors(response.text, "starts") == [
        "The clocks change at that time; pick another time."
    ]


def test_rate_pages_are_for_admins_only(client, auth, driver, lot):
    rate = add(lot)
    pages = [f"/admin/lots/{lot.id}/rates", f"/admin/lots/{lot.id}/rates/new"]
    pages.append(f"/admin/rates/{rate.id}/edit")
    for url in pages:
        assert client.get(url).status_code == 302  # to the login page
    auth.login(driver.email)
    for url in pages:
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/rates/{rate.id}/deactivate").status_code == 403
    assert stored(rate.id).is_active


def test_rate_actions_need_the_csrf_token(client, app, admin, lot, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    def token(path):
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)

    client.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token("/login")}
    )
    rate = add(lot)
    assert client.post(f"/admin/rates/{rate.id}/deactivate").status_code == 400
    assert client.post(f"/admin/lots/{lot.id}/rates/new", data=FORM).status_code == 400
    assert stored(rate.id).is_active and len(stored(rate.id).lot.rates) == 1
    with_token = {"csrf_token": token(f"/admin/lots/{lot.id}/rates")}
    assert client.post(f"/admin/rates/{rate.id}/deactivate", data=with_token).status_code == 302
    assert not stored(rate.id).is_active


# -- the driver's lot page ----------------------------------------------------------------------


def test_drivers_read_the_rate_table_in_plain_words(client, lot):
    add(lot, "Night", 100, band_starts=time(18), band_ends=time(6))
    add(lot, "Weekend", 1200, kind="flat", weekdays=0b1100000)
    rates.deactivate_rate(add(lot, "Gone", spot_kind="ev"))
    add(lot, "Expired", vehicle_type="van", effective_until=date(2020, 1, 1))
    page = client.get(f"/lots/{lot.id}").text
    assert "<strong>Night</strong>: 1.00 GBP per started hour · 18:00\u201306:00" in page
    assert "<strong>Weekend</strong>: 12.00 GBP flat per band · Sat, Sun" in page
    assert "Gone" not in page and "Expired" not in page
    assert "2.00 GBP" in page  # the lot's own rate still shows
