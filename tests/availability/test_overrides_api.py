"""Date overrides: a date's own hours (or closed) replacing the weekly rules."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from marketplace.availability.models import DateOverride, OverrideWindow
from marketplace.extensions import db
from tests.factories import add_location, create_listing
from tests.helpers import count_rows, problem_of

OVERRIDES_URL = "/api/v1/practitioner/overrides"


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


def window(location_id, start: str = "10:00", end: str = "12:00") -> dict:
    return {"start": start, "end": end, "location_id": str(location_id)}


def post_override(client, headers, day: date, windows: list[dict], status: int = 201) -> dict:
    response = client.post(
        OVERRIDES_URL, json={"date": day.isoformat(), "windows": windows}, headers=headers
    )
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def listed(client, headers) -> dict:
    response = client.get(OVERRIDES_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


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
        local = datetime.fromisoformat(slot["start_at"]).astimezone(zone)
        days.setdefault(local.date(), []).append(f"{local:%H:%M}")
    return days


def post_refused(client, headers, body: dict, field: str) -> dict:
    """POST a bad override: 422 naming `field`, and the overrides are as they were."""
    before = listed(client, headers)
    response = client.post(OVERRIDES_URL, json=body, headers=headers)
    problem = problem_of(response, 422)
    assert field in problem.get("errors", {}), problem
    assert listed(client, headers) == before
    return problem


WEEKDAY_HOURS = ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]


# --- creating, reading, replacing ---------------------------------------------------------


def test_post_override_creates_it(app, client, listing, owner):
    day = upcoming(2, listing.timezone)

    body = post_override(client, owner, day, [window(listing.location_id, "10:00", "12:30")])

    uuid.UUID(body["id"])
    assert body["date"] == day.isoformat()
    assert body["windows"] == [
        {"start": "10:00", "end": "12:30", "location_id": str(listing.location_id)}
    ]
    assert count_rows(app, DateOverride) == 1


def test_get_override_returns_the_one_posted(client, listing, owner):
    created = post_override(
        client, owner, upcoming(2, listing.timezone), [window(listing.location_id)]
    )

    response = client.get(f"{OVERRIDES_URL}/{created['id']}", headers=owner)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == created


def test_overrides_are_listed_by_date_in_the_page_envelope(client, listing, owner):
    later = post_override(client, owner, upcoming(3, listing.timezone, 10), [])
    sooner = post_override(client, owner, upcoming(3, listing.timezone), [])

    body = listed(client, owner)

    assert body["total"] == 2
    assert body["page"] == 1
    assert [item["id"] for item in body["items"]] == [sooner["id"], later["id"]]


def test_overrides_list_shows_only_own_overrides(app, client, listing, owner, token_for):
    other = create_listing(app)
    post_override(client, token_for(other.owner_email), upcoming(2, other.timezone), [])
    mine = post_override(client, owner, upcoming(2, listing.timezone), [])

    assert [item["id"] for item in listed(client, owner)["items"]] == [mine["id"]]


def test_posting_the_same_date_again_replaces_the_override(app, client, listing, owner):
    day = upcoming(2, listing.timezone)
    post_override(client, owner, day, [window(listing.location_id, "10:00", "12:00")])
    new_windows = [
        window(listing.location_id, "08:00", "09:00"),
        window(listing.location_id, "14:00", "16:00"),
    ]

    replaced = post_override(client, owner, day, new_windows, status=200)

    assert replaced["windows"] == new_windows
    items = listed(client, owner)["items"]
    assert [(item["date"], item["windows"]) for item in items] == [(day.isoformat(), new_windows)]
    assert count_rows(app, DateOverride) == 1
    assert count_rows(app, OverrideWindow) == 2
    response = client.get(f"{OVERRIDES_URL}/{replaced['id']}", headers=owner)
    assert response.get_json()["windows"] == new_windows


def test_replacing_an_override_changes_the_slots(client, listing, owner):
    day = upcoming(2, listing.timezone)
    post_override(client, owner, day, [window(listing.location_id, "10:00", "12:00")])

    post_override(client, owner, day, [window(listing.location_id, "14:00", "16:00")], 200)

    assert local_starts(client, listing, day) == {day: ["14:00", "15:00"]}


def test_empty_windows_close_the_day(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    tuesday = monday + timedelta(days=1)

    body = post_override(client, owner, monday, [])

    assert body["windows"] == []
    assert local_starts(client, listing, monday, tuesday) == {tuesday: WEEKDAY_HOURS}


def test_an_override_opens_a_normally_closed_sunday(client, listing, owner):
    sunday = upcoming(6, listing.timezone)
    assert local_starts(client, listing, sunday) == {}

    post_override(client, owner, sunday, [window(listing.location_id, "10:00", "13:00")])

    assert local_starts(client, listing, sunday) == {sunday: ["10:00", "11:00", "12:00"]}


def test_an_override_replaces_the_weekly_hours_of_a_working_day(client, listing, owner):
    wednesday = upcoming(2, listing.timezone)
    windows = [
        window(listing.location_id, "07:00", "08:00"),
        window(listing.location_id, "18:00", "20:00"),
    ]

    post_override(client, owner, wednesday, windows)

    thursday = wednesday + timedelta(days=1)
    assert local_starts(client, listing, wednesday, thursday) == {
        wednesday: ["07:00", "18:00", "19:00"],
        thursday: WEEKDAY_HOURS,
    }


def test_override_slots_carry_the_windows_location(client, listing, owner):
    sunday = upcoming(6, listing.timezone)
    post_override(client, owner, sunday, [window(listing.location_id, "10:00", "11:00")])

    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": sunday, "to": sunday},
    )

    assert [s["location_id"] for s in response.get_json()["items"]] == [str(listing.location_id)]


# --- refused input ------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Australia/Sydney", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_yesterday_in_the_practitioners_zone_is_refused(app, client, token_for, zone):
    listing = create_listing(app, timezone=zone)
    owner = token_for(listing.owner_email)
    yesterday = datetime.now(ZoneInfo(zone)).date() - timedelta(days=1)

    post_refused(client, owner, {"date": yesterday.isoformat(), "windows": []}, "date")

    assert count_rows(app, DateOverride) == 0


def test_a_long_past_date_is_refused(app, client, owner):
    post_refused(client, owner, {"date": "2020-01-06", "windows": []}, "date")


@pytest.mark.parametrize("value", ["2027-02-30", "next monday", "2027/03/01", "", None, 20270301])
def test_a_bad_date_is_refused(client, owner, value):
    post_refused(client, owner, {"date": value, "windows": []}, "date")


@pytest.mark.parametrize("value", ["9:00", "25:00", "09:60", 9, "", None])
@pytest.mark.parametrize("field", ["start", "end"])
def test_a_window_time_not_written_hh_mm_is_refused(client, listing, owner, field, value):
    body = {
        "date": upcoming(2, listing.timezone).isoformat(),
        "windows": [{**window(listing.location_id), field: value}],
    }

    post_refused(client, owner, body, f"windows.0.{field}")


@pytest.mark.parametrize(("start", "end"), [("12:00", "12:00"), ("13:00", "12:00")])
def test_a_window_not_ending_after_it_starts_is_refused(client, listing, owner, start, end):
    body = {
        "date": upcoming(2, listing.timezone).isoformat(),
        "windows": [window(listing.location_id, start, end)],
    }

    post_refused(client, owner, body, "windows.0.end")


def test_overlapping_windows_are_refused(client, listing, owner):
    body = {
        "date": upcoming(2, listing.timezone).isoformat(),
        "windows": [
            window(listing.location_id, "09:00", "12:00"),
            window(listing.location_id, "11:00", "14:00"),
        ],
    }

    post_refused(client, owner, body, "windows")


def test_another_practitioners_location_is_refused(app, client, listing, owner):
    other = create_listing(app)
    body = {
        "date": upcoming(2, listing.timezone).isoformat(),
        "windows": [window(other.location_id)],
    }

    post_refused(client, owner, body, "windows.0.location_id")


def test_an_unknown_location_is_refused(client, listing, owner):
    body = {"date": upcoming(2, listing.timezone).isoformat(), "windows": [window(uuid.uuid4())]}

    post_refused(client, owner, body, "windows.0.location_id")


def test_a_deleted_location_is_refused(client, listing, owner):
    pop_up = {"name": "Pop-up", "address": "2 Side St", "suburb": "Newtown", "postcode": "2042"}
    gone = add_location(client, owner, **pop_up, latitude=-33.9, longitude=151.18)["id"]
    assert client.delete(f"/api/v1/practitioner/locations/{gone}", headers=owner).status_code == 204
    body = {"date": upcoming(2, listing.timezone).isoformat(), "windows": [window(gone)]}

    post_refused(client, owner, body, "windows.0.location_id")


def test_missing_windows_are_refused(client, listing, owner):
    post_refused(client, owner, {"date": upcoming(2, listing.timezone).isoformat()}, "windows")


def test_a_missing_date_is_refused(client, listing, owner):
    post_refused(client, owner, {"windows": []}, "date")


@pytest.mark.parametrize("field", ["id", "practitioner_id", "closed"])
def test_unknown_or_read_only_fields_are_refused(client, listing, owner, field):
    body = {"date": upcoming(2, listing.timezone).isoformat(), "windows": [], field: "x"}

    post_refused(client, owner, body, field)


def test_a_refused_replacement_keeps_the_existing_override(client, listing, owner):
    day = upcoming(2, listing.timezone)
    existing = post_override(client, owner, day, [window(listing.location_id)])
    body = {"date": day.isoformat(), "windows": [window(uuid.uuid4(), "14:00", "15:00")]}

    post_refused(client, owner, body, "windows.0.location_id")

    response = client.get(f"{OVERRIDES_URL}/{existing['id']}", headers=owner)
    assert response.get_json() == existing


# --- deleting and ownership ---------------------------------------------------------------


def test_delete_override_removes_it(app, client, listing, owner):
    created = post_override(client, owner, upcoming(2, listing.timezone), [])

    response = client.delete(f"{OVERRIDES_URL}/{created['id']}", headers=owner)

    assert response.status_code == 204
    problem_of(client.get(f"{OVERRIDES_URL}/{created['id']}", headers=owner), 404)
    problem_of(client.delete(f"{OVERRIDES_URL}/{created['id']}", headers=owner), 404)
    assert count_rows(app, DateOverride) == 0
    assert count_rows(app, OverrideWindow) == 0


def test_deleting_an_override_restores_the_weekly_hours(client, listing, owner):
    monday = upcoming(0, listing.timezone)
    created = post_override(client, owner, monday, [])

    assert client.delete(f"{OVERRIDES_URL}/{created['id']}", headers=owner).status_code == 204

    assert local_starts(client, listing, monday) == {monday: WEEKDAY_HOURS}


def test_another_practitioners_override_is_not_found(app, client, listing, owner, token_for):
    other = create_listing(app)
    theirs = token_for(other.owner_email)
    created = post_override(client, theirs, upcoming(2, other.timezone), [])
    url = f"{OVERRIDES_URL}/{created['id']}"

    problem_of(client.get(url, headers=owner), 404)
    problem_of(client.delete(url, headers=owner), 404)

    assert client.get(url, headers=theirs).get_json() == created
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(DateOverride)
                .where(DateOverride.practitioner_id == other.id)
            )
            == 1
        )


def test_an_unknown_override_id_is_not_found(client, owner):
    problem_of(client.get(f"{OVERRIDES_URL}/{uuid.uuid4()}", headers=owner), 404)


def test_a_patient_may_not_post_an_override(app, client, auth, listing):
    body = {"date": upcoming(2, listing.timezone).isoformat(), "windows": []}

    problem_of(client.post(OVERRIDES_URL, json=body, headers=auth("patient")), 403)

    assert count_rows(app, DateOverride) == 0


def test_anonymous_may_not_list_overrides(client):
    problem_of(client.get(OVERRIDES_URL), 401)


def test_anonymous_may_not_post_an_override(app, client, listing):
    body = {"date": upcoming(2, listing.timezone).isoformat(), "windows": []}

    problem_of(client.post(OVERRIDES_URL, json=body), 401)

    assert count_rows(app, DateOverride) == 0
