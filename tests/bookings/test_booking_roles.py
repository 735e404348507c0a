"""Who may read and change which booking, on every booking endpoint."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.bookings.models import Booking
from tests.bookings.helpers import iso, slots
from tests.factories import all_day_listing, book, book_and_pay, create_listing, far_start, hold
from tests.helpers import count_rows, parse, problem_of, stored


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def list_bookings(client, headers, **query):
    return client.get("/api/v1/bookings", query_string={"per_page": 50, **query}, headers=headers)


@pytest.fixture
def world(app, client, auth, token_for):
    """Two listings and two patients: Ann books both listings, Bob books the first."""
    first, second = all_day_listing(app), all_day_listing(app)
    ann, bob = auth("patient"), auth("patient")
    ann_first = book_and_pay(client, ann, first, far_start(days=3))
    ann_second = hold(client, ann, second, far_start(days=4))["booking"]
    bob_first = hold(client, bob, first, far_start(days=5))["booking"]
    return {
        "first": first,
        "second": second,
        "ann": ann,
        "bob": bob,
        "first_owner": token_for(first.owner_email),
        "second_owner": token_for(second.owner_email),
        "admin": auth("admin"),
        "ann_first": ann_first["id"],
        "ann_second": ann_second["id"],
        "bob_first": bob_first["id"],
    }


# --- listing --------------------------------------------------------------------------------


def test_patient_lists_only_their_own_bookings(client, world):
    response = list_bookings(client, world["ann"])
    assert ids(response) == [world["ann_first"], world["ann_second"]]
    assert response.get_json()["total"] == 2
    assert ids(list_bookings(client, world["bob"])) == [world["bob_first"]]


def test_practitioner_lists_only_their_listings_bookings(client, world):
    assert ids(list_bookings(client, world["first_owner"])) == [
        world["ann_first"],
        world["bob_first"],
    ]
    assert ids(list_bookings(client, world["second_owner"])) == [world["ann_second"]]


def test_admin_lists_every_booking(client, world):
    seen = set(ids(list_bookings(client, world["admin"])))
    assert {world["ann_first"], world["ann_second"], world["bob_first"]} <= seen


def test_list_items_carry_the_contract_fields(client, world):
    (item, _) = list_bookings(client, world["ann"]).get_json()["items"]
    assert item["id"] == world["ann_first"]
    assert item["status"] == "confirmed"
    assert item["practitioner_id"] == str(world["first"].id)
    assert item["service_id"] == str(world["first"].service_id)
    assert parse(item["start_at"]) == far_start(days=3)
    assert item["price_cents"] == 12000
    assert item["platform_fee_cents"] == 1200
    assert item["refund_cents"] == 0
    assert item["currency"] == "AUD"


def test_list_filters_by_status(client, world):
    assert ids(list_bookings(client, world["ann"], status="held")) == [world["ann_second"]]
    assert ids(list_bookings(client, world["ann"], status="confirmed")) == [world["ann_first"]]
    assert ids(list_bookings(client, world["ann"], status="cancelled")) == []


def test_list_filters_by_start_time(client, world):
    between = iso(far_start(days=3) + timedelta(hours=12))
    assert ids(list_bookings(client, world["ann"], **{"from": between})) == [world["ann_second"]]
    assert ids(list_bookings(client, world["ann"], to=between)) == [world["ann_first"]]
    inclusive = iso(far_start(days=4))
    assert ids(list_bookings(client, world["ann"], **{"from": inclusive})) == [world["ann_second"]]
    in_sydney = (far_start(days=3) - timedelta(minutes=1)).astimezone(ZoneInfo("Australia/Sydney"))
    assert ids(list_bookings(client, world["ann"], **{"from": iso(in_sydney), "to": between})) == [
        world["ann_first"]
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2030-01-01T00:00:00"},
        {"to": "2030-01-01T00:00:00"},
        {"from": "yesterday"},
        {"status": "lost"},
        {"per_page": 51},
        {"page": 0},
    ],
)
def test_list_with_bad_filters_is_422(client, world, query):
    problem_of(list_bookings(client, world["ann"], **query), 422)


def test_list_bookings_anonymous_is_401(client):
    problem_of(client.get("/api/v1/bookings"), 401)


# --- one booking ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ann", "first_owner", "admin"])
def test_booking_is_visible_to_its_patient_practitioner_and_admins(client, world, who):
    response = client.get(f"/api/v1/bookings/{world['ann_first']}", headers=world[who])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == world["ann_first"]
    assert body["status"] == "confirmed"


@pytest.mark.parametrize("who", ["bob", "second_owner"])
def test_booking_is_hidden_from_everyone_else(client, world, who):
    problem_of(client.get(f"/api/v1/bookings/{world['ann_first']}", headers=world[who]), 404)


def test_unknown_booking_is_404(client, world):
    problem_of(client.get(f"/api/v1/bookings/{uuid.uuid4()}", headers=world["admin"]), 404)


def test_get_booking_anonymous_is_401(client, world):
    problem_of(client.get(f"/api/v1/bookings/{world['ann_first']}"), 401)


# --- the practitioner's calendar ------------------------------------------------------------


def calendar(client, headers, **query):
    return client.get("/api/v1/practitioner/bookings", query_string=query, headers=headers)


def test_practitioner_calendar_lists_own_bookings_in_range(client, world):
    day3 = far_start(days=3).date()
    day5 = far_start(days=5).date()
    owner = world["first_owner"]
    assert ids(calendar(client, owner, **{"from": day3, "to": day3})) == [world["ann_first"]]
    assert ids(calendar(client, owner, **{"from": day3, "to": day5})) == [
        world["ann_first"],
        world["bob_first"],
    ]
    assert ids(calendar(client, owner, **{"from": day5, "to": day5})) == [world["bob_first"]]
    day4 = far_start(days=4).date()
    assert ids(calendar(client, owner, **{"from": day4, "to": day4})) == []
    assert ids(calendar(client, world["second_owner"], **{"from": day3, "to": day5})) == [
        world["ann_second"]
    ]


def test_practitioner_calendar_days_are_local_to_the_listing(app, client, auth, token_for):
    listing = create_listing(app, timezone="Australia/Sydney")
    first_day = datetime.now(UTC).date() + timedelta(days=3)
    slot = slots(client, listing, first_day, first_day + timedelta(days=7))[0]
    start = parse(slot["start_at"])
    booking = book_and_pay(client, auth("patient"), listing, start)
    local_day = start.astimezone(ZoneInfo("Australia/Sydney")).date()
    assert start.astimezone(UTC).date() != local_day  # 09:00 in Sydney is the UTC day before

    owner = token_for(listing.owner_email)
    assert ids(calendar(client, owner, **{"from": local_day, "to": local_day})) == [booking["id"]]
    utc_day = start.astimezone(UTC).date()
    assert ids(calendar(client, owner, **{"from": utc_day, "to": utc_day})) == []


@pytest.mark.parametrize("who", ["ann", "admin"])
def test_practitioner_calendar_refuses_other_roles(client, world, who):
    problem_of(calendar(client, world[who]), 403)


def test_practitioner_calendar_anonymous_is_401(client):
    problem_of(calendar(client, {}), 401)


def test_practitioner_calendar_bad_dates_are_422(client, world):
    problem_of(calendar(client, world["first_owner"], **{"from": "03/01/2030"}), 422)


# --- changing bookings: roles ---------------------------------------------------------------


@pytest.fixture
def listing(app):
    return all_day_listing(app)


@pytest.mark.parametrize("role", ["practitioner", "admin"])
def test_only_patients_create_bookings(app, client, auth, listing, role):
    rows = count_rows(app, Booking)
    problem_of(book(client, auth(role), listing, far_start()), 403)
    assert count_rows(app, Booking) == rows


def test_the_listings_own_practitioner_cannot_book_it(app, client, token_for, listing):
    rows = count_rows(app, Booking)
    problem_of(book(client, token_for(listing.owner_email), listing, far_start()), 403)
    assert count_rows(app, Booking) == rows


def test_create_booking_anonymous_is_401(app, client, listing):
    rows = count_rows(app, Booking)
    problem_of(book(client, {}, listing, far_start()), 401)
    assert count_rows(app, Booking) == rows


def test_invalid_bearer_token_is_401(app, client, listing):
    rows = count_rows(app, Booking)
    problem_of(book(client, {"Authorization": "Bearer nope"}, listing, far_start()), 401)
    assert count_rows(app, Booking) == rows


ACTIONS = [
    ("cancel", {"reason": "x"}),
    ("reschedule", None),
    ("complete", None),
    ("no-show", None),
]


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_changing_a_booking_anonymous_is_401(app, client, auth, listing, action, body):
    booking = book_and_pay(client, auth("patient"), listing, far_start())
    if body is None and action == "reschedule":
        body = {"start_at": iso(far_start() + timedelta(hours=2))}
    response = client.post(f"/api/v1/bookings/{booking['id']}/{action}", json=body)
    problem_of(response, 401)
    row = stored(app, booking["id"])
    assert row.status.value == "confirmed"
    assert row.start_at == far_start()


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_admins_cannot_change_a_booking(app, client, auth, listing, action, body):
    booking = book_and_pay(client, auth("patient"), listing, far_start())
    if body is None and action == "reschedule":
        body = {"start_at": iso(far_start() + timedelta(hours=2))}
    response = client.post(
        f"/api/v1/bookings/{booking['id']}/{action}", json=body, headers=auth("admin")
    )
    problem_of(response, 403)
    row = stored(app, booking["id"])
    assert row.status.value == "confirmed"
    assert row.start_at == far_start()


@pytest.mark.parametrize("action", ["cancel", "reschedule", "complete", "no-show"])
def test_changing_an_unknown_booking_is_404(client, auth, action):
    body = {"start_at": iso(far_start())} if action == "reschedule" else {}
    headers = auth("patient") if action in ("cancel", "reschedule") else auth("practitioner")
    response = client.post(f"/api/v1/bookings/{uuid.uuid4()}/{action}", json=body, headers=headers)
    problem_of(response, 404)
