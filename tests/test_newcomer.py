"""What a newcomer trips over: error texts a person can act on, the API reference, privacy."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.accounts.models import User
from marketplace.bookings.models import Booking
from marketplace.practitioners.models import ListingStatus
from tests.factories import all_day_listing, book, create_listing, grid_start, hold
from tests.helpers import count_rows, problem_of


def test_a_form_encoded_body_is_415_saying_the_body_must_be_json(app, client):
    response = client.post(
        "/api/v1/auth/register",
        data={"email": "form@example.com", "password": "long enough pw", "name": "Form"},
    )

    body = problem_of(response, 415)
    assert "Content-Type: application/json" in body["detail"]
    assert count_rows(app, User) == 0


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/api/v1/bookings/not-a-uuid", "booking"),
        ("/api/v1/practitioner/services/42", "service"),
        ("/api/v1/practitioner/locations/x", "location"),
    ],
)
def test_a_malformed_id_names_the_resource_that_was_not_found(client, auth, path, resource):
    body = problem_of(client.get(path, headers=auth("practitioner")), 404)

    assert body["detail"].startswith(f"No {resource} with the id")
    assert "UUID" in body["detail"]


def test_a_start_without_offset_says_what_to_send(app, client, auth):
    listing = all_day_listing(app)
    start = grid_start(timedelta(hours=3)).replace(tzinfo=None)

    response = client.post(
        "/api/v1/bookings",
        json={"service_id": str(listing.service_id), "start_at": start.isoformat()},
        headers=auth("patient"),
    )

    body = problem_of(response, 422)
    assert "UTC offset" in body["errors"]["start_at"][0]
    assert "+11:00" in body["errors"]["start_at"][0]
    assert count_rows(app, Booking) == 0


def test_a_start_in_the_past_says_it_has_passed(app, client, auth):
    listing = all_day_listing(app)
    past = grid_start(timedelta(hours=-3))

    body = problem_of(book(client, auth("patient"), listing, past), 409)

    assert "already passed" in body["detail"]
    assert count_rows(app, Booking) == 0


def test_rescheduling_to_the_past_says_it_has_passed(app, client, auth):
    listing = all_day_listing(app, free_cancellation_hours=0)
    patient = auth("patient")
    booking = hold(client, patient, listing, grid_start(timedelta(days=2)))["booking"]

    response = client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"start_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()},
        headers=patient,
    )

    assert "already passed" in problem_of(response, 409)["detail"]


def test_a_refused_review_names_the_status_in_words(client, auth, app):
    listing = create_listing(app, status=ListingStatus.APPROVED)

    response = client.post(f"/api/v1/admin/listings/{listing.id}/approve", headers=auth("admin"))

    assert problem_of(response, 409)["detail"] == "An approved listing cannot be approved."


def test_the_admin_view_of_a_listing_leaves_out_the_private_calendar_link(
    client, auth, app, token_for
):
    listing = create_listing(app, status=ListingStatus.PENDING)
    admin = auth("admin")

    single = client.get(f"/api/v1/admin/listings/{listing.id}", headers=admin)
    queue = client.get("/api/v1/admin/listings?status=pending", headers=admin)

    assert single.status_code == 200 and queue.status_code == 200
    assert "calendar_url" not in single.get_json()
    assert all("calendar_url" not in item for item in queue.get_json()["items"])
    own = client.get("/api/v1/practitioner/profile", headers=token_for(listing.owner_email))
    assert own.get_json()["calendar_url"]


def test_the_api_reference_is_served_with_its_own_assets(client):
    page = client.get("/api/docs")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in text
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css"):
        assert asset in text
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000
    assert client.get("/api/docs/assets/../../config.py").status_code == 404


def test_an_unknown_id_that_is_a_uuid_keeps_the_plain_answer(client, auth):
    body = problem_of(client.get(f"/api/v1/bookings/{uuid.uuid4()}", headers=auth()), 404)
    assert "UUID" not in body["detail"]
