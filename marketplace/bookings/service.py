"""Booking rules: holds, payment confirmation, cancellation and refunds, rescheduling.

Rule 1 (no double booking): every change that can make a booking block the calendar first
locks the practitioner (`lock_practitioner`), expires lapsed holds, re-checks the slot against
the same engine the public slots come from, then writes. On PostgreSQL an exclusion constraint
backs this up; a lost race surfaces as `SlotUnavailable` (409), never as a 500.
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace import audit
from marketplace.accounts.models import Role, User
from marketplace.availability.free_time import find_slot, zone_of
from marketplace.availability.slots import to_instant
from marketplace.bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from marketplace.db import after_commit
from marketplace.errors import (
    Conflict,
    DomainError,
    NotFound,
    NotPermitted,
    SlotUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from marketplace.extensions import db
from marketplace.formatting import local_clock, local_full
from marketplace.locking import lock_practitioner
from marketplace.notifications import service as notify
from marketplace.payments.gateway import CheckoutRequest, PaymentGateway, get_gateway
from marketplace.payments.money import late_cancellation_refund, platform_fee
from marketplace.practitioners.models import ListingStatus, Practitioner, Service
from marketplace.search.index import reindex_listing

# Stripe sessions last 24 hours at most; so does the way back from one.
CANCEL_LINK_MAX_AGE = 24 * 60 * 60


@dataclass(frozen=True)
class BookingPolicy:
    """The platform settings a booking is priced and held by."""

    fee_bps: int
    hold_minutes: int
    # Unpaid holds one patient may have at once; more looks like hoarding a calendar.
    max_open_holds: int = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "BookingPolicy":
        return cls(
            fee_bps=config["PLATFORM_FEE_BPS"],
            hold_minutes=config["HOLD_MINUTES"],
            max_open_holds=config["MAX_OPEN_HOLDS"],
        )


def booking_state(booking: Booking) -> dict[str, Any]:
    """What the audit log keeps of a booking."""
    return {
        "status": booking.status,
        "start_at": booking.start_at,
        "end_at": booking.end_at,
        "price_cents": booking.price_cents,
        "platform_fee_cents": booking.platform_fee_cents,
        "refund_cents": booking.refund_cents,
        "currency": booking.currency,
    }


def _audit(booking: Booking, actor: User | None, action: str, before: dict | None) -> None:
    audit.record(
        actor_id=actor.id if actor else None,
        action=action,
        target_type="booking",
        target_id=booking.id,
        before=before,
        after=booking_state(booking),
    )


def expire_lapsed_holds(practitioner_id: uuid.UUID, now: datetime) -> list[Booking]:
    """Mark this practitioner's lapsed holds expired (they stopped blocking when they lapsed)."""
    lapsed = list(
        db.session.scalars(
            sa.select(Booking).where(
                Booking.practitioner_id == practitioner_id,
                Booking.status == BookingStatus.HELD,
                Booking.hold_expires_at <= now,
            )
        )
    )
    for booking in lapsed:
        before = booking_state(booking)
        booking.move_to(BookingStatus.EXPIRED)
        _audit(booking, None, "booking.expire", before)
        if booking.checkout_session_id:
            # Provider sessions outlive our holds (Stripe's last 30 minutes at least).
            after_commit(db.session, partial(expire_checkout_session, booking.checkout_session_id))
    db.session.flush()
    return lapsed


def expire_checkout_session(session_id: str) -> None:
    get_gateway().expire_checkout(session_id)


def request_fingerprint(service_id: uuid.UUID, start_at: datetime, location_id) -> str:
    canonical = json.dumps(
        [str(service_id), start_at.isoformat(), str(location_id) if location_id else None]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotent_replay(patient: User, key: str, fingerprint: str) -> Booking | None:
    existing = db.session.scalar(
        sa.select(Booking).where(Booking.patient_id == patient.id, Booking.idempotency_key == key)
    )
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was used with another request.",
            {"Idempotency-Key": ["Already used with a different body."]},
        )
    return existing


def _bookable(service_id: uuid.UUID, *, refresh: bool = False) -> tuple[Service, Practitioner]:
    """The service and its listing, if the public may book it (checked again under the lock)."""
    service = db.session.get(Service, service_id)
    if service is not None and refresh:
        db.session.refresh(service)
    if service is None or service.deleted_at is not None:
        raise ValidationFailed("Unknown service.", {"service_id": ["No such service."]})
    listing = db.session.get(Practitioner, service.practitioner_id)
    if refresh:
        db.session.refresh(listing)
    if listing.status is not ListingStatus.APPROVED:
        raise ValidationFailed("Unknown service.", {"service_id": ["No such service."]})
    if not service.active:
        raise Conflict("This service is not currently offered.")
    return service, listing


def lock_booking(booking: Booking) -> Booking:
    """Take the practitioner's lock and re-read the booking: decide on committed state only.

    Every transition goes through here, so a cancellation racing a payment (or two payment
    events racing each other) is serialised and the second sees what the first did.
    """
    db.session.flush()
    lock_practitioner(booking.practitioner_id)
    db.session.refresh(booking)
    return booking


def _open_holds(patient: User, now: datetime) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.patient_id == patient.id,
            Booking.status == BookingStatus.HELD,
            Booking.hold_expires_at > now,
        )
    )


def _refuse_past(start_at: datetime, now: datetime) -> None:
    if start_at <= now:
        raise SlotUnavailable("That time has already passed. Pick a later slot.")


def create_booking(
    *,
    patient: User,
    service_id: uuid.UUID,
    start_at: datetime,
    location_id: uuid.UUID | None,
    idempotency_key: str | None,
    now: datetime,
    policy: BookingPolicy,
    payment_provider: str,
) -> tuple[Booking, bool]:
    """Hold a free slot for a patient until payment; returns (booking, created).

    The same Idempotency-Key with the same request returns the first booking unchanged.
    """
    fingerprint = request_fingerprint(service_id, start_at, location_id)
    if idempotency_key:
        existing = _idempotent_replay(patient, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    service, listing = _bookable(service_id)
    if _open_holds(patient, now) >= policy.max_open_holds:
        raise TooManyRequests(
            f"You already have {policy.max_open_holds} unpaid bookings: "
            "pay for or cancel one first."
        )
    lock_practitioner(listing.id)
    service, listing = _bookable(service_id, refresh=True)
    expire_lapsed_holds(listing.id, now)
    _refuse_past(start_at, now)
    slot = find_slot(listing, service.duration_minutes, start_at, now, location_id)
    if slot is None:
        raise SlotUnavailable("That time is not free. Pick another slot.")

    booking = Booking(
        id=uuid.uuid4(),
        patient_id=patient.id,
        practitioner_id=listing.id,
        service_id=service.id,
        location_id=slot.location_id,
        start_at=slot.start_at,
        end_at=slot.end_at,
        blocked_start_at=slot.start_at - timedelta(minutes=listing.buffer_before_minutes),
        blocked_end_at=slot.end_at + timedelta(minutes=listing.buffer_after_minutes),
        status=BookingStatus.HELD,
        hold_expires_at=now + timedelta(minutes=policy.hold_minutes),
        price_cents=service.price_cents,
        currency=service.currency,
        platform_fee_cents=platform_fee(service.price_cents, policy.fee_bps),
        refund_cents=0,
        refund_count=0,
        payout_owed_cents=0,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        payment_provider=payment_provider,
    )
    try:
        with db.session.begin_nested():
            db.session.add(booking)
    except sa.exc.IntegrityError:
        if idempotency_key:
            replay = _idempotent_replay(patient, idempotency_key, fingerprint)
            if replay is not None:
                return replay, False
        raise SlotUnavailable("That time was just taken. Pick another slot.") from None
    _audit(booking, patient, "booking.hold", None)
    reindex_listing(listing.id, now)
    return booking, True


def start_checkout(
    booking: Booking,
    gateway: PaymentGateway,
    *,
    patient_email: str,
    success_url: str,
    cancel_url: str,
    now: datetime,
) -> Booking:
    """Open the payment page for a held booking (once; a retry reuses the first session)."""
    if booking.checkout_session_id:
        return booking
    service = db.session.get(Service, booking.service_id)
    listing = db.session.get(Practitioner, booking.practitioner_id)
    destination = listing.stripe_account_id if listing.charges_enabled else None
    # Stripe refuses sessions that expire in under 30 minutes; our own hold is what counts.
    expires_at = max(booking.hold_expires_at, now + timedelta(minutes=31))
    session = gateway.create_checkout(
        CheckoutRequest(
            booking_id=str(booking.id),
            service_name=service.name,
            description=f"{listing.display_name}, {local_time_label(booking, listing)}",
            amount_cents=booking.price_cents,
            currency=booking.currency,
            patient_email=patient_email,
            application_fee_cents=booking.platform_fee_cents,
            destination_account=destination,
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=int(expires_at.timestamp()),
        )
    )
    booking.checkout_session_id = session.id
    booking.checkout_url = session.url
    booking.transfer_destination = destination
    db.session.flush()
    return booking


def open_checkout(booking: Booking, gateway: PaymentGateway, **checkout) -> Booking:
    """Open the payment page of a new hold; if the provider fails, release the hold at once."""
    if booking.checkout_session_id is not None or booking.status is not BookingStatus.HELD:
        return booking
    try:
        return start_checkout(booking, gateway, **checkout)
    except DomainError:
        db.session.rollback()
        abandon_checkout(booking, checkout["now"])
        raise


def book(
    *,
    patient: User,
    service_id: uuid.UUID,
    start_at: datetime,
    location_id: uuid.UUID | None,
    idempotency_key: str | None,
    policy: BookingPolicy,
    gateway: PaymentGateway,
    return_urls: Callable[[Booking], tuple[str, str]],
    now: datetime,
) -> Booking:
    """Hold the slot and open its payment page: what `POST /bookings` and the Book button do.

    `return_urls(booking)` gives (success_url, cancel_url). The hold is committed before the
    provider is called: the practitioner's lock is not held across a network round trip, and
    a retry finds the booking by its key.
    """
    booking, _created = create_booking(
        patient=patient,
        service_id=service_id,
        start_at=start_at,
        location_id=location_id,
        idempotency_key=idempotency_key,
        now=now,
        policy=policy,
        payment_provider=gateway.name,
    )
    db.session.commit()
    success_url, cancel_url = return_urls(booking)
    try:
        open_checkout(
            booking,
            gateway,
            patient_email=patient.email,
            success_url=success_url,
            cancel_url=cancel_url,
            now=now,
        )
    finally:
        # Either the session, or (the provider failed) the released hold.
        db.session.commit()
    return booking


def checkout_cancel_token(booking: Booking) -> str:
    """The signed token in the provider's cancel link: proof the patient came from checkout."""
    return _cancel_signer().dumps(str(booking.id))


def booking_for_cancel_token(booking_id: uuid.UUID, token: str) -> Booking | None:
    try:
        signed_id = _cancel_signer().loads(token, max_age=CANCEL_LINK_MAX_AGE)
    except BadSignature:
        return None
    return db.session.get(Booking, booking_id) if signed_id == str(booking_id) else None


def _cancel_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="checkout-cancel")


def cancel_checkout(booking: Booking, now: datetime) -> Booking:
    """The patient left the provider's page with Cancel: free the slot at once."""
    expire_hold(booking, now)
    if booking.status is BookingStatus.EXPIRED and booking.checkout_session_id:
        after_commit(db.session, partial(expire_checkout_session, booking.checkout_session_id))
    return booking


def abandon_checkout(booking: Booking, now: datetime) -> None:
    """The payment page failed to open: free the slot at once.

    The Idempotency-Key is released too, so the client's retry makes a fresh attempt instead
    of getting this dead hold back.
    """
    booking.idempotency_key = None
    expire_hold(booking, now)


# --- reading -------------------------------------------------------------------------------


def visible_bookings(user: User) -> sa.Select:
    """The bookings a user may see: their own, their listing's, or all for admins."""
    query = sa.select(Booking)
    if user.role is Role.PATIENT:
        return query.where(Booking.patient_id == user.id)
    if user.role is Role.PRACTITIONER:
        return query.join(Practitioner, Practitioner.id == Booking.practitioner_id).where(
            Practitioner.owner_id == user.id
        )
    return query


def list_bookings(
    user: User,
    *,
    status: BookingStatus | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
) -> sa.Select:
    query = visible_bookings(user)
    if status is not None:
        query = query.where(Booking.status == status)
    if start_from is not None:
        query = query.where(Booking.start_at >= start_from)
    if start_to is not None:
        query = query.where(Booking.start_at < start_to)
    return query.order_by(Booking.start_at, Booking.id)


def practitioner_calendar(
    user: User, listing: Practitioner, first_day: date | None, last_day: date | None
) -> sa.Select:
    """A practitioner's bookings starting on the listing's local dates `first_day`..`last_day`."""
    zone = zone_of(listing)
    start_from = to_instant(first_day, time(0), zone) if first_day else None
    start_to = to_instant(last_day + timedelta(days=1), time(0), zone) if last_day else None
    return list_bookings(user, start_from=start_from, start_to=start_to)


def get_booking_for(user: User, booking_id: uuid.UUID) -> Booking:
    """A booking the user may see; anyone else's is indistinguishable from absent."""
    booking = db.session.scalar(visible_bookings(user).where(Booking.id == booking_id))
    if booking is None:
        raise NotFound("No such booking.")
    return booking


def is_patient_of(user: User, booking: Booking) -> bool:
    return user.id == booking.patient_id


def is_practitioner_of(user: User, booking: Booking) -> bool:
    listing = db.session.get(Practitioner, booking.practitioner_id)
    return listing is not None and listing.owner_id == user.id


# --- money ---------------------------------------------------------------------------------


def refund(
    booking: Booking,
    amount_cents: int,
    gateway: PaymentGateway,
    actor: User | None,
    reason: str,
) -> None:
    """Give money back through the gateway; the key makes a retried refund harmless."""
    if amount_cents <= 0:
        return
    amount_cents = min(amount_cents, booking.price_cents - booking.refund_cents)
    if amount_cents <= 0:
        return
    sequence = booking.refund_count + 1
    result = gateway.refund(
        payment_intent_id=booking.payment_intent_id,
        amount_cents=amount_cents,
        idempotency_key=f"refund-{booking.id}-{sequence}",
        reverse_transfer=booking.transfer_destination is not None,
    )
    before = booking_state(booking)
    booking.refund_count = sequence
    booking.refund_cents += result.amount_cents
    _reduce_owed_payout(booking)
    audit.record(
        actor_id=actor.id if actor else None,
        action="payment.refund",
        target_type="booking",
        target_id=booking.id,
        before=before,
        after={
            **booking_state(booking),
            "refund_id": result.id,
            "amount_cents": result.amount_cents,
            "reason": reason,
        },
    )


def _reduce_owed_payout(booking: Booking) -> None:
    """The platform held the whole charge; what it still owes shrinks with each refund."""
    if booking.transfer_destination is None and is_paid(booking):
        owed_share = booking.price_cents - booking.platform_fee_cents
        booking.payout_owed_cents = max(0, owed_share - booking.refund_cents)


def is_paid(booking: Booking) -> bool:
    return booking.paid_at is not None


# --- lifecycle -----------------------------------------------------------------------------


def patient_refund_for(booking: Booking, listing: Practitioner, now: datetime) -> int:
    """The refund a patient's cancellation earns under the listing's policy."""
    if now >= booking.start_at:
        raise Conflict("The appointment has started; it can no longer be cancelled.")
    if booking.start_at - now >= timedelta(hours=listing.free_cancellation_hours):
        return booking.price_cents
    return late_cancellation_refund(booking.price_cents, listing.late_cancellation_fee_percent)


def cancel_booking(
    booking: Booking,
    actor: User,
    reason: str,
    now: datetime,
    gateway: PaymentGateway,
) -> Booking:
    """Cancel as the patient (refund by policy) or the practitioner (always in full)."""
    lock_booking(booking)
    if booking.status not in ACTIVE_STATUSES:
        raise Conflict(f"A {booking.status.value} booking cannot be cancelled.")
    listing = db.session.get(Practitioner, booking.practitioner_id)
    if is_patient_of(actor, booking):
        refund_cents = patient_refund_for(booking, listing, now)
    elif listing.owner_id == actor.id:
        refund_cents = booking.price_cents
    else:
        raise NotPermitted("Only the patient or the practitioner can cancel.")
    before = booking_state(booking)
    was_held = booking.status is BookingStatus.HELD
    booking.move_to(BookingStatus.CANCELLED)
    booking.cancelled_at = now
    booking.cancelled_by_id = actor.id
    booking.cancellation_reason = reason
    if is_paid(booking):
        refund(booking, refund_cents, gateway, actor, "cancellation")
    _audit(booking, actor, "booking.cancel", before)
    notify.booking_cancelled(booking)
    if was_held and booking.checkout_session_id:
        after_commit(db.session, partial(expire_checkout_session, booking.checkout_session_id))
    db.session.flush()
    reindex_listing(booking.practitioner_id, now)
    return booking


def reschedule_refusal(booking: Booking, listing: Practitioner, now: datetime) -> str | None:
    """Why the patient may not move this booking now, or None when they may."""
    if not booking.is_active(now):
        return f"A {booking.status.value} booking cannot be rescheduled."
    if booking.start_at - now < timedelta(hours=listing.free_cancellation_hours):
        return "Too close to the appointment to reschedule; cancel instead."
    return None


def reschedule_booking(
    booking: Booking, actor: User, new_start: datetime, now: datetime
) -> Booking:
    """Move a booking to another free slot of its service, keeping its id and payment."""
    if not is_patient_of(actor, booking):
        raise NotPermitted("Only the patient can reschedule.")
    lock_booking(booking)
    try:
        service, listing = _bookable(booking.service_id, refresh=True)
    except ValidationFailed:
        raise Conflict("This practitioner is not taking bookings for this service.") from None
    refusal = reschedule_refusal(booking, listing, now)
    if refusal:
        raise Conflict(refusal)
    expire_lapsed_holds(listing.id, now)
    _refuse_past(new_start, now)
    slot = find_slot(
        listing, service.duration_minutes, new_start, now, ignore_booking_id=booking.id
    )
    if slot is None:
        raise SlotUnavailable("That time is not free. Pick another slot.")
    before = booking_state(booking)
    # The move is a new appointment: it blocks by today's buffers, which the slot was checked
    # against.
    booking.start_at, booking.end_at = slot.start_at, slot.end_at
    booking.location_id = slot.location_id
    booking.blocked_start_at = slot.start_at - timedelta(minutes=listing.buffer_before_minutes)
    booking.blocked_end_at = slot.end_at + timedelta(minutes=listing.buffer_after_minutes)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable("That time was just taken. Pick another slot.") from None
    _audit(booking, actor, "booking.reschedule", before)
    notify.booking_rescheduled(booking)
    reindex_listing(booking.practitioner_id, now)
    return booking


def finish_booking(booking: Booking, actor: User, outcome: BookingStatus, now: datetime) -> Booking:
    """The practitioner records that the appointment happened (completed) or not (no_show)."""
    if not is_practitioner_of(actor, booking):
        raise NotPermitted("Only the booking's practitioner can do this.")
    lock_booking(booking)
    if not booking.can_be_finished(now):
        if booking.status is not BookingStatus.CONFIRMED:
            raise Conflict(f"A {booking.status.value} booking cannot be marked {outcome.value}.")
        raise Conflict("The appointment has not started yet.")
    before = booking_state(booking)
    booking.move_to(outcome)
    booking.completed_at = now
    _audit(booking, actor, f"booking.{outcome.value}", before)
    db.session.flush()
    return booking


# --- payment outcomes (called by verified provider events only) ------------------------------


def _slot_still_free(booking: Booking, now: datetime) -> bool:
    listing = db.session.get(Practitioner, booking.practitioner_id)
    service = db.session.get(Service, booking.service_id)
    return (
        listing.status is ListingStatus.APPROVED
        and find_slot(
            listing,
            service.duration_minutes,
            booking.start_at,
            now,
            booking.location_id,
            ignore_booking_id=booking.id,
        )
        is not None
    )


def confirm_payment(
    booking: Booking, payment_intent_id: str | None, now: datetime, gateway: PaymentGateway
) -> Booking:
    """A payment succeeded: confirm the booking, or refund it in full if its slot is gone."""
    lock_booking(booking)
    if is_paid(booking):
        return booking  # the same payment reported again, perhaps under another event id
    expire_lapsed_holds(booking.practitioner_id, now)
    db.session.refresh(booking)
    before = booking_state(booking)
    booking.paid_at = now
    booking.payment_intent_id = payment_intent_id or booking.payment_intent_id
    if booking.transfer_destination is None:
        booking.payout_owed_cents = booking.price_cents - booking.platform_fee_cents
    audit.record(
        actor_id=None,
        action="payment.capture",
        target_type="booking",
        target_id=booking.id,
        before=before,
        after={
            **booking_state(booking),
            "payment_intent_id": booking.payment_intent_id,
            "transfer_destination": booking.transfer_destination,
            "payout_owed_cents": booking.payout_owed_cents,
        },
    )
    # A lapsed hold was expired just above; its slot may still be free, or taken meanwhile.
    if booking.status is BookingStatus.HELD or (
        booking.status is BookingStatus.EXPIRED and _slot_still_free(booking, now)
    ):
        booking.move_to(BookingStatus.CONFIRMED)
        booking.confirmed_at = now
        _audit(booking, None, "booking.confirm", before)
        notify.booking_confirmed(booking)
        db.session.flush()
        reindex_listing(booking.practitioner_id, now)
        return booking
    if booking.status is not BookingStatus.CANCELLED:
        booking.move_to(BookingStatus.CANCELLED)
        booking.cancelled_at = now
        booking.cancellation_reason = (
            "Paid after the hold lapsed and the slot was taken: refunded in full."
        )
        _audit(booking, None, "booking.cancel", before)
    refund(booking, booking.price_cents, gateway, None, "slot no longer available")
    notify.late_payment_refunded(booking)
    db.session.flush()
    reindex_listing(booking.practitioner_id, now)
    return booking


def expire_hold(booking: Booking, now: datetime) -> Booking:
    """The checkout was abandoned or expired: free the slot (a paid booking is untouched)."""
    lock_booking(booking)
    if booking.status is BookingStatus.HELD:
        before = booking_state(booking)
        booking.move_to(BookingStatus.EXPIRED)
        booking.hold_expires_at = min(booking.hold_expires_at, now)
        _audit(booking, None, "booking.expire", before)
        db.session.flush()
        reindex_listing(booking.practitioner_id, now)
    return booking


def record_provider_refund(booking: Booking, refunded_cents: int) -> Booking:
    """A refund made outside the app (the Stripe dashboard): record the total refunded."""
    lock_booking(booking)
    if refunded_cents > booking.refund_cents:
        before = booking_state(booking)
        booking.refund_cents = min(refunded_cents, booking.price_cents)
        _reduce_owed_payout(booking)
        audit.record(
            actor_id=None,
            action="payment.external_refund",
            target_type="booking",
            target_id=booking.id,
            before=before,
            after=booking_state(booking),
        )
        notify.refund_issued(booking, booking.refund_cents - before["refund_cents"])
        db.session.flush()
    return booking


def flag_dispute(booking: Booking, dispute_id: str, now: datetime) -> Booking:
    """A card holder disputed the charge: flag the booking for admins."""
    lock_booking(booking)
    if booking.disputed_at is None:
        before = booking_state(booking)
        booking.disputed_at = now
        audit.record(
            actor_id=None,
            action="payment.dispute",
            target_type="booking",
            target_id=booking.id,
            before=before,
            after={**booking_state(booking), "dispute_id": dispute_id},
        )
        db.session.flush()
    return booking


def expire_all_lapsed_holds(now: datetime) -> list[Booking]:
    """Sweep every lapsed hold (the CLI runs this; creation also sweeps per practitioner)."""
    practitioner_ids = db.session.scalars(
        sa.select(Booking.practitioner_id)
        .where(Booking.status == BookingStatus.HELD, Booking.hold_expires_at <= now)
        .distinct()
    ).all()
    expired: list[Booking] = []
    for practitioner_id in practitioner_ids:
        lock_practitioner(practitioner_id)
        expired.extend(expire_lapsed_holds(practitioner_id, now))
        reindex_listing(practitioner_id, now)
    return expired


def booking_by_checkout_session(session_id: str) -> Booking | None:
    return db.session.scalar(sa.select(Booking).where(Booking.checkout_session_id == session_id))


def booking_by_payment_intent(payment_intent_id: str) -> Booking | None:
    return db.session.scalar(
        sa.select(Booking).where(Booking.payment_intent_id == payment_intent_id)
    )


def checkout_view(session_id: str) -> Mapping[str, Any] | None:
    """What the simulated checkout page shows."""
    booking = booking_by_checkout_session(session_id)
    if booking is None:
        return None
    service = db.session.get(Service, booking.service_id)
    listing = db.session.get(Practitioner, booking.practitioner_id)
    return {
        "booking": booking,
        "service": service,
        "listing": listing,
        "starts": local_time_label(booking, listing),
        "hold_until": local_clock(booking.hold_expires_at, listing.timezone),
    }


def local_time_label(booking: Booking, listing: Practitioner) -> str:
    """The appointment as the patient will experience it: the clinic's local time."""
    return local_full(booking.start_at, listing.timezone)
