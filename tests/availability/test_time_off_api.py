"""Time off: instant ranges (with a UTC offset) in which no slot is offered."""

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from marketplace.availability.models import TimeOff
from tests.factories import create_listing
from tests.helpers import count_rows, problem_of

TIME_OFF_URL = "/api/v1/practitioner/time-off"
WEEKDAY_HOURS = ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]


@pytest.fixture
def listing(app):
    return create_listing(app, slot_interval_minutes=60)


@pytest.fixture
def owner(listing, token_for):
    return token_for(listing.owner_email)


def upcoming(weekday: int, zone: str, days_ahead: int = 3) -> date:
    """The first `weekday` at least `days_ahead` local days from now in `zone`."""
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def local(listing, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), ZoneInfo(listing.timezone))


def instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, text
    return parsed


def post_time_off(client, headers, start: datetime, end: datetime, reason: str = "") -> dict:
    body = {"start_at": start.isoformat(), "end_at": end.isoformat(), "reason": reason}
    response = client.post(TIME_OFF_URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def listed(client, headers) -> dict:
    response = client.get(TIME_OFF_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def post_refused(client, headers, body: dict, field: str) -> dict:
    """POST bad time off: 422 naming `field`, and nothing is added."""
    before = listed(client, headers)
    response = client.post(TIME_OFF_URL, json=body, headers=headers)
    problem = problem_of(response, 422)
    assert field in problem.get("errors", {}), problem
    assert listed(client, headers) == before
    return problem


def local_starts(client, listing, first: date, last: date | None = None) -> dict[date, list]:
    """The public slots of `first`..`last` as {local date: ["HH:MM", ...]}."""
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": first, "to": last or first},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    zone = ZoneInfo(listing.timezone)
    days: dict[date, list] = {}
    for slot in response.get_json()["items"]:
        start = datetime.fromisoformat(slot["start_at"]).astimezone(zone)
        days.setdefault(start.date(), []).append(f"{start:%H:%M}")
    return days


# --- creating and reading -----------------------------------------------------------------


def test_post_time_off_creates_it(app, client, listing, owner):
    monday = upcoming(0, listing.timezone)
    start, end = local(listing, monday, "11:00"), local(listing, monday, "13:00")

    body = post_time_off(client, owner, start, end, reason="Dentist")

    uuid.UUID(body["id"])
    assert instant(body["start_at"]) == start
    assert instant(body["end_at"]) == end
    assert body["reason"] == "Dentist"
    assert count_rows(app, TimeOff) == 1


def test_time_off_accepts_any_utc_offset(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    start = local(listing, monday, "11:00").astimezone(timezone(timedelta(hours=-3, minutes=-30)))
    end = local(listing, monday, "12:00").astimezone(UTC)
    body = {"start_at": start.isoformat(), "end_at": end.strftime("%Y-%m-%dT%H:%M:%SZ")}

    response = client.post(TIME_OFF_URL, json=body, headers=owner)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (instant(created["start_at"]), instant(created["end_at"])) == (start, end)
    assert created["reason"] == ""


def test_get_time_off_returns_the_one_posted(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    created = post_time_off(
        client, owner, local(listing, monday, "11:00"), local(listing, monday, "12:00"), "Course"
    )

    response = client.get(f"{TIME_OFF_URL}/{created['id']}", headers=owner)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == created


def test_time_off_is_listed_oldest_first_in_the_page_envelope(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    later = post_time_off(
        client,
        owner,
        local(listing, monday + timedelta(days=7), "09:00"),
        local(listing, monday + timedelta(days=7), "10:00"),
    )
    sooner = post_time_off(
        client, owner, local(listing, monday, "09:00"), local(listing, monday, "10:00")
    )

    body = listed(client, owner)

    assert body["total"] == 2
    assert [item["id"] for item in body["items"]] == [sooner["id"], later["id"]]


def test_time_off_list_shows_only_own_time_off(app, client, listing, owner, token_for):
    other = create_listing(app)
    day = upcoming(0, other.timezone)
    post_time_off(
        client, token_for(other.owner_email), local(other, day, "09:00"), local(other, day, "10:00")
    )

    assert listed(client, owner)["items"] == []


# --- effect on the slots ------------------------------------------------------------------


def test_time_off_removes_the_slots_it_covers(client, listing, owner):
    monday = upcoming(0, listing.timezone)

    post_time_off(client, owner, local(listing, monday, "11:00"), local(listing, monday, "13:00"))

    assert local_starts(client, listing, monday) == {
        monday: ["09:00", "10:00", "13:00", "14:00", "15:00", "16:00"]
    }


def test_time_off_inside_a_slot_removes_that_slot(client, listing, owner):
    monday = upcoming(0, listing.timezone)

    post_time_off(client, owner, local(listing, monday, "11:20"), local(listing, monday, "11:40"))

    assert local_starts(client, listing, monday) == {
        monday: [hour for hour in WEEKDAY_HOURS if hour != "11:00"]
    }


def test_time_off_crossing_local_midnight_blocks_both_days(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    tuesday = monday + timedelta(days=1)
    wednesday = tuesday + timedelta(days=1)

    post_time_off(client, owner, local(listing, monday, "15:00"), local(listing, tuesday, "11:00"))

    assert local_starts(client, listing, monday, wednesday) == {
        monday: ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"],
        tuesday: ["11:00", "12:00", "13:00", "14:00", "15:00", "16:00"],
        wednesday: WEEKDAY_HOURS,
    }


def test_time_off_given_in_utc_crossing_midnight_blocks_the_right_local_hours(
    app, client, token_for
):
    listing = create_listing(app, timezone="America/New_York", slot_interval_minutes=60)
    owner = token_for(listing.owner_email)
    monday = upcoming(0, listing.timezone)
    tuesday = monday + timedelta(days=1)
    start = local(listing, monday, "16:00").astimezone(UTC)
    end = local(listing, tuesday, "10:00").astimezone(UTC)

    post_time_off(client, owner, start, end)

    assert local_starts(client, listing, monday, tuesday) == {
        monday: ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00"],
        tuesday: ["10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"],
    }


def test_deleting_time_off_restores_the_slots(app, client, listing, owner):
    monday = upcoming(0, listing.timezone)
    created = post_time_off(
        client, owner, local(listing, monday, "00:00"), local(listing, monday, "23:00")
    )
    assert local_starts(client, listing, monday) == {}

    response = client.delete(f"{TIME_OFF_URL}/{created['id']}", headers=owner)

    assert response.status_code == 204
    assert local_starts(client, listing, monday) == {monday: WEEKDAY_HOURS}
    problem_of(client.get(f"{TIME_OFF_URL}/{created['id']}", headers=owner), 404)
    problem_of(client.delete(f"{TIME_OFF_URL}/{created['id']}", headers=owner), 404)
    assert count_rows(app, TimeOff) == 0


# --- refused input ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["start_at", "end_at"])
def test_a_naive_datetime_is_refused(client, listing, owner, field):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
    }
    body[field] = datetime.fromisoformat(body[field]).replace(tzinfo=None).isoformat()

    post_refused(client, owner, body, field)


@pytest.mark.parametrize("value", ["tomorrow", "2027-02-30T10:00:00+10:00", "", None, 1767225600])
def test_a_value_that_is_not_an_instant_is_refused(client, listing, owner, value):
    monday = upcoming(0, listing.timezone)
    body = {"start_at": value, "end_at": local(listing, monday, "12:00").isoformat()}

    post_refused(client, owner, body, "start_at")


def test_a_date_without_a_time_is_refused(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    body = {"start_at": monday.isoformat(), "end_at": (monday + timedelta(days=1)).isoformat()}

    post_refused(client, owner, body, "start_at")


def test_end_before_start_is_refused(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "12:00").isoformat(),
        "end_at": local(listing, monday, "11:00").isoformat(),
    }

    post_refused(client, owner, body, "end_at")


def test_end_equal_to_start_is_refused(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    at = local(listing, monday, "12:00")
    body = {"start_at": at.isoformat(), "end_at": at.astimezone(UTC).isoformat()}

    post_refused(client, owner, body, "end_at")


@pytest.mark.parametrize("field", ["start_at", "end_at"])
def test_a_missing_instant_is_refused(client, listing, owner, field):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
    }
    del body[field]

    post_refused(client, owner, body, field)


def test_a_reason_over_200_characters_is_refused(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
        "reason": "x" * 201,
    }

    post_refused(client, owner, body, "reason")


@pytest.mark.parametrize("field", ["id", "practitioner_id", "all_day"])
def test_unknown_or_read_only_fields_are_refused(client, listing, owner, field):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
        field: "x",
    }

    post_refused(client, owner, body, field)


def test_an_end_past_the_last_utc_instant_is_refused(client, owner):
    # 9999-12-31 22:00 at UTC-5 is already in the year 10000 in UTC.
    body = {"start_at": "2027-01-01T00:00:00+00:00", "end_at": "9999-12-31T22:00:00-05:00"}

    post_refused(client, owner, body, "end_at")


def test_a_start_before_the_first_utc_instant_is_refused(client, owner):
    # 0001-01-01 00:30 at UTC+5 is still in the year 0 in UTC.
    body = {"start_at": "0001-01-01T00:30:00+05:00", "end_at": "2027-01-01T00:00:00+00:00"}

    post_refused(client, owner, body, "start_at")


def test_a_nul_character_in_the_reason_is_refused(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
        "reason": "sick\x00leave",
    }

    post_refused(client, owner, body, "reason")


# --- ownership and roles ------------------------------------------------------------------


def test_another_practitioners_time_off_is_not_found(app, client, owner, token_for):
    other = create_listing(app)
    theirs = token_for(other.owner_email)
    monday = upcoming(0, other.timezone)
    created = post_time_off(
        client, theirs, local(other, monday, "11:00"), local(other, monday, "12:00")
    )
    url = f"{TIME_OFF_URL}/{created['id']}"

    problem_of(client.get(url, headers=owner), 404)
    problem_of(client.delete(url, headers=owner), 404)

    assert client.get(url, headers=theirs).get_json() == created
    assert count_rows(app, TimeOff) == 1


def test_an_unknown_time_off_id_is_not_found(client, owner):
    problem_of(client.get(f"{TIME_OFF_URL}/{uuid.uuid4()}", headers=owner), 404)


def test_a_patient_may_not_post_time_off(app, client, auth, listing):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
    }

    problem_of(client.post(TIME_OFF_URL, json=body, headers=auth("patient")), 403)

    assert count_rows(app, TimeOff) == 0


def test_anonymous_may_not_list_time_off(client):
    problem_of(client.get(TIME_OFF_URL), 401)


def test_anonymous_may_not_post_time_off(app, client, listing):
    monday = upcoming(0, listing.timezone)
    body = {
        "start_at": local(listing, monday, "11:00").isoformat(),
        "end_at": local(listing, monday, "12:00").isoformat(),
    }

    problem_of(client.post(TIME_OFF_URL, json=body), 401)

    assert count_rows(app, TimeOff) == 0
