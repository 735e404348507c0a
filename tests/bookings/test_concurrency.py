"""Rule 1 under real concurrency on PostgreSQL: one slot, many patients, one booking.

These tests commit for real from many threads, each over its own pooled connection, so they run
on a database of their own (never the session database the rollback-wrapped tests share).
"""

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.accounts.service import issue_token
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from tests.conftest import POSTGRES_URL, fresh_postgres_database, make_app, requires_postgres
from tests.factories import booking_values, create_listing, create_user

pytestmark = [requires_postgres, pytest.mark.committing]

ACTIVE = (BookingStatus.HELD, BookingStatus.CONFIRMED)


@pytest.fixture(scope="module")
def race_app():
    with fresh_postgres_database(POSTGRES_URL) as url:
        app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 60, "max_overflow": 0})
        with app.app_context():
            flask_migrate.upgrade()
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def listing(race_app):
    # Hour-long slots every hour, no buffers: neighbouring slots touch but never overlap.
    return create_listing(
        race_app,
        timezone="UTC",
        weekly_hours=[(day, "08:00", "18:00") for day in range(7)],
        slot_interval_minutes=60,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
    )


def patient_tokens(app, count: int) -> list[str]:
    """Distinct patients, each with a bearer token issued through the account service."""
    headers = []
    for _ in range(count):
        user_id, _email = create_user(app, "patient")
        with app.app_context():
            _token, plain = issue_token(db.session.get(User, user_id), "race")
            db.session.commit()
        headers.append(f"Bearer {plain}")
    return headers


def free_slots(app, listing, day_offset: int) -> list[str]:
    day = datetime.now(UTC).date() + timedelta(days=day_offset)
    response = app.test_client().get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": day, "to": day},
    )
    assert response.status_code == 200, response.get_json()
    return [item["start_at"] for item in response.get_json()["items"]]


def race(app, service_id, attempts: list[tuple[str, str]]) -> list[tuple[str, int, dict]]:
    """Fire every (token, start_at) attempt from its own thread at once; (start, status, body)."""
    barrier = threading.Barrier(len(attempts))
    results: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    def attempt(token: str, start_at: str) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            response = client.post(
                "/api/v1/bookings",
                json={"service_id": str(service_id), "start_at": start_at},
                headers={"Authorization": token, "Idempotency-Key": uuid.uuid4().hex},
            )
            outcome = (start_at, response.status_code, response.get_json() or {})
        except Exception as exc:  # a crash in the view is a 500 for this test
            outcome = (start_at, 500, {"exception": repr(exc)})
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a booking attempt hung"
    assert len(results) == len(attempts)
    return results


def active_bookings(app, practitioner_id) -> list[Booking]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Booking).where(
                Booking.practitioner_id == practitioner_id, Booking.status.in_(ACTIVE)
            )
        ).all()
        db.session.expunge_all()
        return list(rows)


def assert_one_winner_each(results, starts: list[str]) -> None:
    statuses = Counter(status for _start, status, _body in results)
    assert statuses.keys() <= {201, 409}, results
    for start in starts:
        mine = [(status, body) for s, status, body in results if s == start]
        assert sum(status == 201 for status, _ in mine) == 1, (start, mine)
        for status, body in mine:
            if status == 409:
                assert body["status"] == 409
                assert body["title"] == "Conflict"
                assert body["detail"]


def test_twenty_five_patients_race_for_one_slot(race_app, listing):
    start = free_slots(race_app, listing, 3)[0]
    tokens = patient_tokens(race_app, 25)
    results = race(race_app, listing.service_id, [(token, start) for token in tokens])

    assert_one_winner_each(results, [start])
    rows = active_bookings(race_app, listing.id)
    assert len(rows) == 1
    assert rows[0].start_at == datetime.fromisoformat(start)
    assert rows[0].status is BookingStatus.HELD


def test_five_slots_ten_patients_each(race_app, listing):
    starts = free_slots(race_app, listing, 5)[:5]
    assert len(starts) == 5
    tokens = patient_tokens(race_app, 10)
    attempts = [(token, start) for start in starts for token in tokens]
    results = race(race_app, listing.service_id, attempts)

    assert_one_winner_each(results, starts)
    wanted = {datetime.fromisoformat(start) for start in starts}
    rows = [row for row in active_bookings(race_app, listing.id) if row.start_at in wanted]
    assert sorted(row.start_at for row in rows) == sorted(wanted)
    winners = {body["booking"]["id"] for _s, status, body in results if status == 201}
    assert {str(row.id) for row in rows} == winners


# --- the exclusion constraint, bypassing the service ----------------------------------------


@pytest.fixture
def raw_values(race_app):
    """Column values of a hand-made booking of a fresh listing: (start offset h, hours, status)."""
    built = create_listing(race_app, timezone="UTC")
    patient_id, _ = create_user(race_app, "patient")
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)

    def make(offset_hours: float, hours: float, status=BookingStatus.CONFIRMED, on=built):
        start = base + timedelta(hours=offset_hours)
        return booking_values(
            on,
            patient_id,
            start,
            end_at=start + timedelta(hours=hours),
            status=status,
            hold_expires_at=start if status is BookingStatus.HELD else None,
        )

    make.listing = built
    return make


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (BookingStatus.CONFIRMED, BookingStatus.CONFIRMED),
        (BookingStatus.HELD, BookingStatus.CONFIRMED),
        (BookingStatus.HELD, BookingStatus.HELD),
    ],
)
def test_exclusion_constraint_refuses_overlap_in_one_transaction(
    race_app, raw_values, first, second
):
    with race_app.app_context():
        db.session.add(Booking(**raw_values(0, 1, first)))
        db.session.add(Booking(**raw_values(0.5, 1, second)))
        with pytest.raises(sa.exc.IntegrityError) as caught:
            db.session.commit()
        db.session.rollback()
    assert caught.value.orig.sqlstate == "23P01"
    assert "ex_bookings_no_overlap" in str(caught.value.orig)
    assert active_bookings(race_app, raw_values.listing.id) == []


def test_exclusion_constraint_refuses_plain_insert_over_committed_row(race_app, raw_values):
    with race_app.app_context():
        db.session.add(Booking(**raw_values(0, 1)))
        db.session.commit()
        # The blocked span, buffers included, is what counts: a hold from an hour before that
        # ends 15 minutes before the first but has a 30-minute buffer after still clashes.
        clash = raw_values(-1, 0.75, BookingStatus.HELD)
        clash["blocked_end_at"] += timedelta(minutes=30)
        with pytest.raises(sa.exc.IntegrityError) as caught:
            db.session.execute(sa.insert(Booking).values(**clash))
        db.session.rollback()
    assert caught.value.orig.sqlstate == "23P01"
    assert len(active_bookings(race_app, raw_values.listing.id)) == 1


def test_exclusion_constraint_accepts_what_does_not_clash(race_app, raw_values):
    other = create_listing(race_app, timezone="UTC")
    with race_app.app_context():
        rows = [
            raw_values(0, 1),
            raw_values(1, 1, BookingStatus.HELD),  # touches the first: ranges are [start, end)
            raw_values(0, 2, BookingStatus.CANCELLED),
            raw_values(0.5, 1, BookingStatus.EXPIRED),
            raw_values(0, 1, BookingStatus.COMPLETED),
            raw_values(0.25, 1, BookingStatus.NO_SHOW),
            raw_values(0, 1, on=other),  # another practitioner at the same time
        ]
        db.session.add_all(Booking(**values) for values in rows)
        db.session.commit()
    assert len(active_bookings(race_app, raw_values.listing.id)) == 2
    assert len(active_bookings(race_app, other.id)) == 1
