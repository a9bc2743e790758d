"""Self-serve charging and charger keys.

A driver starts and stops charging their own checked-in stay at the charger on its spot;
the meter values come from the charger (its last reading), never from the driver. Each
charger may hold an API key, made by an admin and shown once, stored as its SHA-256: the
charger reports its meter readings with it (`Authorization: Bearer evk_...`).
"""

import hashlib
import hmac
import secrets

from sqlalchemy import func, select

from parkapp.core.exceptions import Forbidden, NotFound, WrongState
from parkapp.ev import charging
from parkapp.extensions import db
from parkapp.models import ChargingSession, ChargingStatus, EvStation

KEY_PREFIX = "evk_"


def station_on_spot(booking):
    """The charger on the stay's spot, or a 409 saying there is none."""
    station = db.session.scalar(select(EvStation).where(EvStation.spot_id == booking.spot_id))
    if station is None:
        raise WrongState(
            f"Spot {booking.spot.label} has no charger.",
            code="no_charger",
            errors={"station_id": ["The stay's spot has no charger."]},
        )
    return station


def meter_now(station):
    """The charger's meter as last reported (0 before its first session)."""
    return (
        db.session.scalar(
            select(func.max(ChargingSession.last_wh)).where(
                ChargingSession.station_id == station.id
            )
        )
        or 0
    )


def start(booking, user, station=None, start_wh=None):
    """Start charging the stay (its driver, or staff); only staff may give the meter value."""
    if start_wh is not None and not user.is_operator:
        raise Forbidden("Meter readings come from the charger; start without one.")
    if not (user.is_operator or booking.is_owner(user)):
        raise NotFound("No such booking.")
    station = station or station_on_spot(booking)
    if start_wh is None:
        start_wh = meter_now(station)
    return charging.start(booking, station, start_wh, user)


def open_session(booking):
    """The stay's charging session in progress, or None."""
    return db.session.scalar(
        select(ChargingSession).where(
            ChargingSession.booking_id == booking.id,
            ChargingSession.status == ChargingStatus.CHARGING,
        )
    )


def _digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(station):
    """A new API key for the charger (the old one stops working); returned once, stored hashed."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    station.api_key_hash = _digest(key)
    db.session.commit()
    return key


def is_station_key(token):
    """Whether a bearer token is shaped like a charger key (not a user's access token)."""
    return isinstance(token, str) and token.startswith(KEY_PREFIX)


def station_for_key(key):
    """The charger holding this key, or None."""
    if not is_station_key(key):
        return None
    digest = _digest(key)
    station = db.session.scalar(select(EvStation).where(EvStation.api_key_hash == digest))
    if station is None or not hmac.compare_digest(station.api_key_hash, digest):
        return None
    return station


def report_from_station(session_id, station, wh):
    """A reading reported by the charger itself; another charger's session is not found."""
    charge = db.session.get(ChargingSession, session_id)
    if charge is None or charge.station_id != station.id:
        raise NotFound("No such charging session.")
    return charging.record(charge, wh)
