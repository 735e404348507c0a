"""Search benchmark: N approved listings, 300 mixed searches through the test client and a
real gunicorn worker.

    python -m bench.search --practitioners 100000 --database-url postgresql://postgres@HOST/postgres
    python -m bench.search --practitioners 2000             # a temporary SQLite file

A PostgreSQL URL names a server: a fresh database `bench_search_<random>` is made there and
dropped at the end. With `--keep` the database is `bench_search_<N>` (a file of that name in
the temporary directory for SQLite) and is kept, so the next `--keep` run with the same N
reuses it instead of seeding again, unless it is older than 10 minutes (the availability summary
is as of the seeding), was made by another version of this script or on another schema.

Seeding is deterministic (`--seed`): 10 Australian cities, listings spread over real suburbs,
three services of real therapies each, one of eight weekly schedules with its own booking
settings, 1% of listings with a few confirmed bookings. Rows are bulk-loaded (COPY on
PostgreSQL) with the values the services would write. The search rows (`search_listings`,
`search_offers`, `search_places`, `search_texts`) are exactly what `reindex_listing` writes:
the real function runs for every listing with bookings and for one representative of each
group of listings whose summary must be identical (same zone, schedule, settings and service
durations, no bookings); the others get copies of their representative's summary rows, and
search rows that `index.search_rows` builds from their own fields and those summary rows, as
`reindex_listing` does. A sample of copied listings is then re-indexed for real and compared,
row by row in the four search tables and the summary.

Measured, after an unmeasured warm-up: 300 searches through the Flask test client as
production runs them, the facet cache on for production's `SEARCH_FACETS_CACHE_SECONDS`
(`p50_ms`, `p95_ms`, `p99_ms`, `p95_available_on_ms`, `p95_text_ms`), each in turn with a run
of it with the cache off (`p50_uncached_ms`, `p95_uncached_ms`); the same searches as calls of
the search service, cache off (`service_p50_ms`: no HTTP, routing, argument parsing or
serialisation; `p50_uncached_over_service_p50` is the framework's share); and every SQL
statement each cached search ran, replayed raw on a plain DBAPI connection (`sql_p50_ms`: their
sum per search). Then one gunicorn worker is started as production starts it (`gunicorn
wsgi:app` with gunicorn.conf.py, the development config on the bench database) on a free
loopback port: once it answers its health check (`worker_ready_s` after the start), its first
search over HTTP (`first_search_ms`; gunicorn.conf.py warms each worker with two searches
before it takes requests, as in production), then the warm-up and the 300 searches over HTTP
(`worker_p50_ms`, `worker_p95_ms`), and the worker's resident memory after them
(`worker_rss_mb`). One JSON object is printed. `--explain` prints EXPLAIN ANALYZE (SQLite: the
query plan) of every statement of one search of each shape to stderr, with a line naming the
tables each scans in full.
"""

import argparse
import base64
import http.client
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.common import (
    backend_of,
    bulk_insert,
    drop_postgres_database,
    emit,
    log,
    make_app,
    ms,
    percentile,
    postgres_database_exists,
    scratch_database,
    stop_process,
)
from config import normalise_database_url
from marketplace.demo import CITIES as DEMO_CITIES
from marketplace.search.service import search_practitioners

ROOT = Path(__file__).resolve().parent.parent
SEED_VERSION = "6"
# Production runs `refresh-availability --stale-only` every few minutes; an older summary
# would measure a marketplace whose maintenance job has stopped.
KEPT_SEED_MAX_AGE = timedelta(minutes=10)
BOOKED_EVERY = 100  # one listing in a hundred has bookings
VERIFY_SAMPLE = 25
WARMUP_QUERIES = 20

# --- places ---------------------------------------------------------------------------------
# (city, weight, IANA zone, state, [(suburb, postcode, latitude, longitude, street)]): the demo's
# five cities (one list of suburbs for both), and five more.
SHARED_CITY_WEIGHTS = {"Sydney": 25, "Melbourne": 24, "Brisbane": 12, "Perth": 10, "Adelaide": 7}
EXTRA_CITIES = (
    (
        "Gold Coast",
        5,
        "Australia/Brisbane",
        "QLD",
        (
            ("Surfers Paradise", "4217", -28.002, 153.43, "Cavill Avenue"),
            ("Broadbeach", "4218", -28.031, 153.433, "Surf Parade"),
            ("Southport", "4215", -27.967, 153.4, "Nerang Street"),
            ("Burleigh Heads", "4220", -28.088, 153.45, "James Street"),
            ("Robina", "4226", -28.078, 153.385, "Robina Town Centre Drive"),
        ),
    ),
    (
        "Canberra",
        4,
        "Australia/Sydney",
        "ACT",
        (
            ("Braddon", "2612", -35.271, 149.134, "Lonsdale Street"),
            ("Belconnen", "2617", -35.238, 149.065, "Benjamin Way"),
            ("Woden", "2606", -35.345, 149.086, "Bradley Street"),
            ("Kingston", "2604", -35.316, 149.146, "Giles Street"),
            ("Gungahlin", "2912", -35.186, 149.134, "Hibberson Street"),
        ),
    ),
    (
        "Newcastle",
        4,
        "Australia/Sydney",
        "NSW",
        (
            ("Newcastle", "2300", -32.927, 151.776, "Hunter Street"),
            ("Hamilton", "2303", -32.923, 151.748, "Beaumont Street"),
            ("Merewether", "2291", -32.948, 151.754, "Glebe Road"),
            ("Charlestown", "2290", -32.968, 151.694, "Pearson Street"),
        ),
    ),
    (
        "Hobart",
        2,
        "Australia/Hobart",
        "TAS",
        (
            ("Hobart", "7000", -42.882, 147.327, "Elizabeth Street"),
            ("Sandy Bay", "7005", -42.905, 147.326, "Sandy Bay Road"),
            ("North Hobart", "7000", -42.87, 147.318, "Elizabeth Street"),
            ("Glenorchy", "7010", -42.833, 147.276, "Main Road"),
        ),
    ),
    (
        "Darwin",
        1,
        "Australia/Darwin",
        "NT",
        (
            ("Darwin City", "0800", -12.463, 130.842, "Smith Street"),
            ("Parap", "0820", -12.431, 130.842, "Parap Road"),
            ("Casuarina", "0810", -12.374, 130.882, "Trower Road"),
            ("Nightcliff", "0810", -12.383, 130.851, "Pavonia Place"),
        ),
    ),
)
CITIES = (
    *(
        (name, weight, DEMO_CITIES[name][0], DEMO_CITIES[name][1], tuple(DEMO_CITIES[name][2]))
        for name, weight in SHARED_CITY_WEIGHTS.items()
    ),
    *EXTRA_CITIES,
)


@dataclass(frozen=True)
class Profession:
    title: str
    weight: int
    body: str
    prefix: str
    clinic: tuple[str, ...]
    opener: str
    focus: tuple[str, ...]  # complaints named in headlines and bios
    services: tuple[tuple[str, str, int, int], ...]  # (therapy slug, name, minutes, cents)


PROFESSIONS = (
    Profession(
        "Myotherapist",
        4,
        "Myotherapy Association Australia",
        "MAA",
        ("Myotherapy", "Muscle & Movement", "Body Clinic"),
        "I'm a myotherapist with {years} years in clinic, using trigger point therapy, dry "
        "needling and myofascial release to settle stubborn muscle pain.",
        ("sciatica", "buttock pain", "neck pain", "tension headaches", "piriformis syndrome"),
        (
            ("myotherapy", "Initial myotherapy consultation", 60, 11000),
            ("myotherapy", "Myotherapy follow-up", 45, 9500),
            ("trigger-point-therapy", "Trigger point therapy", 45, 9000),
            ("dry-needling", "Dry needling with soft tissue work", 30, 7500),
            ("myofascial-release", "Myofascial release", 60, 10500),
        ),
    ),
    Profession(
        "Remedial massage therapist",
        4,
        "Massage & Myotherapy Australia",
        "MMA",
        ("Remedial Massage", "Massage Studio", "Body Works"),
        "I'm a remedial massage therapist with {years} years of hands-on experience, and I "
        "tailor every session to what your body needs on the day.",
        ("muscle tension", "lower back pain", "sports injuries", "postural pain"),
        (
            ("remedial-massage", "Remedial massage", 60, 10000),
            ("remedial-massage", "Remedial massage (extended)", 90, 14500),
            ("deep-tissue-massage", "Deep tissue massage", 60, 10500),
            ("sports-massage", "Sports massage", 45, 8500),
            ("cupping", "Cupping with massage", 30, 7000),
        ),
    ),
    Profession(
        "Physiotherapist",
        3,
        "Physiotherapy Board of Australia (AHPRA)",
        "PHY",
        ("Physiotherapy", "Sports Physio", "Physio & Pilates"),
        "I'm a physiotherapist with {years} years' experience in musculoskeletal and sports "
        "physio.",
        ("sports injuries", "knee pain", "shoulder pain", "lower back pain", "sciatica"),
        (
            ("physiotherapy", "Initial physiotherapy assessment", 60, 12500),
            ("physiotherapy", "Physiotherapy follow-up", 30, 9000),
            ("dry-needling", "Dry needling", 30, 8500),
            ("clinical-pilates", "Clinical Pilates (one-on-one)", 45, 9500),
            ("shockwave-therapy", "Shockwave therapy", 30, 8000),
        ),
    ),
    Profession(
        "Osteopath",
        2,
        "Osteopathy Board of Australia (AHPRA)",
        "OST",
        ("Osteopathy", "Osteo Health", "Spine & Joint"),
        "I'm an osteopath with {years} years in practice, treating the whole body rather than "
        "chasing symptoms.",
        ("lower back pain", "neck pain", "postural pain", "whiplash", "hip pain"),
        (
            ("osteopathy", "Initial osteopathy consultation", 60, 13000),
            ("osteopathy", "Osteopathy follow-up", 45, 10500),
            ("myofascial-release", "Myofascial release", 45, 9500),
            ("exercise-physiology", "Exercise rehabilitation", 45, 9000),
            ("dry-needling", "Dry needling", 30, 8000),
        ),
    ),
    Profession(
        "Chiropractor",
        2,
        "Chiropractic Board of Australia (AHPRA)",
        "CHI",
        ("Chiropractic", "Spinal Health", "Family Chiro"),
        "I'm a chiropractor with {years} years of practice and a gentle, evidence-based "
        "approach to spinal care.",
        ("lower back pain", "neck pain", "tension headaches", "upper back pain"),
        (
            ("chiropractic", "Initial chiropractic consultation", 45, 9500),
            ("chiropractic", "Chiropractic adjustment", 30, 6500),
            ("kinesiology-taping", "Kinesiology taping", 30, 5000),
            ("remedial-massage", "Soft tissue massage", 30, 6500),
            ("cupping", "Cupping therapy", 30, 6000),
        ),
    ),
    Profession(
        "Acupuncturist",
        1,
        "Chinese Medicine Board of Australia (AHPRA)",
        "CMR",
        ("Acupuncture", "Eastern Health", "Wellbeing Clinic"),
        "I'm a registered acupuncturist with {years} years in clinic, combining acupuncture "
        "with cupping and massage.",
        ("migraine", "neck pain", "fibromyalgia", "lower back pain"),
        (
            ("acupuncture", "Initial acupuncture consultation", 60, 9500),
            ("acupuncture", "Acupuncture follow-up", 45, 8000),
            ("cupping", "Cupping", 45, 7500),
            ("naturopathy", "Naturopathy consultation", 60, 11000),
            ("remedial-massage", "Tuina massage", 45, 8500),
        ),
    ),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE = _words(
    "Olivia Charlotte Amelia Isla Mia Ava Grace Chloe Sophie Emily Zoe Hannah Lucy Ruby Ella "
    "Jessica Sarah Priya Mei Linh Aisha Fatima Eleni Giulia Yuki Ananya Maya Claire Rebecca"
)
MALE = _words(
    "Oliver Jack William Noah Thomas James Lucas Henry Liam Ethan Samuel Daniel Matthew Ryan "
    "Benjamin Nathan Arjun Wei Minh Omar Yusuf Nikos Marco Hiroshi Rohan David Michael Luke"
)
SURNAMES = _words(
    "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen "
    "Thomas Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall "
    "Wood Jackson Clarke Patel Khan Chen Wang Li Zhang Tran Pham Papadopoulos Rossi Russo "
    "Kaur Singh Sharma Kim Park Cohen Murphy O'Brien Campbell Stewart Mitchell Young Scott "
    "Hughes Edwards Morris Baker Cooper Bell Ward"
)
LANGUAGES = ("zh", "vi", "el", "it", "ar", "hi", "es", "ko", "pa", "de")
EXTRA_SENTENCES = (
    "I explain what I find and give you a short home programme so progress keeps going "
    "between sessions.",
    "Many of my patients are office workers, runners and new parents.",
    "I love helping people get back to sport after injury.",
    "Evening and weekend appointments suit most of my clients.",
    "I completed further training in pain science and exercise prescription.",
    "Expect a thorough assessment before any hands-on treatment.",
)

# --- weekly schedules, each with its own booking settings -----------------------------------

WEEKDAYS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Template:
    windows: tuple[tuple[int, str, str, int], ...]  # (weekday, start, end, location index)
    slot_interval_minutes: int = 15
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 120
    horizon_days: int = 60


def _days(days, start: str, end: str, location: int = 0) -> tuple:
    return tuple((day, start, end, location) for day in days)


TEMPLATES = (
    Template(_days(WEEKDAYS, "09:00", "17:00")),
    Template(
        _days(WEEKDAYS, "08:00", "12:00") + _days(WEEKDAYS, "13:00", "18:00"),
        buffer_after_minutes=15,
    ),
    Template(
        _days((1, 2, 3, 4), "09:00", "17:00") + _days((5,), "09:00", "13:00"),
        slot_interval_minutes=30,
        min_notice_minutes=60,
    ),
    Template(
        _days((0, 2, 4), "07:00", "15:00") + _days((1, 3), "12:00", "20:00"),
        min_notice_minutes=240,
        horizon_days=42,
    ),
    Template(
        _days((0, 1, 2, 3), "10:00", "19:00"), buffer_before_minutes=5, buffer_after_minutes=10
    ),
    Template(
        _days((5,), "08:00", "16:00")
        + _days((6,), "09:00", "14:00")
        + _days((0,), "09:00", "17:00"),
        slot_interval_minutes=30,
        min_notice_minutes=1440,
        horizon_days=28,
    ),
    Template(_days(WEEKDAYS, "06:30", "10:30") + _days(WEEKDAYS, "15:30", "19:30")),
    Template(
        _days((0, 1, 2), "09:00", "17:00", 0)
        + _days((3, 4), "09:00", "17:00", 1)
        + _days((5,), "09:00", "12:00", 1),
        buffer_after_minutes=5,
        min_notice_minutes=180,
    ),
)


@dataclass
class Listing:
    """What grouping, copying and bookings need to know of a generated listing."""

    id: uuid.UUID
    zone: str
    template: int
    durations: tuple[int, ...]
    therapies: frozenset[str]
    display_name: str
    headline: str
    profession: str
    bio: str
    gender: str
    languages: list[str]
    telehealth: bool
    rating_average: float | None
    rating_count: int
    location_ids: list[uuid.UUID]
    places: list[tuple[float, float]]  # (latitude, longitude) of each location, in order
    services: list[tuple[uuid.UUID, int, int]]  # (service id, minutes, cents)
    offers: list[tuple[int, int, int]]  # (therapy id, cents, minutes) of each service
    booked: bool


# --- generating the rows --------------------------------------------------------------------


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()


def _gender(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.52:
        return "female"
    if roll < 0.91:
        return "male"
    return "non_binary" if roll < 0.94 else "undisclosed"


def generate(n: int, seed: int, now: datetime, therapy_ids: dict[str, int]) -> dict[str, Any]:
    """Every row to load, deterministically from (n, seed); `now` only dates them."""
    from slugify import slugify
    from werkzeug.security import generate_password_hash

    from marketplace.accounts.models import Role
    from marketplace.practitioners.models import Gender, ListingStatus

    rng = random.Random(f"bench-search-{seed}")
    password_hash = generate_password_hash("bench-password", method="pbkdf2:sha256:1000")
    city_weights = [city[1] for city in CITIES]
    profession_weights = [profession.weight for profession in PROFESSIONS]
    slugs: Counter = Counter()
    rows: dict[str, list] = {
        name: [] for name in ("users", "practitioners", "locations", "services", "rules")
    }
    listings: list[Listing] = []
    for index in range(n):
        city, _weight, zone, state, suburbs = rng.choices(CITIES, city_weights)[0]
        profession = rng.choices(PROFESSIONS, profession_weights)[0]
        gender = _gender(rng)
        first_names = {"female": FEMALE, "male": MALE}.get(gender, FEMALE + MALE)
        surname = rng.choice(SURNAMES)
        name = f"{rng.choice(first_names)} {surname}"
        base = slugify(name, max_length=120, word_boundary=True)
        slugs[base] += 1
        slug = base if slugs[base] == 1 else f"{base}-{slugs[base]}"
        places = rng.sample(suburbs, 2 if rng.random() < 0.25 else 1)
        focus = rng.sample(profession.focus, 3)
        headline = f"{profession.title} for {focus[0]} and {focus[1]} in {places[0][0]}"
        bio = " ".join(
            [
                profession.opener.format(years=rng.randint(2, 25)),
                f"I work from {places[0][0]}, {city}, and most of my patients come to me "
                f"with {focus[0]}, {focus[1]} or {focus[2]}.",
                rng.choice(EXTRA_SENTENCES),
            ]
        )
        languages = ["en"] if rng.random() < 0.8 else ["en", rng.choice(LANGUAGES)]
        rated = rng.random() < 0.75
        created = now - timedelta(days=rng.randint(30, 900), seconds=rng.randint(0, 86399))
        template_index = rng.randrange(len(TEMPLATES))
        template = TEMPLATES[template_index]
        user_id, listing_id = _uuid(rng), _uuid(rng)
        rows["users"].append(
            {
                "id": user_id,
                "email": f"practitioner{index:06d}@bench.example",
                "name": name,
                "password_hash": password_hash,
                "role": Role.PRACTITIONER,
                "created_at": created,
            }
        )
        listing = Listing(
            id=listing_id,
            zone=zone,
            template=template_index,
            durations=(),
            therapies=frozenset(),
            display_name=name,
            headline=headline,
            profession=profession.title,
            bio=bio,
            gender=gender,
            languages=languages,
            telehealth=rng.random() < 0.2,
            rating_average=round(min(5.0, max(3.0, rng.gauss(4.6, 0.3))), 2) if rated else None,
            rating_count=min(400, int(rng.paretovariate(1.2) * 3)) if rated else 0,
            location_ids=[],
            places=[],
            services=[],
            offers=[],
            booked=index % BOOKED_EVERY == BOOKED_EVERY // 2,
        )
        rows["practitioners"].append(
            {
                "id": listing_id,
                "owner_id": user_id,
                "slug": slug,
                "display_name": name,
                "headline": headline,
                "bio": bio,
                "profession": profession.title,
                "registration_body": profession.body,
                "registration_number": f"{profession.prefix}{rng.randrange(10**10):010d}",
                "gender": Gender(gender),
                "languages": languages,
                "telehealth": listing.telehealth,
                "timezone": zone,
                "slot_interval_minutes": template.slot_interval_minutes,
                "buffer_before_minutes": template.buffer_before_minutes,
                "buffer_after_minutes": template.buffer_after_minutes,
                "min_notice_minutes": template.min_notice_minutes,
                "horizon_days": template.horizon_days,
                "free_cancellation_hours": 24,
                "late_cancellation_fee_percent": 50,
                "calendar_token": _token(rng),
                "stripe_account_id": f"acct_bench{index:08d}",
                "charges_enabled": True,
                "status": ListingStatus.APPROVED,
                "status_reason": None,
                "submitted_at": created + timedelta(days=1),
                "reviewed_at": created + timedelta(days=2),
                "reviewed_by_id": None,
                "rating_average": listing.rating_average,
                "rating_count": listing.rating_count,
                "created_at": created,
                "updated_at": created + timedelta(days=2),
            }
        )
        for number, (suburb, postcode, latitude, longitude, street) in enumerate(places):
            location_id = _uuid(rng)
            listing.location_ids.append(location_id)
            rows["locations"].append(
                {
                    "id": location_id,
                    "practitioner_id": listing_id,
                    "name": f"{surname} {rng.choice(profession.clinic)}",
                    "address": f"{rng.randint(1, 400)} {street}",
                    "suburb": suburb,
                    "state": state,
                    "postcode": postcode,
                    "country": "AU",
                    "latitude": round(latitude + rng.uniform(-0.015, 0.015), 6),
                    "longitude": round(longitude + rng.uniform(-0.015, 0.015), 6),
                    "created_at": created + timedelta(seconds=number),
                    "deleted_at": None,
                }
            )
            place = rows["locations"][-1]
            listing.places.append((place["latitude"], place["longitude"]))
        offered = sorted(rng.sample(range(len(profession.services)), 3))
        for number, option in enumerate(offered):
            therapy, service_name, minutes, cents = profession.services[option]
            price = cents + rng.choice((-1500, -1000, -500, 0, 0, 500, 1000, 1500, 2500))
            service_id = _uuid(rng)
            listing.services.append((service_id, minutes, price))
            listing.offers.append((therapy_ids[therapy], price, minutes))
            rows["services"].append(
                {
                    "id": service_id,
                    "practitioner_id": listing_id,
                    "therapy_type_id": therapy_ids[therapy],
                    "name": service_name,
                    "description": "",
                    "duration_minutes": minutes,
                    "price_cents": price,
                    "currency": "AUD",
                    "active": True,
                    "created_at": created + timedelta(minutes=10, seconds=number),
                    "deleted_at": None,
                }
            )
        listing.durations = tuple(sorted({minutes for _id, minutes, _cents in listing.services}))
        listing.therapies = frozenset(profession.services[option][0] for option in offered)
        for weekday, start, end, place in template.windows:
            rows["rules"].append(
                {
                    "id": _uuid(rng),
                    "practitioner_id": listing_id,
                    "weekday": weekday,
                    "start_time": clock.fromisoformat(start),
                    "end_time": clock.fromisoformat(end),
                    "location_id": listing.location_ids[place % len(listing.location_ids)],
                    "valid_from": None,
                    "valid_until": None,
                }
            )
        listings.append(listing)
    patients = [
        {
            "id": _uuid(rng),
            "email": f"patient{number:04d}@bench.example",
            "name": f"{rng.choice(FEMALE + MALE)} {rng.choice(SURNAMES)}",
            "password_hash": password_hash,
            "role": Role.PATIENT,
            "created_at": now - timedelta(days=rng.randint(1, 300)),
        }
        for number in range(max(10, min(500, n // 200)))
    ]
    rows["users"].extend(patients)
    rows["bookings"] = _bookings(listings, [p["id"] for p in patients], now, rng)
    return {"rows": rows, "listings": listings}


def _bookings(listings: list[Listing], patients: list, now: datetime, rng: random.Random):
    """A few confirmed bookings in the next two weeks for the listings marked `booked`."""
    from marketplace.availability.slots import BookingSettings, WeeklyRule, compute_slots
    from marketplace.bookings.models import BookingStatus
    from marketplace.money import platform_fee

    rows = []
    for listing in listings:
        if not listing.booked:
            continue
        template = TEMPLATES[listing.template]
        rules = [
            WeeklyRule(
                weekday,
                clock.fromisoformat(start),
                clock.fromisoformat(end),
                listing.location_ids[place % len(listing.location_ids)],
            )
            for weekday, start, end, place in template.windows
        ]
        settings = BookingSettings(
            template.slot_interval_minutes,
            template.buffer_before_minutes,
            template.buffer_after_minutes,
            template.min_notice_minutes,
            template.horizon_days,
        )
        first_day = now.astimezone(ZoneInfo(listing.zone)).date()
        before = timedelta(minutes=template.buffer_before_minutes)
        after = timedelta(minutes=template.buffer_after_minutes)
        blocked: list[tuple[datetime, datetime]] = []
        for _ in range(rng.randint(2, 8)):
            service_id, minutes, price = rng.choice(listing.services)
            slots = compute_slots(
                rules=rules,
                overrides={},
                time_off=(),
                busy=(),
                timezone=listing.zone,
                settings=settings,
                duration_minutes=minutes,
                now=now,
                first_day=first_day,
                last_day=first_day + timedelta(days=13),
            )
            rng.shuffle(slots)
            for slot in slots:
                span = (slot.start_at - before, slot.end_at + after)
                if any(span[0] < end and start < span[1] for start, end in blocked):
                    continue
                blocked.append(span)
                confirmed = now - timedelta(hours=rng.randint(1, 240))
                rows.append(
                    {
                        "id": _uuid(rng),
                        "patient_id": rng.choice(patients),
                        "practitioner_id": listing.id,
                        "service_id": service_id,
                        "location_id": slot.location_id,
                        "start_at": slot.start_at,
                        "end_at": slot.end_at,
                        "blocked_start_at": span[0],
                        "blocked_end_at": span[1],
                        "status": BookingStatus.CONFIRMED,
                        "hold_expires_at": confirmed + timedelta(minutes=15),
                        "price_cents": price,
                        "currency": "AUD",
                        "platform_fee_cents": platform_fee(price, 1000),
                        "refund_cents": 0,
                        "refund_count": 0,
                        "payout_owed_cents": 0,
                        "payment_provider": "simulated",
                        "paid_at": confirmed,
                        "confirmed_at": confirmed,
                        "created_at": confirmed - timedelta(minutes=5),
                        "updated_at": confirmed,
                    }
                )
                break
    return rows


# --- seeding --------------------------------------------------------------------------------


def _representatives(listings: list[Listing]) -> tuple[dict, set]:
    """(summary representative of each listing, the listings to index for real).

    Listings without bookings that share zone, schedule template (settings included) and
    service durations have the same summary. The first of each group is indexed for real, and
    so is every booked listing.
    """
    summary_rep: dict[tuple, uuid.UUID] = {}
    to_index: set[uuid.UUID] = set()
    rep_of: dict[uuid.UUID, uuid.UUID] = {}
    for listing in listings:
        if listing.booked:
            to_index.add(listing.id)
            continue
        key = (listing.zone, listing.template, listing.durations)
        if key not in summary_rep:
            summary_rep[key] = listing.id
            to_index.add(listing.id)
        rep_of[listing.id] = summary_rep[key]
    return rep_of, to_index


def _reindex(app, ids: list[uuid.UUID], now: datetime) -> None:
    from marketplace.extensions import db
    from marketplace.search.index import reindex_listing

    with app.app_context():
        for number, listing_id in enumerate(ids, 1):
            reindex_listing(listing_id, now)
            if number % 200 == 0:
                db.session.commit()
                db.session.expunge_all()
        db.session.commit()


# What search_rows reads of a summary row (the representative's, for a copied listing).
SUMMARY_COLUMNS = (
    "duration_minutes",
    "day",
    "first_slot_at",
    "last_slot_at",
    "first_bookable_until",
    "last_bookable_until",
)


def _copy_index(app, listings: list[Listing], rep_of, to_index, now) -> None:
    """Summary rows and search rows of the listings not indexed for real, from their reps: the
    rows `reindex_listing` would write, built by its own `search_rows` from the listing's fields
    and the representative's summary rows (the same for both)."""
    from marketplace.availability.models import AvailabilityDay
    from marketplace.extensions import db
    from marketplace.search.index import search_rows
    from marketplace.search.models import SearchListing, SearchOffer, SearchPlace, SearchText

    copied = [listing for listing in listings if listing.id not in to_index]
    days = AvailabilityDay.__table__
    with app.app_context(), db.engine.begin() as conn:
        reps = sorted({rep_of[listing.id] for listing in copied})
        summaries: dict[uuid.UUID, list[dict]] = {rep: [] for rep in reps}
        for row in conn.execute(
            sa.select(days.c.practitioner_id, *(days.c[name] for name in SUMMARY_COLUMNS))
            .where(days.c.practitioner_id.in_(reps))
            .order_by(days.c.practitioner_id, days.c.duration_minutes, days.c.day)
        ).mappings():
            summaries[row["practitioner_id"]].append({name: row[name] for name in SUMMARY_COLUMNS})
        mapping = sa.Table(
            "bench_summary_map",
            sa.MetaData(),
            sa.Column("practitioner_id", sa.Uuid, primary_key=True),
            sa.Column("representative_id", sa.Uuid, nullable=False),
            prefixes=["TEMPORARY"],
        )
        mapping.create(conn)
        bulk_insert(
            conn,
            mapping,
            ({"practitioner_id": x.id, "representative_id": rep_of[x.id]} for x in copied),
        )
        started = time.perf_counter()
        copied_columns = [c for c in days.columns if c.name != "practitioner_id"]
        conn.execute(
            sa.insert(days).from_select(
                ["practitioner_id", *(c.name for c in copied_columns)],
                # One listing's rows together, as reindex_listing's single insert lays them.
                sa.select(mapping.c.practitioner_id, *copied_columns)
                .join(mapping, mapping.c.representative_id == days.c.practitioner_id)
                .order_by(mapping.c.practitioner_id, days.c.duration_minutes, days.c.day),
            )
        )
        conn.execute(sa.text("DROP TABLE bench_summary_map"))
        log(f"copied the summary rows in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        built = [
            search_rows(
                _practitioner_fields(listing),
                sorted(listing.offers),
                summaries[rep_of[listing.id]],
                listing.places,
                now.astimezone(ZoneInfo(listing.zone)).date(),
            )
            for listing in copied
        ]
        # Listings first: the other three tables refer to them.
        for model, values in (
            (SearchListing, (rows.listing for rows in built)),
            (SearchOffer, (offer for rows in built for offer in rows.offers)),
            (SearchPlace, (place for rows in built for place in rows.places)),
            (SearchText, (rows.text for rows in built)),
        ):
            count = bulk_insert(conn, model.__table__, values)
            log(f"wrote {count} {model.__tablename__} rows")
        log(f"built and wrote the search rows in {time.perf_counter() - started:.1f}s")
    log(f"copied the index of {len(copied)} listings from {len(reps)} representatives")


def _practitioner_fields(listing: Listing) -> SimpleNamespace:
    """The fields of the Practitioner that `search_rows` reads, as the listing stores them."""
    from marketplace.practitioners.models import Gender

    return SimpleNamespace(
        id=listing.id,
        gender=Gender(listing.gender),
        languages=list(listing.languages),
        telehealth=listing.telehealth,
        rating_average=listing.rating_average,
        rating_count=listing.rating_count,
        display_name=listing.display_name,
        headline=listing.headline,
        profession=listing.profession,
        bio=listing.bio,
    )


def _index_state(listing_id: uuid.UUID) -> tuple:
    """A listing's rows in the four search tables (every stored column but generated ones)
    and its summary rows, as stored."""
    from marketplace.availability.models import AvailabilityDay
    from marketplace.extensions import db
    from marketplace.search.models import SearchListing, SearchOffer, SearchPlace, SearchText

    state = []
    for model, order in (
        (SearchListing, ()),
        (SearchOffer, ("position",)),
        (SearchPlace, ("position",)),
        (SearchText, ()),
        (AvailabilityDay, ("duration_minutes", "day")),
    ):
        table = model.__table__
        # The mapped columns: PostgreSQL's generated tsvector is not one of them.
        rows = db.session.execute(
            sa.select(*table.columns)
            .where(table.c.practitioner_id == listing_id)
            .order_by(*(table.c[name] for name in order))
        ).all()
        state.append(tuple(map(tuple, rows)))
    return tuple(state)


def _verify(app, sample: list[uuid.UUID], now: datetime) -> None:
    """Re-index `sample` for real as of `now` (rolled back): the stored rows must not change.

    At seeding these are copied listings; when a kept seed is reused, any listings, which also
    catches a seed gone stale against a changed `reindex_listing`.
    """
    from marketplace.extensions import db
    from marketplace.search.index import reindex_listing

    compared = 0
    with app.app_context():
        try:
            for listing_id in sample:
                before = _index_state(listing_id)
                if not before[0]:
                    raise RuntimeError(f"no search_listings row for {listing_id}")
                compared += sum(len(rows) for rows in before)
                reindex_listing(listing_id, now)
                after = _index_state(listing_id)
                if before != after:
                    tables = ("listing", "offers", "places", "text", "summary")
                    differ = [
                        f"{name}:\n  stored: {old}\n  real:   {new}"
                        for name, old, new in zip(tables, before, after, strict=True)
                        if old != new
                    ]
                    raise RuntimeError(
                        f"the stored search rows of {listing_id} differ from reindex_listing's: "
                        + "\n".join(differ)
                    )
        finally:
            db.session.rollback()
    log(f"verified {len(sample)} listings ({compared} rows) against reindex_listing")


def _verify_kept(app, now: datetime) -> None:
    from marketplace.extensions import db
    from marketplace.practitioners.models import Practitioner

    with app.app_context():
        sample = list(
            db.session.scalars(
                sa.select(Practitioner.id).order_by(Practitioner.id).limit(VERIFY_SAMPLE)
            )
        )
    _verify(app, sample, now)


def seed(app, n: int, seed_number: int) -> float:
    """Load everything; returns the seconds taken."""
    from marketplace.accounts.models import User
    from marketplace.availability.models import AvailabilityRule
    from marketplace.bookings.models import Booking
    from marketplace.catalog.models import TherapyType
    from marketplace.db import utc_now
    from marketplace.extensions import db
    from marketplace.practitioners.models import Location, Practitioner, Service

    started = time.perf_counter()
    now = utc_now()
    with app.app_context():
        therapy_ids = dict(db.session.execute(sa.select(TherapyType.slug, TherapyType.id)).all())
    generated = generate(n, seed_number, now, therapy_ids)
    rows, listings = generated["rows"], generated["listings"]
    log(f"generated {n} listings in {time.perf_counter() - started:.1f}s")
    tables = (
        ("users", User),
        ("practitioners", Practitioner),
        ("locations", Location),
        ("services", Service),
        ("rules", AvailabilityRule),
        ("bookings", Booking),
    )
    with app.app_context(), db.engine.begin() as conn:
        for key, model in tables:
            phase = time.perf_counter()
            count = bulk_insert(conn, model.__table__, rows[key])
            log(f"loaded {count} {model.__tablename__} in {time.perf_counter() - phase:.1f}s")
    del rows
    rep_of, to_index = _representatives(listings)
    phase = time.perf_counter()
    _reindex(app, sorted(to_index), now)
    log(
        f"reindex_listing for {len(to_index)} listings (representatives and every booked one)"
        f" in {time.perf_counter() - phase:.1f}s"
    )
    _copy_index(app, listings, rep_of, to_index, now)
    copied = [listing.id for listing in listings if listing.id not in to_index]
    _verify(app, copied[:: max(1, len(copied) // VERIFY_SAMPLE)][:VERIFY_SAMPLE], now)
    phase = time.perf_counter()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        _write_meta(n, seed_number, now)
    log(f"vacuum/analyze in {time.perf_counter() - phase:.1f}s")
    return time.perf_counter() - started


META_TABLE = "bench_search_seed"


def _write_meta(n: int, seed_number: int, now: datetime) -> None:
    """Marks a completed seed (in the bench's own database), so `--keep` can reuse it."""
    from marketplace.extensions import db

    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_search_seed (name VARCHAR(40), value TEXT)")
        conn.execute(
            sa.text("INSERT INTO bench_search_seed (name, value) VALUES (:name, :value)"),
            [
                {"name": "practitioners", "value": str(n)},
                {"name": "seed", "value": str(seed_number)},
                {"name": "version", "value": SEED_VERSION},
                {"name": "seeded_at", "value": now.isoformat()},
                {"name": "revision", "value": _migrations_head()},
            ],
        )


def _read_meta(url: str) -> dict[str, str] | None:
    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(META_TABLE):
                return None
            return dict(conn.execute(sa.text("SELECT name, value FROM bench_search_seed")).all())
    finally:
        engine.dispose()


def _migrations_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "migrations")).get_current_head() or ""


def _usable(meta: dict | None, n: int, seed_number: int) -> bool:
    """A complete seed of this size, made by this bench version on the current schema."""
    expected = {
        "practitioners": str(n),
        "seed": str(seed_number),
        "version": SEED_VERSION,
        "revision": _migrations_head(),
    }
    if meta is None or any(meta.get(key) != value for key, value in expected.items()):
        return False
    # The summary is as of the seeding (what `refresh-availability` would roll forward daily).
    age = datetime.now(UTC) - datetime.fromisoformat(meta["seeded_at"])
    return age < KEPT_SEED_MAX_AGE


def _discard_unusable_kept(url: str | None, name: str, n: int, seed_number: int) -> None:
    """A kept database that is not a complete, current seed of the same N is removed."""
    default_sqlite = url in (None, "sqlite", "sqlite://")
    if default_sqlite or backend_of(url) == "sqlite":
        path = (
            Path(tempfile.gettempdir()) / f"{name}.sqlite"
            if default_sqlite
            else Path(sa.make_url(url).database)
        )
        if path.exists() and not _usable(_read_meta(f"sqlite:///{path}"), n, seed_number):
            log(f"{path} is not a usable seed (size, age, schema): reseeding")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if postgres_database_exists(url, name):
        kept = sa.make_url(normalise_database_url(url)).set(database=name)
        if not _usable(_read_meta(kept.render_as_string(hide_password=False)), n, seed_number):
            log(f"database {name} is not a usable seed (size, age, schema): reseeding")
            drop_postgres_database(url, name)


# --- the searches ---------------------------------------------------------------------------

TEXT_QUERIES = (
    "sciatica",
    "dry needling",
    "trigger point",
    "buttock pain",
    "remedial massage",
    "sports injury",
    "lower back pain",
    "physio",
    "neck pain headache",
    "myotherapy",
    "pilates",
)
THERAPIES = (
    "remedial-massage",
    "dry-needling",
    "myotherapy",
    "physiotherapy",
    "trigger-point-therapy",
    "chiropractic",
    "osteopathy",
    "acupuncture",
    "cupping",
    "sports-massage",
)
CONDITIONS = ("sciatica", "lower-back-pain", "neck-pain", "buttock-pain", "tension-headache")
SORT_WEIGHTS = {"relevance": 35, "distance": 20, "price": 12, "rating": 10, "soonest": 23}


def make_queries(count: int, rng: random.Random, today: date) -> list[dict[str, Any]]:
    """Search parameters as a patient's app would send them, every one of them valid."""
    queries = []
    city_weights = [city[1] for city in CITIES]
    for _ in range(count):
        params: dict[str, Any] = {}
        sort = rng.choices(list(SORT_WEIGHTS), list(SORT_WEIGHTS.values()))[0]
        if sort == "distance" or rng.random() < 0.65:
            suburbs = rng.choices(CITIES, city_weights)[0][4]
            _suburb, _postcode, latitude, longitude, _street = rng.choice(suburbs)
            params["lat"] = round(latitude + rng.uniform(-0.02, 0.02), 5)
            params["lng"] = round(longitude + rng.uniform(-0.02, 0.02), 5)
            if rng.random() < 0.7:
                params["radius_km"] = rng.choice((2, 5, 10, 10, 25, 50))
        roll = rng.random()
        if roll < 0.4:
            params["therapy"] = rng.sample(THERAPIES, 2 if rng.random() < 0.2 else 1)
        elif roll < 0.55:
            params["condition"] = rng.choice(CONDITIONS)
        if rng.random() < 0.25:
            params["q"] = rng.choice(
                (
                    *TEXT_QUERIES,
                    rng.choice(SURNAMES),
                    f"{rng.choice(FEMALE)} {rng.choice(SURNAMES)}",
                )
            )
        if rng.random() < 0.3:
            params["available_on"] = (today + timedelta(days=rng.randint(0, 6))).isoformat()
        if rng.random() < 0.2:
            params["price_max"] = rng.choice((7000, 9000, 11000, 13000))
        if rng.random() < 0.15:
            params["gender"] = rng.choice(("female", "male"))
        if rng.random() < 0.05:
            params["language"] = rng.choice(LANGUAGES[:4])
        if rng.random() < 0.05:
            params["telehealth"] = "true"
        params["sort"] = sort
        roll = rng.random()
        if roll > 0.8:
            params["page"] = rng.choice((2, 2, 3, 5)) if roll < 0.97 else 20
        if rng.random() < 0.15:
            params["per_page"] = rng.choice((10, 50))
        queries.append(params)
    return queries


class Recorder:
    """The statements (and their DBAPI parameters) that the app sends while active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.active = False
        self.statements: list[tuple[str, Any]] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.active and not statement.lstrip().upper().startswith("BEGIN"):
            self.statements.append((statement, parameters))


def search(app, recorder: Recorder, client, params: dict) -> tuple[int, float, list, int]:
    """One search through the test client: (status, seconds, statements, total)."""
    path = "/api/v1/practitioners?" + urlencode(params, doseq=True)
    recorder.statements = []
    recorder.active = True
    started = time.perf_counter()
    try:
        response = client.get(path)
    except Exception as error:  # TESTING propagates the app's exceptions: count them as 500s
        recorder.active = False
        log(f"500 for {path}: {type(error).__name__}: {error}")
        return 500, time.perf_counter() - started, recorder.statements, -1
    elapsed = time.perf_counter() - started
    recorder.active = False
    total = response.get_json().get("total", -1) if response.status_code == 200 else -1
    if response.status_code != 200:
        log(f"{response.status_code} for {path}: {response.get_data(as_text=True)[:300]}")
    return response.status_code, elapsed, recorder.statements, total


class RawConnection:
    """A plain DBAPI connection to the same database, outside SQLAlchemy and Flask."""

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(normalise_database_url(url))
        self.backend = parsed.get_backend_name()
        if self.backend == "postgresql":
            import psycopg

            conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(conninfo, autocommit=True)
        else:
            self.conn = sqlite3.connect(parsed.database, isolation_level=None)

    def run(self, statement: str, parameters: Any) -> tuple[float, list]:
        cursor = self.conn.cursor()
        started = time.perf_counter()
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - started
        cursor.close()
        return elapsed, rows

    def explain(self, statement: str, parameters: Any) -> str:
        if self.backend == "postgresql":
            _, rows = self.run("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(row[0] for row in rows)
        _, rows = self.run("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(f"{row[0]:>4} {row[1]:>4} {row[3]}" for row in rows)

    def close(self) -> None:
        self.conn.close()


def bench_queries(count: int, seed_number: int) -> tuple[list[dict], list[dict]]:
    """(the warm-up searches, the measured ones): the same for every way of measuring."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Australia/Sydney")).date()
    warmup = make_queries(WARMUP_QUERIES, random.Random("warm-up"), today)
    queries = make_queries(count, random.Random(f"bench-search-queries-{seed_number}"), today)
    return warmup, queries


def _run_searches(app, recorder: Recorder, client, queries: list[dict], cache_seconds: int):
    """Each search through the test client with the facet cache on (for `cache_seconds`) and
    off, in turns, so that neither pass finds the database and the process warmer than the
    other: ([(params, status, seconds, statements, total)] cached, the same uncached)."""
    cached: list[tuple] = []
    uncached: list[tuple] = []
    for number, params in enumerate(queries, 1):
        passes = [(cache_seconds, cached), (0, uncached)]
        for seconds, results in passes if number % 2 else passes[::-1]:
            app.config["SEARCH_FACETS_CACHE_SECONDS"] = seconds
            status, elapsed, statements, total = search(app, recorder, client, params)
            results.append((params, status, elapsed, statements, total))
        if number % 100 == 0:
            log(f"{number} searches done, with and without the facet cache")
    app.config["SEARCH_FACETS_CACHE_SECONDS"] = cache_seconds
    return cached, uncached


def measure(app, url: str, count: int, seed_number: int) -> dict[str, Any]:
    from config import ProductionConfig
    from marketplace.extensions import db

    warmup, queries = bench_queries(count, seed_number)
    client = app.test_client()
    with app.app_context():
        recorder = Recorder(db.engine)
    # As production runs: the facet cache on, for as long as production keeps it.
    cache_seconds = getattr(ProductionConfig, "SEARCH_FACETS_CACHE_SECONDS", None)
    if cache_seconds is None:
        log("SEARCH_FACETS_CACHE_SECONDS is not configured: measuring without a facet cache")
        cache_seconds = 0
    app.config["SEARCH_FACETS_CACHE_SECONDS"] = cache_seconds
    for params in warmup:
        search(app, recorder, client, params)
    results, uncached = _run_searches(app, recorder, client, queries, cache_seconds)
    ok = [r for r in results if r[1] == 200]
    uncached_ok = [r[2] for r in uncached if r[1] == 200]
    # Every search doing its whole work: no cache to answer a repeat of the searches above.
    app.config["SEARCH_FACETS_CACHE_SECONDS"] = 0
    service = _service_times(app, [r[0] for r in ok])
    app.config["SEARCH_FACETS_CACHE_SECONDS"] = cache_seconds
    log("replaying the statements in raw SQL")
    raw = RawConnection(url)
    try:
        for _params, _status, _elapsed, statements, _total in ok[:WARMUP_QUERIES]:
            for statement, parameters in statements:
                raw.run(statement, parameters)
        request_sql = []
        by_statement: dict[str, list[float]] = {}
        for number, (_params, _status, _elapsed, statements, _total) in enumerate(ok, 1):
            if number % 100 == 0:
                log(f"{number} searches replayed")
            times = [raw.run(statement, parameters)[0] for statement, parameters in statements]
            for seconds, (statement, _parameters) in zip(times, statements, strict=True):
                by_statement.setdefault(_statement_kind(statement), []).append(seconds)
            request_sql.append(sum(times))
    finally:
        raw.close()
    _log_statements(by_statement, len(ok))
    every = [r[2] for r in ok]
    available = [r[2] for r in ok if "available_on" in r[0]]
    text = [r[2] for r in ok if "q" in r[0]]
    _log_breakdown(ok)
    result = {
        "queries": len(results),
        "errors": len(results) - len(ok),
        "errors_uncached": len(uncached) - len(uncached_ok),
        "facets_cache_seconds": cache_seconds,
        "p50_ms": ms(percentile(every, 50)),
        "p95_ms": ms(percentile(every, 95)),
        "p99_ms": ms(percentile(every, 99)),
        "p50_uncached_ms": ms(percentile(uncached_ok, 50)),
        "p95_uncached_ms": ms(percentile(uncached_ok, 95)),
        "p95_available_on_ms": ms(percentile(available, 95)) if available else None,
        "available_on_queries": len(available),
        "p95_text_ms": ms(percentile(text, 95)) if text else None,
        "text_queries": len(text),
        "sql_p50_ms": ms(percentile(request_sql, 50)),
        "service_p50_ms": ms(percentile(service, 50)),
        "service_p95_ms": ms(percentile(service, 95)),
        "statements_per_request_p50": percentile([len(r[3]) for r in ok], 50),
        "statements_per_request_uncached_p50": percentile(
            [len(r[3]) for r in uncached if r[1] == 200], 50
        ),
    }
    result["p50_over_sql_p50"] = round(result["p50_ms"] / max(result["sql_p50_ms"], 1e-6), 2)
    result["p50_uncached_over_service_p50"] = round(
        result["p50_uncached_ms"] / max(result["service_p50_ms"], 1e-6), 2
    )
    return result


# --- a real worker --------------------------------------------------------------------------

WORKER_READY_SECONDS = 120
WORKER_REQUEST_SECONDS = 60


def measure_worker(url: str, count: int, seed_number: int) -> dict[str, Any]:
    """One gunicorn worker as production starts it (`gunicorn wsgi:app`, gunicorn.conf.py),
    on the bench database: its first search once it answers its health check, then `count`
    searches over HTTP, and the worker's resident memory after them."""
    warmup, queries = bench_queries(count, seed_number)
    port = _free_port()
    # Development: production's config demands a secret key and Stripe's; search reads
    # neither, and no other setting it reads differs.
    env = os.environ | {
        "DATABASE_URL": url,
        "MARKETPLACE_ENV": "development",
        "PAYMENTS_PROVIDER": "simulated",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    with tempfile.TemporaryFile(mode="w+") as output:
        master = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            started = time.perf_counter()
            _wait_until_healthy(master, port)
            ready = time.perf_counter() - started
            log(f"gunicorn worker answering after {ready:.1f}s")
            worker = _only_child(master.pid)
            status, first_search = _http_search(port, warmup[0])
            log(f"first search over HTTP: {status} in {ms(first_search):.1f} ms")
            for params in warmup[1:]:
                _http_search(port, params)
            times, errors = [], 0
            for number, params in enumerate(queries, 1):
                status, elapsed = _http_search(port, params)
                if status == 200:
                    times.append(elapsed)
                else:
                    errors += 1
                if number % 100 == 0:
                    log(f"{number} searches over HTTP done")
            rss = _resident_mb(worker)
        except BaseException:
            output.seek(0)
            log("gunicorn's output:\n" + output.read()[-4000:])
            raise
        finally:
            stop_process(master, timeout=30)
    return {
        "worker_ready_s": round(ready, 2),
        "first_search_ms": ms(first_search),
        "worker_rss_mb": round(rss, 1),
        "worker_p50_ms": ms(percentile(times, 50)) if times else None,
        "worker_p95_ms": ms(percentile(times, 95)) if times else None,
        "worker_errors": errors,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(master: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + WORKER_READY_SECONDS
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {master.returncode}")
        try:
            if _get(port, "/api/v1/health", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /api/v1/health in {WORKER_READY_SECONDS}s")


def _get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    """One GET on a new connection (gunicorn's sync workers close each one): (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _http_search(port: int, params: dict) -> tuple[int, float]:
    """One search over HTTP: (status, seconds until the whole body was read)."""
    path = "/api/v1/practitioners?" + urlencode(params, doseq=True)
    started = time.perf_counter()
    status, body = _get(port, path, WORKER_REQUEST_SECONDS)
    elapsed = time.perf_counter() - started
    if status != 200:
        log(f"{status} over HTTP for {path}: {body[:300]!r}")
    return status, elapsed


def _only_child(pid: int) -> int:
    """The one process whose parent is `pid` (gunicorn's worker, of its master)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        if re.search(rf"^PPid:\s+{pid}$", status, re.MULTILINE):
            children.append(int(entry.name))
    if len(children) != 1:
        raise RuntimeError(f"gunicorn's master {pid} has workers {children}, not one")
    return children[0]


def _resident_mb(pid: int) -> float:
    """A process's resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _service_times(app, queries: list[dict]) -> list[float]:
    """The same searches as calls of the search service: no HTTP, routing, argument parsing or
    serialisation (the framework's share is what the client's times add to these)."""
    from marketplace.db import utc_now
    from marketplace.extensions import db
    from marketplace.search.routes import search_query
    from marketplace.search.schemas import SearchArgs

    schema = SearchArgs()
    times = []
    with app.app_context():
        for params in queries:
            query = search_query(schema.load(params))
            started = time.perf_counter()
            search_practitioners(query, utc_now())
            times.append(time.perf_counter() - started)
            db.session.rollback()
    return times


def _statement_kind(statement: str) -> str:
    return " ".join(statement.split())[:72]


def _log_statements(by_statement: dict[str, list[float]], searches: int) -> None:
    """Raw SQL time per kind of statement: where a search's database time goes."""
    grand = sum(sum(times) for times in by_statement.values()) or 1.0
    log("raw SQL by statement (count, p50, p95, share of all SQL time):")
    for kind, times in sorted(by_statement.items(), key=lambda item: -sum(item[1])):
        log(
            f"  n={len(times):4} p50={ms(percentile(times, 50)):8.2f} ms "
            f"p95={ms(percentile(times, 95)):8.2f} ms {100 * sum(times) / grand:5.1f}%  {kind}"
        )
    log(f"  ({searches} searches)")


def _log_breakdown(ok: list) -> None:
    by_sort: dict[str, list[float]] = {}
    for params, _status, elapsed, _statements, _total in ok:
        by_sort.setdefault(params["sort"], []).append(elapsed)
        if "lat" not in params:
            by_sort.setdefault("(no position)", []).append(elapsed)
        else:
            by_sort.setdefault("(with position)", []).append(elapsed)
    for name, values in sorted(by_sort.items()):
        log(
            f"  {name:16} n={len(values):3} p50={ms(percentile(values, 50)):8.2f} ms "
            f"p95={ms(percentile(values, 95)):8.2f} ms"
        )
    log("slowest searches:")
    for params, _status, elapsed, _statements, total in sorted(ok, key=lambda r: -r[2])[:10]:
        log(f"  {ms(elapsed):9.2f} ms total={total:6} {json.dumps(params)}")


# One search of each shape the SQL answers differently (None: tomorrow's date).
EXPLAINED = {
    "browse": {},
    "text": {"q": "sciatica"},
    "text, located": {"q": "dry needling", "lat": -37.81, "lng": 144.97, "radius_km": 10},
    "text, relevance": {"q": "lower back pain", "sort": "relevance", "per_page": 50},
    "located, distance": {"lat": -33.886, "lng": 151.211, "radius_km": 10, "sort": "distance"},
    "available_on": {"lat": -27.47, "lng": 153.02, "radius_km": 25, "available_on": None},
    "soonest, therapy": {"therapy": "dry-needling", "sort": "soonest"},
    "price, price_max": {"sort": "price", "price_max": 9000},
    "rating": {"sort": "rating"},
    "relevance, gender and language": {
        "gender": "female",
        "language": "zh",
        "sort": "relevance",
    },
}
# A full scan of a table: PostgreSQL's plan line, or SQLite's SCAN without an index.
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)|\bSCAN (?!CONSTANT ROW)(\w+)\b(?! USING| VIRTUAL)")


def explain(app, url: str) -> None:
    """EXPLAIN ANALYZE (SQLite: its query plan) of every statement of each EXPLAINED search,
    with the facet cache off so that every statement runs."""
    from marketplace.extensions import db

    today = datetime.now(UTC).astimezone(ZoneInfo("Australia/Sydney")).date()
    client = app.test_client()
    with app.app_context():
        recorder = Recorder(db.engine)
    cache_seconds = app.config.get("SEARCH_FACETS_CACHE_SECONDS")
    app.config["SEARCH_FACETS_CACHE_SECONDS"] = 0
    raw = RawConnection(url)
    try:
        for name, params in EXPLAINED.items():
            params = {
                key: (value if value is not None else (today + timedelta(days=1)).isoformat())
                for key, value in params.items()
            }
            search(app, recorder, client, params)  # warm
            status, elapsed, statements, total = search(app, recorder, client, params)
            log(f"=== {name}: {json.dumps(params)} -> {status}, {ms(elapsed)} ms, total={total}")
            for number, (statement, parameters) in enumerate(statements, 1):
                plan = raw.explain(statement, parameters)
                scans = sorted({a or b for a, b in SEQ_SCAN.findall(plan)})
                log(f"--- statement {number}; seq scans: {scans or 'none'}")
                print(statement, file=sys.stderr)
                print(f"params: {parameters}", file=sys.stderr)
                print(plan, file=sys.stderr, flush=True)
    finally:
        raw.close()
        app.config["SEARCH_FACETS_CACHE_SECONDS"] = cache_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practitioners", type=int, default=2000)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL (a database is made there) or a SQLite URL; "
        "default: a temporary SQLite file",
    )
    parser.add_argument("--queries", type=int, default=300, help="0: only seed (and explain)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep/reuse bench_search_<N>")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE to stderr")
    args = parser.parse_args(argv)
    keep_name = f"bench_search_{args.practitioners}" if args.keep else None
    if keep_name:
        _discard_unusable_kept(args.database_url, keep_name, args.practitioners, args.seed)
    with scratch_database(args.database_url, "bench_search", keep_name) as url:
        meta = _read_meta(url) if keep_name else None
        app = make_app(url)
        from marketplace.extensions import db

        try:
            seconds = None
            if _usable(meta, args.practitioners, args.seed):
                log(f"reusing the seed of {meta['seeded_at']} in {keep_name}")
                _verify_kept(app, datetime.fromisoformat(meta["seeded_at"]))
            else:
                seconds = seed(app, args.practitioners, args.seed)
                log(f"seeded {args.practitioners} listings in {seconds:.1f}s")
            result = {
                "practitioners": args.practitioners,
                "database": backend_of(url),
                "seed_seconds": round(seconds, 1) if seconds is not None else None,
            }
            if args.queries > 0:
                result |= measure(app, url, args.queries, args.seed)
                result |= measure_worker(url, args.queries, args.seed)
            if args.explain:
                explain(app, url)
        finally:
            with app.app_context():
                db.engine.dispose()
    emit(result)


if __name__ == "__main__":
    main()
