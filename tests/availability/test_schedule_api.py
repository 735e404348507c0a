"""The weekly schedule: PUT replaces the whole week atomically; bad input changes nothing."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.availability.models import AvailabilityRule
from tests.factories import LOCATIONS_URL, add_location, create_listing
from tests.helpers import count_rows, problem_of

SCHEDULE_URL = "/api/v1/practitioner/schedule"
SECOND_LOCATION = {
    "name": "Second clinic",
    "address": "99 Oxford St",
    "suburb": "Paddington",
    "state": "NSW",
    "postcode": "2021",
    "country": "AU",
    "latitude": -33.884,
    "longitude": 151.226,
}


@pytest.fixture
def listing(app):
    return create_listing(app, slot_interval_minutes=60)


@pytest.fixture
def owner(listing, token_for):
    return token_for(listing.owner_email)


def rule(location_id, weekday: int = 0, start: str = "09:00", end: str = "17:00", **extra):
    return {
        "weekday": weekday,
        "start": start,
        "end": end,
        "location_id": str(location_id),
        **extra,
    }


def schedule_of(client, headers) -> list[dict]:
    response = client.get(SCHEDULE_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["rules"]


def week(rules: list[dict]) -> list[tuple]:
    """The rules as comparable tuples, in a fixed order."""
    return sorted(
        (
            r["weekday"],
            r["start"],
            r["end"],
            r["location_id"],
            r.get("valid_from"),
            r.get("valid_until"),
        )
        for r in rules
    )


def put_refused(client, headers, body, field: str) -> dict:
    """PUT a bad schedule: 422 naming `field`, and the old week is still there."""
    before = schedule_of(client, headers)
    response = client.put(SCHEDULE_URL, json=body, headers=headers)
    problem = problem_of(response, 422)
    assert field in problem.get("errors", {}), problem
    assert schedule_of(client, headers) == before
    return problem


def upcoming(weekday: int, zone: str) -> date:
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=3)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


# --- reading and replacing ----------------------------------------------------------------


def test_get_schedule_lists_the_weekly_rules_with_monday_as_zero(client, listing, owner):
    rules = schedule_of(client, owner)

    assert week(rules) == [
        (day, "09:00", "17:00", str(listing.location_id), None, None) for day in range(5)
    ]


def test_get_schedule_of_a_new_practitioner_is_empty(client, auth):
    assert schedule_of(client, auth("practitioner")) == []


def test_put_schedule_replaces_the_whole_week(app, client, listing, owner):
    new_week = [
        rule(listing.location_id, 1, "08:30", "12:00"),
        rule(listing.location_id, 1, "13:00", "18:45"),
        rule(listing.location_id, 5, "10:00", "14:00"),
        rule(listing.location_id, 6, "00:00", "23:59"),
    ]

    response = client.put(SCHEDULE_URL, json={"rules": new_week}, headers=owner)

    assert response.status_code == 200, response.get_json()
    expected = [
        (1, "08:30", "12:00", str(listing.location_id), None, None),
        (1, "13:00", "18:45", str(listing.location_id), None, None),
        (5, "10:00", "14:00", str(listing.location_id), None, None),
        (6, "00:00", "23:59", str(listing.location_id), None, None),
    ]
    assert week(response.get_json()["rules"]) == expected
    assert week(schedule_of(client, owner)) == expected
    assert count_rows(app, AvailabilityRule) == 4


def test_put_empty_rules_clears_the_week(app, client, owner):
    response = client.put(SCHEDULE_URL, json={"rules": []}, headers=owner)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rules"] == []
    assert schedule_of(client, owner) == []
    assert count_rows(app, AvailabilityRule) == 0


def test_put_schedule_is_what_the_public_slots_follow(client, listing, owner):
    saturday = upcoming(5, listing.timezone)
    monday = upcoming(0, listing.timezone)
    body = {"rules": [rule(listing.location_id, 5, "10:00", "12:00")]}
    assert client.put(SCHEDULE_URL, json=body, headers=owner).status_code == 200

    def starts(day: date) -> list[str]:
        response = client.get(
            f"/api/v1/practitioners/{listing.slug}/slots",
            query_string={"service_id": listing.service_id, "from": day, "to": day},
        )
        assert response.status_code == 200, response.get_json()
        zone = ZoneInfo(listing.timezone)
        return [
            f"{datetime.fromisoformat(s['start_at']).astimezone(zone):%H:%M}"
            for s in response.get_json()["items"]
        ]

    assert starts(saturday) == ["10:00", "11:00"]
    assert starts(monday) == []


def test_same_hours_on_different_weekdays_are_accepted(client, listing, owner):
    body = {"rules": [rule(listing.location_id, day) for day in range(7)]}

    response = client.put(SCHEDULE_URL, json=body, headers=owner)

    assert response.status_code == 200, response.get_json()
    assert [r["weekday"] for r in schedule_of(client, owner)] == list(range(7))


def test_touching_windows_on_one_day_are_accepted(client, listing, owner):
    body = {
        "rules": [
            rule(listing.location_id, 0, "09:00", "12:00"),
            rule(listing.location_id, 0, "12:00", "17:00"),
        ]
    }

    response = client.put(SCHEDULE_URL, json=body, headers=owner)

    assert response.status_code == 200, response.get_json()
    assert [(r["start"], r["end"]) for r in schedule_of(client, owner)] == [
        ("09:00", "12:00"),
        ("12:00", "17:00"),
    ]


def test_overlapping_hours_in_disjoint_validity_periods_are_accepted(client, listing, owner):
    summer = rule(
        listing.location_id, 0, "08:00", "16:00", valid_from="2027-01-01", valid_until="2027-03-31"
    )
    winter = rule(
        listing.location_id, 0, "10:00", "18:00", valid_from="2027-04-01", valid_until="2027-09-30"
    )

    response = client.put(SCHEDULE_URL, json={"rules": [summer, winter]}, headers=owner)

    assert response.status_code == 200, response.get_json()
    assert week(schedule_of(client, owner)) == week([summer, winter])


def test_a_second_location_can_have_its_own_hours(client, listing, owner):
    second = add_location(client, owner, **SECOND_LOCATION)["id"]
    body = {
        "rules": [rule(listing.location_id, 0, "09:00", "12:00"), rule(second, 2, "09:00", "12:00")]
    }

    response = client.put(SCHEDULE_URL, json=body, headers=owner)

    assert response.status_code == 200, response.get_json()
    assert {(r["weekday"], r["location_id"]) for r in schedule_of(client, owner)} == {
        (0, str(listing.location_id)),
        (2, second),
    }


# --- refused input leaves the old week intact ---------------------------------------------


@pytest.mark.parametrize("weekday", [7, -1, "1", 1.5, None])
def test_weekday_outside_0_to_6_is_refused(client, listing, owner, weekday):
    body = {"rules": [rule(listing.location_id, weekday)]}

    put_refused(client, owner, body, "rules.0.weekday")


@pytest.mark.parametrize("value", ["9:00", "25:00", "09:60", 9, "09:00:00", "", None, "9am"])
@pytest.mark.parametrize("field", ["start", "end"])
def test_time_not_written_hh_mm_is_refused(client, listing, owner, field, value):
    body = {"rules": [{**rule(listing.location_id, 2, "09:00", "17:00"), field: value}]}

    put_refused(client, owner, body, f"rules.0.{field}")


def test_start_equal_to_end_is_refused(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0, "10:00", "10:00")]}

    put_refused(client, owner, body, "rules.0.end")


def test_start_after_end_is_refused(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0, "17:00", "09:00")]}

    put_refused(client, owner, body, "rules.0.end")


def test_overlapping_windows_on_one_weekday_are_refused(client, listing, owner):
    body = {
        "rules": [
            rule(listing.location_id, 3, "09:00", "13:00"),
            rule(listing.location_id, 3, "12:00", "17:00"),
        ]
    }

    put_refused(client, owner, body, "rules")


def test_many_overlaps_are_named_up_to_a_limit_and_counted(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 3, "09:00", "13:00")] * 200}

    messages = put_refused(client, owner, body, "rules")["errors"]["rules"]

    assert len(messages) == 21
    assert messages[-1] == "And 19880 more overlaps."


def test_a_window_inside_another_on_one_weekday_is_refused(client, listing, owner):
    body = {
        "rules": [
            rule(listing.location_id, 3, "09:00", "17:00"),
            rule(listing.location_id, 3, "11:00", "12:00"),
        ]
    }

    put_refused(client, owner, body, "rules")


def test_identical_windows_at_two_locations_on_one_weekday_are_refused(client, listing, owner):
    second = add_location(client, owner, **SECOND_LOCATION)["id"]
    body = {"rules": [rule(listing.location_id, 3), rule(second, 3)]}

    put_refused(client, owner, body, "rules")


def test_overlapping_hours_in_overlapping_validity_periods_are_refused(client, listing, owner):
    body = {
        "rules": [
            rule(listing.location_id, 0, "08:00", "16:00", valid_until="2027-04-30"),
            rule(listing.location_id, 0, "10:00", "18:00", valid_from="2027-04-01"),
        ]
    }

    put_refused(client, owner, body, "rules")


def test_valid_until_before_valid_from_is_refused(client, listing, owner):
    body = {
        "rules": [rule(listing.location_id, 0, valid_from="2027-05-01", valid_until="2027-04-01")]
    }

    put_refused(client, owner, body, "rules.0.valid_until")


def test_another_practitioners_location_is_refused(app, client, listing, owner):
    other = create_listing(app)
    body = {"rules": [rule(other.location_id, 0)]}

    put_refused(client, owner, body, "rules.0.location_id")


def test_an_unknown_location_is_refused(client, listing, owner):
    body = {"rules": [rule(uuid.uuid4(), 0)]}

    put_refused(client, owner, body, "rules.0.location_id")


def test_the_bad_location_is_named_by_its_index(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0), rule(uuid.uuid4(), 1)]}

    problem = put_refused(client, owner, body, "rules.1.location_id")

    assert "rules.0.location_id" not in problem["errors"]


def test_a_location_id_that_is_not_a_uuid_is_refused(client, listing, owner):
    body = {"rules": [rule("clinic-1", 0)]}

    put_refused(client, owner, body, "rules.0.location_id")


def test_a_deleted_location_is_refused(client, listing, owner):
    second = add_location(client, owner, **SECOND_LOCATION)["id"]
    assert client.delete(f"{LOCATIONS_URL}/{second}", headers=owner).status_code == 204
    body = {"rules": [rule(listing.location_id, 0), rule(second, 1)]}

    put_refused(client, owner, body, "rules.1.location_id")

    assert len(schedule_of(client, owner)) == 5


def test_an_unknown_field_in_a_rule_is_refused(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0, colour="blue")]}

    put_refused(client, owner, body, "rules.0.colour")


def test_a_rule_id_is_refused(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0, id=str(uuid.uuid4()))]}

    put_refused(client, owner, body, "rules.0.id")


def test_an_unknown_top_level_field_is_refused(client, listing, owner):
    body = {"rules": [rule(listing.location_id, 0)], "timezone": "UTC"}

    put_refused(client, owner, body, "timezone")


def test_a_missing_rules_list_is_refused(client, owner):
    put_refused(client, owner, {}, "rules")


def test_rules_that_are_not_a_list_are_refused(client, listing, owner):
    put_refused(client, owner, {"rules": rule(listing.location_id, 0)}, "rules")


@pytest.mark.parametrize("field", ["weekday", "start", "end", "location_id"])
def test_a_rule_missing_a_field_is_refused(client, listing, owner, field):
    incomplete = rule(listing.location_id, 0)
    del incomplete[field]

    put_refused(client, owner, {"rules": [incomplete]}, f"rules.0.{field}")


def test_one_bad_rule_refuses_the_whole_week(client, listing, owner):
    body = {
        "rules": [
            rule(listing.location_id, 5, "10:00", "12:00"),
            rule(listing.location_id, 6, "12:00", "10:00"),
        ]
    }

    put_refused(client, owner, body, "rules.1.end")


def test_malformed_json_is_400_and_changes_nothing(client, owner):
    before = schedule_of(client, owner)

    response = client.put(
        SCHEDULE_URL, data='{"rules": [', content_type="application/json", headers=owner
    )

    problem_of(response, 400)
    assert schedule_of(client, owner) == before


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_other_roles_may_not_read_a_schedule(client, auth, role):
    problem_of(client.get(SCHEDULE_URL, headers=auth(role)), 403)


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_other_roles_may_not_put_a_schedule(client, auth, listing, role):
    body = {"rules": [rule(listing.location_id, 0)]}

    problem_of(client.put(SCHEDULE_URL, json=body, headers=auth(role)), 403)


def test_anonymous_may_not_read_a_schedule(client):
    problem_of(client.get(SCHEDULE_URL), 401)


def test_anonymous_put_is_401_and_changes_nothing(app, client, listing):
    before = count_rows(app, AvailabilityRule)

    problem_of(client.put(SCHEDULE_URL, json={"rules": []}), 401)

    assert count_rows(app, AvailabilityRule) == before


def test_putting_a_schedule_leaves_other_practitioners_weeks_alone(app, client, token_for, owner):
    other = create_listing(app)
    theirs = token_for(other.owner_email)
    before = schedule_of(client, theirs)

    assert client.put(SCHEDULE_URL, json={"rules": []}, headers=owner).status_code == 200

    assert schedule_of(client, theirs) == before
    assert len(before) == 5
