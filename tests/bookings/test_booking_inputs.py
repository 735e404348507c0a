"""POST /bookings refuses bad bodies, unbookable services and unfree times, changing nothing."""

import uuid
from datetime import timedelta

import pytest

from marketplace.bookings.models import Booking
from marketplace.practitioners.models import ListingStatus
from tests.bookings.helpers import is_offered, iso
from tests.factories import (
    all_day_listing,
    book,
    book_and_pay,
    create_listing,
    far_start,
    grid_start,
    hold,
    set_status,
)
from tests.helpers import count_rows, problem_of, stored


@pytest.fixture
def listing(app):
    return all_day_listing(app, price_cents=12345)


@pytest.fixture
def patient(auth):
    return auth("patient")


def post(client, headers, body, **kwargs):
    return client.post("/api/v1/bookings", json=body, headers=headers, **kwargs)


def valid_body(listing, start=None) -> dict:
    return {"service_id": str(listing.service_id), "start_at": iso(start or far_start())}


# --- malformed and invalid bodies -----------------------------------------------------------


def test_malformed_json_is_400(app, client, patient, listing):
    rows = count_rows(app, Booking)
    response = client.post(
        "/api/v1/bookings",
        data='{"service_id": "' + str(listing.service_id) + '", "start_at": ',
        content_type="application/json",
        headers=patient,
    )
    problem_of(response, 400)
    assert count_rows(app, Booking) == rows


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "confirmed"),
        ("price_cents", 1),
        ("platform_fee_cents", 0),
        ("practitioner_id", "0b9c2f4e-1d3a-4c5b-8e6f-7a8b9c0d1e2f"),
        ("patient_id", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"),
        ("id", "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"),
        ("refund_cents", 0),
        ("nonsense", True),
    ],
)
def test_unknown_or_read_only_fields_are_422(app, client, patient, listing, field, value):
    rows = count_rows(app, Booking)
    body = problem_of(post(client, patient, {**valid_body(listing), field: value}), 422)
    assert field in body["errors"]
    assert count_rows(app, Booking) == rows
    assert is_offered(client, listing, far_start())


@pytest.mark.parametrize(
    "start_at", ["2030-01-07T10:00:00", "2030-01-07 10:00", "tomorrow", "", 1700000000, None]
)
def test_start_without_an_offset_or_not_an_instant_is_422(app, client, patient, listing, start_at):
    rows = count_rows(app, Booking)
    body = {"service_id": str(listing.service_id), "start_at": start_at}
    problem = problem_of(post(client, patient, body), 422)
    assert "start_at" in problem["errors"]
    assert count_rows(app, Booking) == rows


def test_naive_start_of_a_free_slot_is_422(app, client, patient, listing):
    rows = count_rows(app, Booking)
    naive = far_start().replace(tzinfo=None).isoformat()
    body = {"service_id": str(listing.service_id), "start_at": naive}
    assert "start_at" in problem_of(post(client, patient, body), 422)["errors"]
    assert count_rows(app, Booking) == rows


@pytest.mark.parametrize("missing", ["service_id", "start_at"])
def test_missing_required_fields_are_422(app, client, patient, listing, missing):
    rows = count_rows(app, Booking)
    body = valid_body(listing)
    del body[missing]
    assert missing in problem_of(post(client, patient, body), 422)["errors"]
    assert count_rows(app, Booking) == rows


@pytest.mark.parametrize("service_id", ["not-a-uuid", 42, None])
def test_malformed_service_id_is_422(app, client, patient, listing, service_id):
    rows = count_rows(app, Booking)
    body = {**valid_body(listing), "service_id": service_id}
    assert "service_id" in problem_of(post(client, patient, body), 422)["errors"]
    assert count_rows(app, Booking) == rows


def test_body_that_is_not_an_object_is_422(app, client, patient):
    rows = count_rows(app, Booking)
    problem_of(post(client, patient, ["service_id", "start_at"]), 422)
    assert count_rows(app, Booking) == rows


def test_unknown_service_is_422_naming_service_id(app, client, patient, listing):
    rows = count_rows(app, Booking)
    body = {**valid_body(listing), "service_id": str(uuid.uuid4())}
    assert "service_id" in problem_of(post(client, patient, body), 422)["errors"]
    assert count_rows(app, Booking) == rows


def test_inactive_service_is_409(app, client, patient, listing, token_for):
    practitioner = token_for(listing.owner_email)
    patched = client.patch(
        f"/api/v1/practitioner/services/{listing.service_id}",
        json={"active": False},
        headers=practitioner,
    )
    assert patched.status_code == 200, patched.get_json()
    rows = count_rows(app, Booking)

    problem_of(post(client, patient, valid_body(listing)), 409)

    assert count_rows(app, Booking) == rows


def test_deleted_service_is_422(app, client, patient, listing, token_for):
    practitioner = token_for(listing.owner_email)
    deleted = client.delete(
        f"/api/v1/practitioner/services/{listing.service_id}", headers=practitioner
    )
    assert deleted.status_code == 204, deleted.get_data(as_text=True)
    rows = count_rows(app, Booking)

    body = problem_of(post(client, patient, valid_body(listing)), 422)

    assert "service_id" in body["errors"]
    assert count_rows(app, Booking) == rows


@pytest.mark.parametrize(
    "status",
    [ListingStatus.SUSPENDED, ListingStatus.PENDING, ListingStatus.DRAFT, ListingStatus.REJECTED],
)
def test_unapproved_listing_cannot_be_booked(app, client, patient, listing, status):
    set_status(app, listing.id, status)
    rows = count_rows(app, Booking)

    response = post(client, patient, valid_body(listing))

    # The contract allows 422 or 409 here; the app answers 422 naming service_id.
    assert response.status_code in (409, 422)
    body = problem_of(response, 422)
    assert "service_id" in body["errors"]
    assert count_rows(app, Booking) == rows


def test_idempotency_key_over_255_characters_is_422(app, client, patient, listing):
    rows = count_rows(app, Booking)
    headers = {**patient, "Idempotency-Key": "k" * 256}
    problem_of(post(client, headers, valid_body(listing)), 422)
    assert count_rows(app, Booking) == rows
    assert is_offered(client, listing, far_start())


def test_idempotency_key_of_255_characters_is_accepted(client, patient, listing):
    headers = {**patient, "Idempotency-Key": "k" * 255}
    assert post(client, headers, valid_body(listing)).status_code == 201


def test_body_over_one_mebibyte_is_413(app, client, patient, listing):
    rows = count_rows(app, Booking)
    body = {**valid_body(listing), "padding": "x" * (1024 * 1024 + 1)}
    problem_of(post(client, patient, body), 413)
    assert count_rows(app, Booking) == rows


# --- idempotency ----------------------------------------------------------------------------


def test_same_key_and_body_returns_the_same_booking(app, client, patient, listing):
    headers = {**patient, "Idempotency-Key": "retry-1"}
    first = post(client, headers, valid_body(listing))
    assert first.status_code == 201, first.get_json()
    rows = count_rows(app, Booking)

    again = post(client, headers, valid_body(listing))

    assert again.status_code == 201, again.get_json()
    assert again.get_json()["booking"]["id"] == first.get_json()["booking"]["id"]
    assert again.get_json()["checkout_url"] == first.get_json()["checkout_url"]
    assert count_rows(app, Booking) == rows


def test_same_key_with_another_body_is_422_and_creates_nothing(app, client, patient, listing):
    headers = {**patient, "Idempotency-Key": "retry-2"}
    first = post(client, headers, valid_body(listing))
    assert first.status_code == 201
    rows = count_rows(app, Booking)
    other_start = far_start() + timedelta(hours=2)

    response = post(client, headers, valid_body(listing, other_start))

    problem_of(response, 422)
    assert count_rows(app, Booking) == rows
    assert is_offered(client, listing, other_start)
    original = stored(app, first.get_json()["booking"]["id"])
    assert original.start_at == far_start()
    assert original.status.value == "held"


def test_idempotency_keys_belong_to_one_patient(app, client, auth, patient, listing):
    first = post(client, {**patient, "Idempotency-Key": "shared"}, valid_body(listing))
    other_start = far_start() + timedelta(hours=2)

    second = post(
        client, {**auth("patient"), "Idempotency-Key": "shared"}, valid_body(listing, other_start)
    )

    assert second.status_code == 201, second.get_json()
    assert second.get_json()["booking"]["id"] != first.get_json()["booking"]["id"]


# --- the start must be a slot the public would be offered now --------------------------------


def assert_refused_409(app, client, patient, listing, start, **extra):
    rows = count_rows(app, Booking)
    problem_of(book(client, patient, listing, start, **extra), 409)
    assert count_rows(app, Booking) == rows


@pytest.mark.parametrize("offset_minutes", [7, 1, 14])
def test_start_off_the_slot_grid_is_409(app, client, patient, listing, offset_minutes):
    start = far_start() + timedelta(minutes=offset_minutes)
    assert_refused_409(app, client, patient, listing, start)


def test_start_off_a_wider_grid_is_409(app, client, patient):
    listing = all_day_listing(app, slot_interval_minutes=30)
    assert is_offered(client, listing, far_start() + timedelta(minutes=30))
    assert_refused_409(app, client, patient, listing, far_start() + timedelta(minutes=15))


def test_start_outside_working_hours_is_409(app, client, patient):
    listing = create_listing(
        app, timezone="UTC", weekly_hours=[(day, "09:00", "17:00") for day in range(7)]
    )
    assert is_offered(client, listing, far_start(hour=9))
    assert_refused_409(app, client, patient, listing, far_start(hour=20))
    # A 60-minute service cannot start at 16:30 and run past closing time.
    assert_refused_409(app, client, patient, listing, far_start(hour=16) + timedelta(minutes=30))


def test_start_inside_the_notice_period_is_409(app, client, patient):
    listing = all_day_listing(app, min_notice_minutes=240)
    assert is_offered(client, listing, grid_start(timedelta(hours=5)))
    assert_refused_409(app, client, patient, listing, grid_start(timedelta(hours=1)))


def test_start_in_the_past_is_409(app, client, patient, listing):
    assert_refused_409(app, client, patient, listing, far_start(days=-1))


def test_start_beyond_the_horizon_is_409(app, client, patient):
    listing = all_day_listing(app, horizon_days=2)
    assert is_offered(client, listing, far_start(days=1))
    assert_refused_409(app, client, patient, listing, far_start(days=3))


@pytest.mark.parametrize(
    ("settings", "refused", "allowed"),
    [
        # Existing 10:00-11:00 blocks 09:30-11:00; a new one blocks 30 minutes before itself.
        ({"buffer_before_minutes": 30}, [60, 75, -60, -45], [90, -90]),
        # Existing 10:00-11:00 blocks 10:00-11:30; a new one blocks 30 minutes after itself.
        ({"buffer_after_minutes": 30}, [60, 75, -60, -75], [90, -90]),
    ],
)
def test_start_overlapping_a_bookings_buffers_is_409(
    app, client, auth, patient, settings, refused, allowed
):
    listing = all_day_listing(app, **settings)
    start = far_start()
    hold(client, patient, listing, start)

    for minutes in refused:
        candidate = start + timedelta(minutes=minutes)
        assert not is_offered(client, listing, candidate), minutes
        assert_refused_409(app, client, auth("patient"), listing, candidate)
    for minutes in allowed:
        candidate = start + timedelta(minutes=minutes)
        assert is_offered(client, listing, candidate), minutes
        response = book(client, auth("patient"), listing, candidate)
        assert response.status_code == 201, (minutes, response.get_json())


def test_location_of_another_listing_is_409(app, client, patient, listing):
    other = all_day_listing(app)
    start = far_start()
    assert_refused_409(app, client, patient, listing, start, location_id=str(other.location_id))
    assert_refused_409(app, client, patient, listing, start, location_id=str(uuid.uuid4()))
    assert is_offered(client, listing, start)


def test_own_location_id_is_accepted(client, patient, listing):
    response = book(client, patient, listing, far_start(), location_id=str(listing.location_id))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["booking"]["location_id"] == str(listing.location_id)


# --- bodies of cancel and reschedule --------------------------------------------------------


@pytest.fixture
def confirmed(client, patient, listing):
    return book_and_pay(client, patient, listing, far_start())


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_change_with_malformed_json_is_400(app, client, patient, confirmed, action):
    response = client.post(
        f"/api/v1/bookings/{confirmed['id']}/{action}",
        data="{",
        content_type="application/json",
        headers=patient,
    )
    problem_of(response, 400)
    row = stored(app, confirmed["id"])
    assert row.status.value == "confirmed"
    assert row.start_at == far_start()


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("cancel", {"refund_cents": 12345}, "refund_cents"),
        ("cancel", {"status": "cancelled"}, "status"),
        ("cancel", {"reason": "x" * 1001}, "reason"),
        ("cancel", {"reason": 42}, "reason"),
        ("reschedule", {}, "start_at"),
        ("reschedule", {"start_at": "soon"}, "start_at"),
        ("reschedule", {"start_at": None}, "start_at"),
        ("reschedule", {"start_at": "2030-01-01T10:00:00+00:00", "end_at": "x"}, "end_at"),
    ],
)
def test_change_with_invalid_body_is_422(app, client, patient, confirmed, action, body, field):
    response = client.post(
        f"/api/v1/bookings/{confirmed['id']}/{action}", json=body, headers=patient
    )
    assert field in problem_of(response, 422)["errors"]
    row = stored(app, confirmed["id"])
    assert row.status.value == "confirmed"
    assert row.start_at == far_start()
    assert row.refund_cents == 0
