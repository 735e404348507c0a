"""What each event tells whom: one entry point per event, called where the change happens.

Each writes its outbox rows in the caller's transaction (a rolled-back change sends
nothing), rendered now from `templates/emails/`, with times in the practitioner's zone and
links from PUBLIC_BASE_URL. Keys are unique per (event, subject, recipient): a replayed
webhook or a retried request writes nothing new.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from marketplace import audit
from marketplace.accounts.models import User
from marketplace.availability.calendar import location_text
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import utc_now
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.formatting import local_full, local_short, money
from marketplace.notifications import invites
from marketplace.notifications.delivery import REMINDER_EVENT, dispatch_after_commit, retry_failed
from marketplace.notifications.models import OutboxMessage, OutboxStatus
from marketplace.practitioners.models import Location, Practitioner, Service

REMINDER_LEAD = timedelta(hours=24)
PATIENT, PRACTITIONER = "patient", "practitioner"

LISTING_SUBJECTS = {
    "approve": "Your listing is approved and now public",
    "reject": "Your listing was not approved",
    "suspend": "Your listing has been suspended",
    "reinstate": "Your listing is public again",
}
LISTING_EVENTS = {
    "approve": "listing.approved",
    "reject": "listing.rejected",
    "suspend": "listing.suspended",
    "reinstate": "listing.reinstated",
}


def _insert(values: dict[str, Any]) -> sa.Insert:
    """INSERT that does nothing when the key is already there (both backends)."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(OutboxMessage.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of `templates/emails/<template>.txt|.html`; the HTML is autoescaped."""
    env = current_app.jinja_env
    text = env.get_template(f"emails/{template}.txt").render(**context)
    html = env.get_template(f"emails/{template}.html").render(**context)
    return text.strip() + "\n", html


def write(
    *,
    key: str,
    event: str,
    recipient: User,
    subject: str,
    template: str,
    context: dict[str, Any],
    booking: Booking | None = None,
    ical: str | None = None,
    ical_method: str | None = None,
    due_at: datetime | None = None,
) -> uuid.UUID | None:
    """Write one message in the current transaction; None when its key was written before."""
    now = utc_now()
    text, html = render(template, {**context, "recipient": recipient})
    message_id = uuid.uuid4()
    values = {
        "id": message_id,
        "key": key[:255],
        "event": event,
        "recipient_email": recipient.email,
        "recipient_user_id": recipient.id,
        "subject": subject[:255],
        "text_body": text,
        "html_body": html,
        "ical": ical,
        "ical_method": ical_method,
        "booking_id": booking.id if booking is not None else None,
        "booking_start_at": booking.start_at if booking is not None else None,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": due_at or now,
        "created_at": now,
    }
    if not db.session.execute(_insert(values)).rowcount:
        return None
    if (due_at or now) <= now:
        dispatch_after_commit(message_id)
    return message_id


# --- bookings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BookingFacts:
    booking: Booking
    patient: User
    practitioner: User
    listing: Practitioner
    service: Service
    location: Location | None

    @property
    def zone(self) -> str:
        return self.listing.timezone or "UTC"

    def recipients(self) -> list[tuple[str, User]]:
        return [(PATIENT, self.patient), (PRACTITIONER, self.practitioner)]

    def context(self, audience: str) -> dict[str, Any]:
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        booking = self.booking
        manage = "/me/bookings" if audience == PATIENT else "/dashboard/bookings"
        return {
            "audience": audience,
            "booking": booking,
            "patient": self.patient,
            "listing": self.listing,
            "service": self.service,
            "location": self.location,
            "address": location_text(self.location),
            "starts": local_full(booking.start_at, self.zone),
            "duration_minutes": int((booking.end_at - booking.start_at).total_seconds() // 60),
            "price": money(booking.price_cents, booking.currency),
            "refund": money(booking.refund_cents, booking.currency),
            "refund_cents": booking.refund_cents,
            "booking_url": f"{base}/bookings/{booking.id}/done",
            "manage_url": f"{base}{manage}",
            "base_url": base,
        }

    def summary(self, audience: str) -> str:
        if audience == PATIENT:
            return f"{self.service.name} with {self.listing.display_name}"
        return f"{self.service.name} · {self.patient.name}"

    def invite(self, method: str, audience: str) -> str:
        return invites.booking_invite(
            booking=self.booking,
            method=method,
            summary=self.summary(audience),
            description=f"{self.summary(audience)}. Manage it at "
            f"{self.context(audience)['manage_url']}",
            location=self.location,
            organizer=current_app.config["MAIL_FROM"],
            patient_email=self.patient.email,
            patient_name=self.patient.name,
            now=utc_now(),
        )


def _facts(booking: Booking) -> _BookingFacts:
    db.session.flush()
    listing = db.session.get(Practitioner, booking.practitioner_id)
    return _BookingFacts(
        booking=booking,
        patient=db.session.get(User, booking.patient_id),
        practitioner=db.session.get(User, listing.owner_id),
        listing=listing,
        service=db.session.get(Service, booking.service_id),
        location=db.session.get(Location, booking.location_id) if booking.location_id else None,
    )


def _when(facts: _BookingFacts) -> str:
    return local_short(facts.booking.start_at, facts.zone)


def _write_reminders(facts: _BookingFacts) -> None:
    """The day-before reminder for each party who wants one (due now if that has passed)."""
    booking, now = facts.booking, utc_now()
    if booking.start_at <= now:
        return
    due_at = max(booking.start_at - REMINDER_LEAD, now)
    for audience, user in facts.recipients():
        if not user.email_reminders:
            continue
        write(
            key=f"{REMINDER_EVENT}:{booking.id}:{booking.start_at.isoformat()}:{user.id}",
            event=REMINDER_EVENT,
            recipient=user,
            subject=f"Reminder: {facts.service.name} on {_when(facts)}",
            template="booking_reminder",
            context=facts.context(audience),
            booking=booking,
            due_at=due_at,
        )


def _void_reminders(booking: Booking, reason: str) -> None:
    """Pending reminders for another start (or a cancelled booking) will never be sent."""
    table = OutboxMessage.__table__
    db.session.execute(
        sa.update(table)
        .where(
            table.c.booking_id == booking.id,
            table.c.event == REMINDER_EVENT,
            table.c.status == OutboxStatus.PENDING,
            table.c.booking_start_at != booking.start_at
            if booking.status is BookingStatus.CONFIRMED
            else sa.true(),
        )
        .values(status=OutboxStatus.SKIPPED, last_error=reason)
    )


def booking_confirmed(booking: Booking) -> None:
    """Paid and confirmed: both parties get the details and an invite; reminders are set."""
    facts = _facts(booking)
    for audience, user in facts.recipients():
        subject = (
            f"Booking confirmed: {facts.summary(audience)}, {_when(facts)}"
            if audience == PATIENT
            else f"New booking: {facts.summary(audience)}, {_when(facts)}"
        )
        write(
            key=f"booking.confirmed:{booking.id}:{user.id}",
            event="booking.confirmed",
            recipient=user,
            subject=subject,
            template="booking_confirmed",
            context=facts.context(audience),
            booking=booking,
            ical=facts.invite(invites.REQUEST, audience),
            ical_method=invites.REQUEST,
        )
    _write_reminders(facts)


def booking_rescheduled(booking: Booking) -> None:
    """Moved: the same calendar event updated (SEQUENCE up), and the reminder moves too."""
    if booking.status is not BookingStatus.CONFIRMED:
        return  # an unpaid hold was never announced
    booking.calendar_sequence = (booking.calendar_sequence or 0) + 1
    facts = _facts(booking)
    for audience, user in facts.recipients():
        write(
            key=f"booking.rescheduled:{booking.id}:{booking.calendar_sequence}:{user.id}",
            event="booking.rescheduled",
            recipient=user,
            subject=f"Booking moved: {facts.summary(audience)}, now {_when(facts)}",
            template="booking_rescheduled",
            context=facts.context(audience),
            booking=booking,
            ical=facts.invite(invites.REQUEST, audience),
            ical_method=invites.REQUEST,
        )
    _void_reminders(booking, "booking was rescheduled")
    _write_reminders(facts)


def booking_cancelled(booking: Booking) -> None:
    """Cancelled after it was confirmed: a CANCEL for the calendar event, with the refund."""
    if booking.confirmed_at is None:
        return  # an unpaid hold was never announced
    booking.calendar_sequence = (booking.calendar_sequence or 0) + 1
    facts = _facts(booking)
    for audience, user in facts.recipients():
        write(
            key=f"booking.cancelled:{booking.id}:{user.id}",
            event="booking.cancelled",
            recipient=user,
            subject=f"Booking cancelled: {facts.summary(audience)}, {_when(facts)}",
            template="booking_cancelled",
            context={
                **facts.context(audience),
                "cancelled_by_patient": booking.cancelled_by_id == booking.patient_id,
                "reason": booking.cancellation_reason,
            },
            booking=booking,
            ical=facts.invite(invites.CANCEL, audience),
            ical_method=invites.CANCEL,
        )
    _void_reminders(booking, "booking was cancelled")


def refund_issued(booking: Booking, amount_cents: int) -> None:
    """Money went back to the patient (e.g. from the Stripe dashboard): a receipt."""
    if amount_cents <= 0:
        return
    facts = _facts(booking)
    write(
        # The refunded total is unique per refund and is what a replayed event reports.
        key=f"refund.issued:{booking.id}:{booking.refund_cents}:{facts.patient.id}",
        event="refund.issued",
        recipient=facts.patient,
        subject=f"Refund of {money(amount_cents, booking.currency)} issued",
        template="refund_issued",
        context={**facts.context(PATIENT), "amount": money(amount_cents, booking.currency)},
        booking=booking,
    )


def late_payment_refunded(booking: Booking) -> None:
    """The payment came after the hold lapsed and the slot was taken: refunded in full."""
    facts = _facts(booking)
    write(
        key=f"booking.late_payment_refunded:{booking.id}:{facts.patient.id}",
        event="booking.late_payment_refunded",
        recipient=facts.patient,
        subject=f"Payment refunded: {_when(facts)} was no longer available",
        template="late_payment_refunded",
        context=facts.context(PATIENT),
        booking=booking,
    )


# --- listings -------------------------------------------------------------------------------


def listing_reviewed(listing: Practitioner, action: str, reason: str | None) -> None:
    """An admin approved, rejected, suspended or reinstated a listing: tell its owner why."""
    if action not in LISTING_EVENTS:
        return
    owner = db.session.get(User, listing.owner_id)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    reviewed_at = (listing.reviewed_at or utc_now()).isoformat()
    write(
        key=f"{LISTING_EVENTS[action]}:{listing.id}:{reviewed_at}:{owner.id}",
        event=LISTING_EVENTS[action],
        recipient=owner,
        subject=LISTING_SUBJECTS[action],
        template="listing_reviewed",
        context={
            "action": action,
            "listing": listing,
            "reason": reason,
            "dashboard_url": f"{base}/dashboard",
            "profile_url": f"{base}/practitioners/{listing.slug}",
            "base_url": base,
        },
    )


# --- admin ----------------------------------------------------------------------------------


def retry_message(message_id: uuid.UUID, actor: User, now: datetime) -> OutboxMessage:
    """An admin sends a failed message again (its tries counted afresh); 409 unless failed."""
    message = db.session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound("No such message.")
    if message.status is not OutboxStatus.FAILED:
        raise Conflict(f"A {message.status.value} message cannot be retried.")
    before = {
        "status": message.status,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }
    retry_failed(message, now)
    audit.record(
        actor_id=actor.id,
        action="outbox.retry",
        target_type="outbox_message",
        target_id=message.id,
        before=before,
        after={"status": message.status, "attempts": message.attempts},
    )
    return message
