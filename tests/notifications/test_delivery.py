"""Exactly once, retries and failures, reminders, and the admin's view of the outbox."""

import uuid
from datetime import timedelta

import pytest

from marketplace.admin.models import AuditEntry
from marketplace.bookings.models import Booking
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.notifications import delivery
from marketplace.notifications.models import OutboxMessage, OutboxStatus
from tests.factories import all_day_listing, far_start, hold, pay
from tests.helpers import count_rows, problem_of, stored
from tests.notifications.conftest import outbox_rows
from tests.notifications.smtp_server import SmtpServer, free_port
from tests.payments.stripe_fake import checkout_session_object, post_event, stripe_event


@pytest.fixture
def listing(app):
    return all_day_listing(app, timezone="Australia/Sydney", price_cents=12000)


@pytest.fixture
def patient_email():
    return f"pat-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def patient(auth, patient_email):
    return auth("patient", email=patient_email)


@pytest.fixture
def admin(auth):
    return auth("admin")


def sweep(app, now=None) -> int:
    with app.app_context():
        return delivery.sweep(now)


def deliver(app, message_id, now=None) -> str:
    with app.app_context():
        return delivery.deliver(message_id, now)


def confirmed_booking(client, headers, listing, start=None) -> str:
    created = hold(client, headers, listing, start or far_start(days=3))
    pay(client, created["checkout_url"])
    return created["booking"]["id"]


# --- exactly once --------------------------------------------------------------------------


def test_a_replayed_webhook_writes_and_sends_each_message_once(app, client, mail, listing, patient):
    created = hold(client, patient, listing, far_start(days=3))
    booking_id = created["booking"]["id"]
    session = checkout_session_object(
        stored(app, booking_id).checkout_session_id, booking_id, payment_intent="pi_1"
    )
    event = stripe_event("checkout.session.completed", session)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    for _ in range(2):
        assert post_event(client, event, secret).status_code == 200
    # The same payment under another event id (Stripe sends async_payment_succeeded too).
    other = stripe_event("checkout.session.async_payment_succeeded", session)
    assert post_event(client, other, secret).status_code == 200

    mail.wait_for(2)
    assert sweep(app) == 0
    assert len(mail.received) == 2
    assert len(outbox_rows(app, event="booking.confirmed")) == 2


def test_a_retried_booking_request_and_a_second_pay_send_nothing_new(
    app, client, mail, listing, patient
):
    start = far_start(days=3)
    body = {"service_id": str(listing.service_id), "start_at": start.isoformat()}
    headers = {**patient, "Idempotency-Key": "retry-me-1"}
    first = client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == 201
    pay(client, first.get_json()["checkout_url"])
    mail.wait_for(2)
    again = client.post("/api/v1/bookings", json=body, headers=headers)
    assert again.get_json()["booking"]["id"] == first.get_json()["booking"]["id"]
    assert client.post(first.get_json()["checkout_url"], data={"action": "pay"}).status_code in (
        303,
        409,
    )
    assert sweep(app) == 0
    assert len(mail.received) == 2
    assert len(outbox_rows(app, event="booking.confirmed")) == 2


def test_the_sweep_run_twice_and_a_second_worker_send_once(app, client, mail, listing, patient):
    mail.refuse("tempfail")
    confirmed_booking(client, patient, listing)
    rows = outbox_rows(app, event="booking.confirmed")
    assert [row.status for row in rows] == [OutboxStatus.PENDING] * 2
    assert all(row.attempts == 1 and "451" in row.last_error for row in rows)

    mail.accept()
    later = utc_now() + timedelta(minutes=2)
    assert sweep(app, later) == 2
    assert sweep(app, later) == 0
    for row in rows:  # another worker holding an old job for the same row
        assert deliver(app, row.id, later) == delivery.NOT_CLAIMED
    assert len(mail.received) == 2
    assert {row.status for row in outbox_rows(app, event="booking.confirmed")} == {
        OutboxStatus.SENT
    }


def test_a_live_lease_keeps_a_second_worker_off(app, client, mail, listing, patient, auth):
    from marketplace.notifications import service

    user_id, email = _user(app, auth)
    with app.app_context():
        recipient = db.session.get(service.User, user_id)
        message_id = _write_plain(recipient)
        now = utc_now() + timedelta(seconds=2)
        with delivery._session() as session:
            assert delivery.claim(session, message_id, now)
    # Another worker meanwhile: the row is leased, so it is not due for anyone else.
    assert deliver(app, message_id, now + timedelta(seconds=1)) == delivery.NOT_CLAIMED
    assert mail.received == []
    # The first worker died: once its lease lapses the row is sent (again), never lost.
    after_lease = now + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    assert deliver(app, message_id, after_lease) == delivery.SENT
    assert [r.rcpt_tos for r in mail.received] == [[email]]


def _user(app, auth):
    from tests.factories import create_user

    return create_user(app, "patient")


def _write_plain(recipient) -> uuid.UUID:
    """An ad-hoc message, written and committed (its after-commit delivery is suppressed)."""
    from marketplace.notifications import service

    message_id = service.write(
        key=f"test:{uuid.uuid4()}",
        event="listing.approved",
        recipient=recipient,
        subject="Hello",
        template="listing_reviewed",
        context={"action": "approve", "listing": None, "reason": None, "base_url": "x"},
        due_at=utc_now() + timedelta(seconds=1),  # not due yet: nothing sent after commit
    )
    db.session.commit()
    return message_id


def test_a_rolled_back_change_writes_and_sends_nothing(app, client, mail, listing, patient):
    from marketplace.notifications import service

    created = hold(client, patient, listing, far_start(days=3))
    with app.app_context():
        booking = db.session.get(Booking, uuid.UUID(created["booking"]["id"]))
        service.booking_confirmed(booking)
        assert db.session.query(OutboxMessage).count() == 4  # two emails, two reminders
        db.session.rollback()
    assert count_rows(app, OutboxMessage) == 0
    assert sweep(app) == 0
    assert mail.received == []


# --- faults --------------------------------------------------------------------------------


def test_a_request_succeeds_while_smtp_is_down_and_the_message_goes_later(
    app, client, listing, patient, patient_email, monkeypatch
):
    port = free_port()  # nothing listens here yet
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    booking_id = confirmed_booking(client, patient, listing)
    assert stored(app, booking_id).status.value == "confirmed"
    rows = outbox_rows(app, event="booking.confirmed")
    assert {row.status for row in rows} == {OutboxStatus.PENDING}
    assert all("Connection" in row.last_error for row in rows)
    assert sweep(app) == 0  # not due before its backoff

    server = SmtpServer(port).start()
    try:
        assert sweep(app, utc_now() + timedelta(minutes=1, seconds=5)) == 2
        server.wait_for(2)
        assert len(server.to(patient_email)) == 1
    finally:
        server.stop()
    rows = outbox_rows(app, event="booking.confirmed")
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 2)}


def test_transient_failures_back_off_then_fail_for_good(app, client, mail, listing, patient):
    mail.refuse("tempfail")
    confirmed_booking(client, patient, listing)
    (row, _other) = outbox_rows(app, event="booking.confirmed")
    now = utc_now()
    waits = []
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        current = outbox_rows(app, id=row.id)[0]
        if current.status is not OutboxStatus.PENDING:
            break
        waits.append(current.next_attempt_at - now)
        now = current.next_attempt_at
        deliver(app, row.id, now)
    final = outbox_rows(app, id=row.id)[0]
    assert final.status is OutboxStatus.FAILED
    assert final.attempts == delivery.MAX_ATTEMPTS
    assert [round(w / timedelta(minutes=1)) for w in waits] == [1, 5, 30, 120, 720]


def test_a_permanent_refusal_fails_is_listed_for_admins_and_retry_sends_it(
    app, client, mail, listing, patient, patient_email, admin
):
    mail.refuse("refuse")
    confirmed_booking(client, patient, listing)
    rows = outbox_rows(app, event="booking.confirmed")
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.FAILED, 1)}

    listed = client.get("/api/v1/admin/outbox?status=failed", headers=admin)
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 2 and body["page"] == 1
    item = next(i for i in body["items"] if i["recipient"] == patient_email)
    assert set(item) == {
        "id",
        "key",
        "event",
        "recipient",
        "subject",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    }
    assert item["status"] == "failed" and item["event"] == "booking.confirmed"
    assert "550" in item["last_error"]
    problem_of(client.get("/api/v1/admin/outbox?status=failed", headers=patient), 403)
    problem_of(client.get("/api/v1/admin/outbox?status=lost", headers=admin), 422)

    mail.accept()
    retried = client.post(f"/api/v1/admin/outbox/{item['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.get_data(as_text=True)
    (message,) = mail.wait_for(1)
    assert message.rcpt_tos == [patient_email]
    assert outbox_rows(app, id=uuid.UUID(item["id"]))[0].status is OutboxStatus.SENT
    problem_of(client.post(f"/api/v1/admin/outbox/{item['id']}/retry", headers=admin), 409)
    problem_of(client.post(f"/api/v1/admin/outbox/{uuid.uuid4()}/retry", headers=admin), 404)
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "outbox.retry"))
        assert entry.target_id == item["id"]
        assert entry.before["status"] == "failed" and entry.after["status"] == "pending"


def test_without_smtp_url_the_message_is_logged_and_marked_sent(
    app, client, listing, patient, caplog
):
    caplog.set_level("INFO", logger="marketplace.notifications.delivery")
    confirmed_booking(client, patient, listing)
    assert {row.status for row in outbox_rows(app, event="booking.confirmed")} == {
        OutboxStatus.SENT
    }
    logged = caplog.text
    assert "Subject: Booking confirmed:" in logged
    assert "BEGIN:VCALENDAR" in logged and "METHOD:REQUEST" in logged


# --- reminders -----------------------------------------------------------------------------


def reminder_time(app, booking_id):
    return stored(app, booking_id).start_at - timedelta(hours=23)


def test_a_reminder_is_sent_once_however_often_the_sweep_runs(
    app, client, mail, listing, patient, patient_email
):
    booking_id = confirmed_booking(client, patient, listing)
    mail.wait_for(2)
    assert sweep(app) == 0  # not due yet
    due = reminder_time(app, booking_id)
    assert sweep(app, due) == 2
    assert sweep(app, due) == 0
    assert sweep(app, due + timedelta(hours=1)) == 0
    reminders = [r for r in mail.received if r.subject.startswith("Reminder:")]
    assert sorted(r.rcpt_tos[0] for r in reminders) == sorted([patient_email, listing.owner_email])


def test_no_reminder_for_a_booking_cancelled_meanwhile(app, client, mail, listing, patient):
    booking_id = confirmed_booking(client, patient, listing)
    response = client.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "x"}, headers=patient
    )
    assert response.status_code == 200
    mail.wait_for(4)
    assert sweep(app, reminder_time(app, booking_id)) == 0
    assert not [r for r in mail.received if r.subject.startswith("Reminder:")]


def test_a_reminder_is_checked_again_when_it_is_sent(app, client, mail, listing, patient):
    """A cancellation that lands while the reminder is already queued still stops it."""
    booking_id = confirmed_booking(client, patient, listing)
    due = reminder_time(app, booking_id)
    with app.app_context():
        db.session.execute(
            db.update(Booking).where(Booking.id == uuid.UUID(booking_id)).values(status="cancelled")
        )
        db.session.commit()
    for row in outbox_rows(app, event="booking.reminder"):
        assert deliver(app, row.id, due) == delivery.SKIPPED
    rows = outbox_rows(app, event="booking.reminder")
    assert {(row.status, row.last_error) for row in rows} == {
        (OutboxStatus.SKIPPED, "booking is cancelled")
    }


def test_no_reminder_for_whoever_turned_them_off(
    app, client, mail, listing, patient, patient_email
):
    me = client.get("/api/v1/me", headers=patient)
    assert me.get_json()["email_reminders"] is True
    booking_id = confirmed_booking(client, patient, listing)
    mail.wait_for(2)
    off = client.patch("/api/v1/me", json={"email_reminders": False}, headers=patient)
    assert off.status_code == 200 and off.get_json()["email_reminders"] is False
    assert client.get("/api/v1/me", headers=patient).get_json()["email_reminders"] is False

    assert sweep(app, reminder_time(app, booking_id)) == 2
    reminders = [r for r in mail.received if r.subject.startswith("Reminder:")]
    assert [r.rcpt_tos for r in reminders] == [[listing.owner_email]]
    skipped = outbox_rows(app, event="booking.reminder", status=OutboxStatus.SKIPPED)
    assert [row.recipient_email for row in skipped] == [patient_email]


def test_a_patient_who_turned_reminders_off_first_gets_no_reminder_written(
    app, client, mail, listing, patient, patient_email
):
    off = client.patch("/api/v1/me", json={"email_reminders": False}, headers=patient)
    assert off.status_code == 200
    confirmed_booking(client, patient, listing)
    reminders = outbox_rows(app, event="booking.reminder")
    assert [row.recipient_email for row in reminders] == [listing.owner_email]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email_reminders": "no"}, "email_reminders"),
        ({"email_reminders": None}, "email_reminders"),
        ({"email": "x@example.com"}, "email"),
        ({"role": "admin"}, "role"),
        ({}, "_schema"),
    ],
)
def test_patch_me_refuses_bad_fields_and_changes_nothing(client, patient, body, field):
    response = client.patch("/api/v1/me", json=body, headers=patient)
    assert field in problem_of(response, 422)["errors"]
    assert client.get("/api/v1/me", headers=patient).get_json()["email_reminders"] is True


def test_patch_me_needs_sign_in(client):
    problem_of(client.patch("/api/v1/me", json={"email_reminders": False}), 401)
