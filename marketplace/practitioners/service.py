"""Listing rules: the practitioner's profile, locations, services and submission for review."""

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from slugify import slugify

from marketplace import audit
from marketplace.accounts.models import Role, User
from marketplace.accounts.service import register_user
from marketplace.availability.service import remove_location_hours
from marketplace.catalog.models import TherapyType
from marketplace.db import mark_listing_changed, utc_now
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Location, Practitioner, Service

PROFILE_FIELDS = (
    "display_name",
    "headline",
    "bio",
    "profession",
    "registration_body",
    "registration_number",
    "gender",
    "languages",
    "telehealth",
    "timezone",
    "slot_interval_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "horizon_days",
    "free_cancellation_hours",
    "late_cancellation_fee_percent",
)


def _unique_slug(display_name: str) -> str:
    base = slugify(display_name, max_length=120, word_boundary=True) or "practitioner"
    taken = set(
        db.session.scalars(
            sa.select(Practitioner.slug).where(
                sa.or_(Practitioner.slug == base, Practitioner.slug.like(f"{base}-%"))
            )
        )
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def create_listing(owner: User, display_name: str | None = None) -> Practitioner:
    """A new draft listing for a practitioner; its slug is derived once, here."""
    name = (display_name or owner.name).strip() or "Practitioner"
    slug = _unique_slug(name)
    for attempt in range(3):
        listing = Practitioner(owner_id=owner.id, display_name=name, slug=slug)
        try:
            with db.session.begin_nested():
                db.session.add(listing)
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
            # Another listing of the same name took the slug meanwhile.
            slug = f"{_unique_slug(name)}-{uuid.uuid4().hex[:4]}"
        else:
            return listing
    raise AssertionError("unreachable")


def sign_up(*, email: str, password: str, name: str, role: Role) -> User:
    """A new patient or practitioner account; a practitioner's opens with its draft listing."""
    user = register_user(email=email, password=password, name=name, role=role)
    if user.role is Role.PRACTITIONER:
        create_listing(user)
    return user


def get_listing_of(owner: User) -> Practitioner:
    """The owner's listing (`sign_up` opens it with the account; reading never creates)."""
    listing = db.session.scalar(sa.select(Practitioner).where(Practitioner.owner_id == owner.id))
    if listing is None:
        raise NotFound("This account has no listing.")
    return listing


def get_public_listing(id_or_slug: str) -> Practitioner:
    """An approved listing by id or slug; anything else is indistinguishable from absent."""
    condition = Practitioner.slug == id_or_slug
    with contextlib.suppress(ValueError):
        condition = sa.or_(condition, Practitioner.id == uuid.UUID(id_or_slug))
    listing = db.session.scalar(sa.select(Practitioner).where(condition, Practitioner.is_public))
    if listing is None:
        raise NotFound("No such practitioner.")
    return listing


def update_profile(listing: Practitioner, data: Mapping[str, Any]) -> Practitioner:
    """Replace the profile's editable fields (the schema has filled in defaults).

    A listing under review or live must stay complete: its name, bio and zone cannot be blanked.
    """
    if listing.status is not ListingStatus.DRAFT and listing.status is not ListingStatus.REJECTED:
        blanked = {
            field: ["Required while the listing is under review or published."]
            for field in ("display_name", "bio", "timezone")
            if field in data and not data[field]
        }
        if blanked:
            raise ValidationFailed("A submitted listing must stay complete.", blanked)
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(listing, field, data[field])
    db.session.flush()
    mark_listing_changed(db.session, listing.id)
    return listing


def missing_for_submission(listing: Practitioner) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    if not listing.display_name.strip():
        missing["display_name"] = ["A display name is required."]
    if not listing.bio.strip():
        missing["bio"] = ["A bio is required."]
    if not listing.timezone:
        missing["timezone"] = ["A time zone is required."]
    if not listing.locations:
        missing["locations"] = ["Add at least one location."]
    if not listing.active_services:
        missing["services"] = ["Add at least one active service."]
    return missing


def submit_listing(listing: Practitioner, actor: User) -> Practitioner:
    """Send a draft or rejected listing for review, once it is complete."""
    if not listing.can("submit"):
        listing.transition("submit")  # raises the 409 with the reason
    missing = missing_for_submission(listing)
    if missing:
        raise ValidationFailed("The listing is not complete yet.", missing)
    before = listing_state(listing)
    listing.transition("submit")
    listing.status_reason = None
    listing.submitted_at = utc_now()
    audit.record(
        actor_id=actor.id,
        action="listing.submit",
        target_type="practitioner",
        target_id=listing.id,
        before=before,
        after=listing_state(listing),
    )
    db.session.flush()
    return listing


def listing_state(listing: Practitioner) -> dict[str, Any]:
    """What the audit log keeps of a listing's review state."""
    return {"status": listing.status, "status_reason": listing.status_reason}


# --- locations -----------------------------------------------------------------------------


def list_locations(listing: Practitioner) -> sa.Select:
    return (
        sa.select(Location)
        .where(Location.practitioner_id == listing.id, Location.deleted_at.is_(None))
        .order_by(Location.created_at, Location.id)
    )


def get_own_location(listing: Practitioner, location_id: uuid.UUID) -> Location:
    location = db.session.scalar(
        sa.select(Location).where(
            Location.id == location_id,
            Location.practitioner_id == listing.id,
            Location.deleted_at.is_(None),
        )
    )
    if location is None:
        raise NotFound("No such location.")
    return location


def create_location(listing: Practitioner, data: Mapping[str, Any]) -> Location:
    location = Location(practitioner_id=listing.id, **data)
    db.session.add(location)
    db.session.flush()
    mark_listing_changed(db.session, listing.id)
    return location


def update_location(location: Location, data: Mapping[str, Any]) -> Location:
    for field, value in data.items():
        setattr(location, field, value)
    db.session.flush()
    mark_listing_changed(db.session, location.practitioner_id)
    return location


def delete_location(location: Location) -> None:
    location.deleted_at = utc_now()
    remove_location_hours(location)
    db.session.flush()
    mark_listing_changed(db.session, location.practitioner_id)


# --- services ------------------------------------------------------------------------------


def list_services(listing: Practitioner) -> sa.Select:
    return (
        sa.select(Service)
        .where(Service.practitioner_id == listing.id, Service.deleted_at.is_(None))
        .order_by(Service.created_at, Service.id)
    )


def get_own_service(listing: Practitioner, service_id: uuid.UUID) -> Service:
    service = db.session.scalar(
        sa.select(Service).where(
            Service.id == service_id,
            Service.practitioner_id == listing.id,
            Service.deleted_at.is_(None),
        )
    )
    if service is None:
        raise NotFound("No such service.")
    return service


def _active_therapy(slug: str) -> TherapyType:
    therapy = db.session.scalar(
        sa.select(TherapyType).where(TherapyType.slug == slug, TherapyType.active)
    )
    if therapy is None:
        raise ValidationFailed("Unknown therapy.", {"therapy": ["Not a known, active therapy."]})
    return therapy


def create_service(listing: Practitioner, data: Mapping[str, Any]) -> Service:
    values = dict(data)
    therapy = _active_therapy(values.pop("therapy"))
    service = Service(practitioner_id=listing.id, therapy_type=therapy, **values)
    db.session.add(service)
    db.session.flush()
    mark_listing_changed(db.session, listing.id)
    return service


def update_service(service: Service, data: Mapping[str, Any]) -> Service:
    values = dict(data)
    if "therapy" in values:
        service.therapy_type = _active_therapy(values.pop("therapy"))
    for field, value in values.items():
        setattr(service, field, value)
    db.session.flush()
    mark_listing_changed(db.session, service.practitioner_id)
    return service


def delete_service(service: Service) -> None:
    service.deleted_at = utc_now()
    service.active = False
    db.session.flush()
    mark_listing_changed(db.session, service.practitioner_id)
