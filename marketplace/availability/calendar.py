"""The practitioner's private iCalendar (RFC 5545) feed of confirmed bookings."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import url_for
from icalendar import Calendar, Event

PRODUCT_ID = "-//Relieve//Practitioner calendar//EN"
UID_DOMAIN = "bookings.relieve.example"


def calendar_url(listing: Any) -> str | None:
    """The listing's private feed link (the token in it is the only credential)."""
    if not listing.calendar_token:
        return None
    return url_for("availability.calendar_feed", token=listing.calendar_token, _external=True)


def booking_uid(booking_id: Any) -> str:
    """Stable across feed fetches, so calendar apps update events instead of duplicating."""
    return f"{booking_id}@{UID_DOMAIN}"


def booking_event(booking: Any, summary: str, location: Any, now: datetime) -> Event:
    event = Event()
    event.add("uid", booking_uid(booking.id))
    event.add("dtstamp", now)
    event.add("dtstart", booking.start_at)
    event.add("dtend", booking.end_at)
    event.add("summary", summary)
    event.add("status", "CONFIRMED")
    event.add("last-modified", booking.updated_at)
    place = location_text(location)
    if place:
        event.add("location", place)
    return event


def location_text(location: Any) -> str | None:
    """Where the appointment is, as calendar apps show it (feed and emailed invites alike)."""
    if location is None:
        return None
    parts = [location.name, location.address, location.suburb, location.state, location.postcode]
    return ", ".join(part for part in parts if part)


def new_calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def build_feed(
    display_name: str, rows: Iterable[tuple[Any, str, str, Any]], now: datetime
) -> bytes:
    calendar = new_calendar("PUBLISH")
    calendar.add("x-wr-calname", f"{display_name} · bookings")
    for booking, service_name, patient_name, location in rows:
        calendar.add_component(
            booking_event(booking, f"{service_name} · {patient_name}", location, now)
        )
    return calendar.to_ical()


def build_booking_file(booking: Any, summary: str, location: Any, now: datetime) -> bytes:
    """One appointment as an "Add to calendar" file (same UID as in the practitioner's feed)."""
    calendar = new_calendar("PUBLISH")
    calendar.add_component(booking_event(booking, summary, location, now))
    return calendar.to_ical()
