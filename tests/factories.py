"""Builders that create realistic rows straight through the services (faster than HTTP).

Each returns plain ids/values so tests never hold ORM objects across app contexts.
"""

import uuid
from dataclasses import dataclass
from datetime import time

import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.accounts.service import ensure_admin
from marketplace.availability import service as availability
from marketplace.extensions import db
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import ListingStatus, Practitioner
from marketplace.search.index import reindex_listing

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class BuiltListing:
    id: uuid.UUID
    slug: str
    owner_id: uuid.UUID
    owner_email: str
    location_id: uuid.UUID
    service_id: uuid.UUID
    timezone: str


def create_user(app, role: str = "patient", email: str | None = None, name: str = "Test User"):
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        if role == "admin":
            user, _ = ensure_admin(email, PASSWORD, name)
        else:
            user = listings.sign_up(email=email, password=PASSWORD, name=name, role=Role(role))
        db.session.commit()
        return user.id, user.email


def create_listing(
    app,
    *,
    status: ListingStatus = ListingStatus.APPROVED,
    name: str | None = None,
    timezone: str = "Australia/Sydney",
    therapy: str = "trigger-point-therapy",
    duration_minutes: int = 60,
    price_cents: int = 12000,
    currency: str = "AUD",
    weekly_hours: list[tuple[int, str, str]] | None = None,
    latitude: float = -33.8861,
    longitude: float = 151.2111,
    **settings,
) -> BuiltListing:
    """A listing with one location, one service and weekly hours, in the given status.

    `weekly_hours` is [(weekday, "HH:MM", "HH:MM")]; default Monday-Friday 09:00-17:00.
    `settings` are profile fields (slot_interval_minutes, min_notice_minutes, ...).
    """
    name = name or f"Practitioner {uuid.uuid4().hex[:6]}"
    owner_id, email = create_user(app, "practitioner", name=name)
    with app.app_context():
        owner = db.session.get(listings.User, owner_id)
        listing = listings.get_listing_of(owner)  # opened by sign-up, named after the owner
        listings.update_profile(
            listing,
            {
                "bio": "Hands-on care for muscular pain.",
                "timezone": timezone,
                "min_notice_minutes": 0,
                **settings,
            },
        )
        location = listings.create_location(
            listing,
            {
                "name": "Clinic",
                "address": "1 Main St",
                "suburb": "Surry Hills",
                "latitude": latitude,
                "longitude": longitude,
            },
        )
        service = listings.create_service(
            listing,
            {
                "therapy": therapy,
                "name": "Treatment",
                "duration_minutes": duration_minutes,
                "price_cents": price_cents,
                "currency": currency,
            },
        )
        hours = (
            weekly_hours
            if weekly_hours is not None
            else [(day, "09:00", "17:00") for day in range(5)]
        )
        availability.replace_schedule(
            listing,
            [
                {
                    "weekday": day,
                    "start": time.fromisoformat(start),
                    "end": time.fromisoformat(end),
                    "location_id": location.id,
                }
                for day, start, end in hours
            ],
        )
        listing.status = status
        reindex_listing(listing.id)
        db.session.commit()
        return BuiltListing(
            listing.id, listing.slug, owner_id, email, location.id, service.id, timezone
        )


def set_status(app, listing_id: uuid.UUID, status: ListingStatus) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner).where(Practitioner.id == listing_id).values(status=status)
        )
        reindex_listing(listing_id)
        db.session.commit()
