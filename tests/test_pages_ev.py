"""EV pages: admins add and edit chargers; the booth starts, reads and stops charging; the
driver's booking page shows the charging lines of the bill."""

import pytest
from sqlalchemy import func, select

from parkapp.ev import charging as ev
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import Booking, ChargingSession, ChargingStatus, EvStation


def html(response):
    return response.get_data(as_text=True)


def station_form(spot_id=None, **fields):
    data = {
        "charger_type": "level2",
        "power_kw": "7.4",
        "connector": "type2",
        "price_per_kwh": "0.35",
        "idle_fee_per_minute": "0.10",
        "idle_grace_minutes": "5",
        "status": "active",
        **fields,
    }
    if spot_id is not None:
        data["spot_id"] = spot_id
    return data


@pytest.fixture
def ev_lot(make_lot):
    return make_lot(name="Volt Car Park", spots={"ev": 2, "standard": 1})


def spots_of(lot, kind):
    return [spot for spot in lot.spots if spot.kind.value == kind]


def test_an_admin_adds_and_edits_a_charger(client, auth, admin, ev_lot):
    auth.login(admin.email)
    assert "EV chargers" in html(client.get(f"/admin/lots/{ev_lot.id}"))
    empty = client.get(f"/admin/lots/{ev_lot.id}/ev")
    assert empty.status_code == 200 and "No chargers at this lot yet." in html(empty)
    spot = spots_of(ev_lot, "ev")[0]
    added = client.post(f"/admin/lots/{ev_lot.id}/ev/new", data=station_form(spot.id))
    assert added.status_code == 302, html(added)
    station = db.session.scalar(select(EvStation))
    assert (station.power_w, station.price_per_kwh_cents, station.idle_fee_per_minute_cents) == (
        7400,
        35,
        10,
    )
    listing = html(client.get(f"/admin/lots/{ev_lot.id}/ev"))
    assert "Level 2 · 7.4 kW · Type 2" in listing and "0.35 GBP" in listing

    form = html(client.get(f"/admin/ev-stations/{station.id}/edit"))
    assert 'value="7.4"' in form and 'value="0.35"' in form
    saved = client.post(
        f"/admin/ev-stations/{station.id}/edit",
        data=station_form(power_kw="150", charger_type="dc_fast", connector="ccs2"),
    )
    assert saved.status_code == 302
    db.session.refresh(station)
    assert (station.power_w, station.charger_type.value) == (150_000, "dc_fast")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"power_kw": "abc"}, "Enter the power in kW"),
        ({"power_kw": "7.40001"}, "at most 3 decimals"),
        ({"price_per_kwh": "-1"}, "The amount cannot be negative."),
        ({"price_per_kwh": "200"}, "Give a price per kWh in cents from 0 to 10000."),
    ],
)
def test_a_bad_charger_form_shows_the_error_next_to_the_field(
    client, auth, admin, ev_lot, fields, message
):
    auth.login(admin.email)
    spot = spots_of(ev_lot, "ev")[0]
    response = client.post(f"/admin/lots/{ev_lot.id}/ev/new", data=station_form(spot.id, **fields))
    assert response.status_code == 422
    assert message in html(response) and 'class="field-error"' in html(response)
    assert db.session.scalar(select(func.count(EvStation.id))) == 0


def test_a_charger_on_a_standard_spot_is_refused_next_to_the_spot(client, auth, admin, ev_lot):
    auth.login(admin.email)
    standard = spots_of(ev_lot, "standard")[0]
    response = client.post(f"/admin/lots/{ev_lot.id}/ev/new", data=station_form(standard.id))
    assert response.status_code == 422 and "not an ev spot" in html(response)


def test_charger_pages_are_for_admins(client, auth, operator, ev_lot):
    auth.login(operator.email)
    assert client.get(f"/admin/lots/{ev_lot.id}/ev").status_code == 403
    spot = spots_of(ev_lot, "ev")[0]
    assert (
        client.post(f"/admin/lots/{ev_lot.id}/ev/new", data=station_form(spot.id)).status_code
        == 403
    )


@pytest.fixture
def booth_ev(client, auth, operator, ev_lot):
    """The booth of the EV lot, a charger on its first ev spot and an electric car on it."""
    station = ev_stations.create(
        ev_stations.StationInput(
            spot_id=spots_of(ev_lot, "ev")[0].id,
            charger_type="level2",
            power_w=7400,
            connector="type2",
            price_per_kwh_cents=35,
            idle_fee_per_minute_cents=10,
            idle_grace_minutes=5,
        )
    )
    booking, _ = gate.enter(ev_lot.id, "EV12BTH", operator=operator, is_ev=True)
    assert booking.spot_id == station.spot_id
    auth.login(operator.email)
    assert client.post("/gate/lot", data={"lot": ev_lot.id}).status_code == 302
    return station, booking


def test_the_booth_starts_reads_and_stops_charging(client, booth_ev):
    station, booking = booth_ev
    page = html(client.get("/gate/ev"))
    assert "Start charging EV12BTH" in page
    started = client.post(
        f"/gate/ev/{station.id}/start", data={f"start{station.id}-start_wh": "5000"}
    )
    assert started.status_code == 302
    charge = db.session.scalar(select(ChargingSession))
    assert (charge.booking_id, charge.start_wh) == (booking.id, 5000)

    read = client.post(
        f"/gate/ev/sessions/{charge.id}/reading", data={f"read{station.id}-wh": "9000"}
    )
    assert read.status_code == 302
    back = client.post(
        f"/gate/ev/sessions/{charge.id}/reading", data={f"read{station.id}-wh": "8999"}
    )
    assert back.status_code == 422
    assert "The reading 8 999 Wh goes backwards (last 9 000 Wh)." in html(back)
    stopped = client.post(
        f"/gate/ev/sessions/{charge.id}/stop", data={f"stop{station.id}-stop_wh": "15000"}
    )
    assert stopped.status_code == 302
    db.session.expire_all()
    charge = db.session.get(ChargingSession, charge.id)
    assert (charge.status, charge.energy_wh) == (ChargingStatus.FINISHED, 10_000)
    twice = client.post(
        f"/gate/ev/sessions/{charge.id}/stop", data={f"stop{station.id}-stop_wh": "16000"}
    )
    assert twice.status_code == 409 and "stopped already" in html(twice)
    assert db.session.get(ChargingSession, charge.id).stop_wh == 15_000

    fee = html(client.get(f"/gate/exits/{booking.id}"))
    assert "Charging 10 kWh at 0.35 GBP/kWh" in fee and "3.50 GBP" in fee


def test_the_booth_refuses_a_start_without_a_meter_value(client, booth_ev):
    station, _ = booth_ev
    response = client.post(
        f"/gate/ev/{station.id}/start", data={f"start{station.id}-start_wh": "x"}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 0


def test_the_ev_screen_is_for_staff(client, auth, driver, booth_ev):
    station, _ = booth_ev
    auth.logout()
    auth.login(driver.email)
    assert client.get("/gate/ev").status_code == 403
    data = {f"start{station.id}-start_wh": "1"}
    assert client.post(f"/gate/ev/{station.id}/start", data=data).status_code == 403


def test_the_drivers_booking_page_shows_the_charging_lines(
    client, auth, driver, driver_headers, operator, ev_lot
):
    spot = spots_of(ev_lot, "ev")[0]
    station = ev_stations.create(
        ev_stations.StationInput(
            spot_id=spot.id,
            charger_type="level1",
            power_w=2300,
            connector="j1772",
            price_per_kwh_cents=30,
        )
    )
    response = client.post(
        "/api/v1/bookings",
        json={"lot_id": ev_lot.id, "spot_id": spot.id, "vehicle_plate": "EV12DRV"},
        headers=driver_headers,
    )
    assert response.status_code == 201, response.get_json()
    booking_id = response.get_json()["id"]
    charge = ev.start(db.session.get(Booking, booking_id), station, 0, operator)
    ev.stop(charge, 2500, operator)
    auth.login(driver.email)
    page = html(client.get(f"/bookings/{booking_id}"))
    assert "Charging 2.5 kWh at 0.30 GBP/kWh" in page and "0.75 GBP" in page
