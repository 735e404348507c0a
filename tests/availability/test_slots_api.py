"""GET /practitioners/{id_or_slug}/slots: validation, visibility, zones, bookings, notice."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from marketplace.bookings.models import BookingStatus
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus
from tests.factories import ALL_DAY, create_listing, make_booking, set_status
from tests.helpers import problem_of


@pytest.fixture
def listing(app):
    return create_listing(app, slot_interval_minutes=60)


def slots_url(listing_or_key) -> str:
    key = getattr(listing_or_key, "slug", listing_or_key)
    return f"/api/v1/practitioners/{key}/slots"


def upcoming(weekday: int, zone: str, days_ahead: int = 3) -> date:
    """The first `weekday` at least `days_ahead` local days from now in `zone`."""
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def upcoming_in_month(weekday: int, month: int, zone: str) -> date:
    """The first `weekday` falling in `month`, at least three local days from now."""
    day = upcoming(weekday, zone)
    while day.month != month:
        day += timedelta(days=7)
    return day


def local(listing, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), ZoneInfo(listing.timezone))


def get_slots(client, listing, first: date, last: date | None = None, **query) -> list[dict]:
    params = {"service_id": listing.service_id, "from": first, "to": last or first, **query}
    response = client.get(slots_url(listing), query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def local_starts(client, listing, day: date) -> list[str]:
    zone = ZoneInfo(listing.timezone)
    return [
        f"{datetime.fromisoformat(slot['start_at']).astimezone(zone):%H:%M}"
        for slot in get_slots(client, listing, day)
    ]


def half_hours(first: str, last: str) -> list[str]:
    """ "HH:MM" every 30 minutes from `first` to `last`, both included."""
    at = datetime.combine(date.min, time.fromisoformat(first))
    end = datetime.combine(date.min, time.fromisoformat(last))
    found = []
    while at <= end:
        found.append(f"{at:%H:%M}")
        at += timedelta(minutes=30)
    return found


def query_problem(client, listing, field: str, **query) -> dict:
    response = client.get(slots_url(listing), query_string=query)
    problem = problem_of(response, 422)
    assert field in problem.get("errors", {}), problem
    return problem


# --- only approved listings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [ListingStatus.DRAFT, ListingStatus.PENDING, ListingStatus.REJECTED, ListingStatus.SUSPENDED],
)
@pytest.mark.parametrize("key", ["slug", "id"])
def test_a_listing_that_is_not_approved_has_no_slots(app, client, listing, status, key):
    monday = upcoming(0, listing.timezone)
    set_status(app, listing.id, status)

    response = client.get(
        slots_url(str(getattr(listing, key))),
        query_string={"service_id": listing.service_id, "from": monday, "to": monday},
    )

    problem_of(response, 404)


def test_an_approved_listing_has_the_same_slots_by_id_and_by_slug(client, listing):
    monday = upcoming(0, listing.timezone)
    query = {"service_id": listing.service_id, "from": monday, "to": monday}

    by_slug = client.get(slots_url(listing.slug), query_string=query)
    by_id = client.get(slots_url(str(listing.id)), query_string=query)

    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.get_json()["items"] == by_id.get_json()["items"]
    assert len(by_slug.get_json()["items"]) == 8


@pytest.mark.parametrize("key", ["no-such-practitioner", "3f8e1c2a-9b7d-4e6f-a1c0-5d2b8e9f7a61"])
def test_an_unknown_listing_is_not_found(client, listing, key):
    monday = upcoming(0, listing.timezone)

    response = client.get(
        slots_url(key), query_string={"service_id": listing.service_id, "from": monday}
    )

    problem_of(response, 404)


# --- service_id ---------------------------------------------------------------------------


def test_a_missing_service_id_is_refused(client, listing):
    monday = upcoming(0, listing.timezone)

    query_problem(client, listing, "service_id", **{"from": monday, "to": monday})


@pytest.mark.parametrize("value", ["", "treatment", "123"])
def test_a_service_id_that_is_not_a_uuid_is_refused(client, listing, value):
    query_problem(client, listing, "service_id", service_id=value)


def test_an_unknown_service_is_refused(client, listing):
    query_problem(client, listing, "service_id", service_id=uuid.uuid4())


def test_an_inactive_service_is_refused(client, listing, token_for):
    owner = token_for(listing.owner_email)
    response = client.patch(
        f"/api/v1/practitioner/services/{listing.service_id}",
        json={"active": False},
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()

    query_problem(client, listing, "service_id", service_id=listing.service_id)


def test_a_deleted_service_is_refused(client, listing, token_for):
    owner = token_for(listing.owner_email)
    url = f"/api/v1/practitioner/services/{listing.service_id}"
    assert client.delete(url, headers=owner).status_code == 204

    query_problem(client, listing, "service_id", service_id=listing.service_id)


def test_another_practitioners_service_is_refused(app, client, listing):
    other = create_listing(app)

    query_problem(client, listing, "service_id", service_id=other.service_id)


# --- the date range -----------------------------------------------------------------------


def test_from_after_to_is_refused(client, listing):
    monday = upcoming(0, listing.timezone)

    query_problem(
        client,
        listing,
        "to",
        service_id=listing.service_id,
        **{"from": monday + timedelta(days=1), "to": monday},
    )


def test_a_range_of_63_days_is_refused(client, listing):
    first = upcoming(0, listing.timezone)

    query_problem(
        client,
        listing,
        "to",
        service_id=listing.service_id,
        **{"from": first, "to": first + timedelta(days=62)},
    )


def test_a_range_of_62_days_is_accepted(client, listing):
    first = upcoming(0, listing.timezone)
    last = first + timedelta(days=61)

    response = client.get(
        slots_url(listing),
        query_string={"service_id": listing.service_id, "from": first, "to": last},
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"]) == (first.isoformat(), last.isoformat())
    assert body["items"]


def test_a_single_day_range_is_accepted(client, listing):
    monday = upcoming(0, listing.timezone)

    assert len(get_slots(client, listing, monday, monday)) == 8


@pytest.mark.parametrize(
    "value", ["2027-02-30", "tomorrow", "2027/03/01", "03-01-2027", "2027-03-01T00:00:00"]
)
@pytest.mark.parametrize("field", ["from", "to"])
def test_a_bad_date_is_refused(client, listing, field, value):
    monday = upcoming(0, listing.timezone)
    query = {"service_id": listing.service_id, "from": monday, "to": monday, field: value}

    query_problem(client, listing, field, **query)


def test_without_dates_the_range_is_two_weeks_from_local_today(client, listing):
    zone = ZoneInfo(listing.timezone)
    before = datetime.now(zone).date()

    response = client.get(slots_url(listing), query_string={"service_id": listing.service_id})

    after = datetime.now(zone).date()
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    assert first in {before, after}
    assert last - first == timedelta(days=13)
    assert body["timezone"] == listing.timezone


def test_only_from_gives_two_weeks_from_it(client, listing):
    monday = upcoming(0, listing.timezone)

    response = client.get(
        slots_url(listing), query_string={"service_id": listing.service_id, "from": monday}
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["to"] == (monday + timedelta(days=13)).isoformat()


@pytest.mark.parametrize(
    "query",
    [
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"from": "9999-12-30"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"to": "0001-01-01"},
    ],
    ids=["last-day", "from-near-the-end", "first-days", "to-on-the-first-day"],
)
def test_dates_at_the_ends_of_the_calendar_have_no_slots_or_are_refused(client, listing, query):
    response = client.get(
        slots_url(listing), query_string={"service_id": listing.service_id, **query}
    )

    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        problem = problem_of(response, 422)
        assert set(problem["errors"]) & {"from", "to"}, problem


def test_a_slug_with_a_nul_character_is_not_found(client, listing):
    response = client.get(slots_url("a%00b"), query_string={"service_id": listing.service_id})

    problem_of(response, 404)


# --- the slots themselves -----------------------------------------------------------------


def test_slots_of_an_approved_listing(app, client):
    listing = create_listing(app, timezone="Australia/Sydney", slot_interval_minutes=30)
    monday = upcoming(0, listing.timezone)
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": monday, "to": monday},
    )
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert len(items) == 15  # 09:00 .. 16:00 every 30 minutes for a 60-minute service
    first = datetime.fromisoformat(items[0]["start_at"])
    assert first.utcoffset() == timedelta(0)
    assert items[0]["location_id"] == str(listing.location_id)


def test_each_slot_has_utc_instants_and_a_location(client, listing):
    monday = upcoming(0, listing.timezone)

    items = get_slots(client, listing, monday, monday + timedelta(days=4))

    assert len(items) == 5 * 8
    for slot in items:
        assert set(slot) == {"start_at", "end_at", "location_id"}
        start = datetime.fromisoformat(slot["start_at"])
        end = datetime.fromisoformat(slot["end_at"])
        assert start.utcoffset() == timedelta(0)
        assert end.utcoffset() == timedelta(0)
        assert end - start == timedelta(minutes=60)
        assert slot["location_id"] == str(listing.location_id)
    starts = [datetime.fromisoformat(slot["start_at"]) for slot in items]
    assert starts == sorted(set(starts))


def test_from_and_to_are_local_dates_in_the_practitioners_zone(client, listing):
    monday = upcoming(0, listing.timezone)
    zone = ZoneInfo(listing.timezone)

    items = get_slots(client, listing, monday)

    assert {datetime.fromisoformat(s["start_at"]).astimezone(zone).date() for s in items} == {
        monday
    }
    # Sydney is ahead of UTC: a local Monday morning is still Sunday in UTC.
    assert datetime.fromisoformat(items[0]["start_at"]).date() == monday - timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "month", "first_utc"),
    [
        ("America/New_York", 1, "14:00"),
        ("America/New_York", 7, "13:00"),
        ("Australia/Sydney", 1, "22:00"),
        ("Australia/Sydney", 7, "23:00"),
    ],
)
def test_nine_oclock_local_is_converted_to_utc(app, client, zone, month, first_utc):
    listing = create_listing(app, timezone=zone, slot_interval_minutes=60, horizon_days=365)
    monday = upcoming_in_month(0, month, zone)

    items = get_slots(client, listing, monday)

    first = datetime.fromisoformat(items[0]["start_at"])
    assert first.utcoffset() == timedelta(0)
    assert f"{first:%H:%M}" == first_utc
    assert first.astimezone(ZoneInfo(zone)) == local(listing, monday, "09:00")
    assert len(items) == 8


def test_a_longer_service_ends_by_the_window_end(app, client):
    listing = create_listing(app, slot_interval_minutes=30, duration_minutes=90)
    monday = upcoming(0, listing.timezone)

    assert local_starts(client, listing, monday) == half_hours("09:00", "15:30")


def test_the_slot_interval_steps_the_starts(app, client):
    listing = create_listing(app, slot_interval_minutes=45, duration_minutes=30)
    monday = upcoming(0, listing.timezone)

    assert local_starts(client, listing, monday) == [
        "09:00",
        "09:45",
        "10:30",
        "11:15",
        "12:00",
        "12:45",
        "13:30",
        "14:15",
        "15:00",
        "15:45",
        "16:30",
    ]


# --- bookings -----------------------------------------------------------------------------


def test_a_confirmed_booking_removes_the_slots_its_buffers_reach(app, client):
    listing = create_listing(
        app, slot_interval_minutes=30, buffer_before_minutes=30, buffer_after_minutes=30
    )
    monday = upcoming(0, listing.timezone)
    make_booking(
        app, listing, local(listing, monday, "12:00"), end_at=local(listing, monday, "13:00")
    )

    taken = {"11:00", "11:30", "12:00", "12:30", "13:00"}
    assert local_starts(client, listing, monday) == [
        hhmm for hhmm in half_hours("09:00", "16:00") if hhmm not in taken
    ]


def test_a_bookings_recorded_blocked_interval_is_kept_free(app, client):
    listing = create_listing(app, slot_interval_minutes=30)
    monday = upcoming(0, listing.timezone)
    start, end = local(listing, monday, "12:00"), local(listing, monday, "13:00")
    make_booking(
        app,
        listing,
        start,
        end_at=end,
        blocked=(start - timedelta(minutes=30), end + timedelta(minutes=30)),
    )

    taken = {"11:00", "11:30", "12:00", "12:30", "13:00"}
    assert local_starts(client, listing, monday) == [
        hhmm for hhmm in half_hours("09:00", "16:00") if hhmm not in taken
    ]


def test_a_booking_without_buffers_frees_the_adjacent_slots(app, client):
    listing = create_listing(app, slot_interval_minutes=30)
    monday = upcoming(0, listing.timezone)
    make_booking(
        app, listing, local(listing, monday, "12:00"), end_at=local(listing, monday, "13:00")
    )

    taken = {"11:30", "12:00", "12:30"}
    assert local_starts(client, listing, monday) == [
        hhmm for hhmm in half_hours("09:00", "16:00") if hhmm not in taken
    ]


@pytest.mark.parametrize(
    ("status", "hold_for", "blocks"),
    [
        (BookingStatus.CONFIRMED, None, True),
        (BookingStatus.HELD, timedelta(minutes=15), True),
        (BookingStatus.HELD, timedelta(minutes=-1), False),
        (BookingStatus.EXPIRED, timedelta(minutes=-1), False),
        (BookingStatus.CANCELLED, None, False),
    ],
    ids=["confirmed", "live-hold", "expired-hold", "expired", "cancelled"],
)
def test_only_active_bookings_block_their_slot(app, client, listing, status, hold_for, blocks):
    monday = upcoming(0, listing.timezone)
    expires = datetime.now(UTC) + hold_for if hold_for is not None else None
    make_booking(
        app,
        listing,
        local(listing, monday, "12:00"),
        end_at=local(listing, monday, "13:00"),
        status=status,
        hold_expires_at=expires,
    )

    starts = local_starts(client, listing, monday)

    assert ("12:00" not in starts) is blocks
    assert len(starts) == (7 if blocks else 8)


def test_another_practitioners_booking_does_not_block(app, client, listing):
    other = create_listing(app, timezone=listing.timezone)
    monday = upcoming(0, listing.timezone)
    make_booking(app, other, local(other, monday, "12:00"), end_at=local(other, monday, "13:00"))

    assert "12:00" in local_starts(client, listing, monday)
    assert "12:00" not in local_starts(client, other, monday)


# --- notice and horizon -------------------------------------------------------------------


def test_no_slot_starts_before_the_minimum_notice(app, client):
    notice = timedelta(days=3, minutes=7)
    listing = create_listing(
        app,
        timezone="UTC",
        weekly_hours=ALL_DAY,
        duration_minutes=30,
        slot_interval_minutes=30,
        min_notice_minutes=int(notice.total_seconds() // 60),
    )
    before = datetime.now(UTC)
    today = before.date()

    items = get_slots(client, listing, today, today + timedelta(days=6))

    after = datetime.now(UTC)
    starts = [datetime.fromisoformat(slot["start_at"]) for slot in items]
    assert min(starts) >= before + notice
    # The first slot after the notice is offered (none is lost but the 23:30 that cannot fit).
    assert min(starts) <= after + notice + timedelta(minutes=60)


def test_no_slot_starts_at_or_after_the_horizon(app, client):
    listing = create_listing(
        app,
        timezone="UTC",
        weekly_hours=ALL_DAY,
        duration_minutes=30,
        slot_interval_minutes=30,
        horizon_days=3,
    )
    before = datetime.now(UTC)
    today = before.date()

    items = get_slots(client, listing, today, today + timedelta(days=6))

    after = datetime.now(UTC)
    starts = [datetime.fromisoformat(slot["start_at"]) for slot in items]
    assert max(starts) < after + timedelta(days=3)
    assert max(starts) >= before + timedelta(days=3) - timedelta(minutes=60)
    assert not [s for s in starts if s.date() >= today + timedelta(days=4)]


def test_dates_beyond_the_horizon_have_no_slots(app, client):
    listing = create_listing(app, slot_interval_minutes=60, horizon_days=7)
    far = upcoming(0, listing.timezone, days_ahead=10)

    assert get_slots(client, listing, far, far + timedelta(days=4)) == []


def test_dates_in_the_past_have_no_slots(client, listing):
    zone = ZoneInfo(listing.timezone)
    last_week = datetime.now(zone).date() - timedelta(days=8)

    assert get_slots(client, listing, last_week, last_week + timedelta(days=6)) == []


# --- a fixed, small number of queries -----------------------------------------------------


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


def statements_during(app, make_request) -> list[str]:
    """The SQL statements the request sends, without the test fixture's savepoint bookkeeping."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        make_request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_slots_load_in_the_same_small_number_of_queries_for_7_and_62_days(app, client, token_for):
    listing = create_listing(app, slot_interval_minutes=30, horizon_days=90)
    owner = token_for(listing.owner_email)
    first = upcoming(0, listing.timezone)
    for week in range(8):
        day = first + timedelta(days=7 * week + 1)
        make_booking(
            app, listing, local(listing, day, "10:00"), end_at=local(listing, day, "11:00")
        )
        response = client.post(
            "/api/v1/practitioner/overrides",
            json={
                "date": (day + timedelta(days=1)).isoformat(),
                "windows": [
                    {"start": "10:00", "end": "12:00", "location_id": str(listing.location_id)}
                ],
            },
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
        response = client.post(
            "/api/v1/practitioner/time-off",
            json={
                "start_at": local(listing, day, "14:00").isoformat(),
                "end_at": local(listing, day, "15:00").isoformat(),
            },
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()

    def fetch(days: int):
        def make_request():
            items = get_slots(client, listing, first, first + timedelta(days=days - 1))
            assert items

        return make_request

    week_queries = statements_during(app, fetch(7))
    two_month_queries = statements_during(app, fetch(62))

    assert len(week_queries) == len(two_month_queries), (week_queries, two_month_queries)
    assert len(two_month_queries) <= 8, two_month_queries
    assert any("FROM bookings" in statement for statement in two_month_queries)
