"""The audit log: staff changes recorded with before/after and address in the same transaction,
drivers' actions not recorded, secrets never copied, read by admins only (page and API)."""

import json
from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.models import AuditEvent, Lot, utcnow
from parkapp.web import audit
from tests.conftest import PASSWORD, api_book, iso

API = "/api/v1/audit"
ADMIN_IP, OPERATOR_IP = "203.0.113.7", "198.51.100.23"


def events(**filters):
    """Committed events, oldest first (a new transaction: SQLite reads a snapshot)."""
    db.session.commit()
    stmt = audit.query(**filters).order_by(None).order_by(AuditEvent.id)
    return db.session.scalars(stmt).all()


def from_ip(ip):
    return {"environ_base": {"REMOTE_ADDR": ip}}


# -- what is recorded --------------------------------------------------------------------------


def test_an_admin_updating_a_lot_through_the_api_is_one_event(client, lot, admin, admin_headers):
    response = client.patch(
        f"/api/v1/lots/{lot.id}",
        json={"hourly_rate_cents": 350, "city": "Bath"},
        headers=admin_headers,
        **from_ip(ADMIN_IP),
    )
    assert response.status_code == 200, response.get_json()
    [event] = events(action="lot.update")
    assert (event.actor_id, event.actor_email) == (admin.id, "admin@example.com")
    assert (event.target_type, event.target_id) == ("lot", str(lot.id))
    assert event.before == {"hourly_rate_cents": 200, "city": "Testville"}
    assert event.after == {"hourly_rate_cents": 350, "city": "Bath"}
    assert event.ip == ADMIN_IP
    assert event.endpoint == "api.lots_lot_item"
    assert utcnow() - event.created_at < timedelta(minutes=1)


LOT_FORM = {
    "name": "Test Lot 1",
    "address": "",
    "city": "Testville",
    "latitude": "51.5",
    "longitude": "-0.12",
    "timezone": "Europe/London",
    "currency": "GBP",
    "opens_at": "",
    "closes_at": "",
    "hourly_rate": "2.00",
    "daily_max": "15.00",
    "grace_minutes": "10",
    "max_booking_days": "30",
}


def test_an_admin_updating_a_lot_through_the_admin_page_is_one_event(client, auth, lot, admin):
    auth.login(admin.email)
    form = dict(LOT_FORM, name="Renamed Lot", hourly_rate="19.99")
    saved = client.post(f"/admin/lots/{lot.id}/edit", data=form, **from_ip(ADMIN_IP))
    assert saved.status_code == 302
    [event] = events(action="lot.update")
    assert event.actor_email == "admin@example.com" and event.ip == ADMIN_IP
    assert event.target_id == str(lot.id)
    assert event.before == {"name": "Test Lot 1", "hourly_rate_cents": 200}
    assert event.after == {"name": "Renamed Lot", "hourly_rate_cents": 1999}


def test_an_operators_gate_entry_is_recorded(client, lot, operator, operator_headers):
    response = client.post(
        "/api/v1/gate/entry",
        json={"lot_id": lot.id, "license_plate": "GATE 1"},
        headers=operator_headers,
        **from_ip(OPERATOR_IP),
    )
    assert response.status_code == 201, response.get_json()
    [event] = events(action="gate.entry")
    assert event.actor_email == "operator@example.com" and event.ip == OPERATOR_IP
    assert event.target_type == "booking"
    assert event.before is None
    assert event.after["plate"] == "GATE1" and event.after["lot_id"] == lot.id
    assert event.after["status"] == "active"


def test_a_drivers_booking_is_not_recorded(client, lot, driver_headers):
    assert api_book(client, driver_headers, lot).status_code == 201
    assert events() == []


def test_a_rolled_back_admin_change_records_nothing(app, lot, admin):
    with app.test_request_context("/admin/lots", environ_base={"REMOTE_ADDR": ADMIN_IP}):
        login_user(admin)
        db.session.get(Lot, lot.id).name = "Never Saved"
        db.session.flush()
        # the event is written by the flush, in the change's own transaction...
        in_transaction = db.session.scalar(select(func.count(AuditEvent.id)))
        assert in_transaction == 1
        db.session.rollback()
    # ...so rolling the change back takes the event with it
    assert events() == []
    assert db.session.get(Lot, lot.id).name == "Test Lot 1"


def test_a_refused_admin_change_records_nothing(client, lot, admin_headers, driver_headers):
    assert api_book(client, driver_headers, lot).status_code == 201
    refused = client.delete(f"/api/v1/lots/{lot.id}", headers=admin_headers)
    assert refused.status_code == 409
    assert events() == []


def test_roles_and_deactivation_are_named_actions(client, auth, admin, driver):
    auth.login(admin.email)
    client.post(f"/admin/users/{driver.id}/roles", data={"roles": ["user", "operator"]})
    client.post(f"/admin/users/{driver.id}/deactivate")
    [roles] = events(action="user.roles")
    assert roles.target_id == str(driver.id)
    assert (roles.before, roles.after) == ({"roles": ["user"]}, {"roles": ["operator", "user"]})
    [deactivated] = events(action="user.deactivate")
    assert (deactivated.before["active"], deactivated.after["active"]) == (True, False)
    # Deactivation also ends every session (a new fs_uniquifier), recorded but not shown.
    assert deactivated.after["fs_uniquifier"] == "[redacted]"


def test_secrets_are_never_recorded(client, auth, admin):
    auth.login(admin.email)
    client.post("/tf-setup", data={"setup": "authenticator"})
    with client.session_transaction() as session:
        secret = session["tf_totp_secret"]
    factory = client.application.extensions["security"].totp_factory
    client.post("/tf-validate", data={"code": factory.generate_totp_password(secret)})
    changed = client.post(
        "/change",
        data={
            "password": PASSWORD,
            "new_password": "another-long-passphrase-7",
            "new_password_confirm": "another-long-passphrase-7",
        },
    )
    assert changed.status_code == 302
    [two_factor] = events(action="user.two_factor")
    assert two_factor.after["tf_primary_method"] == "authenticator"
    assert two_factor.after["tf_totp_secret"] == "[redacted]"
    [password] = events(action="user.update")
    assert password.after["password"] == "[redacted]"
    stored = json.dumps([[e.before, e.after] for e in events()])
    hashed = db.session.get(type(admin), admin.id).password
    assert secret not in stored and hashed not in stored


# -- reading it --------------------------------------------------------------------------------


@pytest.fixture
def history(client, make_lot, admin, operator, admin_headers, operator_headers):
    """Two lot updates by the admin, a gate entry by the operator."""
    lot = make_lot()
    for rate in (300, 400):
        patched = client.patch(
            f"/api/v1/lots/{lot.id}", json={"hourly_rate_cents": rate}, headers=admin_headers
        )
        assert patched.status_code == 200
    entry = {"lot_id": lot.id, "license_plate": "HIST1"}
    assert (
        client.post("/api/v1/gate/entry", json=entry, headers=operator_headers).status_code == 201
    )
    db.session.commit()
    return lot


def test_api_lists_and_filters_the_log(client, history, admin, operator, admin_headers):
    everything = client.get(API, headers=admin_headers).get_json()
    assert everything["total"] == 3 and everything["page"] == 1
    newest = everything["items"][0]
    assert newest["action"] == "gate.entry" and newest["target"]["type"] == "booking"
    assert newest["actor"] == {"id": operator.id, "email": "operator@example.com"}
    assert set(newest) >= {"actor", "action", "target", "before", "after", "ip", "created_at"}
    oldest = everything["items"][-1]
    assert (oldest["before"], oldest["after"]) == (
        {"hourly_rate_cents": 200},
        {"hourly_rate_cents": 300},
    )

    def total(**args):
        response = client.get(API, query_string=args, headers=admin_headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["total"]

    assert total(actor="admin@") == 2
    assert total(actor=str(operator.id)) == 1
    assert total(action="lot") == 2 and total(action="lot.update") == 2
    assert total(action="gate.entry") == 1 and total(action="lo") == 0
    now = utcnow()
    assert total(**{"from": iso(now - timedelta(minutes=5))}) == 3
    assert total(**{"from": iso(now + timedelta(minutes=5))}) == 0
    assert total(to=iso(now - timedelta(minutes=5))) == 0
    page = client.get(API, query_string={"per_page": 2, "page": 2}, headers=admin_headers)
    assert [len(page.get_json()["items"]), page.get_json()["total"]] == [1, 3]


@pytest.mark.parametrize(
    "args",
    [{"from": "yesterday"}, {"to": "2026-01-01T00:00:00"}, {"per_page": "0"}, {"page": "x"}],
)
def test_api_refuses_bad_filters_with_422(client, admin_headers, args):
    response = client.get(API, query_string=args, headers=admin_headers)
    assert response.status_code == 422
    assert set(response.get_json()) == {"message", "code", "errors"}


def test_page_lists_and_filters_the_log(client, auth, history, admin):
    auth.login(admin.email)  # signing in on the page is an event too: user.login
    page = client.get("/admin/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('<tr id="event-') == 4 and "gate.entry" in html and "user.login" in html
    assert 'href="/admin/audit"' in client.get("/admin/").get_data(as_text=True)  # nav link
    only_gate = client.get("/admin/audit?action=gate").get_data(as_text=True)
    assert only_gate.count('<tr id="event-') == 1
    by_admin = client.get("/admin/audit?actor=admin%40example.com").get_data(as_text=True)
    assert by_admin.count('<tr id="event-') == 3
    today = utcnow().date()
    later = client.get(f"/admin/audit?date_from={today + timedelta(days=1)}")
    assert later.get_data(as_text=True).count('<tr id="event-') == 0
    until_today = client.get(f"/admin/audit?date_to={today}").get_data(as_text=True)
    assert until_today.count('<tr id="event-') == 4
    bad = client.get(f"/admin/audit?date_from={today}&date_to={today - timedelta(days=2)}")
    assert bad.status_code == 422
    assert "The end date is before the start date." in bad.get_data(as_text=True)


def test_only_admins_read_the_log(client, auth, driver, operator, driver_headers, operator_headers):
    assert client.get(API).status_code == 401
    for headers in (driver_headers, operator_headers):
        refused = client.get(API, headers=headers)
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    for user in (driver, operator):
        auth.login(user.email)
        assert client.get("/admin/audit").status_code == 403
        auth.logout()
    assert client.get("/admin/audit").status_code == 302  # anonymous: to the login page


def test_a_staff_request_audits_only_the_app_database(app, admin):
    """The Celery broker's own SQLAlchemy session (SQLite broker) once hit the listener and
    failed on a missing audit_events table, so a task queued by staff was never sent."""
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine
    from sqlalchemy.orm import Session, registry

    engine = create_engine("sqlite://")
    table = Table("messages", MetaData(), Column("id", Integer, primary_key=True))
    table.metadata.create_all(engine)

    class Message:
        pass

    registry().map_imperatively(Message, table)
    with app.test_request_context("/"):
        login_user(admin)
        with Session(engine) as other:
            other.add(Message())
            other.commit()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
