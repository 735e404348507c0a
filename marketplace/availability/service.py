"""Availability rules: editing hours, overrides and time off, and computing free slots."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.availability.models import AvailabilityRule, DateOverride, OverrideWindow, TimeOff
from marketplace.availability.slots import (
    BookingSettings,
    Interval,
    LocalWindow,
    Slot,
    WeeklyRule,
    compute_slots,
    to_instant,
)
from marketplace.bookings.models import Booking, BookingStatus, active_booking_clause
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.practitioners.models import Location, Practitioner, Service, new_calendar_token


def zone_of(listing: Practitioner) -> ZoneInfo:
    return ZoneInfo(listing.timezone or "UTC")


def local_today(listing: Practitioner, now: datetime) -> date:
    return now.astimezone(zone_of(listing)).date()


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
    return override, existing is None


def delete_override(override: DateOverride) -> None:
    db.session.delete(override)
    db.session.flush()


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
    return time_off


def delete_time_off(time_off: TimeOff) -> None:
    db.session.delete(time_off)
    db.session.flush()


def remove_location_hours(location: Location) -> None:
    """A removed location offers no more hours: drop its rules and override windows."""
    db.session.execute(
        sa.delete(AvailabilityRule).where(AvailabilityRule.location_id == location.id)
    )
    db.session.execute(sa.delete(OverrideWindow).where(OverrideWindow.location_id == location.id))


# --- free slots ----------------------------------------------------------------------------


def booking_settings(listing: Practitioner) -> BookingSettings:
    return BookingSettings(
        slot_interval_minutes=listing.slot_interval_minutes,
        buffer_before_minutes=listing.buffer_before_minutes,
        buffer_after_minutes=listing.buffer_after_minutes,
        min_notice_minutes=listing.min_notice_minutes,
        horizon_days=listing.horizon_days,
    )


def instant_range(
    listing: Practitioner, first_day: date, last_day: date
) -> tuple[datetime, datetime]:
    """Instants covering the local days, padded so buffers reaching across midnight count."""
    zone = zone_of(listing)
    pad = timedelta(minutes=listing.buffer_before_minutes + listing.buffer_after_minutes + 1)
    return (
        to_instant(first_day, time(0), zone) - pad,
        to_instant(last_day + timedelta(days=1), time(0), zone) + pad,
    )


def load_busy(
    practitioner_ids: Iterable[uuid.UUID],
    start: datetime,
    end: datetime,
    now: datetime,
    ignore_booking_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[Interval]]:
    """Active bookings' blocked intervals and time off overlapping [start, end), per listing.

    `ignore_booking_id` leaves one booking out: a booking being moved does not block itself.
    """
    ids = list(practitioner_ids)
    busy: dict[uuid.UUID, list[Interval]] = {pid: [] for pid in ids}
    booking_query = sa.select(
        Booking.practitioner_id, Booking.blocked_start_at, Booking.blocked_end_at
    ).where(
        Booking.practitioner_id.in_(ids),
        active_booking_clause(now),
        Booking.blocked_end_at > start,
        Booking.blocked_start_at < end,
    )
    if ignore_booking_id is not None:
        booking_query = booking_query.where(Booking.id != ignore_booking_id)
    bookings = db.session.execute(booking_query)
    time_off = db.session.execute(
        sa.select(TimeOff.practitioner_id, TimeOff.start_at, TimeOff.end_at).where(
            TimeOff.practitioner_id.in_(ids), TimeOff.end_at > start, TimeOff.start_at < end
        )
    )
    for practitioner_id, blocked_start, blocked_end in [*bookings, *time_off]:
        busy[practitioner_id].append(Interval(blocked_start, blocked_end))
    return busy


def load_hours(
    practitioner_ids: Iterable[uuid.UUID], first_day: date, last_day: date
) -> tuple[dict[uuid.UUID, list[WeeklyRule]], dict[uuid.UUID, dict[date, list[LocalWindow]]]]:
    """Weekly rules and the overrides falling in [first_day, last_day], per listing."""
    ids = list(practitioner_ids)
    rules: dict[uuid.UUID, list[WeeklyRule]] = {pid: [] for pid in ids}
    overrides: dict[uuid.UUID, dict[date, list[LocalWindow]]] = {pid: {} for pid in ids}
    for rule in db.session.scalars(
        sa.select(AvailabilityRule).where(AvailabilityRule.practitioner_id.in_(ids))
    ):
        rules[rule.practitioner_id].append(
            WeeklyRule(
                rule.weekday,
                rule.start_time,
                rule.end_time,
                rule.location_id,
                rule.valid_from,
                rule.valid_until,
            )
        )
    override_rows = db.session.execute(
        sa.select(DateOverride.practitioner_id, DateOverride.date, OverrideWindow)
        .outerjoin(OverrideWindow, OverrideWindow.override_id == DateOverride.id)
        .where(
            DateOverride.practitioner_id.in_(ids),
            DateOverride.date >= first_day,
            DateOverride.date <= last_day,
        )
    )
    for practitioner_id, day, window in override_rows:
        windows = overrides[practitioner_id].setdefault(day, [])
        if window is not None:
            windows.append(LocalWindow(window.start_time, window.end_time, window.location_id))
    return rules, overrides


def free_slots(
    listing: Practitioner,
    duration_minutes: int,
    first_day: date,
    last_day: date,
    now: datetime,
    ignore_booking_id: uuid.UUID | None = None,
) -> list[Slot]:
    """The slots the public may book, in four queries whatever the range."""
    rules, overrides = load_hours([listing.id], first_day, last_day)
    start, end = instant_range(listing, first_day, last_day)
    busy = load_busy([listing.id], start, end, now, ignore_booking_id)
    return compute_slots(
        rules=rules[listing.id],
        overrides=overrides[listing.id],
        time_off=(),
        busy=busy[listing.id],
        timezone=zone_of(listing),
        settings=booking_settings(listing),
        duration_minutes=duration_minutes,
        now=now,
        first_day=first_day,
        last_day=last_day,
    )


def find_slot(
    listing: Practitioner,
    duration_minutes: int,
    start_at: datetime,
    now: datetime,
    location_id: uuid.UUID | None = None,
    ignore_booking_id: uuid.UUID | None = None,
) -> Slot | None:
    """The free slot starting exactly at `start_at` (at `location_id` if given), if offered."""
    day = start_at.astimezone(zone_of(listing)).date()
    for slot in free_slots(listing, duration_minutes, day, day, now, ignore_booking_id):
        if slot.start_at == start_at and location_id in (None, slot.location_id):
            return slot
    return None


def get_bookable_service(listing: Practitioner, service_id: uuid.UUID) -> Service:
    service = db.session.scalar(
        sa.select(Service).where(
            Service.id == service_id,
            Service.practitioner_id == listing.id,
            Service.active,
            Service.deleted_at.is_(None),
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
