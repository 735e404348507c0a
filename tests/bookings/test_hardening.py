"""Races and abuse the booking flow must survive: cancel links, hold hoarding, late events."""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.payments.checkout import checkout_cancel_token
from marketplace.practitioners.models import ListingStatus
from tests.factories import ALL_DAY, book, create_listing, set_status
from tests.helpers import problem_of


def slots(client, listing, days_ahead: int = 3):
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": day, "to": day},
    )
    return [slot["start_at"] for slot in response.get_json()["items"]]


def cancel_link(app, booking_id: str) -> str:
    with app.test_request_context():
        booking = db.session.get(Booking, uuid.UUID(booking_id))
        return f"/bookings/{booking_id}/checkout-cancelled?token={checkout_cancel_token(booking)}"


def test_the_providers_cancel_link_releases_the_hold_at_once(app, client, auth):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    start = slots(client, listing)[0]
    booking_id = book(client, auth("patient"), listing, start).get_json()["booking"]["id"]
    assert start not in slots(client, listing)

    response = client.get(cancel_link(app, booking_id))

    assert response.status_code == 200
    assert start in slots(client, listing)
    with app.app_context():
        assert db.session.get(Booking, uuid.UUID(booking_id)).status.value == "expired"


def test_the_cancel_link_leaves_a_paid_booking_confirmed(app, client, auth):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    created = book(client, auth("patient"), listing, slots(client, listing)[0]).get_json()
    client.post(created["checkout_url"], data={"action": "pay"})

    assert client.get(cancel_link(app, created["booking"]["id"])).status_code == 200

    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(created["booking"]["id"]))
        assert booking.status.value == "confirmed"


def test_a_cancel_link_with_a_forged_token_changes_nothing(app, client, auth):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    start = slots(client, listing)[0]
    booking_id = book(client, auth("patient"), listing, start).get_json()["booking"]["id"]
    response = client.get(f"/bookings/{booking_id}/checkout-cancelled?token=forged")
    assert response.status_code == 404
    assert start not in slots(client, listing)


def test_a_patient_cannot_hoard_more_than_three_unpaid_holds(app, client, auth):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    patient = auth("patient")
    # A 60-minute service on a 15-minute grid: every fourth start is clear of the others.
    starts = slots(client, listing)[::4]
    for start in starts[:3]:
        assert book(client, patient, listing, start).status_code == 201
    body = problem_of(book(client, patient, listing, starts[3]), 429)
    assert "unpaid" in body["detail"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 3


def test_reschedule_of_a_suspended_listing_is_409_and_changes_nothing(app, client, auth):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    patient = auth("patient")
    first, later = slots(client, listing, days_ahead=4)[0], slots(client, listing, 5)[0]
    created = book(client, patient, listing, first).get_json()
    assert client.post(created["checkout_url"], data={"action": "pay"}).status_code == 303
    set_status(app, listing.id, ListingStatus.SUSPENDED)
    response = client.post(
        f"/api/v1/bookings/{created['booking']['id']}/reschedule",
        json={"start_at": later},
        headers=patient,
    )
    problem_of(response, 409)
    booking = client.get(f"/api/v1/bookings/{created['booking']['id']}", headers=patient)
    assert booking.get_json()["start_at"] == created["booking"]["start_at"]


def test_practitioner_reads_one_of_their_bookings_but_not_anothers(app, client, auth, token_for):
    listing = create_listing(app, weekly_hours=ALL_DAY)
    other = create_listing(app, weekly_hours=ALL_DAY)
    booking_id = book(client, auth("patient"), listing, slots(client, listing)[0]).get_json()[
        "booking"
    ]["id"]
    own = client.get(
        f"/api/v1/practitioner/bookings/{booking_id}", headers=token_for(listing.owner_email)
    )
    assert own.status_code == 200 and own.get_json()["id"] == booking_id
    problem_of(
        client.get(
            f"/api/v1/practitioner/bookings/{booking_id}", headers=token_for(other.owner_email)
        ),
        404,
    )


def test_a_second_payment_event_for_a_confirmed_booking_changes_nothing(app, client, auth):
    """Two event ids for one payment (completed, then async_payment_succeeded)."""
    import json

    import stripe

    listing = create_listing(app, weekly_hours=ALL_DAY)
    patient = auth("patient")
    created = book(client, patient, listing, slots(client, listing)[0]).get_json()
    booking_id = created["booking"]["id"]
    with app.app_context():
        session_id = db.session.get(Booking, uuid.UUID(booking_id)).checkout_session_id
    for event_id, event_type in [
        ("evt_1", "checkout.session.completed"),
        ("evt_2", "checkout.session.async_payment_succeeded"),
    ]:
        payload = json.dumps(
            {
                "id": event_id,
                "type": event_type,
                "data": {
                    "object": {
                        "id": session_id,
                        "payment_status": "paid",
                        "payment_intent": "pi_1",
                        "metadata": {"booking_id": booking_id},
                    }
                },
            }
        )
        signature = stripe.WebhookSignature.generate_signature_header(
            payload, app.config["STRIPE_WEBHOOK_SECRET"]
        )
        response = client.post(
            "/api/v1/webhooks/stripe",
            data=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        assert response.status_code == 200
    booking = client.get(f"/api/v1/bookings/{booking_id}", headers=patient).get_json()
    assert booking["status"] == "confirmed"
    assert booking["refund_cents"] == 0


def test_a_cross_origin_cookie_request_is_refused_even_with_an_authorization_header(
    client, make_user
):
    from tests.factories import PASSWORD

    _, email = make_user("patient")
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    response = client.post(
        "/api/v1/auth/logout",
        headers={"Origin": "https://evil.example", "Authorization": "Bearer junk"},
    )
    problem_of(response, 403)
