"""Keeping the search index and the availability summary in step with the listings.

`reindex_listing` runs in the same transaction as whatever changed a listing's availability
or searchable text, under the practitioner's lock, so the summary never lags a committed
change (except for time passing: holds lapsing and days rolling over, which the
`refresh-availability` command catches up on).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from marketplace.availability import loading as availability
from marketplace.availability.models import AvailabilityDay
from marketplace.availability.slots import Slot, compute_slots
from marketplace.catalog.models import Condition, TherapyType, condition_therapies
from marketplace.extensions import db, utc_now
from marketplace.practitioners.locking import lock_practitioner
from marketplace.practitioners.models import ListingStatus, Practitioner, Service
from marketplace.search.models import (
    BITMAP_DAYS,
    BITMAP_FIRST_OFFSET,
    SearchDocument,
    SearchText,
    day_number,
    therapy_bit,
)
from marketplace.search.text import term_string


@dataclass(frozen=True)
class DaySummary:
    first_slot_at: datetime
    last_slot_at: datetime
    free_minutes: int


def summarise_days(slots: Iterable[Slot], zone) -> dict[date, DaySummary]:
    """Per local day: the first and last free slot, and the minutes free slots cover."""
    days: dict[date, DaySummary] = {}
    for slot in slots:  # ordered by start
        day = slot.start_at.astimezone(zone).date()
        summary = days.get(day)
        if summary is None:
            days[day] = DaySummary(
                slot.start_at, slot.start_at, _minutes(slot.start_at, slot.end_at)
            )
            continue
        covered_until = summary.last_slot_at + (slot.end_at - slot.start_at)
        extra = _minutes(max(slot.start_at, covered_until), slot.end_at)
        days[day] = DaySummary(summary.first_slot_at, slot.start_at, summary.free_minutes + extra)
    return days


def _minutes(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


def _active_durations(listing_id: uuid.UUID) -> list[int]:
    return sorted(
        db.session.scalars(
            sa.select(Service.duration_minutes)
            .where(
                Service.practitioner_id == listing_id,
                Service.active,
                Service.deleted_at.is_(None),
            )
            .distinct()
        )
    )


def refresh_summary(listing: Practitioner, now: datetime) -> list[dict]:
    """Rewrite the listing's per-day summary over its horizon; returns the rows written."""
    db.session.execute(
        sa.delete(AvailabilityDay).where(AvailabilityDay.practitioner_id == listing.id)
    )
    durations = _active_durations(listing.id)
    if listing.status is not ListingStatus.APPROVED or not durations or not listing.timezone:
        return []
    zone = availability.zone_of(listing)
    first_day = now.astimezone(zone).date()
    last_day = first_day + timedelta(days=listing.horizon_days)
    rules, overrides = availability.load_hours([listing.id], first_day, last_day)
    start, end = availability.instant_range(listing, first_day, last_day)
    busy = availability.load_busy([listing.id], start, end, now)[listing.id]
    notice = timedelta(minutes=listing.min_notice_minutes)
    rows = []
    for duration in durations:
        slots = compute_slots(
            rules=rules[listing.id],
            overrides=overrides[listing.id],
            time_off=(),
            busy=busy,
            timezone=zone,
            settings=availability.booking_settings(listing),
            duration_minutes=duration,
            now=now,
            first_day=first_day,
            last_day=last_day,
        )
        rows.extend(
            {
                "practitioner_id": listing.id,
                "duration_minutes": duration,
                "day": day,
                "first_slot_at": summary.first_slot_at,
                "last_slot_at": summary.last_slot_at,
                "first_bookable_until": summary.first_slot_at - notice,
                "last_bookable_until": summary.last_slot_at - notice,
                "free_minutes": summary.free_minutes,
            }
            for day, summary in summarise_days(slots, zone).items()
        )
    if rows:
        db.session.execute(sa.insert(AvailabilityDay), rows)
    return rows


def _tag_text(listing_id: uuid.UUID) -> str:
    """Names of the therapies offered, and names and synonyms of the conditions they treat."""
    therapy_ids = sa.select(Service.therapy_type_id).where(
        Service.practitioner_id == listing_id, Service.active, Service.deleted_at.is_(None)
    )
    therapy_names = db.session.scalars(
        sa.select(TherapyType.name).where(TherapyType.id.in_(therapy_ids), TherapyType.active)
    ).all()
    condition_ids = sa.select(condition_therapies.c.condition_id).where(
        condition_therapies.c.therapy_type_id.in_(therapy_ids)
    )
    conditions = db.session.execute(
        sa.select(Condition.name, Condition.synonyms)
        .where(Condition.id.in_(condition_ids))
        .order_by(Condition.id)
    ).all()
    parts = list(therapy_names)
    for name, synonyms in conditions:
        parts.append(name)
        parts.extend(synonyms or [])
    return " ".join(parts)


def _upsert(model, listing_id: uuid.UUID, values: dict) -> None:
    row = db.session.get(model, listing_id)
    if row is None:
        db.session.add(model(practitioner_id=listing_id, **values))
    else:
        for field, value in values.items():
            setattr(row, field, value)


def bookable_days_bitmap(days: list[dict], today: date) -> tuple[int, datetime | None]:
    """Bits of the days from `today` + BITMAP_FIRST_OFFSET on that have a bookable slot, and
    until when that stays true (the earliest of those days' last deadlines).

    Today and tomorrow are left out: in some zone they are today, whose slots pass by the hour.
    """
    bits, valid_until = 0, None
    for row in days:
        offset = (row["day"] - today).days
        if BITMAP_FIRST_OFFSET <= offset < BITMAP_DAYS:
            bits |= 1 << offset
            deadline = row["last_bookable_until"]
            valid_until = deadline if valid_until is None else min(valid_until, deadline)
    return bits, valid_until


def _write_document(
    listing: Practitioner, offered: list[tuple[int, int]], days: list[dict], today: date
) -> None:
    """`offered`: (therapy id, price) of each active service; `days`: the summary's rows."""
    mask = 0
    for therapy_id, _price in offered:
        mask |= therapy_bit(therapy_id)
    first_day = min(days, key=lambda row: row["first_slot_at"], default=None)
    bookable_days, bookable_days_until = bookable_days_bitmap(days, today)
    _upsert(
        SearchDocument,
        listing.id,
        {
            "gender": listing.gender.value,
            "languages": " ".join(listing.languages or []),
            "telehealth": listing.telehealth,
            "therapy_mask": mask,
            "rating_average": listing.rating_average,
            "rating_count": listing.rating_count,
            "min_price_cents": min(price for _therapy_id, price in offered),
            "next_available_at": first_day["first_slot_at"] if first_day else None,
            "next_bookable_until": first_day["first_bookable_until"] if first_day else None,
            "bookable_days_base": day_number(today),
            "bookable_days": bookable_days,
            "bookable_days_until": bookable_days_until,
            "updated_at": utc_now(),
        },
    )
    texts = {
        "name_terms": term_string(listing.display_name),
        "headline_terms": term_string(listing.headline, listing.profession),
        "tag_terms": term_string(_tag_text(listing.id)),
        "bio_terms": term_string(listing.bio),
    }
    _upsert(SearchText, listing.id, texts)
    db.session.flush()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.text("DELETE FROM search_fts WHERE practitioner_id = :id"), {"id": listing.id.hex}
        )
        db.session.execute(
            sa.text("INSERT INTO search_fts (practitioner_id, body) VALUES (:id, :body)"),
            {"id": listing.id.hex, "body": " ".join(texts.values())},
        )


def _drop_document(listing_id: uuid.UUID) -> None:
    for model in (SearchDocument, SearchText):
        db.session.execute(sa.delete(model).where(model.practitioner_id == listing_id))
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.text("DELETE FROM search_fts WHERE practitioner_id = :id"), {"id": listing_id.hex}
        )


def reindex_listing(listing_id: uuid.UUID, now: datetime | None = None) -> None:
    """Bring the listing's summary and search document up to date (or remove them)."""
    now = now or utc_now()
    db.session.flush()
    lock_practitioner(listing_id)
    listing = db.session.get(Practitioner, listing_id)
    # Under the lock, read what concurrent transactions committed before it was granted.
    db.session.refresh(listing)
    offered = db.session.execute(
        sa.select(Service.therapy_type_id, Service.price_cents).where(
            Service.practitioner_id == listing_id, Service.active, Service.deleted_at.is_(None)
        )
    ).all()
    if listing.status is not ListingStatus.APPROVED or not offered:
        db.session.execute(
            sa.delete(AvailabilityDay).where(AvailabilityDay.practitioner_id == listing_id)
        )
        _drop_document(listing_id)
        return
    today = now.astimezone(availability.zone_of(listing)).date()
    _write_document(listing, offered, refresh_summary(listing, now), today)


def reindex_listings_offering(therapy_id: int, now: datetime | None = None) -> int:
    """After a therapy is renamed or retired: every listing offering it."""
    listing_ids = db.session.scalars(
        sa.select(Service.practitioner_id).where(Service.therapy_type_id == therapy_id).distinct()
    ).all()
    for listing_id in listing_ids:
        reindex_listing(listing_id, now)
    return len(listing_ids)
