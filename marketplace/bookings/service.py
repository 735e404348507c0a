"""Booking rules: holding a slot, cancelling, rescheduling, recording the outcome, and the
sweep of lapsed holds. Payment outcomes, refunds and the payment page are in `payments/`;
reads are in `queries`.

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
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from marketplace import audit
from marketplace.accounts.models import User
from marketplace.availability.free_time import find_slot
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import mark_listing_changed
from marketplace.errors import (
    Conflict,
    NotPermitted,
    SlotUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from marketplace.extensions import db
from marketplace.locking import lock_booking, lock_practitioner
from marketplace.money import platform_fee
from marketplace.notifications import service as notify
from marketplace.payments.checkout import (
    close_checkout_after_commit,
    expire_lapsed_holds,
    open_checkout,
)
from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.refunds import refund
from marketplace.practitioners.models import Practitioner, Service

# Generous for a person, tight for a script sweeping a calendar into holds.
BOOKING_RATE_LIMIT = "20 per minute"


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


# --- holds ---------------------------------------------------------------------------------


def expire_all_lapsed_holds(now: datetime, gateway: PaymentGateway) -> list[Booking]:
    """Sweep every lapsed hold (the CLI runs this; booking also sweeps per practitioner)."""
    practitioner_ids = db.session.scalars(
        sa.select(Booking.practitioner_id).where(Booking.hold_lapsed(now)).distinct()
    ).all()
    expired: list[Booking] = []
    for practitioner_id in practitioner_ids:
        lock_practitioner(practitioner_id)
        expired.extend(expire_lapsed_holds(practitioner_id, now, gateway))
        mark_listing_changed(db.session, practitioner_id, now)
    return expired


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


def bookable_service(
    service_id: uuid.UUID, *, refresh: bool = False
) -> tuple[Service, Practitioner]:
    """The service and its listing, if the public may book it (checked again under the
    lock, with `refresh`)."""
    service = db.session.get(Service, service_id)
    if service is not None and refresh:
        db.session.refresh(service)
    if service is None or service.deleted_at is not None:
        raise ValidationFailed("Unknown service.", {"service_id": ["No such service."]})
    listing = db.session.get(Practitioner, service.practitioner_id)
    if refresh:
        db.session.refresh(listing)
    if not listing.is_public:
        raise ValidationFailed("Unknown service.", {"service_id": ["No such service."]})
    if not service.active:
        raise Conflict("This service is not currently offered.")
    return service, listing


def _open_holds(patient: User, now: datetime) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.patient_id == patient.id,
            Booking.awaiting_payment(now),
        )
    )


def _refuse_past(start_at: datetime, now: datetime) -> None:
    if start_at <= now:
        raise SlotUnavailable("That time has already passed. Pick a later slot.")


def _blocked_span(listing: Practitioner, start_at: datetime, end_at: datetime) -> dict:
    """The calendar span a booking blocks: the listing's buffers at the time it is made."""
    return {
        "blocked_start_at": start_at - timedelta(minutes=listing.buffer_before_minutes),
        "blocked_end_at": end_at + timedelta(minutes=listing.buffer_after_minutes),
    }


def create_booking(
    *,
    patient: User,
    service_id: uuid.UUID,
    start_at: datetime,
    location_id: uuid.UUID | None,
    idempotency_key: str | None,
    now: datetime,
    policy: BookingPolicy,
    gateway: PaymentGateway,
) -> tuple[Booking, bool]:
    """Hold a free slot for a patient until payment through `gateway`; returns (booking,
    created).

    The same Idempotency-Key with the same request returns the first booking unchanged.
    """
    fingerprint = request_fingerprint(service_id, start_at, location_id)
    if idempotency_key:
        existing = _idempotent_replay(patient, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    service, listing = bookable_service(service_id)
    if _open_holds(patient, now) >= policy.max_open_holds:
        raise TooManyRequests(
            f"You already have {policy.max_open_holds} unpaid bookings: "
            "pay for or cancel one first."
        )
    lock_practitioner(listing.id)
    service, listing = bookable_service(service_id, refresh=True)
    expire_lapsed_holds(listing.id, now, gateway)
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
        **_blocked_span(listing, slot.start_at, slot.end_at),
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
        payment_provider=gateway.name,
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
    audit.record_booking(booking, patient, "booking.hold", None)
    mark_listing_changed(db.session, listing.id, now)
    return booking, True


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

    `return_urls(booking)` gives where the page sends the patient back: (paid, cancelled).
    The hold is committed before the provider is called: the practitioner's lock is not held
    across a network round trip, and a retry finds the booking by its key.
    """
    booking, _created = create_booking(
        patient=patient,
        service_id=service_id,
        start_at=start_at,
        location_id=location_id,
        idempotency_key=idempotency_key,
        now=now,
        policy=policy,
        gateway=gateway,
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


# --- lifecycle -----------------------------------------------------------------------------


def cancel_booking(
    booking: Booking,
    actor: User,
    reason: str,
    now: datetime,
    gateway: PaymentGateway,
) -> Booking:
    """Cancel as the patient (refund by policy) or the practitioner (always in full)."""
    lock_booking(booking)
    refusal = booking.cancellation_refusal(actor, now)
    if refusal is not None:
        raise refusal
    refund_cents = booking.cancellation_refund(actor, now)
    before = booking.audit_state()
    was_held = booking.status is BookingStatus.HELD
    booking.cancel(actor, reason, now)
    if booking.is_paid:
        refund(booking, refund_cents, gateway, actor, "cancellation")
    audit.record_booking(booking, actor, "booking.cancel", before)
    notify.booking_cancelled(booking)
    if was_held:
        close_checkout_after_commit(booking, gateway)
    db.session.flush()
    mark_listing_changed(db.session, booking.practitioner_id, now)
    return booking


def reschedule_booking(
    booking: Booking, actor: User, new_start: datetime, now: datetime, gateway: PaymentGateway
) -> Booking:
    """Move a booking to another free slot of its service, keeping its id and payment."""
    if not booking.is_patient(actor):
        raise NotPermitted("Only the patient can reschedule.")
    lock_booking(booking)
    try:
        service, listing = bookable_service(booking.service_id, refresh=True)
    except ValidationFailed:
        raise Conflict("This practitioner is not taking bookings for this service.") from None
    refusal = booking.reschedule_refusal(now)
    if refusal:
        raise Conflict(refusal)
    expire_lapsed_holds(listing.id, now, gateway)
    _refuse_past(new_start, now)
    slot = find_slot(
        listing, service.duration_minutes, new_start, now, ignore_booking_id=booking.id
    )
    if slot is None:
        raise SlotUnavailable("That time is not free. Pick another slot.")
    before = booking.audit_state()
    # The move is a new appointment: it blocks by today's buffers, which the slot was checked
    # against.
    booking.start_at, booking.end_at = slot.start_at, slot.end_at
    booking.location_id = slot.location_id
    for name, value in _blocked_span(listing, slot.start_at, slot.end_at).items():
        setattr(booking, name, value)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable("That time was just taken. Pick another slot.") from None
    audit.record_booking(booking, actor, "booking.reschedule", before)
    notify.booking_rescheduled(booking)
    mark_listing_changed(db.session, booking.practitioner_id, now)
    return booking


def finish_booking(booking: Booking, actor: User, outcome: BookingStatus, now: datetime) -> Booking:
    """The practitioner records that the appointment happened (completed) or not (no_show)."""
    if not booking.is_practitioner(actor):
        raise NotPermitted("Only the booking's practitioner can do this.")
    lock_booking(booking)
    before = booking.audit_state()
    booking.finish(outcome, now)
    audit.record_booking(booking, actor, f"booking.{outcome.value}", before)
    db.session.flush()
    return booking
