"""/rates: anyone reads a lot's rate table; admins add, change and deactivate rates."""

from datetime import date, time

from flask import request
from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_ID,
    MAX_PER_PAGE,
    NO_NUL,
    Resource,
    arg_int,
    error_model,
    json_body,
    nullable,
    optional_user,
    page_model,
    paginate,
    query_params,
    roles_required,
)
from parkapp.core import inputs
from parkapp.core.exceptions import Forbidden, Invalid
from parkapp.lots import lots
from parkapp.models import RateKind, SpotKind, VehicleType
from parkapp.pricing import rates

ns = Namespace("rates", description="Rate tables: what parking costs, and when", path="/")
error = error_model(ns)

CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
RATE_KINDS = [kind.value for kind in RateKind]
SPOT_KINDS = [kind.value for kind in SpotKind]
VEHICLE_TYPES = [kind.value for kind in VehicleType]
# Reading is public; a token, when sent, must be valid (admins also see inactive rates).
TOKEN_OPTIONAL = [{}, "Bearer"]

rate_out = ns.model(
    "Rate",
    {
        "id": fields.Integer,
        "lot_id": fields.Integer,
        "name": fields.String(example="Night"),
        "kind": fields.String(enum=RATE_KINDS, description="hourly: per started unit"),
        "amount_cents": fields.Integer(example=100),
        "currency": fields.String(example="GBP"),
        "unit_minutes": fields.Integer(example=60, description="hourly rates' unit"),
        "daily_max_cents": fields.Integer(description="base rates: cap per 24 h of a stay"),
        "grace_minutes": fields.Integer(description="null: the lot's grace period"),
        "spot_kind": fields.String(enum=SPOT_KINDS, description="null: any spot"),
        "vehicle_type": fields.String(enum=VEHICLE_TYPES, description="null: any vehicle"),
        "weekdays": fields.List(fields.String(enum=list(rates.WEEKDAYS)), example=["sat", "sun"]),
        "band_starts": fields.String(example="18:00", description="local time; null: all day"),
        "band_ends": fields.String(example="06:00", description="may be past midnight"),
        "effective_from": fields.String(example="2026-04-01", description="local date"),
        "effective_until": fields.String(example="2026-09-30", description="inclusive"),
        "is_active": fields.Boolean,
        "description": fields.String(example="1.00 GBP per started hour · 18:00-06:00"),
    },
)
rate_page = page_model(ns, "RatePage", rate_out)


def _rate_fields(required):
    def choice(values, example):
        return nullable(fields.String(enum=[*values, None], example=example))

    return {
        "name": fields.String(
            required=required, min_length=1, max_length=80, pattern=NO_NUL, example="Night"
        ),
        "kind": fields.String(enum=RATE_KINDS, example="hourly"),
        "amount_cents": fields.Integer(required=required, min=0, max=rates.MAX_AMOUNT, example=100),
        "unit_minutes": fields.Integer(min=1, max=rates.MAX_MINUTES, example=60),
        "daily_max_cents": nullable(fields.Integer(min=0, max=rates.MAX_AMOUNT)),
        "grace_minutes": nullable(fields.Integer(min=0, max=rates.MAX_MINUTES)),
        "spot_kind": choice(SPOT_KINDS, "ev"),
        "vehicle_type": choice(VEHICLE_TYPES, "motorcycle"),
        "weekdays": fields.List(
            fields.String(enum=list(rates.WEEKDAYS)),
            min_items=1,
            max_items=7,
            example=["mon", "tue", "wed", "thu", "fri"],
            description="default: every day",
        ),
        "band_starts": nullable(fields.String(pattern=CLOCK, example="18:00")),
        "band_ends": nullable(fields.String(pattern=CLOCK, example="06:00")),
        "effective_from": nullable(fields.String(pattern=DAY, example="2026-04-01")),
        "effective_until": nullable(fields.String(pattern=DAY, example="2026-09-30")),
    }


rate_in = ns.model(
    "RateCreate",
    {"lot_id": fields.Integer(required=True, min=1, max=MAX_ID, example=1), **_rate_fields(True)},
    strict=True,
)
rate_changes_in = ns.model(
    "RateChanges",
    {
        **_rate_fields(False),
        "is_active": fields.Boolean(description="false deactivates, true reactivates"),
    },
    strict=True,
)


def _clock(value):
    return value.strftime("%H:%M") if value is not None else None


def rate_dict(rate):
    """A rate as the API shows it; weekdays as names, times as HH:MM, dates as ISO."""
    currency = rate.lot.currency
    return {
        "id": rate.id,
        "lot_id": rate.lot_id,
        "name": rate.name,
        "kind": rate.kind.value,
        "amount_cents": rate.amount_cents,
        "currency": currency,
        "unit_minutes": rate.unit_minutes,
        "daily_max_cents": rate.daily_max_cents,
        "grace_minutes": rate.grace_minutes,
        "spot_kind": rate.spot_kind.value if rate.spot_kind else None,
        "vehicle_type": rate.vehicle_type.value if rate.vehicle_type else None,
        "weekdays": rates.weekday_names(rate.weekdays),
        "band_starts": _clock(rate.band_starts),
        "band_ends": _clock(rate.band_ends),
        "effective_from": rate.effective_from.isoformat() if rate.effective_from else None,
        "effective_until": rate.effective_until.isoformat() if rate.effective_until else None,
        "is_active": rate.is_active,
        "description": rates.describe(rate, currency),
    }


def _changes(data):
    """The body's rate fields as Python values (weekdays, times and dates parsed)."""
    changes = {k: v for k, v in data.items() if k not in ("lot_id", "is_active")}
    if "weekdays" in changes:
        changes["weekdays"] = rates.weekday_mask(changes["weekdays"])
    for name in ("band_starts", "band_ends"):
        if changes.get(name) is not None:
            changes[name] = time.fromisoformat(changes[name])  # the model checked HH:MM
    for name in ("effective_from", "effective_until"):
        if changes.get(name) is not None:
            changes[name] = _date(name, changes[name])
    return changes


def _date(name, value):
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(name, "Not a date; give YYYY-MM-DD, e.g. 2026-04-01.") from None
    return inputs.check_day(name, day)


def _viewer_is_admin():
    user = optional_user()
    return user is not None and user.is_admin


@ns.route("/rates")
class RateList(Resource):
    @ns.doc(
        security=TOKEN_OPTIONAL,
        params=query_params(
            lot_id=("integer", "only this lot's rates"),
            include_inactive=("boolean", "admins: include deactivated rates and lots"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        ),
    )
    @ns.response(200, "Rates by lot, oldest first", rate_page)
    @ns.response(401, "A token was sent but is not valid", error)
    @ns.response(403, "include_inactive without the admin role", error)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "Invalid filter", error)
    def get(self):
        """The rate tables of lots in service, or of one lot."""
        admin = _viewer_is_admin()
        include_inactive = request.args.get("include_inactive", "").lower() in ("1", "true")
        if include_inactive and not admin:
            raise Forbidden("Only admins can see deactivated rates.")
        lot_id = arg_int("lot_id", None, 1, MAX_ID)
        if lot_id is not None:
            lots.get_lot(lot_id, include_inactive=admin)
        return paginate(rates.list_query(lot_id, include_inactive=include_inactive), rate_dict)

    @ns.expect(rate_in, validate=True)
    @ns.response(201, "Created", rate_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "An active rate already covers the same band, days, kind and dates", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def post(self):
        """Add a rate to a lot's rate table (admin)."""
        data = json_body()
        lot = lots.get_lot(data["lot_id"], include_inactive=True)
        rate = rates.create_rate(lot, rates.RateInput(**_changes(data)))
        return rate_dict(rate), 201


@ns.route(f"/rates/<{ID}:rate_id>")
@ns.param("rate_id", "The rate id")
class RateItem(Resource):
    @ns.doc(security=TOKEN_OPTIONAL)
    @ns.response(200, "The rate", rate_out)
    @ns.response(401, "A token was sent but is not valid", error)
    @ns.response(404, "No such rate", error)
    def get(self, rate_id):
        """One rate (deactivated ones only for admins)."""
        return rate_dict(rates.get_rate(rate_id, include_inactive=_viewer_is_admin()))

    @ns.expect(rate_changes_in, validate=True)
    @ns.response(200, "Updated", rate_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such rate", error)
    @ns.response(409, "The change would clash with another active rate", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def patch(self, rate_id):
        """Change a rate; is_active false/true deactivates or reactivates it (admin)."""
        rate = rates.get_rate(rate_id, include_inactive=True)
        data = json_body()
        if "is_active" in data:
            if len(data) > 1:
                raise Invalid("is_active", "Change is_active in a request of its own.")
            if data["is_active"]:
                rates.reactivate_rate(rate)
            else:
                rates.deactivate_rate(rate)
        else:
            rates.update_rate(rate, _changes(data))
        return rate_dict(rate)

    @ns.response(204, "Deactivated")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such rate", error)
    @roles_required("admin")
    def delete(self, rate_id):
        """Deactivate a rate: it stops pricing stays and stays on record (admin)."""
        rates.deactivate_rate(rates.get_rate(rate_id, include_inactive=True))
        return "", 204


def published_rates(lot):
    """The rates drivers see on a lot: active and not expired."""
    return [rate_dict(rate) for rate in rates.published(lot)]
