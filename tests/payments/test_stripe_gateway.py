"""The Stripe gateway exercised through the app, down to the HTTP requests the library sends.

The stripe library builds and encodes every request for real; `RecordingStripeHTTP` stands in
for the network, so these tests assert the exact form parameters and idempotency keys Stripe
would receive (DESIGN.md "Stripe parameters").
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.payments.stripe_gateway import StripeGateway
from marketplace.practitioners.models import Practitioner
from tests.factories import create_listing
from tests.helpers import problem_of
from tests.payments.stripe_fake import (
    RecordingStripeHTTP,
    checkout_session_object,
    post_event,
    stripe_event,
)

SESSIONS = "/v1/checkout/sessions"
EXPIRE = r"/v1/checkout/sessions/[^/]+/expire"
REFUNDS = "/v1/refunds"
ACCOUNTS = "/v1/accounts"
ACCOUNT_LINKS = "/v1/account_links"
ONBOARDING = "/api/v1/practitioner/payouts/onboarding"


@pytest.fixture
def stripe_http(app, monkeypatch) -> RecordingStripeHTTP:
    """Switch the app to the Stripe gateway, talking to a recorder instead of Stripe."""
    recorder = RecordingStripeHTTP()
    monkeypatch.setitem(app.config, "PAYMENTS_PROVIDER", "stripe")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")
    gateway = StripeGateway.from_config(app.config, http_client=recorder)
    monkeypatch.setitem(app.extensions, "payment_gateway", gateway)
    return recorder


@pytest.fixture
def patient(make_user, token_for):
    """(headers, email) of a new patient."""
    _, email = make_user("patient")
    return token_for(email), email


def open_listing(app, **kwargs):
    return create_listing(app, weekly_hours=[(day, "09:00", "17:00") for day in range(7)], **kwargs)


def booking_day():
    return datetime.now(UTC).date() + timedelta(days=3)


def free_starts(client, listing) -> list[datetime]:
    day = booking_day()
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": day, "to": day},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [datetime.fromisoformat(item["start_at"]) for item in response.get_json()["items"]]


def hold(client, headers, listing, start: datetime | None = None, key: str | None = None):
    start = start or free_starts(client, listing)[0]
    return client.post(
        "/api/v1/bookings",
        json={"service_id": str(listing.service_id), "start_at": start.isoformat()},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


def held_id(response) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["booking"]["id"]


def row(app, booking_id: str) -> Booking:
    """The booking as stored now (detached; read its attributes only)."""
    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(booking_id))
        db.session.expunge(booking)
        return booking


def set_connect(app, listing_id, account: str | None, charges_enabled: bool) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner)
            .where(Practitioner.id == listing_id)
            .values(stripe_account_id=account, charges_enabled=charges_enabled)
        )
        db.session.commit()


def pay(app, client, booking_id: str, payment_intent: str = "pi_test_1") -> None:
    """Stripe reports the booking's checkout session paid, through a signed webhook."""
    session = checkout_session_object(
        row(app, booking_id).checkout_session_id, booking_id, payment_intent=payment_intent
    )
    event = stripe_event("checkout.session.completed", session)
    response = post_event(client, event, app.config["STRIPE_WEBHOOK_SECRET"])
    assert response.status_code == 200, response.get_data(as_text=True)


def audit_actions(client, admin, booking_id: str) -> list[str]:
    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_type": "booking", "target_id": booking_id, "per_page": 50},
        headers=admin,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry["action"] for entry in response.get_json()["items"]]


def confirmed_booking(app, client, stripe_http, headers, listing, payment_intent="pi_test_1"):
    booking_id = held_id(hold(client, headers, listing))
    pay(app, client, booking_id, payment_intent)
    assert row(app, booking_id).status == "confirmed"
    return booking_id


# --- checkout ----------------------------------------------------------------------------------


def test_checkout_session_carries_line_item_email_metadata_urls_and_key(
    app, client, stripe_http, patient
):
    headers, email = patient
    listing = open_listing(app, price_cents=12000, currency="AUD")

    response = hold(client, headers, listing)

    booking_id = held_id(response)
    sent = stripe_http.only("POST", SESSIONS)
    assert sent.url.startswith("https://api.stripe.com/v1/checkout/sessions")
    assert sent.header("Authorization") == "Bearer sk_test_x"
    assert sent.idempotency_key == f"checkout-{booking_id}"
    assert sent.param("mode") == "payment"
    assert sent.param("line_items[0][quantity]") == "1"
    assert sent.param("line_items[0][price_data][product_data][name]") == "Treatment"
    assert sent.param("line_items[0][price_data][unit_amount]") == "12000"
    assert sent.param("line_items[0][price_data][currency]") == "aud"
    assert sent.param("customer_email") == email
    assert sent.param("metadata[booking_id]") == booking_id
    for url_field in ("success_url", "cancel_url"):
        assert sent.param(url_field).startswith("http://localhost/")
        assert booking_id in sent.param(url_field)
    expires_at = int(sent.param("expires_at"))
    assert time.time() + 30 * 60 <= expires_at <= time.time() + 24 * 3600
    assert not [name for name in sent.form if "transfer_data" in name]
    assert "payment_intent_data[application_fee_amount]" not in sent.form

    body = response.get_json()
    session_id = row(app, booking_id).checkout_session_id
    assert session_id.startswith("cs_test_")
    assert body["checkout_url"] == f"https://checkout.stripe.com/c/pay/{session_id}"
    assert body["booking"]["status"] == "held"
    assert row(app, booking_id).payment_provider == "stripe"


def test_connect_account_that_takes_charges_gets_fee_and_destination(
    app, client, stripe_http, patient
):
    listing = open_listing(app, price_cents=12345)
    set_connect(app, listing.id, "acct_1Destination", charges_enabled=True)

    response = hold(client, patient[0], listing)

    booking_id = held_id(response)
    assert response.get_json()["booking"]["platform_fee_cents"] == 1235
    sent = stripe_http.only("POST", SESSIONS)
    assert sent.param("payment_intent_data[application_fee_amount]") == "1235"
    assert sent.param("payment_intent_data[transfer_data][destination]") == "acct_1Destination"
    assert not [name for name in sent.form if name.startswith("transfer_data")]
    assert sent.param("line_items[0][price_data][unit_amount]") == "12345"
    stored = row(app, booking_id)
    assert stored.platform_fee_cents == 1235
    assert stored.transfer_destination == "acct_1Destination"


def test_account_that_cannot_take_charges_gets_no_destination_and_payout_is_owed(
    app, client, stripe_http, patient
):
    listing = open_listing(app, price_cents=12345)
    set_connect(app, listing.id, "acct_1NotYetEnabled", charges_enabled=False)

    booking_id = held_id(hold(client, patient[0], listing))
    pay(app, client, booking_id)

    sent = stripe_http.only("POST", SESSIONS)
    assert not [name for name in sent.form if "transfer_data" in name]
    assert "payment_intent_data[application_fee_amount]" not in sent.form
    stored = row(app, booking_id)
    assert stored.status == "confirmed"
    assert stored.transfer_destination is None
    assert stored.payout_owed_cents == 12345 - 1235
    assert stored.payment_intent_id == "pi_test_1"


def test_stripe_client_sends_requests_to_the_configured_api_base():
    recorder = RecordingStripeHTTP()
    config = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_BASE": "http://stripe-mock:12111"}
    gateway = StripeGateway.from_config(config, http_client=recorder)

    account = gateway.create_connect_account(
        email="pat@example.com", country="AU", idempotency_key="connect-x"
    )

    sent = recorder.only("POST", ACCOUNTS)
    assert sent.url == "http://stripe-mock:12111/v1/accounts"
    assert account.startswith("acct_")


def test_refused_checkout_is_502_and_frees_the_slot_at_once(
    app, client, stripe_http, patient, auth
):
    listing = open_listing(app)
    start = free_starts(client, listing)[0]
    stripe_http.fail("POST", SESSIONS, 400)

    response = hold(client, patient[0], listing, start)

    problem_of(response, 502)
    booking_id = stripe_http.only("POST", SESSIONS).param("metadata[booking_id]")
    stored = row(app, booking_id)
    assert stored.status == "expired"
    assert stored.checkout_session_id is None
    assert start in free_starts(client, listing)
    assert audit_actions(client, auth("admin"), booking_id)[0] == "booking.expire"
    stripe_http.heal()
    assert hold(client, auth("patient"), listing, start).status_code == 201


def test_stripe_outage_is_retried_with_the_same_key_then_502(app, client, stripe_http, patient):
    listing = open_listing(app)
    start = free_starts(client, listing)[0]
    stripe_http.fail("POST", SESSIONS, 500)

    response = hold(client, patient[0], listing, start)

    problem_of(response, 502)
    attempts = stripe_http.calls("POST", SESSIONS)
    assert len(attempts) == 3  # the first try and the gateway's two network retries
    booking_id = attempts[0].param("metadata[booking_id]")
    assert {attempt.idempotency_key for attempt in attempts} == {f"checkout-{booking_id}"}
    assert row(app, booking_id).status == "expired"
    assert start in free_starts(client, listing)


# --- refunds -----------------------------------------------------------------------------------


def test_patient_cancellation_refunds_in_full_and_reverses_the_transfer(
    app, client, stripe_http, patient, auth
):
    listing = open_listing(app, price_cents=12345)
    set_connect(app, listing.id, "acct_1Destination", charges_enabled=True)
    booking_id = confirmed_booking(app, client, stripe_http, patient[0], listing, "pi_full")

    response = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=patient[0])

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["refund_cents"] == 12345
    sent = stripe_http.only("POST", REFUNDS)
    assert sent.idempotency_key == f"refund-{booking_id}-1"
    assert sent.param("amount") == "12345"
    assert sent.param("payment_intent") == "pi_full"
    assert sent.param("reverse_transfer") == "true"
    assert sent.param("refund_application_fee") == "true"
    stored = row(app, booking_id)
    assert (stored.status, stored.refund_cents, stored.refund_count) == ("cancelled", 12345, 1)
    actions = audit_actions(client, auth("admin"), booking_id)
    assert {"payment.refund", "booking.cancel"} <= set(actions)


def test_practitioner_cancellation_without_destination_refunds_without_transfer_flags(
    app, client, stripe_http, patient, token_for
):
    listing = open_listing(app, price_cents=12345)
    booking_id = confirmed_booking(app, client, stripe_http, patient[0], listing, "pi_owed")
    practitioner = token_for(listing.owner_email)

    response = client.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "Unwell"}, headers=practitioner
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["refund_cents"] == 12345
    sent = stripe_http.only("POST", REFUNDS)
    assert sent.idempotency_key == f"refund-{booking_id}-1"
    assert (sent.param("amount"), sent.param("payment_intent")) == ("12345", "pi_owed")
    assert "reverse_transfer" not in sent.form
    assert "refund_application_fee" not in sent.form
    stored = row(app, booking_id)
    assert stored.refund_cents == 12345
    assert stored.payout_owed_cents == 0


def test_late_patient_cancellation_refunds_the_price_less_the_late_fee(
    app, client, stripe_http, patient
):
    listing = open_listing(
        app, price_cents=12345, free_cancellation_hours=24 * 30, late_cancellation_fee_percent=50
    )
    booking_id = confirmed_booking(app, client, stripe_http, patient[0], listing)

    response = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=patient[0])

    assert response.status_code == 200, response.get_data(as_text=True)
    # The fee is 50 % of 12345 = 6172.5, half-up 6173; the refund is the rest.
    assert response.get_json()["refund_cents"] == 6172
    assert stripe_http.only("POST", REFUNDS).param("amount") == "6172"
    assert row(app, booking_id).refund_cents == 6172


def test_refused_refund_is_502_and_the_booking_stays_confirmed_and_unchanged(
    app, client, stripe_http, patient, auth
):
    listing = open_listing(app, price_cents=12345)
    set_connect(app, listing.id, "acct_1Destination", charges_enabled=True)
    booking_id = confirmed_booking(app, client, stripe_http, patient[0], listing)
    admin = auth("admin")
    actions_before = audit_actions(client, admin, booking_id)
    stripe_http.fail("POST", REFUNDS, 400, error=None)

    response = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=patient[0])

    problem_of(response, 502)
    shown = client.get(f"/api/v1/bookings/{booking_id}", headers=patient[0]).get_json()
    assert (shown["status"], shown["refund_cents"]) == ("confirmed", 0)
    stored = row(app, booking_id)
    assert (stored.status, stored.refund_cents, stored.refund_count) == ("confirmed", 0, 0)
    assert stored.cancelled_at is None and stored.cancellation_reason is None
    assert audit_actions(client, admin, booking_id) == actions_before


def test_cancellation_retried_after_a_refused_refund_reuses_the_refund_key(
    app, client, stripe_http, patient
):
    listing = open_listing(app, price_cents=12345)
    booking_id = confirmed_booking(app, client, stripe_http, patient[0], listing)
    stripe_http.fail("POST", REFUNDS, 402, times=1)
    cancel = f"/api/v1/bookings/{booking_id}/cancel"
    problem_of(client.post(cancel, json={}, headers=patient[0]), 502)

    response = client.post(cancel, json={}, headers=patient[0])

    assert response.status_code == 200, response.get_data(as_text=True)
    keys = [sent.idempotency_key for sent in stripe_http.calls("POST", REFUNDS)]
    assert keys == [f"refund-{booking_id}-1", f"refund-{booking_id}-1"]
    assert row(app, booking_id).refund_cents == 12345


def test_cancelling_a_held_booking_expires_its_checkout_session_without_refund(
    app, client, stripe_http, patient
):
    listing = open_listing(app)
    booking_id = held_id(hold(client, patient[0], listing))
    session_id = row(app, booking_id).checkout_session_id

    response = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=patient[0])

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["refund_cents"] == 0
    sent = stripe_http.only("POST", EXPIRE)
    assert sent.path == f"/v1/checkout/sessions/{session_id}/expire"
    assert sent.idempotency_key
    assert stripe_http.calls("POST", REFUNDS) == []
    assert row(app, booking_id).status == "cancelled"


def test_lapsed_hold_expires_its_checkout_session_at_stripe(
    app, client, stripe_http, patient, auth
):
    """Issue 6: Stripe sessions live 30 minutes at least, so a lapsed hold expires its own."""
    listing = open_listing(app)
    start = free_starts(client, listing)[0]
    booking_id = held_id(hold(client, patient[0], listing, start))
    session_id = row(app, booking_id).checkout_session_id
    with app.app_context():
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == uuid.UUID(booking_id))
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()

    assert hold(client, auth("patient"), listing, start).status_code == 201

    assert row(app, booking_id).status == "expired"
    expired = [sent.path for sent in stripe_http.calls("POST", EXPIRE)]
    assert expired == [f"/v1/checkout/sessions/{session_id}/expire"]


def test_payment_for_a_slot_taken_after_the_hold_lapsed_is_refunded_at_stripe(
    app, client, stripe_http, patient, auth
):
    listing = open_listing(app, price_cents=12345)
    start = free_starts(client, listing)[0]
    late_id = held_id(hold(client, patient[0], listing, start))
    with app.app_context():
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == uuid.UUID(late_id))
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    other_id = held_id(hold(client, auth("patient"), listing, start))
    pay(app, client, other_id, "pi_other")

    pay(app, client, late_id, "pi_late")

    sent = stripe_http.only("POST", REFUNDS)
    assert sent.idempotency_key == f"refund-{late_id}-1"
    assert (sent.param("amount"), sent.param("payment_intent")) == ("12345", "pi_late")
    late = row(app, late_id)
    assert (late.status, late.refund_cents) == ("cancelled", 12345)
    assert row(app, other_id).status == "confirmed"


# --- Connect onboarding ------------------------------------------------------------------------


def test_onboarding_creates_the_express_account_once_and_returns_its_link(
    app, client, stripe_http, token_for, auth
):
    listing = open_listing(app)
    practitioner = token_for(listing.owner_email)

    first = client.post(ONBOARDING, headers=practitioner)
    second = client.post(ONBOARDING, headers=practitioner)

    assert first.status_code == 200, first.get_data(as_text=True)
    assert second.status_code == 200, second.get_data(as_text=True)
    created = stripe_http.only("POST", ACCOUNTS)
    assert created.param("type") == "express"
    assert created.param("email") == listing.owner_email
    assert created.param("country") == "AU"
    assert created.param("capabilities[card_payments][requested]") == "true"
    assert created.param("capabilities[transfers][requested]") == "true"
    assert created.idempotency_key == f"connect-{listing.id}"
    with app.app_context():
        stored = db.session.get(Practitioner, listing.id)
        account, charges_enabled = stored.stripe_account_id, stored.charges_enabled
    assert account.startswith("acct_")
    assert charges_enabled is False
    links = stripe_http.calls("POST", ACCOUNT_LINKS)
    assert len(links) == 2
    for link, response in zip(links, (first, second), strict=True):
        assert link.param("account") == account
        assert link.param("type") == "account_onboarding"
        assert link.param("refresh_url").startswith("http")
        assert link.param("return_url").startswith("http")
        assert link.idempotency_key
        assert response.get_json()["url"].startswith(
            f"https://connect.stripe.com/setup/e/{account}/"
        )
    audit = client.get(
        "/api/v1/admin/audit",
        query_string={"target_type": "practitioner", "target_id": str(listing.id)},
        headers=auth("admin"),
    ).get_json()["items"]
    assert [entry["action"] for entry in audit].count("payouts.account_created") == 1


def test_refused_account_creation_is_502_and_stores_no_account(app, client, stripe_http, token_for):
    listing = open_listing(app)
    stripe_http.fail("POST", ACCOUNTS, 400)

    response = client.post(ONBOARDING, headers=token_for(listing.owner_email))

    problem_of(response, 502)
    assert stripe_http.calls("POST", ACCOUNT_LINKS) == []
    with app.app_context():
        assert db.session.get(Practitioner, listing.id).stripe_account_id is None


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_onboarding_is_for_practitioners_only(client, stripe_http, auth, role):
    problem_of(client.post(ONBOARDING, headers=auth(role)), 403)
    assert stripe_http.requests == []


def test_onboarding_needs_sign_in(client, stripe_http):
    problem_of(client.post(ONBOARDING), 401)
    assert stripe_http.requests == []
