"""Availability rules: editing weekly hours, date overrides and time off; the calendar feed.

Every edit marks the listing changed, so its search rows are rewritten as the same transaction
commits and search's availability summary never disagrees with the slots.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.availability.free_time import local_today
from marketplace.availability.models import AvailabilityRule, DateOverride, OverrideWindow, TimeOff
from marketplace.availability.schemas import MAX_SLOT_RANGE_DAYS
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import mark_listing_changed
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.locking import lock_practitioner
from marketplace.practitioners.models import Location, Practitioner, Service, new_calendar_token


def _check_own_locations(
    listing: Practitioner, windows: Sequence[Mapping[str, Any]], field: str
) -> None:
    wanted = {window["location_id"] for window in windows}
    if not wanted:
        return
    own = set(
        db.session.scalars(
            sa.select(Location.id).where(
                Location.practitioner_id == listing.id,
                Location.id.in_(wanted),
                Location.deleted_at.is_(None),
            )
        )
    )
    errors = {
        f"{field}.{index}.location_id": ["Not one of your locations."]
        for index, window in enumerate(windows)
        if window["location_id"] not in own
    }
    if errors:
        raise ValidationFailed("Unknown location.", errors)


# --- weekly schedule -----------------------------------------------------------------------


def get_schedule(listing: Practitioner) -> list[AvailabilityRule]:
    return list(
        db.session.scalars(
            sa.select(AvailabilityRule)
            .where(AvailabilityRule.practitioner_id == listing.id)
            .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time)
        )
    )


def replace_schedule(
    listing: Practitioner, rules: Sequence[Mapping[str, Any]]
) -> list[AvailabilityRule]:
    """Replace the whole week at once; a refused request leaves the old week as it was."""
    lock_practitioner(listing.id)
    _check_own_locations(listing, rules, "rules")
    db.session.execute(
        sa.delete(AvailabilityRule).where(AvailabilityRule.practitioner_id == listing.id)
    )
    db.session.add_all(
        AvailabilityRule(
            practitioner_id=listing.id,
            weekday=rule["weekday"],
            start_time=rule["start"],
            end_time=rule["end"],
            location_id=rule["location_id"],
            valid_from=rule.get("valid_from"),
            valid_until=rule.get("valid_until"),
        )
        for rule in rules
    )
    db.session.flush()
    mark_listing_changed(db.session, listing.id)
    return get_schedule(listing)


# --- date overrides ------------------------------------------------------------------------


def list_overrides(listing: Practitioner) -> sa.Select:
    return (
        sa.select(DateOverride)
        .where(DateOverride.practitioner_id == listing.id)
        .order_by(DateOverride.date)
    )


def get_own_override(listing: Practitioner, override_id: uuid.UUID) -> DateOverride:
    override = db.session.scalar(
        sa.select(DateOverride).where(
            DateOverride.id == override_id, DateOverride.practitioner_id == listing.id
        )
    )
    if override is None:
        raise NotFound("No such override.")
    return override


def set_override(
    listing: Practitioner, day: date, windows: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[DateOverride, bool]:
    """Give a date its own hours (none = closed), replacing any earlier override of it."""
    if day < local_today(listing, now):
        raise ValidationFailed("That date has passed.", {"date": ["Must not be in the past."]})
    _check_own_locations(listing, windows, "windows")
    lock_practitioner(listing.id)
    existing = db.session.scalar(
        sa.select(DateOverride).where(
            DateOverride.practitioner_id == listing.id, DateOverride.date == day
        )
    )
    override = existing or DateOverride(practitioner_id=listing.id, date=day)
    override.windows = [
        OverrideWindow(start_time=w["start"], end_time=w["end"], location_id=w["location_id"])
        for w in windows
    ]
    db.session.add(override)
    db.session.flush()
    mark_listing_changed(db.session, listing.id, now)
    return override, existing is None


def delete_override(override: DateOverride) -> None:
    db.session.delete(override)
    db.session.flush()
    mark_listing_changed(db.session, override.practitioner_id)


# --- time off ------------------------------------------------------------------------------


def list_time_off(listing: Practitioner) -> sa.Select:
    return (
        sa.select(TimeOff)
        .where(TimeOff.practitioner_id == listing.id)
        .order_by(TimeOff.start_at, TimeOff.id)
    )


def get_own_time_off(listing: Practitioner, time_off_id: uuid.UUID) -> TimeOff:
    time_off = db.session.scalar(
        sa.select(TimeOff).where(TimeOff.id == time_off_id, TimeOff.practitioner_id == listing.id)
    )
    if time_off is None:
        raise NotFound("No such time off.")
    return time_off


def add_time_off(listing: Practitioner, data: Mapping[str, Any]) -> TimeOff:
    time_off = TimeOff(practitioner_id=listing.id, **data)
    db.session.add(time_off)
    db.session.flush()
    mark_listing_changed(db.session, listing.id)
    return time_off


def delete_time_off(time_off: TimeOff) -> None:
    db.session.delete(time_off)
    db.session.flush()
    mark_listing_changed(db.session, time_off.practitioner_id)


def remove_location_hours(location: Location) -> None:
    """A removed location offers no more hours: drop its rules and override windows.

    The caller marks the listing changed.
    """
    db.session.execute(
        sa.delete(AvailabilityRule).where(AvailabilityRule.location_id == location.id)
    )
    db.session.execute(sa.delete(OverrideWindow).where(OverrideWindow.location_id == location.id))


# --- free slots ----------------------------------------------------------------------------


DEFAULT_SLOT_RANGE_DAYS = 14


def slot_range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The local dates a slots request covers: defaults around what was given, at most 62."""
    span = timedelta(days=DEFAULT_SLOT_RANGE_DAYS - 1)
    if first is None:
        first = today if last is None or last >= today else last
        first = max(first, last - span) if last is not None else first
    if last is None:
        last = first + span
    if last < first:
        raise ValidationFailed("The range is reversed.", {"to": ["Must not be before from."]})
    if (last - first).days >= MAX_SLOT_RANGE_DAYS:
        raise ValidationFailed(
            "The range is too long.", {"to": [f"At most {MAX_SLOT_RANGE_DAYS} days from `from`."]}
        )
    return first, last


def get_bookable_service(listing: Practitioner, service_id: uuid.UUID) -> Service:
    service = db.session.scalar(
        sa.select(Service).where(
            Service.id == service_id,
            Service.practitioner_id == listing.id,
            Service.is_offered,
        )
    )
    if service is None:
        raise ValidationFailed(
            "Unknown service.", {"service_id": ["Not an active service of this practitioner."]}
        )
    return service


# --- calendar feed -------------------------------------------------------------------------


def get_listing_by_calendar_token(token: str) -> Practitioner:
    listing = db.session.scalar(sa.select(Practitioner).where(Practitioner.calendar_token == token))
    if listing is None:
        raise NotFound("No such calendar.")
    return listing


def rotate_calendar_token(listing: Practitioner) -> Practitioner:
    listing.calendar_token = new_calendar_token()
    db.session.flush()
    return listing


def confirmed_bookings_for_feed(listing: Practitioner, since: datetime) -> list[Any]:
    """(booking, service name, patient name, location) rows for the iCalendar feed."""
    return list(
        db.session.execute(
            sa.select(Booking, Service.name, User.name, Location)
            .join(Service, Service.id == Booking.service_id)
            .join(User, User.id == Booking.patient_id)
            .outerjoin(Location, Location.id == Booking.location_id)
            .where(
                Booking.practitioner_id == listing.id,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.end_at >= since,
            )
            .order_by(Booking.start_at)
        )
    )
