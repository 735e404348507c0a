"""Slot engine benchmark: the pure engine, then the public slots endpoint, over 30 days.

    python -m bench.slots [--database-url URL]

Without a URL the database is a temporary SQLite file; a PostgreSQL URL names a server, on
which a fresh database `bench_slots_<random>` is created, migrated and dropped at the end.

One approved listing (Australia/Sydney) works 08:00-12:00 and 13:00-19:00 every day and offers
a 60-minute service on a 15-minute interval, with 5 minutes of buffer before and 10 after; 300
confirmed bookings, none overlapping once widened by those buffers, are spread over the next
60 days (inserted directly, then the listing is re-indexed as the booking service would).

Printed, as one JSON object:
- `engine_30d_ms_p50`: `compute_slots` alone over 30 days with its inputs already loaded,
  median of 200 runs (target < 5 ms);
- `api_30d_ms_p95`: GET /api/v1/practitioners/{slug}/slots for those 30 days through the
  Flask test client on the configured database, p95 of 100 requests (target < 30 ms on
  PostgreSQL), after a few unmeasured warm-up requests;
- `database`, `slots_returned` and a few more figures for context.
"""

import argparse
import random
import time
import uuid
from bisect import bisect_left
from datetime import timedelta

from bench.common import backend_of, emit, log, make_app, ms, percentile, scratch_database

TIMEZONE = "Australia/Sydney"
WINDOWS = (("08:00", "12:00"), ("13:00", "19:00"))
DURATION = 60
INTERVAL = 15
BUFFER_BEFORE = 5
BUFFER_AFTER = 10
BOOKINGS = 300
BOOKING_DAYS = 60
RANGE_DAYS = 30
ENGINE_RUNS = 200
API_REQUESTS = 100
API_WARMUP = 5
SEED = 20260401


def _pick_bookings(slots, zone, rng: random.Random) -> list:
    """Up to BOOKINGS slots whose blocked spans (buffers included) never overlap.

    Five a day at most, so they spread over the whole period rather than filling the first
    days; a day that yields fewer leaves the rest to later days.
    """
    by_day: dict = {}
    for slot in slots:
        by_day.setdefault(slot.start_at.astimezone(zone).date(), []).append(slot)
    before, after = timedelta(minutes=BUFFER_BEFORE), timedelta(minutes=BUFFER_AFTER)
    chosen = []
    starts: list = []  # blocked spans chosen so far, sorted by start
    ends: list = []
    for _day, day_slots in sorted(by_day.items()):
        rng.shuffle(day_slots)
        wanted = min(5, BOOKINGS - len(chosen))
        taken = 0
        for slot in day_slots:
            if taken >= wanted:
                break
            start, end = slot.start_at - before, slot.end_at + after
            i = bisect_left(starts, start)
            if i > 0 and ends[i - 1] > start:
                continue
            if i < len(starts) and starts[i] < end:
                continue
            starts.insert(i, start)
            ends.insert(i, end)
            chosen.append(slot)
            taken += 1
    if len(chosen) < BOOKINGS:
        raise RuntimeError(f"only {len(chosen)} non-overlapping bookings fit")
    return sorted(chosen, key=lambda slot: slot.start_at)


def build(app) -> tuple[uuid.UUID, str, uuid.UUID]:
    """The listing, its service and BOOKINGS confirmed bookings: (listing id, slug, service)."""
    import sqlalchemy as sa

    from marketplace.availability import free_time
    from marketplace.bookings.models import Booking, BookingStatus
    from marketplace.db import utc_now
    from marketplace.extensions import db
    from marketplace.money import platform_fee
    from marketplace.practitioners.models import Practitioner
    from marketplace.search.index import reindex_listing
    from tests.factories import create_listing, create_user

    listing = create_listing(
        app,
        name="Bench Slots Practitioner",
        timezone=TIMEZONE,
        duration_minutes=DURATION,
        price_cents=11000,
        weekly_hours=[(day, start, end) for day in range(7) for start, end in WINDOWS],
        slot_interval_minutes=INTERVAL,
        buffer_before_minutes=BUFFER_BEFORE,
        buffer_after_minutes=BUFFER_AFTER,
        min_notice_minutes=120,
        horizon_days=BOOKING_DAYS,
    )
    patient_id, _ = create_user(app, "patient", name="Bench Patient")
    rng = random.Random(SEED)
    with app.app_context():
        now = utc_now()
        practitioner = db.session.get(Practitioner, listing.id)
        today = free_time.local_today(practitioner, now)
        free = free_time.free_slots(
            practitioner, DURATION, today, today + timedelta(days=BOOKING_DAYS), now
        )
        fee = platform_fee(11000, app.config["PLATFORM_FEE_BPS"])
        rows = [
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "patient_id": patient_id,
                "practitioner_id": listing.id,
                "service_id": listing.service_id,
                "location_id": slot.location_id,
                "start_at": slot.start_at,
                "end_at": slot.end_at,
                "blocked_start_at": slot.start_at - timedelta(minutes=BUFFER_BEFORE),
                "blocked_end_at": slot.end_at + timedelta(minutes=BUFFER_AFTER),
                "status": BookingStatus.CONFIRMED,
                "hold_expires_at": now + timedelta(minutes=15),
                "price_cents": 11000,
                "currency": "AUD",
                "platform_fee_cents": fee,
                "refund_cents": 0,
                "refund_count": 0,
                "payout_owed_cents": 0,
                "payment_provider": "simulated",
                "paid_at": now,
                "confirmed_at": now,
            }
            for slot in _pick_bookings(free, free_time.zone_of(practitioner), rng)
        ]
        db.session.execute(sa.insert(Booking), rows)
        reindex_listing(listing.id, now)
        db.session.commit()
    return listing.id, listing.slug, listing.service_id


def bench_engine(app, listing_id: uuid.UUID) -> dict:
    """`compute_slots` alone, inputs loaded once beforehand, as `free_slots` would load them."""
    from marketplace.availability import free_time
    from marketplace.availability.slots import compute_slots
    from marketplace.db import utc_now
    from marketplace.extensions import db
    from marketplace.practitioners.models import Practitioner

    with app.app_context():
        now = utc_now()
        listing = db.session.get(Practitioner, listing_id)
        first_day = free_time.local_today(listing, now)
        last_day = first_day + timedelta(days=RANGE_DAYS - 1)
        rules, overrides = free_time.load_hours([listing.id], first_day, last_day)
        start, end = free_time.instant_range(listing, first_day, last_day)
        busy = free_time.load_busy([listing.id], start, end, now)[listing.id]
        inputs = {
            "rules": rules[listing.id],
            "overrides": overrides[listing.id],
            "time_off": (),
            "busy": busy,
            "timezone": free_time.zone_of(listing),
            "settings": free_time.booking_settings(listing),
            "duration_minutes": DURATION,
            "now": now,
            "first_day": first_day,
            "last_day": last_day,
        }
    timings = []
    slots = []
    for _ in range(ENGINE_RUNS + 1):
        started = time.perf_counter()
        slots = compute_slots(**inputs)
        timings.append(time.perf_counter() - started)
    first, measured = timings[0], timings[1:]
    log(f"engine: {len(slots)} slots, {len(busy)} busy intervals in the range")
    return {
        "engine_30d_ms_p50": ms(percentile(measured, 50)),
        "engine_30d_ms_p95": ms(percentile(measured, 95)),
        "engine_30d_ms_first_run": ms(first),
        "engine_slots": len(slots),
        "busy_intervals_in_range": len(busy),
    }


def bench_api(app, listing_id: uuid.UUID, slug: str, service_id: uuid.UUID) -> dict:
    from marketplace.availability import free_time
    from marketplace.db import utc_now
    from marketplace.extensions import db
    from marketplace.practitioners.models import Practitioner

    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        first_day = free_time.local_today(listing, utc_now())
    last_day = first_day + timedelta(days=RANGE_DAYS - 1)
    path = (
        f"/api/v1/practitioners/{slug}/slots"
        f"?service_id={service_id}&from={first_day.isoformat()}&to={last_day.isoformat()}"
    )
    client = app.test_client()
    timings = []
    returned = 0
    for number in range(API_WARMUP + API_REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data()[:300]!r}")
        returned = len(response.get_json()["items"])
        if number >= API_WARMUP:
            timings.append(elapsed)
    return {
        "api_30d_ms_p50": ms(percentile(timings, 50)),
        "api_30d_ms_p95": ms(percentile(timings, 95)),
        "slots_returned": returned,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL (a fresh database is made there), or a SQLite URL; "
        "default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, "bench_slots") as url:
        log(f"database: {backend_of(url)}")
        app = make_app(url)
        try:
            started = time.perf_counter()
            listing_id, slug, service_id = build(app)
            log(
                f"built the listing and {BOOKINGS} bookings in {time.perf_counter() - started:.1f}s"
            )
            result = {"database": backend_of(url), "bookings": BOOKINGS, "range_days": RANGE_DAYS}
            result |= bench_engine(app, listing_id)
            result |= bench_api(app, listing_id, slug, service_id)
        finally:
            from marketplace.extensions import db

            with app.app_context():
                db.engine.dispose()
    emit(result)


if __name__ == "__main__":
    main()
