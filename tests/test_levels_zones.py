"""Levels and zones: anyone reads them with spot counts, admins create, rename and delete."""

import re

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.lots import spots as spot_service
from parkapp.models import Level, Spot, SpotStatus, Zone

API = "/api/v1"


def test_levels_and_zones_list_their_spots_and_free_now(client, make_lot, operator):
    lot = make_lot(spots={"standard": 3})  # L1 / A
    spot_service.create_spots(lot, 2, "standard", "L2", "B", label_prefix="UP")
    gate.enter(lot.id, "AB12CDE", operator=operator)  # on the first standard spot, L1
    maintenance = db.session.scalar(select(Spot).where(Spot.label == "UP2"))
    maintenance.status = SpotStatus.MAINTENANCE
    db.session.commit()

    body = client.get(f"{API}/lots/{lot.id}/levels").get_json()
    assert [(lv["name"], lv["total_spots"], lv["available_now"]) for lv in body["items"]] == [
        ("L1", 3, 2),
        ("L2", 2, 1),
    ]
    zones = client.get(f"{API}/lots/{lot.id}/zones").get_json()["items"]
    assert [(z["level"], z["name"], z["total_spots"], z["available_now"]) for z in zones] == [
        ("L1", "A", 3, 2),
        ("L2", "B", 2, 1),
    ]
    one = client.get(f"{API}/lots/{lot.id}/zones/{zones[1]['id']}").get_json()
    assert one["name"] == "B" and one["lot_id"] == lot.id
    assert client.get(f"{API}/lots/999999/levels").status_code == 404
    other = make_lot()
    assert client.get(f"{API}/lots/{other.id}/zones/{zones[0]['id']}").status_code == 404


def test_admins_create_rename_and_delete_levels_and_zones(client, make_lot, admin_headers):
    lot = make_lot(spots={"standard": 1})
    l1 = db.session.scalar(select(Level).where(Level.lot_id == lot.id))
    made = client.post(f"{API}/lots/{lot.id}/levels", json={"name": "Roof"}, headers=admin_headers)
    assert made.status_code == 201
    roof = made.get_json()
    assert roof["ordinal"] == l1.ordinal + 1 and roof["total_spots"] == 0
    taken = client.post(f"{API}/lots/{lot.id}/levels", json={"name": "roof"}, headers=admin_headers)
    assert taken.status_code == 409 and taken.get_json()["code"] == "name_taken"

    zone = client.post(
        f"{API}/lots/{lot.id}/zones",
        json={"level_id": roof["id"], "name": "Sky"},
        headers=admin_headers,
    )
    assert zone.status_code == 201 and zone.get_json()["level"] == "Roof"
    elsewhere = make_lot()
    foreign_level = db.session.scalar(select(Level).where(Level.lot_id == elsewhere.id))
    wrong = client.post(
        f"{API}/lots/{lot.id}/zones",
        json={"level_id": foreign_level.id, "name": "X"},
        headers=admin_headers,
    )
    assert wrong.status_code == 422 and "level_id" in wrong.get_json()["errors"]

    renamed = client.patch(
        f"{API}/lots/{lot.id}/levels/{l1.id}", json={"name": "Ground"}, headers=admin_headers
    )
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Ground"
    spot = db.session.scalar(select(Spot).where(Spot.lot_id == lot.id))
    detail = client.get(f"{API}/lots/{lot.id}/spots").get_json()["items"][0]
    assert detail["level"] == "Ground"  # a rename shows on every spot at once
    zone_a = db.session.scalar(select(Zone).where(Zone.level_id == l1.id))
    z = client.patch(
        f"{API}/lots/{lot.id}/zones/{zone_a.id}", json={"name": "North"}, headers=admin_headers
    )
    assert z.status_code == 200 and z.get_json()["name"] == "North"
    for junk in ({"name": ""}, {"name": "x" * 61}, {"colour": "red"}):
        answer = client.patch(
            f"{API}/lots/{lot.id}/zones/{zone_a.id}", json=junk, headers=admin_headers
        )
        assert answer.status_code in (400, 422), junk

    # deleting what spots use is refused; nothing changes
    busy = client.delete(f"{API}/lots/{lot.id}/levels/{l1.id}", headers=admin_headers)
    assert busy.status_code == 409 and busy.get_json()["code"] == "level_in_use"
    busy_zone = client.delete(f"{API}/lots/{lot.id}/zones/{zone_a.id}", headers=admin_headers)
    assert busy_zone.status_code == 409 and busy_zone.get_json()["code"] == "zone_in_use"
    db.session.expire_all()
    assert db.session.get(Spot, spot.id).zone_id == zone_a.id
    # a removed spot does not keep a level alive
    spot_service.delete_spot(db.session.get(Spot, spot.id))
    assert (
        client.delete(f"{API}/lots/{lot.id}/zones/{zone_a.id}", headers=admin_headers).status_code
        == 204
    )
    assert (
        client.delete(f"{API}/lots/{lot.id}/levels/{roof['id']}", headers=admin_headers).status_code
        == 204
    )
    names = [lv["name"] for lv in client.get(f"{API}/lots/{lot.id}/levels").get_json()["items"]]
    assert names == ["Ground"]


def test_only_admins_change_levels_and_zones(client, lot, driver_headers, operator_headers):
    level = db.session.scalar(select(Level).where(Level.lot_id == lot.id))
    zone = level.zones[0]
    for headers in (driver_headers, operator_headers):
        calls = (
            client.post(f"{API}/lots/{lot.id}/levels", json={"name": "X"}, headers=headers),
            client.patch(
                f"{API}/lots/{lot.id}/levels/{level.id}", json={"name": "X"}, headers=headers
            ),
            client.delete(f"{API}/lots/{lot.id}/zones/{zone.id}", headers=headers),
        )
        assert [c.status_code for c in calls] == [403, 403, 403]
    assert client.delete(f"{API}/lots/{lot.id}/levels/{level.id}").status_code == 401


def test_the_lot_page_shows_free_spots_by_level_and_zone(client, make_lot, operator):
    lot = make_lot(spots={"standard": 2})
    spot_service.create_spots(lot, 3, "standard", "Roof", "Sky", label_prefix="UP")
    gate.enter(lot.id, "AB12CDE", operator=operator)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    block = page[page.index('id="levels-title"') :]
    block = block[: block.index("</section>")]
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", block)
    rows = [c.strip() for c in cells if c.strip()]
    assert rows[:4] == ["Level", "Zone", "Free", "Spots"]
    assert rows[4:] == [
        "L1",
        "all",
        "1",
        "2",
        "A",
        "1",
        "2",
        "Roof",
        "all",
        "3",
        "3",
        "Sky",
        "3",
        "3",
    ]


def test_admins_rename_levels_and_zones_on_the_lot_page(client, auth, admin, make_user, lot):
    level = db.session.scalar(select(Level).where(Level.lot_id == lot.id))
    zone = level.zones[0]
    spot_service.create_spots(lot, 1, "standard", "L2", "B", label_prefix="UP")
    auth.login(admin.email)
    page = client.get(f"/admin/lots/{lot.id}").get_data(as_text=True)
    assert f"/admin/lots/{lot.id}/levels/{level.id}/rename" in page
    done = client.post(
        f"/admin/lots/{lot.id}/levels/{level.id}/rename",
        data={"name": "Ground"},
        follow_redirects=True,
    )
    assert "Level L1 is now Ground" in done.get_data(as_text=True)
    taken = client.post(
        f"/admin/lots/{lot.id}/levels/{level.id}/rename",
        data={"name": "L2"},
        follow_redirects=True,
    )
    assert "exists already" in taken.get_data(as_text=True)
    client.post(f"/admin/lots/{lot.id}/zones/{zone.id}/rename", data={"name": "North"})
    db.session.expire_all()
    assert (db.session.get(Level, level.id).name, db.session.get(Zone, zone.id).name) == (
        "Ground",
        "North",
    )
    auth.logout()
    make_user(email="op2@example.com", roles=("operator",))
    auth.login("op2@example.com")
    refused = client.post(f"/admin/lots/{lot.id}/zones/{zone.id}/rename", data={"name": "X"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Zone, zone.id).name == "North"
