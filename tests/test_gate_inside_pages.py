"""The booth's "inside now" screen: stays found by plate, and a car moved to another spot."""

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import Booking, Spot
from tests.test_gate_pages import booth, html  # noqa: F401  (the fixture)


def test_the_screen_lists_stays_inside_and_finds_them_by_plate(client, booth, operator):  # noqa: F811
    gate.enter(booth.id, "AB12CDE", operator=operator)
    gate.enter(booth.id, "XY99ZZZ", operator=operator)
    page = html(client.get("/gate/inside"))
    assert "AB12CDE" in page and "XY99ZZZ" in page and "2 stays" in page
    found = html(client.get("/gate/inside?plate=xy-99"))
    assert (
        "XY99ZZZ</strong>" in found
        and "AB12CDE</strong>" not in found
        and "1 stay matching XY99" in found
    )
    long = client.get("/gate/inside?plate=" + "A" * 40)
    assert long.status_code == 200 and "Field cannot be longer" in html(long)


def test_a_car_is_moved_from_the_screen_and_errors_show_by_the_field(
    client,
    booth,  # noqa: F811
    operator,
):
    stay, _ = gate.enter(booth.id, "AB12CDE", operator=operator)
    other, _ = gate.enter(booth.id, "XY99ZZZ", operator=operator)
    labels = {
        s.id: s.label for s in db.session.scalars(select(Spot).where(Spot.lot_id == booth.id))
    }
    free = next(label for sid, label in labels.items() if sid not in (stay.spot_id, other.spot_id))
    url = f"/gate/inside/{stay.id}/move"

    taken = client.post(url, data={f"move-{stay.id}-spot": labels[other.spot_id]})
    assert taken.status_code == 409 and "is taken" in html(taken)
    unknown = client.post(url, data={f"move-{stay.id}-spot": "NOPE9"})
    assert unknown.status_code == 422 and "has no spot" in html(unknown)
    empty = client.post(url, data={f"move-{stay.id}-spot": ""})
    assert empty.status_code == 422 and "Type the new spot" in html(empty)

    moved = client.post(url, data={f"move-{stay.id}-spot": free.lower()})
    assert moved.status_code == 302
    assert f"moved to spot {free}" in html(client.get(moved.location))
    db.session.expire_all()
    assert db.session.get(Booking, stay.id).spot.label == free


def test_drivers_cannot_reach_the_screen(client, auth, driver, lot, operator):
    stay, _ = gate.enter(lot.id, "AB12CDE", operator=operator)
    auth.login(driver.email)
    assert client.get("/gate/inside").status_code == 403
    spot_id = stay.spot_id
    answer = client.post(f"/gate/inside/{stay.id}/move", data={f"move-{stay.id}-spot": "ST2"})
    assert answer.status_code == 403
    db.session.expire_all()
    assert db.session.get(Booking, stay.id).spot_id == spot_id
