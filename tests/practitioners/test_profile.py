"""The practitioner's own profile (GET/PUT) and the public profile of an approved listing."""

import re

import pytest

from tests.factories import (
    LOCATIONS_URL,
    PROFILE,
    PROFILE_URL,
    SERVICES_URL,
    add_location,
    add_service,
    approved_listing,
    get_profile,
    listing_in_status,
    put_profile,
    review,
)
from tests.helpers import problem_of

DEFAULTS = {
    "headline": "",
    "bio": "",
    "profession": "",
    "registration_body": "",
    "registration_number": "",
    "gender": "undisclosed",
    "languages": ["en"],
    "telehealth": False,
    "timezone": None,
    "slot_interval_minutes": 15,
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "min_notice_minutes": 120,
    "horizon_days": 60,
    "free_cancellation_hours": 24,
    "late_cancellation_fee_percent": 50,
}
READ_ONLY = ("id", "slug", "status", "status_reason", "calendar_url")


def error_fields(body: dict) -> set[str]:
    """Field names in a problem's `errors`, with list indexes (`languages.0`) folded away."""
    return {key.split(".")[0] for key in body.get("errors", {})}


# --- the own profile -------------------------------------------------------------------------


def test_new_practitioner_gets_a_draft_listing_with_defaults(client, auth):
    profile = get_profile(client, auth("practitioner", name="Jane Citizen"))

    assert profile["status"] == "draft"
    assert profile["status_reason"] is None
    assert profile["display_name"] == "Jane Citizen"
    assert profile["slug"] == "jane-citizen"
    assert {field: profile[field] for field in DEFAULTS} == DEFAULTS
    assert set(READ_ONLY) <= profile.keys()


def test_put_profile_stores_every_field(client, auth):
    me = auth("practitioner")

    response = client.put(PROFILE_URL, json=PROFILE, headers=me)

    assert response.status_code == 200, response.get_json()
    assert {field: response.get_json()[field] for field in PROFILE} == PROFILE
    assert {field: get_profile(client, me)[field] for field in PROFILE} == PROFILE


def test_put_profile_replaces_the_whole_resource(client, auth):
    me = auth("practitioner")
    put_profile(client, me, headline="Gluteal pain, sorted")

    response = client.put(PROFILE_URL, json={"display_name": "Jane Citizen"}, headers=me)

    assert response.status_code == 200, response.get_json()
    profile = get_profile(client, me)
    assert profile["display_name"] == "Jane Citizen"
    assert profile["headline"] == ""
    assert {field: profile[field] for field in DEFAULTS} == DEFAULTS


def test_put_profile_trims_surrounding_white_space(client, auth):
    me = auth("practitioner")

    put_profile(client, me, display_name="  Jane Citizen  ", headline=" Hands on ")

    profile = get_profile(client, me)
    assert profile["display_name"] == "Jane Citizen"
    assert profile["headline"] == "Hands on"


def test_same_names_get_distinct_readable_slugs(client, auth):
    first = get_profile(client, auth("practitioner", name="Jane Citizen"))
    second = get_profile(client, auth("practitioner", name="Jane Citizen"))

    assert first["slug"] == "jane-citizen"
    assert second["slug"] == "jane-citizen-2"


def test_slug_of_an_accented_name_is_readable_ascii(client, auth):
    profile = get_profile(client, auth("practitioner", name="Zoë O'Brien-Smith"))

    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", profile["slug"])
    assert profile["slug"].startswith("zoe-o")


def test_slug_stays_when_the_display_name_changes(client, auth):
    me = auth("practitioner", name="Jane Citizen")
    assert get_profile(client, me)["slug"] == "jane-citizen"

    put_profile(client, me, display_name="Janet Smith-Citizen")

    profile = get_profile(client, me)
    assert profile["display_name"] == "Janet Smith-Citizen"
    assert profile["slug"] == "jane-citizen"


def test_a_later_listing_does_not_take_a_slug_freed_by_a_rename(client, auth):
    me = auth("practitioner", name="Jane Citizen")
    get_profile(client, me)
    put_profile(client, me, display_name="Janet Smith")

    other = get_profile(client, auth("practitioner", name="Jane Citizen"))

    assert other["slug"] == "jane-citizen-2"


INVALID_VALUES = [
    ("timezone", "Mars/Olympus_Mons"),
    ("timezone", "sydney"),
    ("timezone", ""),
    ("gender", "woman"),
    ("gender", ""),
    ("languages", ["english"]),
    ("languages", ["EN"]),
    ("languages", ["en", "xx"]),
    ("languages", "en"),
    ("slot_interval_minutes", 0),
    ("slot_interval_minutes", 4),
    ("slot_interval_minutes", 241),
    ("buffer_before_minutes", -1),
    ("buffer_after_minutes", -1),
    ("min_notice_minutes", -1),
    ("horizon_days", 0),
    ("free_cancellation_hours", -1),
    ("late_cancellation_fee_percent", 101),
    ("late_cancellation_fee_percent", -1),
    ("slot_interval_minutes", "30"),
    ("slot_interval_minutes", 30.5),
    ("buffer_after_minutes", None),
    ("telehealth", "yes"),
    ("telehealth", 1),
    ("display_name", ""),
    ("display_name", "   "),
    ("display_name", 42),
    ("headline", "x" * 201),
]


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES)
def test_invalid_profile_value_is_refused_and_changes_nothing(client, auth, field, value):
    me = auth("practitioner")
    put_profile(client, me)
    before = get_profile(client, me)

    body = problem_of(client.put(PROFILE_URL, json={**PROFILE, field: value}, headers=me), 422)

    assert field in error_fields(body)
    assert get_profile(client, me) == before


def test_profile_without_display_name_is_refused(client, auth):
    me = auth("practitioner")
    before = get_profile(client, me)
    incomplete = {key: value for key, value in PROFILE.items() if key != "display_name"}

    body = problem_of(client.put(PROFILE_URL, json=incomplete, headers=me), 422)

    assert "display_name" in body["errors"]
    assert get_profile(client, me) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "00000000-0000-0000-0000-000000000001"),
        ("slug", "someone-else"),
        ("status", "approved"),
        ("status_reason", "self-approved"),
        ("calendar_url", "https://example.com/feed.ics"),
        ("practitioner_id", "00000000-0000-0000-0000-000000000001"),
        ("owner_id", "00000000-0000-0000-0000-000000000001"),
        ("role", "admin"),
        ("charges_enabled", True),
        ("rating_average", 5.0),
        ("favourite_colour", "teal"),
    ],
)
def test_read_only_or_unknown_profile_field_is_refused(client, auth, field, value):
    me = auth("practitioner")
    before = get_profile(client, me)

    body = problem_of(client.put(PROFILE_URL, json={**PROFILE, field: value}, headers=me), 422)

    assert field in body["errors"]
    after = get_profile(client, me)
    assert after == before
    assert after["status"] == "draft"


def test_malformed_json_profile_is_a_400_and_changes_nothing(client, auth):
    me = auth("practitioner")
    before = get_profile(client, me)

    response = client.put(
        PROFILE_URL, data='{"display_name": ', content_type="application/json", headers=me
    )

    problem_of(response, 400)
    assert get_profile(client, me) == before


def test_languages_are_kept_once_each_in_order(client, auth):
    me = auth("practitioner")

    put_profile(client, me, languages=["zh", "en", "zh"])

    assert get_profile(client, me)["languages"] == ["zh", "en"]


@pytest.mark.parametrize("method", ["get", "put"])
def test_anonymous_user_cannot_use_the_own_profile(client, method):
    problem_of(getattr(client, method)(PROFILE_URL, json=PROFILE), 401)


@pytest.mark.parametrize("role", ["patient", "admin"])
@pytest.mark.parametrize("method", ["get", "put"])
def test_other_roles_cannot_use_the_own_profile(client, auth, role, method):
    problem_of(getattr(client, method)(PROFILE_URL, json=PROFILE, headers=auth(role)), 403)


# --- the public profile ---------------------------------------------------------------------


@pytest.mark.parametrize("address_by", ["id", "slug"])
@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "suspended"])
def test_listing_that_is_not_approved_has_no_public_profile(client, auth, status, address_by):
    listing = listing_in_status(client, auth("practitioner"), auth("admin"), status)

    body = problem_of(client.get(f"/api/v1/practitioners/{listing[address_by]}"), 404)

    assert "errors" not in body


@pytest.mark.parametrize("address_by", ["id", "slug"])
def test_approved_listing_has_a_public_profile(client, auth, address_by):
    listing = approved_listing(client, auth("practitioner"), auth("admin"))

    response = client.get(f"/api/v1/practitioners/{listing[address_by]}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == listing["id"]
    assert body["slug"] == listing["slug"]
    assert body["display_name"] == PROFILE["display_name"]
    assert body["bio"] == PROFILE["bio"]
    assert body["timezone"] == "Australia/Sydney"
    assert body["rating_average"] is None
    assert body["rating_count"] == 0


def test_public_profile_shows_active_services_and_current_locations(client, auth):
    me = auth("practitioner")
    listing = approved_listing(client, me, auth("admin"))
    hidden = add_service(client, me, name="Retired offer", therapy="cupping")
    client.patch(f"{SERVICES_URL}/{hidden['id']}", json={"active": False}, headers=me)
    removed = add_service(client, me, name="Removed offer", therapy="dry-needling")
    client.delete(f"{SERVICES_URL}/{removed['id']}", headers=me)
    second = add_location(client, me, name="Bondi rooms", suburb="Bondi")
    gone = add_location(client, me, name="Closed rooms", suburb="Manly")
    client.delete(f"{LOCATIONS_URL}/{gone['id']}", headers=me)

    body = client.get(f"/api/v1/practitioners/{listing['slug']}").get_json()

    assert [service["name"] for service in body["services"]] == ["Initial consultation"]
    service = body["services"][0]
    assert service["therapy"] == "trigger-point-therapy"
    assert service["duration_minutes"] == 60
    assert service["price_cents"] == 12000
    assert service["currency"] == "AUD"
    assert [location["name"] for location in body["locations"]] == [
        "Surry Hills clinic",
        "Bondi rooms",
    ]
    assert body["locations"][1]["id"] == second["id"]
    assert body["therapies"] == [{"slug": "trigger-point-therapy", "name": "Trigger point therapy"}]


def test_public_profile_does_not_expose_private_fields(client, auth):
    listing = approved_listing(client, auth("practitioner"), auth("admin"))

    body = client.get(f"/api/v1/practitioners/{listing['id']}").get_json()

    assert not {"status_reason", "calendar_url", "owner_id", "stripe_account_id"} & body.keys()


def test_suspended_then_reinstated_listing_is_public_again(client, auth):
    admin = auth("admin")
    listing = listing_in_status(client, auth("practitioner"), admin, "suspended")

    review(client, admin, listing["id"], "reinstate")

    assert client.get(f"/api/v1/practitioners/{listing['slug']}").status_code == 200


@pytest.mark.parametrize(
    "id_or_slug", ["no-such-practitioner", "00000000-0000-0000-0000-000000000000"]
)
def test_unknown_public_profile_is_404(client, id_or_slug):
    problem_of(client.get(f"/api/v1/practitioners/{id_or_slug}"), 404)
