"""Reading helpers of the booking tests: the slots offered, a booking as the API shows it, its
audit trail, a frozen clock. The listings, holds and paid bookings they read are built by
tests/factories.py."""

from datetime import date, datetime, timedelta

from tests.helpers import parse

INTERVAL = timedelta(minutes=15)


def iso(instant: datetime) -> str:
    return instant.isoformat()


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


def fetch(client, headers, booking_id) -> dict:
    response = client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


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
