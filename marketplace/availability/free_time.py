"""The free slots of stored listings: their hours, busy intervals and settings, read for the
slot engine.

Everything that asks "which slots are free" goes through here, so the public slots, the
booking re-check and the search summary can never disagree.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

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
from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner


def zone_of(listing: Practitioner) -> ZoneInfo:
    return ZoneInfo(listing.timezone or "UTC")


def local_today(listing: Practitioner, now: datetime) -> date:
    return now.astimezone(zone_of(listing)).date()


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
        Booking.is_active(now),
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
    return listing_slots(
        listing, rules, overrides, busy[listing.id], duration_minutes, now, first_day, last_day
    )


def listing_slots(
    listing: Practitioner,
    rules: Mapping[uuid.UUID, list],
    overrides: Mapping[uuid.UUID, dict],
    busy: Sequence,
    duration_minutes: int,
    now: datetime,
    first_day: date,
    last_day: date,
) -> list[Slot]:
    """The engine's slots of one listing from what `load_hours` and `load_busy` read for it
    (busy: the listing's own intervals)."""
    return compute_slots(
        rules=rules[listing.id],
        overrides=overrides[listing.id],
        time_off=(),
        busy=busy,
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


def first_free_slots(
    requests: list[tuple[Practitioner, int, date]], now: datetime
) -> list[datetime | None]:
    """The first free slot of each (listing, duration, local day), loaded in one batch."""
    if not requests:
        return []
    listings = {listing.id: listing for listing, _duration, _day in requests}
    first_day = min(day for _listing, _duration, day in requests)
    last_day = max(day for _listing, _duration, day in requests)
    rules, overrides = load_hours(listings, first_day, last_day)
    start = min(instant_range(listing, day, day)[0] for listing, _duration, day in requests)
    end = max(instant_range(listing, day, day)[1] for listing, _duration, day in requests)
    busy = load_busy(listings, start, end, now)
    firsts: list[datetime | None] = []
    for listing, duration, day in requests:
        slots = listing_slots(listing, rules, overrides, busy[listing.id], duration, now, day, day)
        firsts.append(slots[0].start_at if slots else None)
    return firsts


def earliest_free_slot(listing: Practitioner, duration_minutes: int, now: datetime) -> Slot | None:
    """The first slot the public could book now, anywhere in the listing's horizon."""
    first_day = local_today(listing, now)
    last_day = first_day + timedelta(days=listing.horizon_days)
    slots = free_slots(listing, duration_minutes, first_day, last_day, now)
    return slots[0] if slots else None
