"""Keeping the search rows and the availability summary in step with the listings.

A service that changes a listing's availability or searchable text marks it
(`marketplace.db.mark_listing_changed`); as that transaction commits, the one commit hook here
runs `reindex_listing` for each marked listing, under the practitioner's lock, so neither lags
a committed change (except for time passing: holds lapsing and days rolling over, which the
`refresh-availability` command catches up on). Search reads those rows in the next
transaction, so it never lags either.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.availability import free_time as availability
from marketplace.availability.models import AvailabilityDay
from marketplace.availability.slots import Slot
from marketplace.db import listings_changed, utc_now
from marketplace.extensions import db
from marketplace.locking import lock_practitioner
from marketplace.practitioners.models import Location, Practitioner, Service
from marketplace.search.models import (
    SearchListing,
    SearchOffer,
    SearchPlace,
    SearchText,
    day_number,
    rank_base,
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


def refresh_summary(listing: Practitioner, durations: list[int], now: datetime) -> list[dict]:
    """Rewrite the listing's per-day summary over its horizon for its active services'
    `durations`; returns the rows written."""
    db.session.execute(
        sa.delete(AvailabilityDay).where(AvailabilityDay.practitioner_id == listing.id)
    )
    if not listing.is_public or not durations or not listing.timezone:
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
        slots = availability.listing_slots(
            listing, rules, overrides, busy, duration, now, first_day, last_day
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


def bookable_days(rows: list[dict], today: date, durations: list[int]) -> dict:
    """The listing row's days columns from the summary rows of every duration (see
    SearchListing): one character a day from `today`, and until when they hold."""
    by_offset: dict[int, list[dict]] = {}
    for row in rows:
        offset = (row["day"] - today).days
        if offset >= 0:
            by_offset.setdefault(offset, []).append(row)
    columns: dict = {
        "days_base": day_number(today),
        "base_day_any_until": None,
        "base_day_every_until": None,
        "next_day_any_until": None,
        "next_day_every_until": None,
        "later_days_until": None,
    }
    length = max(by_offset, default=-1) + 1
    any_days, every_days = ["0"] * length, ["0"] * length
    for offset, day_rows in by_offset.items():
        deadlines = [row["last_bookable_until"] for row in day_rows]
        every = {row["duration_minutes"] for row in day_rows} == set(durations)
        any_days[offset] = "1"
        if every:
            every_days[offset] = "1"
        if offset < 2:
            prefix = "base_day" if offset == 0 else "next_day"
            columns[f"{prefix}_any_until"] = max(deadlines)
            columns[f"{prefix}_every_until"] = min(deadlines) if every else None
        else:
            earliest = columns["later_days_until"]
            columns["later_days_until"] = min(deadlines + ([earliest] if earliest else []))
    columns["days_any"] = "".join(any_days)
    columns["days_every"] = "".join(every_days)
    return columns


def next_slots(rows: list[dict]) -> dict[int, tuple[datetime, datetime]]:
    """{minutes: (first free slot, bookable until)} of each duration in the summary rows."""
    first: dict[int, dict] = {}
    for row in rows:
        earliest = first.get(row["duration_minutes"])
        if earliest is None or row["first_slot_at"] < earliest["first_slot_at"]:
            first[row["duration_minutes"]] = row
    return {
        minutes: (row["first_slot_at"], row["first_bookable_until"])
        for minutes, row in sorted(first.items())
    }


@dataclass(frozen=True)
class SearchRows:
    """A listing's rows in the four search tables, as values to insert."""

    listing: dict
    offers: list[dict]
    places: list[dict]
    text: dict


def search_rows(
    listing: Practitioner,
    services: list,
    days: list[dict],
    places: list,
    today: date,
) -> SearchRows:
    """What search stores of a public listing (pure). `services`: (therapy id, price,
    minutes) of each active service, in that order; `days`: the summary's rows for their
    durations; `places`: (latitude, longitude) of each active location, in order."""
    durations = sorted({minutes for _therapy_id, _price, minutes in services})
    slots = next_slots(days)
    key = {"practitioner_id": listing.id}
    therapy_bits = 0
    for therapy_id, _price, _minutes in services:
        therapy_bits |= therapy_bit(therapy_id)
    languages = " ".join(listing.languages or [])
    cheapest: dict[int, int] = {}  # therapy id -> position of its cheapest offer
    for position, (therapy_id, _price, _minutes) in enumerate(services):
        cheapest.setdefault(therapy_id, position)  # in (therapy, price, minutes) order
    return SearchRows(
        listing={
            **key,
            "gender": listing.gender.value,
            "languages": f" {languages} " if languages else " ",
            "telehealth": listing.telehealth,
            "therapy_bits": therapy_bits,
            "price_from_cents": min(price for _therapy_id, price, _minutes in services),
            "rating_average": listing.rating_average,
            "rating_count": listing.rating_count,
            "rank_base": rank_base(listing.rating_average),
            "next_available_at": min((at for at, _until in slots.values()), default=None),
            **bookable_days(days, today, durations),
        },
        offers=[
            {
                **key,
                "position": position,
                "therapy_id": therapy_id,
                "price_cents": price,
                "duration_minutes": minutes,
                "cheapest_of_therapy": position == cheapest[therapy_id],
                "next_at": slots.get(minutes, (None, None))[0],
                "next_until": slots.get(minutes, (None, None))[1],
            }
            for position, (therapy_id, price, minutes) in enumerate(services)
        ],
        places=[
            {**key, "position": position, "latitude": latitude, "longitude": longitude}
            for position, (latitude, longitude) in enumerate(places)
        ],
        text={
            **key,
            "name_terms": term_string(listing.display_name),
            "headline_terms": term_string(listing.headline, listing.profession),
            "bio_terms": term_string(listing.bio),
            "tag_terms": " ".join(
                f"t{therapy_id}" for therapy_id in sorted({s[0] for s in services})
            ),
        },
    )


def _write_rows(rows: SearchRows) -> None:
    for model, values in (
        (SearchListing, [rows.listing]),
        (SearchText, [rows.text]),
        (SearchOffer, rows.offers),
        (SearchPlace, rows.places),
    ):
        if values:
            db.session.execute(sa.insert(model), values)


def _unlist(listing_id: uuid.UUID) -> None:
    """Out of search: its rows go (the listing's other tables refer to its listing row)."""
    for model in (SearchOffer, SearchPlace, SearchText, SearchListing):
        db.session.execute(sa.delete(model).where(model.practitioner_id == listing_id))


def reindex_listing(listing_id: uuid.UUID, now: datetime | None = None) -> None:
    """Bring the listing's summary and search document up to date (or remove them) now, in
    the current transaction. Services mark the listing instead; the commit hook calls this."""
    now = now or utc_now()
    db.session.flush()
    lock_practitioner(listing_id)
    listing = db.session.get(Practitioner, listing_id)
    # Under the lock, read what concurrent transactions committed before it was granted.
    db.session.refresh(listing)
    services = db.session.execute(
        sa.select(Service.therapy_type_id, Service.price_cents, Service.duration_minutes)
        .where(Service.practitioner_id == listing_id, Service.is_offered)
        .order_by(Service.therapy_type_id, Service.price_cents, Service.duration_minutes)
    ).all()
    _unlist(listing_id)
    if not listing.is_public or not services:
        db.session.execute(
            sa.delete(AvailabilityDay).where(AvailabilityDay.practitioner_id == listing_id)
        )
        return
    today = now.astimezone(availability.zone_of(listing)).date()
    durations = sorted({minutes for _therapy_id, _price, minutes in services})
    days = refresh_summary(listing, durations, now)
    places = db.session.execute(
        sa.select(Location.latitude, Location.longitude)
        .where(Location.practitioner_id == listing.id, Location.deleted_at.is_(None))
        .order_by(Location.created_at, Location.id)
    ).all()
    _write_rows(search_rows(listing, services, days, places, today))


@sa.event.listens_for(so.Session, "before_commit")
def _rewrite_changed_listings(session: so.Session) -> None:
    """As a transaction commits: rewrite the rows of every listing it marked changed."""
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on
    marks = listings_changed(session)  # made on db.session, which reindex_listing writes
    at_commit = utc_now()
    # In id order: two transactions committing take the practitioners' locks in one order.
    for listing_id in sorted(marks):
        now = marks[listing_id]
        reindex_listing(listing_id, at_commit if now is None else now)
