"""What arrives at a real SMTP server: recipients, subject, text and HTML, and the invite."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from marketplace.availability.calendar import booking_uid
from marketplace.notifications.models import OutboxStatus
from tests.factories import all_day_listing, book_and_pay, far_start
from tests.helpers import parse
from tests.notifications.conftest import outbox_rows
from tests.payments.stripe_fake import post_event, stripe_event

ZONE = "Australia/Sydney"


@pytest.fixture
def listing(app):
    return all_day_listing(
        app,
        timezone=ZONE,
        name="Dr Trigger Point",
        price_cents=12000,
        free_cancellation_hours=24,
        late_cancellation_fee_percent=50,
    )


@pytest.fixture
def patient_email():
    return f"pat-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def patient(auth, patient_email):
    return auth("patient", email=patient_email, name="Pat <Patient>")


def invite_of(received) -> icalendar.Calendar:
    part = received.part("text/calendar")
    assert part is not None, "no text/calendar part"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert part.get_param("method") == str(calendar["METHOD"])
    return calendar


def event_of(calendar: icalendar.Calendar) -> icalendar.Event:
    (event,) = calendar.walk("VEVENT")
    return event


def test_confirmed_booking_emails_both_parties_with_an_invite(
    app, client, mail, listing, patient, patient_email
):
    start = far_start(days=3, hour=10)
    booking = book_and_pay(client, patient, listing, start)

    received = mail.wait_for(2)
    assert len(received) == 2
    to_patient = mail.to(patient_email)[0]
    to_practitioner = mail.to(listing.owner_email)[0]
    assert to_patient.subject.startswith("Booking confirmed: Treatment with Dr Trigger Point")
    assert to_practitioner.subject.startswith("New booking: Treatment · Pat <Patient>")
    # The practitioner's wall clock, zone named: 10:00 UTC is 20:00 or 21:00 in Sydney.
    local = start.astimezone(ZoneInfo(ZONE))
    when = f"{local:%H:%M} {local.tzname()}"
    for message in (to_patient, to_practitioner):
        assert message.mail_from == "no-reply@localhost"
        assert when in message.text() and when in message.html()
        assert "1 Main St" in message.text()
        assert message.message.get_content_type() == "multipart/alternative"
    assert f"https://relieve.example/bookings/{booking['id']}/done" in to_patient.text()
    assert "https://relieve.example/me/bookings" in to_patient.html()
    assert "https://relieve.example/dashboard/bookings" in to_practitioner.text()
    # The HTML is escaped; the text is not.
    assert "Pat &lt;Patient&gt;" in to_practitioner.html()
    assert "Pat <Patient>" in to_practitioner.text()

    for message in (to_patient, to_practitioner):
        calendar = invite_of(message)
        assert str(calendar["METHOD"]) == "REQUEST"
        event = event_of(calendar)
        assert str(event["UID"]) == booking_uid(booking["id"])
        assert event["SEQUENCE"] == 0
        assert event.decoded("DTSTART") == start
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert event.decoded("DTEND") == parse(booking["end_at"])
        assert "1 Main St" in str(event["LOCATION"])
        assert str(event["ORGANIZER"]) == "mailto:no-reply@localhost"
        assert str(event["ATTENDEE"]) == f"mailto:{patient_email}"

    confirmed = outbox_rows(app, event="booking.confirmed")
    assert {row.status for row in confirmed} == {OutboxStatus.SENT}
    assert {row.attempts for row in confirmed} == {1}
    # The day-before reminders wait for their time.
    reminders = outbox_rows(app, event="booking.reminder")
    assert len(reminders) == 2
    assert {row.next_attempt_at for row in reminders} == {start - timedelta(hours=24)}
    assert {row.status for row in reminders} == {OutboxStatus.PENDING}


def test_reschedule_and_cancel_update_the_same_calendar_event(
    app, client, mail, listing, patient, patient_email
):
    start = far_start(days=3, hour=10)
    booking = book_and_pay(client, patient, listing, start)
    mail.wait_for(2)
    uid = booking_uid(booking["id"])

    moved_to = start + timedelta(days=1)
    response = client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"start_at": moved_to.isoformat()},
        headers=patient,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    mail.wait_for(4)
    moved = mail.to(patient_email)[1]
    assert moved.subject.startswith("Booking moved:")
    event = event_of(invite_of(moved))
    assert str(invite_of(moved)["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == uid
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == moved_to
    assert event_of(invite_of(mail.to(listing.owner_email)[1]))["SEQUENCE"] == 1
    # The reminder moved with it: the old ones will never be sent.
    reminders = outbox_rows(app, event="booking.reminder")
    by_start = {(row.booking_start_at, row.status) for row in reminders}
    assert by_start == {(start, OutboxStatus.SKIPPED), (moved_to, OutboxStatus.PENDING)}

    response = client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"reason": "Feeling better"},
        headers=patient,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    mail.wait_for(6)
    cancelled = mail.to(patient_email)[2]
    assert cancelled.subject.startswith("Booking cancelled:")
    assert "Refund: 120.00 AUD" in cancelled.text()
    calendar = invite_of(cancelled)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = event_of(calendar)
    assert str(event["UID"]) == uid
    assert event["SEQUENCE"] == 2
    assert str(event["STATUS"]) == "CANCELLED"
    practitioner_copy = mail.to(listing.owner_email)[2]
    assert "Refunded to the patient: 120.00 AUD" in practitioner_copy.text()
    assert str(invite_of(practitioner_copy)["METHOD"]) == "CANCEL"
    assert {row.status for row in outbox_rows(app, event="booking.reminder")} == {
        OutboxStatus.SKIPPED
    }


def test_listing_review_tells_the_owner_with_the_reason(app, client, mail, auth):
    from marketplace.practitioners.models import ListingStatus
    from tests.factories import create_listing

    listing = create_listing(app, status=ListingStatus.PENDING)
    admin = auth("admin")
    response = client.post(
        f"/api/v1/admin/listings/{listing.id}/reject",
        json={"reason": "Registration number <missing>"},
        headers=admin,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (message,) = mail.wait_for(1)
    assert message.rcpt_tos == [listing.owner_email]
    assert message.subject == "Your listing was not approved"
    assert "Reason: Registration number <missing>" in message.text()
    assert "Registration number &lt;missing&gt;" in message.html()
    assert "https://relieve.example/dashboard" in message.text()
    assert message.part("text/calendar") is None


def test_a_refund_made_at_stripe_sends_one_receipt_even_when_replayed(
    app, client, mail, listing, patient, patient_email
):
    booking = book_and_pay(client, patient, listing, far_start(days=3))
    mail.wait_for(2)
    from tests.helpers import stored

    intent = stored(app, booking["id"]).payment_intent_id
    event = stripe_event(
        "charge.refunded",
        {"id": "ch_1", "object": "charge", "payment_intent": intent, "amount_refunded": 3000},
    )
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    for _ in range(2):
        assert post_event(client, event, secret).status_code == 200
    # The same refund reported again under another event id writes nothing either.
    again = stripe_event("charge.refunded", event["data"]["object"])
    assert post_event(client, again, secret).status_code == 200

    mail.wait_for(3)
    receipts = [r for r in mail.to(patient_email) if r.subject.startswith("Refund")]
    assert len(receipts) == 1
    assert receipts[0].subject == "Refund of 30.00 AUD issued"
    assert "30.00 AUD" in receipts[0].text()
    assert len(mail.received) == 3
