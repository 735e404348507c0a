"""`seed_demo`: a realistic demo marketplace, built once through the services."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.accounts.service import authenticate
from marketplace.admin.models import AuditEntry
from marketplace.availability.models import AvailabilityRule, DateOverride, TimeOff
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import utc_now
from marketplace.demo import (
    ADMIN_EMAIL,
    PATIENT_EMAIL,
    PRACTITIONER_EMAIL,
    DemoResult,
    seed_demo,
)
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Location, Practitioner, Service

ZONES = {
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Perth",
    "Australia/Adelaide",
}
COUNTED = (
    User,
    Practitioner,
    Location,
    Service,
    AvailabilityRule,
    DateOverride,
    TimeOff,
    Booking,
    AuditEntry,
)


def row_counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in COUNTED
    }


def listings_in(status: ListingStatus) -> list[Practitioner]:
    return list(db.session.scalars(sa.select(Practitioner).where(Practitioner.status == status)))


def check_approved_listings() -> None:
    approved = listings_in(ListingStatus.APPROVED)
    assert len(approved) >= 60
    zones = [listing.timezone for listing in approved]
    assert set(zones) == ZONES
    assert min(zones.count(zone) for zone in ZONES) >= 10
    for listing in approved:
        assert listing.bio and listing.headline and listing.profession
        assert listing.locations, listing.slug
        for location in listing.locations:
            assert location.country == "AU" and location.postcode and location.state
            assert -38.5 < location.latitude < -27 and 115 < location.longitude < 154
        assert len(listing.active_services) >= 2, listing.slug
        for service in listing.active_services:
            assert service.duration_minutes in (30, 45, 60, 90)
            assert 6500 <= service.price_cents <= 19500 and service.currency == "AUD"
        rules = db.session.scalar(
            sa.select(sa.func.count()).where(AvailabilityRule.practitioner_id == listing.id)
        )
        assert rules >= 1, listing.slug
        if listing.rating_count:
            assert 3.8 <= listing.rating_average <= 5.0
        assert 0 <= listing.rating_count <= 120
    genders = {listing.gender.value for listing in approved}
    assert {"female", "male"} <= genders and len(genders) >= 3
    assert any(len(listing.languages) > 1 for listing in approved)
    assert any(listing.telehealth for listing in approved)


def check_demo_accounts(result: DemoResult) -> Practitioner:
    roles = {email: role for role, email, _password in result.credentials}
    assert roles == {
        ADMIN_EMAIL: Role.ADMIN,
        PATIENT_EMAIL: Role.PATIENT,
        PRACTITIONER_EMAIL: Role.PRACTITIONER,
    }
    for role, email, password in result.credentials:
        assert len(password) >= 10
        assert authenticate(email, password).role is role
    owner = db.session.scalar(sa.select(User).where(User.email == PRACTITIONER_EMAIL))
    listing = db.session.scalar(sa.select(Practitioner).where(Practitioner.owner_id == owner.id))
    assert listing.status is ListingStatus.APPROVED
    return listing


def check_patient_bookings() -> None:
    patient = db.session.scalar(sa.select(User).where(User.email == PATIENT_EMAIL))
    statuses = list(
        db.session.scalars(sa.select(Booking.status).where(Booking.patient_id == patient.id))
    )
    assert statuses.count(BookingStatus.CONFIRMED) >= 3
    # A seeded hold would have no payment page, yet count toward the unpaid-holds cap.
    assert statuses.count(BookingStatus.HELD) == 0


def test_seed_demo_builds_the_marketplace_once(app, client):
    with app.app_context():
        result = seed_demo(utc_now())
        db.session.commit()
        assert result.created
        check_approved_listings()
        assert len(listings_in(ListingStatus.PENDING)) >= 4
        assert len(listings_in(ListingStatus.DRAFT)) == 2
        listing = check_demo_accounts(result)
        check_patient_bookings()
        slug, service_id = listing.slug, listing.active_services[0].id
        today = utc_now().astimezone(ZoneInfo(listing.timezone)).date()
        counts = row_counts()

    response = client.get(
        f"/api/v1/practitioners/{slug}/slots",
        query_string={
            "service_id": str(service_id),
            "from": today.isoformat(),
            "to": (today + timedelta(days=13)).isoformat(),
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["items"]) > 0

    with app.app_context():
        again = seed_demo(utc_now())
        db.session.commit()
        assert again.created is False
        assert row_counts() == counts
