"""/lots: anyone finds lots and their availability; admins manage lots."""

import re
from datetime import time

from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    KINDS,
    NO_NUL,
    Resource,
    error_model,
    json_body,
    nullable,
    page_model,
    page_of,
    query_params,
    roles_required,
    viewer_is_admin,
)
from parkapp.api.lots.search_args import AMENITIES, LIST_PARAMS, interval_args, search_args
from parkapp.api.pricing.rates import published_rates, rate_out
from parkapp.core.exceptions import Invalid
from parkapp.lots import availability, live, lots
from parkapp.lots.lots import MAX_HEIGHT_CM, MIN_HEIGHT_CM
from parkapp.models import utcnow
from parkapp.pricing import search as priced_search

ns = Namespace("lots", description="Lots, their spots and availability", path="/")


error = error_model(ns)


CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


lot_out = ns.model(
    "Lot",
    {
        "id": fields.Integer,
        "name": fields.String,
        "address": fields.String,
        "city": fields.String,
        "latitude": fields.Float,
        "longitude": fields.Float,
        "timezone": fields.String(example="Europe/London"),
        "currency": fields.String(example="GBP"),
        "hourly_rate_cents": fields.Integer,
        "daily_max_cents": fields.Integer,
        "grace_minutes": fields.Integer,
        "max_booking_days": fields.Integer,
        "refund_hours_before": fields.Integer(
            description="cancellations refunded in full until this many hours before the "
            "start; null: never"
        ),
        "exit_minutes_after_payment": fields.Integer(
            description="a paid stay leaves without paying more within this time"
        ),
        "opens_at": fields.String(example="07:00", description="local time; null: open 24 hours"),
        "closes_at": fields.String(example="22:00"),
        "open_all_day": fields.Boolean,
        "allow_overnight": fields.Boolean(description="stays may run across closing time"),
        "open_data": fields.Boolean(description="listed in the public occupancy feed"),
        "is_active": fields.Boolean,
        "amenities": fields.List(fields.String(enum=AMENITIES, example="covered")),
        "height_limit_cm": fields.Integer(description="the tallest vehicle that fits; null: none"),
        "total_spots": fields.Integer,
        "available_now": fields.Integer(description="bookable now (without starts_at)"),
        "available": fields.Integer(description="bookable for [starts_at, ends_at) when given"),
        "distance_km": fields.Float(description="when searched by lat/lon"),
        "quote_total_cents": fields.Integer(
            description="with starts_at and ends_at: a standard car's price for the interval "
            "by the rate table (before demand, membership and codes); null: closed then"
        ),
        "quote_currency": fields.String(example="GBP", description="with quote_total_cents"),
    },
)


kind_count = ns.model("KindCount", {"total": fields.Integer, "available": fields.Integer})


lot_detail_out = ns.inherit(
    "LotDetail",
    lot_out,
    {
        "spots_by_kind": fields.Nested(
            ns.model("SpotsByKind", {kind: fields.Nested(kind_count) for kind in KINDS})
        ),
        "rates": fields.List(
            fields.Nested(rate_out), description="active, unexpired rates; else the lot's own"
        ),
    },
)


lot_page = page_model(ns, "LotPage", lot_out)


def _lot_fields(name_required):
    return {
        "name": fields.String(
            required=name_required,
            min_length=1,
            max_length=120,
            pattern=NO_NUL,
            example="Riverside Car Park",
        ),
        "address": fields.String(max_length=255, pattern=NO_NUL),
        "city": fields.String(max_length=120, pattern=NO_NUL),
        "latitude": nullable(fields.Float(min=-90, max=90)),
        "longitude": nullable(fields.Float(min=-180, max=180)),
        "timezone": fields.String(max_length=64, example="Europe/London"),
        "currency": fields.String(min_length=3, max_length=3, example="GBP"),
        "opens_at": nullable(fields.String(pattern=CLOCK.pattern, example="07:00")),
        "closes_at": nullable(fields.String(pattern=CLOCK.pattern, example="22:00")),
        "hourly_rate_cents": fields.Integer(min=0, example=250),
        "daily_max_cents": nullable(fields.Integer(min=0, example=1800)),
        "grace_minutes": fields.Integer(min=0, example=10),
        "max_booking_days": fields.Integer(min=1, example=30),
        "refund_hours_before": nullable(fields.Integer(min=0, example=24)),
        "exit_minutes_after_payment": fields.Integer(min=0, example=15),
        "allow_overnight": fields.Boolean(
            description="stays may run across closing time (default false)"
        ),
        "open_data": fields.Boolean(description="listed in /open/occupancy (default true)"),
        "amenities": fields.List(
            fields.String(example="covered"),
            description=f"any of {', '.join(AMENITIES)} (default none); an unknown one is a 422",
        ),
        "height_limit_cm": nullable(
            fields.Integer(
                min=MIN_HEIGHT_CM, max=MAX_HEIGHT_CM, example=210, description="null: no limit"
            )
        ),
    }


lot_in = ns.model("LotCreate", _lot_fields(True), strict=True)


lot_changes_in = ns.model(
    "LotChanges",
    {
        **_lot_fields(False),
        "is_active": fields.Boolean(description="false deactivates, true reactivates"),
    },
    strict=True,
)


def _clock(value):
    return value.strftime("%H:%M") if value is not None else None


def lot_dict(lot):
    """A lot's own fields: address, position, rates and opening hours."""
    return {
        "id": lot.id,
        "name": lot.name,
        "address": lot.address,
        "city": lot.city,
        "latitude": lot.latitude,
        "longitude": lot.longitude,
        "timezone": lot.timezone,
        "currency": lot.currency,
        "hourly_rate_cents": lot.hourly_rate_cents,
        "daily_max_cents": lot.daily_max_cents,
        "grace_minutes": lot.grace_minutes,
        "max_booking_days": lot.max_booking_days,
        "refund_hours_before": lot.refund_hours_before,
        "exit_minutes_after_payment": lot.exit_minutes_after_payment,
        "opens_at": _clock(lot.opens_at),
        "closes_at": _clock(lot.closes_at),
        "open_all_day": lot.is_open_all_day,
        "allow_overnight": lot.allow_overnight,
        "open_data": lot.open_data,
        "is_active": lot.is_active,
        "amenities": [a.value for a in lot.amenities],
        "height_limit_cm": lot.height_limit_cm,
    }


def _summary_dict(summary, wanted):
    data = lot_dict(summary.lot)
    data["total_spots"] = summary.total_spots
    data["available" if wanted.starts_at is not None else "available_now"] = summary.available
    if summary.distance_km is not None:
        data["distance_km"] = summary.distance_km
    if wanted.ends_at is not None:
        data["quote_total_cents"] = summary.quote.total_cents if summary.quote else None
        data["quote_currency"] = summary.quote.currency if summary.quote else None
    return data


def _detail_dict(lot, counts, for_interval):
    data = lot_dict(lot)
    data["spots_by_kind"] = {
        kind.value: {"total": total, "available": free} for kind, (total, free) in counts.items()
    }
    data["total_spots"] = sum(total for total, _ in counts.values())
    data["available" if for_interval else "available_now"] = sum(
        free for _, free in counts.values()
    )
    data["rates"] = published_rates(lot)
    return data


def _lot_changes(data):
    """The body's lot fields as Python values (times of day parsed)."""
    changes = {name: value for name, value in data.items() if name != "is_active"}
    for name in ("opens_at", "closes_at"):
        if changes.get(name) is not None:
            changes[name] = time.fromisoformat(changes[name])  # the model checked HH:MM
    if "currency" in changes:
        changes["currency"] = changes["currency"].upper()
    return changes


def _set_active(lot, data):
    # Alone, so that a refused deactivation never leaves other changes half applied.
    if len(data) > 1:
        raise Invalid("is_active", "Change is_active in a request of its own.")
    if data["is_active"]:
        lots.reactivate_lot(lot)
    elif lot.is_active:
        lots.deactivate_lot(lot)


@ns.route("/lots")
class LotList(Resource):
    @ns.doc(security=[], params=LIST_PARAMS)
    @ns.response(200, "Active lots with their availability (and prices)", lot_page)
    @ns.response(403, "include_inactive without the admin role", error)
    @ns.response(422, "Invalid filter", error)
    def get(self):
        """Find lots by name, city, position, amenities or height; with spots free now or for an
        interval, each priced for it, filtered by price and sorted by name, distance or price."""
        wanted = search_args()
        found = priced_search.find(wanted)
        return page_of(found, lambda summary: _summary_dict(summary, wanted))

    @ns.expect(lot_in, validate=True)
    @ns.response(201, "Created", lot_detail_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "Name taken", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def post(self):
        """Create a lot (admin)."""
        lot = lots.create_lot(lots.LotInput(**_lot_changes(json_body())))
        return _detail_dict(lot, {}, False), 201


@ns.route(f"/lots/<{ID}:lot_id>")
@ns.param("lot_id", "The lot id")
class LotItem(Resource):
    @ns.doc(
        security=[],
        params=query_params(
            starts_at=("date-time", "ISO 8601 with offset: availability from"),
            ends_at=("date-time", "ISO 8601 with offset: availability until"),
        ),
    )
    @ns.response(200, "The lot with spot counts by kind", lot_detail_out)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "Invalid interval", error)
    def get(self, lot_id):
        """One lot with its rates, opening hours and spot counts by kind."""
        lot = lots.get_lot(lot_id, include_inactive=viewer_is_admin())
        starts_at, ends_at = interval_args()
        counts = live.lot_counts(lot.id, starts_at, ends_at)
        return _detail_dict(lot, counts, starts_at is not None)

    @ns.expect(lot_changes_in, validate=True)
    @ns.response(200, "Updated", lot_detail_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Name taken, or deactivating a lot in use", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def patch(self, lot_id):
        """Change a lot's fields; is_active false/true deactivates or reactivates it (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        if "is_active" in data:
            _set_active(lot, data)
        else:
            lots.update_lot(lot, _lot_changes(data))
        return _detail_dict(lot, availability.counts_by_kind(lot.id, utcnow(), None), False)

    @ns.response(204, "Deactivated")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "The lot has active or upcoming bookings", error)
    @roles_required("admin")
    def delete(self, lot_id):
        """Deactivate a lot; refused while it has active or upcoming bookings (admin)."""
        lots.deactivate_lot(lots.get_lot(lot_id))
        return "", 204
