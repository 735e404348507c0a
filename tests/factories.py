"""Everything the tests build: users, listings, services, locations, hours and bookings.

Two kinds of builder live here:

- Straight through the services, taking the app (faster than HTTP): `create_*`,
  `all_day_listing`, `make_booking` (the columns of which `booking_values` gives), and
  `set_status`, `set_rating` and `lapse_hold` for a state no request can reach at once. Each
  returns plain ids/values so tests never hold ORM objects across app contexts.
- Through the public HTTP API, taking a client and bearer headers, the way a practitioner, an
  admin or a patient does it: `put_profile`, `add_*`, `build_listing`, `listing_in_status`,
  `approved_listing`, and `book`, `hold`, `pay`, `book_and_pay` for bookings.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.accounts.service import ensure_admin
from marketplace.availability import service as availability
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import ListingStatus, Practitioner
from marketplace.search.index import reindex_listing

PASSWORD = "correct horse battery"
# Weekly hours open around the clock, every day of the week.
ALL_DAY = [(day, "00:00", "23:59") for day in range(7)]


@dataclass(frozen=True)
class BuiltListing:
    id: uuid.UUID
    slug: str
    owner_id: uuid.UUID
    owner_email: str
    location_id: uuid.UUID
    service_id: uuid.UUID
    timezone: str
    duration_minutes: int = 60  # of the listing's service


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
            listing.id,
            listing.slug,
            owner_id,
            email,
            location.id,
            service.id,
            timezone,
            duration_minutes,
        )


def set_status(app, listing_id: uuid.UUID, status: ListingStatus) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner).where(Practitioner.id == listing_id).values(status=status)
        )
        reindex_listing(listing_id)
        db.session.commit()


def all_day_listing(app, **settings) -> BuiltListing:
    """A UTC listing open every day 00:00-23:59, 15-minute grid, no notice (overridable)."""
    options = {
        "timezone": "UTC",
        "weekly_hours": ALL_DAY,
        "slot_interval_minutes": 15,
        "min_notice_minutes": 0,
        **settings,
    }
    return create_listing(app, **options)


def set_rating(app, listing_id: uuid.UUID, average: float | None, count: int) -> None:
    """Ratings have no public API yet: write them and re-index, as a review would."""
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner)
            .where(Practitioner.id == listing_id)
            .values(rating_average=average, rating_count=count)
        )
        reindex_listing(listing_id)
        db.session.commit()


# --- more of a listing, through the services ------------------------------------------------

SECOND_CLINIC = {
    "name": "Second clinic",
    "address": "2 Side St",
    "suburb": "Newtown",
    "latitude": -33.9,
    "longitude": 151.18,
}
TREATMENT = {
    "therapy": "trigger-point-therapy",
    "name": "Treatment",
    "duration_minutes": 60,
    "price_cents": 12000,
    "currency": "AUD",
}


def create_location(app, listing_id: uuid.UUID, **changes) -> uuid.UUID:
    """Another location of the listing: SECOND_CLINIC with `changes`; returns its id."""
    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        location = listings.create_location(listing, {**SECOND_CLINIC, **changes})
        db.session.commit()
        return location.id


def create_service(app, listing_id: uuid.UUID, **changes) -> uuid.UUID:
    """Another service of the listing: TREATMENT with `changes`; returns its id."""
    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        service = listings.create_service(listing, {**TREATMENT, **changes})
        db.session.commit()
        return service.id


def create_override(
    app, listing_id: uuid.UUID, day: date, windows: Sequence[tuple[str, str, uuid.UUID]] = ()
) -> uuid.UUID:
    """Give `day` hours of its own instead of its weekly ones: [("HH:MM", "HH:MM", location_id)];
    no windows close the day. Returns the override's id."""
    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        override, _ = availability.set_override(
            listing,
            day,
            [
                {
                    "start": time.fromisoformat(start),
                    "end": time.fromisoformat(end),
                    "location_id": location_id,
                }
                for start, end, location_id in windows
            ],
            datetime.now(UTC),
        )
        db.session.commit()
        return override.id


def create_time_off(
    app,
    listing_id: uuid.UUID,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    reason: str = "",
) -> uuid.UUID:
    """Time off of the listing: three hours from five days on, unless given; returns its id."""
    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        start_at = start_at or datetime.now(UTC) + timedelta(days=5)
        end_at = end_at or start_at + timedelta(hours=3)
        period = availability.add_time_off(
            listing, {"start_at": start_at, "end_at": end_at, "reason": reason}
        )
        db.session.commit()
        return period.id


# --- bookings, written straight to the database ---------------------------------------------


def booking_values(
    listing: BuiltListing,
    patient_id: uuid.UUID,
    start_at: datetime,
    *,
    end_at: datetime | None = None,
    status: BookingStatus = BookingStatus.CONFIRMED,
    hold_expires_at: datetime | None = None,
    blocked: tuple[datetime, datetime] | None = None,
    **overrides,
) -> dict:
    """The columns of a booking of `listing`'s service at its location, made by hand (no
    service rule applies): it lasts the service's length unless `end_at` says otherwise, keeps
    `blocked` (its own times unless given) free, costs 120.00 AUD with a 12.00 fee, and was
    paid through the simulated provider. `overrides` set any other column."""
    end_at = end_at or start_at + timedelta(minutes=listing.duration_minutes)
    blocked_start, blocked_end = blocked or (start_at, end_at)
    return {
        "patient_id": patient_id,
        "practitioner_id": listing.id,
        "service_id": listing.service_id,
        "location_id": listing.location_id,
        "start_at": start_at,
        "end_at": end_at,
        "blocked_start_at": blocked_start,
        "blocked_end_at": blocked_end,
        "status": status,
        "hold_expires_at": hold_expires_at,
        "price_cents": 12000,
        "currency": "AUD",
        "platform_fee_cents": 1200,
        "refund_cents": 0,
        "refund_count": 0,
        "payout_owed_cents": 0,
        "payment_provider": "simulated",
        **overrides,
    }


def make_booking(
    app,
    listing: BuiltListing,
    start_at: datetime,
    *,
    patient_id: uuid.UUID | None = None,
    patient_name: str = "Pat Patient",
    **fields,
) -> uuid.UUID:
    """A booking row written and committed as `booking_values(listing, ..., **fields)` builds
    it, by a new patient (named `patient_name`) unless `patient_id` is given; returns its id.

    For a time no request could book (the past, a clash) or a state none leaves at once."""
    if patient_id is None:
        patient_id, _ = create_user(app, "patient", name=patient_name)
    with app.app_context():
        booking = Booking(**booking_values(listing, patient_id, start_at, **fields))
        db.session.add(booking)
        db.session.commit()
        return booking.id


def lapse_hold(app, booking_id) -> None:
    """Move a hold's expiry into the past, as if its minutes had run out."""
    with app.app_context():
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == uuid.UUID(str(booking_id)))
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()


# --- when to book ---------------------------------------------------------------------------


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


# --- listings over the HTTP API, as a practitioner and an admin build them -------------------

PROFILE = {
    "display_name": "Dr Jane Citizen",
    "headline": "Trigger point therapy for buttock and sciatic-type pain",
    "bio": "Fifteen years of hands-on work with stubborn gluteal pain.",
    "profession": "Myotherapist",
    "registration_body": "Myotherapy Association Australia",
    "registration_number": "MAA-12345",
    "gender": "female",
    "languages": ["en", "zh"],
    "telehealth": True,
    "timezone": "Australia/Sydney",
    "slot_interval_minutes": 30,
    "buffer_before_minutes": 5,
    "buffer_after_minutes": 10,
    "min_notice_minutes": 240,
    "horizon_days": 90,
    "free_cancellation_hours": 48,
    "late_cancellation_fee_percent": 25,
}
LOCATION = {
    "name": "Surry Hills clinic",
    "address": "12 Crown St",
    "suburb": "Surry Hills",
    "state": "NSW",
    "postcode": "2010",
    "country": "AU",
    "latitude": -33.8861,
    "longitude": 151.2111,
}
SERVICE = {
    "therapy": "trigger-point-therapy",
    "name": "Initial consultation",
    "duration_minutes": 60,
    "price_cents": 12000,
    "currency": "AUD",
}
EXTRA_SERVICE = {**SERVICE, "name": "Extra treatment", "price_cents": 10000}

PROFILE_URL = "/api/v1/practitioner/profile"
LOCATIONS_URL = "/api/v1/practitioner/locations"
SERVICES_URL = "/api/v1/practitioner/services"
SUBMIT_URL = "/api/v1/practitioner/submit"
BOOKINGS_URL = "/api/v1/bookings"
STATUSES = ("draft", "pending", "approved", "rejected", "suspended")


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def get_profile(client, headers) -> dict:
    return _ok(client.get(PROFILE_URL, headers=headers))


def put_profile(client, headers, **changes) -> dict:
    return _ok(client.put(PROFILE_URL, json={**PROFILE, **changes}, headers=headers))


def add_location(client, headers, **changes) -> dict:
    return _ok(client.post(LOCATIONS_URL, json={**LOCATION, **changes}, headers=headers), 201)


def add_location_at(client, headers, latitude: float, longitude: float, name="Second") -> str:
    """A location of the required fields only, at these coordinates; returns its id."""
    body = {
        "name": name,
        "address": "2 Side St",
        "suburb": "Elsewhere",
        "latitude": latitude,
        "longitude": longitude,
    }
    return _ok(client.post(LOCATIONS_URL, json=body, headers=headers), 201)["id"]


def add_service(client, headers, **changes) -> dict:
    return _ok(client.post(SERVICES_URL, json={**SERVICE, **changes}, headers=headers), 201)


def add_extra_service(client, headers, **changes) -> str:
    """Another service: EXTRA_SERVICE (100.00 AUD) with `changes`; returns its id."""
    return add_service(client, headers, **{**EXTRA_SERVICE, **changes})["id"]


def build_listing(client, headers, *, therapy: str = "trigger-point-therapy", **profile) -> dict:
    """A complete draft listing (profile, one location, one service); returns the profile."""
    put_profile(client, headers, **profile)
    add_location(client, headers)
    add_service(client, headers, therapy=therapy)
    return get_profile(client, headers)


def submit(client, headers) -> dict:
    return _ok(client.post(SUBMIT_URL, headers=headers))


def review(client, admin, listing_id: str, action: str, reason: str | None = None) -> dict:
    """An admin's approve / reject / suspend / reinstate, which must succeed."""
    url = f"/api/v1/admin/listings/{listing_id}/{action}"
    body = {"reason": reason or f"Reason to {action}."} if action in ("reject", "suspend") else None
    return _ok(client.post(url, json=body, headers=admin))


def listing_in_status(client, headers, admin, status: str, **build) -> dict:
    """A complete listing brought to `status` through the workflow; returns the owner's view."""
    assert status in STATUSES, status
    listing = build_listing(client, headers, **build)
    if status != "draft":
        submit(client, headers)
    if status in ("approved", "suspended"):
        review(client, admin, listing["id"], "approve")
    if status == "rejected":
        review(client, admin, listing["id"], "reject")
    if status == "suspended":
        review(client, admin, listing["id"], "suspend")
    listing = get_profile(client, headers)
    assert listing["status"] == status
    return listing


def approved_listing(client, headers, admin, **build) -> dict:
    return listing_in_status(client, headers, admin, "approved", **build)


# --- bookings over the HTTP API, as a patient makes them ------------------------------------


def book(client, headers, listing, start: datetime | str, **body):
    """POST /bookings: `listing`'s service (or this service id) at `start`; `body` adds or
    replaces fields. Returns the response, whatever it is."""
    payload = {
        "service_id": str(getattr(listing, "service_id", listing)),
        "start_at": start if isinstance(start, str) else start.isoformat(),
        **body,
    }
    return client.post(BOOKINGS_URL, json=payload, headers=headers)


def hold(client, headers, listing, start: datetime | str) -> dict:
    """Create a held booking; returns the 201 body (`booking`, `checkout_url`)."""
    response = book(client, headers, listing, start)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def pay(client, checkout_url: str) -> None:
    response = client.post(checkout_url, data={"action": "pay"})
    assert response.status_code == 303, response.get_data(as_text=True)


def book_and_pay(client, headers, listing, start: datetime | str) -> dict:
    """Hold `start` and pay on the simulated checkout page; returns the confirmed booking."""
    created = hold(client, headers, listing, start)
    pay(client, created["checkout_url"])
    booking = _ok(client.get(f"{BOOKINGS_URL}/{created['booking']['id']}", headers=headers))
    assert booking["status"] == "confirmed", booking
    return booking
