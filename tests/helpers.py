"""Assertions and readers shared by the test modules (what they build is in tests/factories.py)."""

import uuid
from datetime import datetime


def problem_of(response, status: int) -> dict:
    """Assert a problem+json response of this status and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def count_rows(app, model) -> int:
    import sqlalchemy as sa

    from marketplace.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def parse(value: str | None) -> datetime | None:
    """An ISO 8601 instant from a response body (None stays None)."""
    return None if value is None else datetime.fromisoformat(value)


def stored(app, booking_id):
    """The booking row as stored (detached; read its plain columns only)."""
    from marketplace.bookings.models import Booking
    from marketplace.extensions import db

    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(str(booking_id)))
        db.session.expunge(booking)
        return booking


def user_id(client, headers) -> str:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["id"]


def admin_listing(client, admin, listing_id: str) -> dict:
    response = client.get(f"/api/v1/admin/listings/{listing_id}", headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def unknown_id() -> str:
    return str(uuid.uuid4())
