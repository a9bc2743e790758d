"""GET /lots: its query parameters, documented and parsed into a PricedSearch."""

from flask import request

from parkapp.api.common import (
    KINDS,
    MAX_PER_PAGE,
    arg_float,
    arg_int,
    query_params,
    timestamp,
    viewer_is_admin,
)
from parkapp.booking.claims import parse_kind
from parkapp.core.exceptions import Forbidden, Invalid
from parkapp.lots.lots import MAX_HEIGHT_CM, MIN_HEIGHT_CM, LotFilter, parse_amenities
from parkapp.models import Amenity
from parkapp.pricing.search import SORTS, PricedSearch

AMENITIES = [a.value for a in Amenity]
MAX_PRICE = 100_000_000

LIST_PARAMS = query_params(
    q=("string", "name, city or address contains"),
    lat=("number", "latitude, with lon"),
    lon=("number", "longitude, with lat"),
    radius_km=("number", "only lots this close (needs lat/lon)"),
    starts_at=("date-time", "ISO 8601 with offset: availability (and price) from"),
    ends_at=(
        "date-time",
        "ISO 8601 with offset: availability until (needs starts_at); with both, each lot "
        "has quote_total_cents and quote_currency",
    ),
    spot_kind=("string", f"count only spots of this kind: {', '.join(KINDS)}"),
    sort=(
        "string",
        f"{', '.join(SORTS)}; default distance with lat/lon, else name; price needs "
        "starts_at and ends_at (closed lots last)",
    ),
    max_price_cents=(
        "integer",
        "only lots whose quote for [starts_at, ends_at) is at most this (needs both)",
    ),
    amenities=("string", f"comma list, every one required: {', '.join(AMENITIES)}"),
    max_height_cm=(
        "integer",
        "a vehicle this tall (cm) must fit: lots without a height limit always do",
    ),
    include_inactive=("boolean", "admins: include deactivated lots"),
    page=("integer", "page number, from 1"),
    per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
)
LIST_PARAMS["sort"]["enum"] = list(SORTS)
LIST_PARAMS["max_price_cents"].update(minimum=0, maximum=MAX_PRICE)
LIST_PARAMS["max_height_cm"].update(minimum=MIN_HEIGHT_CM, maximum=MAX_HEIGHT_CM)


def interval_args():
    """(starts_at, ends_at) from the query; ends_at needs starts_at and comes after it."""
    starts_at = timestamp("starts_at", request.args.get("starts_at"))
    ends_at = timestamp("ends_at", request.args.get("ends_at"))
    if ends_at is not None and starts_at is None:
        raise Invalid("starts_at", "Give starts_at together with ends_at.")
    if ends_at is not None and ends_at <= starts_at:
        raise Invalid("ends_at", "The end must be after the start.")
    return starts_at, ends_at


def _position_args():
    lat, lon = arg_float("lat", -90, 90), arg_float("lon", -180, 180)
    radius = arg_float("radius_km", 0, 20_040)
    if (lat is None) != (lon is None):
        raise Invalid("lon" if lon is None else "lat", "Give lat and lon together.")
    if radius is not None and lat is None:
        raise Invalid("radius_km", "A radius needs lat and lon.")
    return ((lat, lon) if lat is not None else None), radius


def _search_text():
    q = request.args.get("q", "").strip()
    if len(q) > 100 or "\x00" in q:
        raise Invalid("q", "Search for at most 100 ordinary characters.")
    return q or None


def _include_inactive():
    """Admins may list deactivated lots too (to find and reactivate them)."""
    wanted = request.args.get("include_inactive", "").lower() in ("1", "true")
    if wanted and not viewer_is_admin():
        raise Forbidden("Only admins can see deactivated lots.")
    return wanted


def _sort():
    value = request.args.get("sort", "").strip()
    if value and value not in SORTS:
        raise Invalid("sort", f"Sort by {', '.join(SORTS)}.")
    return value or None


def search_args():
    """The PricedSearch the query asks for; Invalid (422) naming the first bad parameter."""
    near, radius = _position_args()
    starts_at, ends_at = interval_args()
    where = LotFilter(
        q=_search_text(),
        near=near,
        radius_km=radius,
        amenities=parse_amenities(request.args.get("amenities", ""), field="amenities"),
        max_height_cm=arg_int("max_height_cm", None, MIN_HEIGHT_CM, MAX_HEIGHT_CM),
        include_inactive=_include_inactive(),
    )
    return PricedSearch(
        where,
        starts_at,
        ends_at,
        parse_kind(request.args.get("spot_kind")),
        arg_int("max_price_cents", None, 0, MAX_PRICE),
        _sort(),
    )
