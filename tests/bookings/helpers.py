"""Builders shared by the booking tests: listings open around the clock, slots, paid bookings."""

import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from marketplace.bookings.models import Booking
from marketplace.extensions import db
from tests.factories import create_listing

ALL_DAY = [(day, "00:00", "23:59") for day in range(7)]
INTERVAL = timedelta(minutes=15)


def all_day_listing(app, **settings):
    """A UTC listing open every day 00:00-23:59, 15-minute grid, no notice (overridable)."""
    options = {
        "timezone": "UTC",
        "weekly_hours": ALL_DAY,
        "slot_interval_minutes": 15,
        "min_notice_minutes": 0,
        **settings,
    }
    return create_listing(app, **options)


def iso(instant: datetime) -> str:
    return instant.isoformat()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def grid_start(after: timedelta, duration: timedelta = timedelta(minutes=60)) -> datetime:
    """The first quarter-hour at or after now + `after` where a UTC all-day listing is open."""
    instant = datetime.now(UTC) + after
    instant = instant.replace(second=0, microsecond=0)
    instant += timedelta(minutes=-instant.minute % 15)
    closing = datetime.combine(instant.date(), datetime.min.time(), UTC) + timedelta(
        hours=23, minutes=59
    )
    if instant + duration > closing:
        instant = datetime.combine(instant.date() + timedelta(days=1), datetime.min.time(), UTC)
    return instant


def far_start(days: int = 3, hour: int = 10) -> datetime:
    """`hour`:00 UTC `days` days from today: days outside a 24-hour cancellation window."""
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=days), datetime.min.time(), UTC).replace(
        hour=hour
    )


def slots(client, listing, first: date, last: date | None = None) -> list[dict]:
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": first, "to": last or first},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def offered_starts(client, listing, around: datetime) -> set[datetime]:
    """Start instants offered on the listing's local days around `around` (UTC listings)."""
    first = around.date() - timedelta(days=1)
    last = around.date() + timedelta(days=1)
    return {parse(slot["start_at"]) for slot in slots(client, listing, first, last)}


def is_offered(client, listing, start: datetime) -> bool:
    return start in offered_starts(client, listing, start)


def book(client, headers, listing, start: datetime, **body):
    payload = {"service_id": str(listing.service_id), "start_at": iso(start), **body}
    return client.post("/api/v1/bookings", json=payload, headers=headers)


def hold(client, headers, listing, start: datetime) -> dict:
    """Create a held booking; returns the 201 body (`booking`, `checkout_url`)."""
    response = book(client, headers, listing, start)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def pay(client, checkout_url: str) -> None:
    response = client.post(checkout_url, data={"action": "pay"})
    assert response.status_code == 303, response.get_data(as_text=True)


def book_and_pay(client, headers, listing, start: datetime) -> dict:
    """Hold `start` and pay on the simulated checkout page; returns the confirmed booking."""
    created = hold(client, headers, listing, start)
    pay(client, created["checkout_url"])
    booking = fetch(client, headers, created["booking"]["id"])
    assert booking["status"] == "confirmed", booking
    return booking


def fetch(client, headers, booking_id) -> dict:
    response = client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def stored(app, booking_id) -> Booking:
    """The booking row as stored (detached; read its plain columns only)."""
    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(str(booking_id)))
        db.session.expunge(booking)
        return booking


def lapse_hold(app, booking_id) -> None:
    """Move a hold's expiry into the past, as if its minutes had run out."""
    with app.app_context():
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == uuid.UUID(str(booking_id)))
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()


def audit_actions(client, admin_headers, booking_id) -> list[str]:
    """The booking's audit actions, oldest first."""
    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_type": "booking", "target_id": str(booking_id), "per_page": 50},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry["action"] for entry in reversed(response.get_json()["items"])]


def at(instant: datetime):
    """A stand-in for `utc_now` frozen at `instant`."""
    return lambda: instant
