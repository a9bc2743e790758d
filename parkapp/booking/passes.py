"""A booking's pass: its confirmation code as a QR code, and a calendar file of its interval."""

import io
from datetime import timedelta

import segno
from icalendar import Calendar, Event

from parkapp.models import BookingStatus, utcnow

PRODID = "-//parkapp//booking pass//EN"
OPEN_STAY_HOURS = 1  # a stay with no end yet shows in calendars as its first hour


def qr(booking):
    """The QR code of the booking's confirmation code (what the gate scans)."""
    return segno.make(booking.confirmation_code, error="m")


def qr_svg(booking):
    """The QR code as an SVG document (bytes)."""
    out = io.BytesIO()
    qr(booking).save(out, kind="svg", scale=6, border=2, title=booking.confirmation_code)
    return out.getvalue()


def qr_png(booking):
    """The QR code as a PNG image (bytes), for mail clients that show no SVG."""
    out = io.BytesIO()
    qr(booking).save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def location(lot):
    """The lot's address in one line, as calendars and maps read it."""
    parts = [part for part in (lot.name, lot.address, lot.city) if part]
    return ", ".join(parts)


def opening_hours(lot):
    """The lot's opening hours in words (local times)."""
    if lot.is_open_all_day:
        return "Open 24 hours"
    return f"{lot.opens_at:%H:%M} - {lot.closes_at:%H:%M} daily ({lot.timezone})"


def calendar_ics(booking):
    """An iCalendar file with one event: the booking's interval in UTC at the lot's address."""
    lot = booking.lot
    end = booking.ends_at or booking.starts_at + timedelta(hours=OPEN_STAY_HOURS)
    event = Event()
    event.add("uid", f"booking-{booking.id}-{booking.confirmation_code}@parkapp")
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", end)
    event.add("summary", f"Parking at {lot.name} (spot {booking.spot.label})")
    event.add("location", location(lot))
    event.add(
        "description",
        f"Confirmation code {booking.confirmation_code}, vehicle {booking.plate}. "
        "Show the code or your plate at the gate.",
    )
    if lot.latitude is not None and lot.longitude is not None:
        event.add("geo", (lot.latitude, lot.longitude))
    # A cancelled booking's file tells calendars to remove the event.
    cancelled = booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A later file replaces an earlier one (a changed booking): minutes since the epoch.
    event.add("sequence", int(utcnow().timestamp()) // 60)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical()
