"""Stripe webhooks: signed with a real secret, verified for real, each event applied once.

Bookings are held through the simulated gateway (the test default); the events below are
what Stripe would send for them, signed with the app's STRIPE_WEBHOOK_SECRET.
"""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.admin.models import AuditEntry
from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.payments.models import PaymentEvent
from marketplace.practitioners.models import Practitioner
from tests.factories import create_listing, lapse_hold
from tests.helpers import count_rows, problem_of
from tests.payments.stripe_fake import (
    checkout_session_object,
    post_event,
    signature_header,
    stripe_event,
)

WEBHOOK = "/api/v1/webhooks/stripe"


@pytest.fixture
def secret(app) -> str:
    return app.config["STRIPE_WEBHOOK_SECRET"]


@pytest.fixture
def listing(app):
    return create_listing(
        app, price_cents=12000, weekly_hours=[(day, "09:00", "17:00") for day in range(7)]
    )


@pytest.fixture
def admin(auth):
    return auth("admin")


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


def hold(client, headers, listing, start: datetime | None = None) -> str:
    """A held booking's id (simulated checkout)."""
    start = start or free_starts(client, listing)[0]
    response = client.post(
        "/api/v1/bookings",
        json={"service_id": str(listing.service_id), "start_at": start.isoformat()},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["booking"]["status"] == "held"
    return response.get_json()["booking"]["id"]


def row(app, booking_id: str) -> Booking:
    """The booking as stored now (detached; read its attributes only)."""
    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(booking_id))
        db.session.expunge(booking)
        return booking


def session_event(app, booking_id, event_type="checkout.session.completed", **fields):
    session = checkout_session_object(
        row(app, booking_id).checkout_session_id, booking_id, **fields
    )
    return stripe_event(event_type, session)


def paid_event(app, booking_id: str, payment_intent: str = "pi_test_1") -> dict:
    return session_event(app, booking_id, payment_intent=payment_intent)


def deliver(client, event, secret) -> dict:
    response = post_event(client, event, secret)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def shown(client, headers, booking_id: str) -> dict:
    response = client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def audit_entries(client, admin, booking_id: str) -> list[dict]:
    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_type": "booking", "target_id": booking_id, "per_page": 50},
        headers=admin,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def actions(client, admin, booking_id: str) -> list[str]:
    return [entry["action"] for entry in audit_entries(client, admin, booking_id)]


def stored_event_ids(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(PaymentEvent.event_id)))


def confirmed(app, client, secret, headers, listing, payment_intent="pi_test_1") -> str:
    booking_id = hold(client, headers, listing)
    deliver(client, paid_event(app, booking_id, payment_intent), secret)
    assert row(app, booking_id).status == "confirmed"
    return booking_id


# --- verification ------------------------------------------------------------------------------


def test_signed_completed_event_confirms_the_held_booking(
    app, client, auth, admin, secret, listing
):
    patient = auth("patient")
    booking_id = hold(client, patient, listing)
    event = paid_event(app, booking_id, "pi_good")

    response = post_event(client, event, secret)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["received"] is True
    assert shown(client, patient, booking_id)["status"] == "confirmed"
    stored = row(app, booking_id)
    assert (stored.status, stored.payment_intent_id) == ("confirmed", "pi_good")
    assert stored.paid_at is not None and stored.confirmed_at is not None
    assert stored_event_ids(app) == [event["id"]]
    entries = {entry["action"]: entry for entry in audit_entries(client, admin, booking_id)}
    assert {"booking.hold", "payment.capture", "booking.confirm"} <= entries.keys()
    assert entries["payment.capture"]["after"]["price_cents"] == 12000
    assert entries["booking.confirm"]["before"]["status"] == "held"
    assert entries["booking.confirm"]["after"]["status"] == "confirmed"


def _wrong_secret(payload, secret):
    return payload, {"Stripe-Signature": signature_header(payload, "whsec_someone_else")}


def _stale(payload, secret):
    old = int(time.time()) - 6 * 60
    return payload, {"Stripe-Signature": signature_header(payload, secret, timestamp=old)}


def _tampered(payload, secret):
    header = signature_header(payload, secret)
    tampered = payload.replace('"pi_test_1"', '"pi_attacker"')
    assert tampered != payload
    return tampered, {"Stripe-Signature": header}


def _missing(payload, secret):
    return payload, {}


def _garbled(payload, secret):
    return payload, {"Stripe-Signature": "t=abc,v1=not-a-signature"}


def _signed_not_json(payload, secret):
    body = payload[: len(payload) // 2]
    return body, {"Stripe-Signature": signature_header(body, secret)}


def _signed_not_an_event(payload, secret):
    body = json.dumps({"hello": "world"})
    return body, {"Stripe-Signature": signature_header(body, secret)}


@pytest.mark.parametrize(
    "forge",
    [
        _wrong_secret,
        _stale,
        _tampered,
        _missing,
        _garbled,
        _signed_not_json,
        _signed_not_an_event,
    ],
    ids=lambda forge: forge.__name__.strip("_"),
)
def test_unverifiable_delivery_is_400_and_changes_nothing(
    app, client, auth, admin, secret, listing, forge
):
    patient = auth("patient")
    booking_id = hold(client, patient, listing)
    payload, headers = forge(json.dumps(paid_event(app, booking_id)), secret)
    audit_before = count_rows(app, AuditEntry)

    response = client.post(WEBHOOK, data=payload, content_type="application/json", headers=headers)

    problem_of(response, 400)
    assert shown(client, patient, booking_id)["status"] == "held"
    stored = row(app, booking_id)
    assert (stored.status, stored.paid_at, stored.payment_intent_id) == ("held", None, None)
    assert count_rows(app, PaymentEvent) == 0
    assert count_rows(app, AuditEntry) == audit_before
    assert actions(client, admin, booking_id) == ["booking.hold"]


def test_replayed_event_is_acknowledged_and_applied_once(app, client, auth, admin, secret, listing):
    booking_id = hold(client, auth("patient"), listing)
    event = paid_event(app, booking_id)
    first = deliver(client, event, secret)
    audit_after_first = actions(client, admin, booking_id)

    again = post_event(client, event, secret)  # Stripe re-signs each delivery

    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["outcome"] == "duplicate" != first["outcome"]
    assert stored_event_ids(app) == [event["id"]]
    assert actions(client, admin, booking_id) == audit_after_first
    assert audit_after_first.count("payment.capture") == 1
    assert row(app, booking_id).status == "confirmed"


def test_replayed_dashboard_refund_is_recorded_once(app, client, auth, admin, secret, listing):
    booking_id = confirmed(app, client, secret, auth("patient"), listing, "pi_twice")
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_twice"}
    event = stripe_event("charge.refunded", {**charge, "amount_refunded": 3000})

    deliver(client, event, secret)
    deliver(client, event, secret)

    assert row(app, booking_id).refund_cents == 3000
    assert actions(client, admin, booking_id).count("payment.external_refund") == 1
    assert stored_event_ids(app).count(event["id"]) == 1


# --- order and timing --------------------------------------------------------------------------


def test_expired_event_after_completed_leaves_the_booking_confirmed(
    app, client, auth, admin, secret, listing
):
    patient = auth("patient")
    start = free_starts(client, listing)[0]
    booking_id = hold(client, patient, listing, start)
    deliver(client, paid_event(app, booking_id), secret)

    late = session_event(
        app, booking_id, "checkout.session.expired", payment_status="unpaid", status="expired"
    )
    response = post_event(client, late, secret)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert shown(client, patient, booking_id)["status"] == "confirmed"
    assert row(app, booking_id).status == "confirmed"
    assert start not in free_starts(client, listing)
    assert "booking.expire" not in actions(client, admin, booking_id)


def test_expired_event_on_a_held_booking_frees_the_slot_at_once(
    app, client, auth, admin, secret, listing
):
    patient = auth("patient")
    start = free_starts(client, listing)[0]
    booking_id = hold(client, patient, listing, start)
    assert start not in free_starts(client, listing)

    event = session_event(
        app, booking_id, "checkout.session.expired", payment_status="unpaid", status="expired"
    )
    deliver(client, event, secret)

    assert shown(client, patient, booking_id)["status"] == "expired"
    assert row(app, booking_id).status == "expired"
    assert start in free_starts(client, listing)
    assert actions(client, admin, booking_id)[0] == "booking.expire"
    assert hold(client, auth("patient"), listing, start)


def test_payment_after_lapsed_hold_whose_slot_was_rebooked_is_refunded_in_full(
    app, client, auth, admin, secret, listing
):
    late_patient, other_patient = auth("patient"), auth("patient")
    start = free_starts(client, listing)[0]
    late_id = hold(client, late_patient, listing, start)
    lapse_hold(app, late_id)
    other_id = hold(client, other_patient, listing, start)
    deliver(client, paid_event(app, other_id, "pi_other"), secret)

    deliver(client, paid_event(app, late_id, "pi_late"), secret)

    late = shown(client, late_patient, late_id)
    assert (late["status"], late["refund_cents"], late["price_cents"]) == (
        "cancelled",
        12000,
        12000,
    )
    assert late["cancellation_reason"]
    stored = row(app, late_id)
    assert (stored.status, stored.refund_cents, stored.refund_count) == ("cancelled", 12000, 1)
    assert stored.payment_intent_id == "pi_late"
    assert shown(client, other_patient, other_id)["status"] == "confirmed"
    assert row(app, other_id).refund_cents == 0
    assert {"payment.capture", "booking.cancel", "payment.refund"} <= set(
        actions(client, admin, late_id)
    )


def test_payment_after_lapsed_hold_whose_slot_is_still_free_confirms_it(
    app, client, auth, admin, secret, listing
):
    patient = auth("patient")
    start = free_starts(client, listing)[0]
    booking_id = hold(client, patient, listing, start)
    lapse_hold(app, booking_id)
    assert start in free_starts(client, listing)

    deliver(client, paid_event(app, booking_id), secret)

    body = shown(client, patient, booking_id)
    assert (body["status"], body["refund_cents"]) == ("confirmed", 0)
    assert row(app, booking_id).status == "confirmed"
    assert start not in free_starts(client, listing)
    assert "booking.confirm" in actions(client, admin, booking_id)


def test_payment_after_lapsed_hold_whose_slot_another_lapsed_hold_took_confirms_it(
    app, client, auth, admin, secret, listing
):
    # The other hold lapsed too but was never swept: it still reads "held", which on
    # PostgreSQL the exclusion constraint counts as blocking until it is expired.
    late_patient, other_patient = auth("patient"), auth("patient")
    start = free_starts(client, listing)[0]
    late_id = hold(client, late_patient, listing, start)
    lapse_hold(app, late_id)
    other_id = hold(client, other_patient, listing, start)
    lapse_hold(app, other_id)

    deliver(client, paid_event(app, late_id, "pi_late"), secret)

    assert shown(client, late_patient, late_id)["status"] == "confirmed"
    assert (row(app, late_id).status, row(app, late_id).refund_cents) == ("confirmed", 0)
    assert row(app, other_id).status == "expired"
    assert "booking.expire" in actions(client, admin, other_id)
    assert start not in free_starts(client, listing)


def test_completed_but_unpaid_session_does_not_confirm(app, client, auth, secret, listing):
    patient = auth("patient")
    booking_id = hold(client, patient, listing)

    deliver(client, session_event(app, booking_id, payment_status="unpaid"), secret)

    assert shown(client, patient, booking_id)["status"] == "held"
    assert row(app, booking_id).paid_at is None


# --- other event types -------------------------------------------------------------------------


def test_dashboard_refund_is_recorded_on_the_booking(app, client, auth, admin, secret, listing):
    patient = auth("patient")
    booking_id = confirmed(app, client, secret, patient, listing, "pi_dash")
    charge = {
        "id": "ch_dash",
        "object": "charge",
        "payment_intent": "pi_dash",
        "amount": 12000,
        "amount_refunded": 4500,
        "refunded": False,
    }

    deliver(client, stripe_event("charge.refunded", charge), secret)

    body = shown(client, patient, booking_id)
    assert (body["status"], body["refund_cents"]) == ("confirmed", 4500)
    assert row(app, booking_id).refund_cents == 4500
    entry = audit_entries(client, admin, booking_id)[0]
    assert entry["action"] == "payment.external_refund"
    assert (entry["before"]["refund_cents"], entry["after"]["refund_cents"]) == (0, 4500)


def test_account_updated_keeps_charges_enabled(app, client, auth, admin, secret, listing):
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner)
            .where(Practitioner.id == listing.id)
            .values(stripe_account_id="acct_1Webhook", charges_enabled=False)
        )
        db.session.commit()

    def charges_enabled() -> bool:
        with app.app_context():
            return db.session.get(Practitioner, listing.id).charges_enabled

    account = {"id": "acct_1Webhook", "object": "account", "details_submitted": True}
    deliver(client, stripe_event("account.updated", {**account, "charges_enabled": True}), secret)
    assert charges_enabled() is True

    deliver(client, stripe_event("account.updated", {**account, "charges_enabled": False}), secret)
    assert charges_enabled() is False

    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_type": "practitioner", "target_id": str(listing.id)},
        headers=admin,
    )
    changes = [e for e in response.get_json()["items"] if e["action"] == "payouts.charges_enabled"]
    assert [change["after"]["charges_enabled"] for change in changes] == [False, True]


def test_dispute_flags_the_booking(app, client, auth, admin, secret, listing):
    patient = auth("patient")
    booking_id = confirmed(app, client, secret, patient, listing, "pi_disputed")
    assert shown(client, patient, booking_id)["disputed"] is False
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_1",
        "payment_intent": "pi_disputed",
        "amount": 12000,
        "reason": "fraudulent",
        "status": "needs_response",
    }

    deliver(client, stripe_event("charge.dispute.created", dispute), secret)

    assert shown(client, patient, booking_id)["disputed"] is True
    assert shown(client, admin, booking_id)["disputed"] is True
    assert row(app, booking_id).disputed_at is not None
    assert row(app, booking_id).status == "confirmed"
    assert actions(client, admin, booking_id)[0] == "payment.dispute"


def test_unknown_event_type_is_acknowledged_and_ignored(app, client, auth, admin, secret, listing):
    patient = auth("patient")
    booking_id = hold(client, patient, listing)
    invoice = {"id": "in_1", "object": "invoice", "metadata": {"booking_id": booking_id}}

    response = post_event(client, stripe_event("invoice.paid", invoice), secret)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["outcome"] == "ignored"
    assert shown(client, patient, booking_id)["status"] == "held"
    assert actions(client, admin, booking_id) == ["booking.hold"]
