"""The demo's EV charging sessions and a full row of EV bays now, with drivers queued for it."""

from datetime import timedelta

from sqlalchemy import select

from parkapp.core.exceptions import Conflict
from parkapp.ev import charging
from parkapp.extensions import db
from parkapp.gate import passage
from parkapp.models import ChargingStatus, EvStation, VehicleType, WaitlistEntry
from parkapp.waitlist import queue

CHARGE_SHARE = 0.2  # of the EV stays on a charger's spot, the ones that plugged in


def charging_history(rng, stays):
    """Finished charges for some past EV stays on charger spots (energy on their bills)."""
    stations = {s.spot_id: s for s in db.session.scalars(select(EvStation))}
    meters = {}
    for stay in stays:
        station = stations.get(stay.row["spot_id"])
        if (
            station is not None
            and stay.payment is not None
            and stay.row["vehicle_type"] == VehicleType.CAR
            and rng.random() < CHARGE_SHARE
        ):
            _finished_charge(rng, stay, station, meters)


def _finished_charge(rng, stay, station, meters):
    row = stay.row
    started = row["starts_at"] + timedelta(minutes=rng.randint(2, 8))
    latest_stop = row["ends_at"] - timedelta(minutes=rng.randint(1, station.idle_grace_minutes))
    if latest_stop <= started:
        return
    rate_w = station.power_w * 0.9
    hours = (latest_stop - started).total_seconds() / 3600
    energy = min(rng.randint(6_000, 45_000), int(rate_w * hours))  # a top-up, seldom full
    stopped = min(latest_stop, started + timedelta(hours=energy / rate_w))
    start_wh = meters.get(station.id, rng.randint(100_000, 900_000))
    meters[station.id] = start_wh + energy
    stay.charge = {
        "station_id": station.id,
        "status": ChargingStatus.FINISHED,
        "price_per_kwh_cents": station.price_per_kwh_cents,
        "idle_fee_per_minute_cents": station.idle_fee_per_minute_cents,
        "idle_grace_minutes": station.idle_grace_minutes,
        "started_at": started,
        "start_wh": start_wh,
        "last_wh": start_wh + energy,
        "last_reading_at": stopped,
        "stopped_at": stopped,
        "stop_wh": start_wh + energy,
    }
    # The bill and its payment include the energy (stopped within the idle grace: no fee).
    row["price_cents"] += -(-energy * station.price_per_kwh_cents // 1000)
    stay.payment["amount_cents"] = row["price_cents"]


def full_ev_bays(rng, lot, operator, waiting):
    """EV cars fill the lot's EV bays now (charging), then `waiting` [(user, plate)] queue;
    a user None queues at the gate."""
    arrived = 0
    while True:
        try:
            queue.join(waiting[0][0], lot.id, waiting[0][1], "ev", is_ev=True)
            break
        except Conflict:
            plate = f"EV{rng.randint(10, 99)}{'ABCDEFGHJK'[arrived]}RC"
            booking, _ = passage.enter(lot.id, plate, is_ev=True, gate="North", operator=operator)
            _plug_in(rng, booking, operator)
            arrived += 1
    for user, plate in waiting[1:]:
        queue.join(user, lot.id, plate, "ev", is_ev=True)
    return db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.lot_id == lot.id).order_by(WaitlistEntry.id)
    ).all()


def _plug_in(rng, booking, operator):
    station = db.session.scalar(select(EvStation).where(EvStation.spot_id == booking.spot_id))
    if station is not None:
        charging.start(booking, station, rng.randint(100_000, 900_000), operator)
