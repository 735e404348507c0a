"""Verified payment events, applied at most once each, in any order, however late; and what
each means for its booking."""

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from marketplace import audit
from marketplace.availability.free_time import find_slot
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import mark_listing_changed
from marketplace.extensions import db
from marketplace.locking import lock_booking
from marketplace.notifications import service as notify
from marketplace.payments.checkout import (
    booking_by_checkout_session,
    expire_lapsed_holds,
    release_hold,
)
from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.models import PaymentEvent
from marketplace.payments.refunds import refund
from marketplace.practitioners.models import Practitioner

log = logging.getLogger(__name__)

PROCESSED, DUPLICATE, IGNORED = "processed", "duplicate", "ignored"


# --- what a payment means for its booking ------------------------------------------------------


def confirm_payment(
    booking: Booking, payment_intent_id: str | None, now: datetime, gateway: PaymentGateway
) -> Booking:
    """A payment succeeded: confirm the booking, or refund it in full if its slot is gone."""
    lock_booking(booking)
    if booking.is_paid:
        return booking  # the same payment reported again, perhaps under another event id
    # Every lapsed hold of the practitioner, this one included: on PostgreSQL the exclusion
    # constraint counts a held row as blocking whatever its expiry, so another lapsed hold on
    # this slot would refuse the confirmation below.
    expire_lapsed_holds(booking.practitioner_id, now, gateway)  # this one too, if lapsed
    before = booking.audit_state()
    booking.record_payment(payment_intent_id, now)
    audit.record_booking(
        booking,
        None,
        "payment.capture",
        before,
        payment_intent_id=booking.payment_intent_id,
        transfer_destination=booking.transfer_destination,
        payout_owed_cents=booking.payout_owed_cents,
    )
    # An expired hold's slot may still be free, or taken meanwhile.
    if booking.status is BookingStatus.HELD or (
        booking.status is BookingStatus.EXPIRED and _slot_still_free(booking, now)
    ):
        booking.confirm(now)
        audit.record_booking(booking, None, "booking.confirm", before)
        notify.booking_confirmed(booking)
    else:
        if booking.status is not BookingStatus.CANCELLED:
            booking.cancel(
                None, "Paid after the hold lapsed and the slot was taken: refunded in full.", now
            )
            audit.record_booking(booking, None, "booking.cancel", before)
        refund(booking, booking.price_cents, gateway, None, "slot no longer available")
        notify.late_payment_refunded(booking)
    db.session.flush()
    mark_listing_changed(db.session, booking.practitioner_id, now)
    return booking


def _slot_still_free(booking: Booking, now: datetime) -> bool:
    listing = booking.listing
    return (
        listing.is_public
        and find_slot(
            listing,
            booking.service.duration_minutes,
            booking.start_at,
            now,
            booking.location_id,
            ignore_booking_id=booking.id,
        )
        is not None
    )


def record_provider_refund(booking: Booking, refunded_cents: int) -> Booking:
    """A refund made outside the app (the Stripe dashboard): record the total refunded."""
    lock_booking(booking)
    if refunded_cents > booking.refund_cents:
        before = booking.audit_state()
        booking.record_refund(refunded_cents)
        audit.record_booking(booking, None, "payment.external_refund", before)
        notify.refund_issued(booking, booking.refund_cents - before["refund_cents"])
        db.session.flush()
    return booking


def flag_dispute(booking: Booking, dispute_id: str, now: datetime) -> Booking:
    """A card holder disputed the charge: flag the booking for admins."""
    lock_booking(booking)
    if booking.disputed_at is None:
        before = booking.audit_state()
        booking.disputed_at = now
        audit.record_booking(booking, None, "payment.dispute", before, dispute_id=dispute_id)
        db.session.flush()
    return booking


def booking_by_payment_intent(payment_intent_id: str) -> Booking | None:
    return db.session.scalar(
        sa.select(Booking).where(Booking.payment_intent_id == payment_intent_id)
    )


# --- the events ----------------------------------------------------------------------------------


def _booking_of_session(session: Mapping[str, Any]) -> Booking | None:
    booking = booking_by_checkout_session(session.get("id") or "")
    if booking is None:
        booking_id = (session.get("metadata") or {}).get("booking_id")
        try:
            booking = db.session.get(Booking, uuid.UUID(booking_id)) if booking_id else None
        except ValueError:
            booking = None
    return booking


def _checkout_completed(session, now, gateway) -> bool:
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return False  # an asynchronous method; its own success event follows
    booking = _booking_of_session(session)
    if booking is None:
        return False
    confirm_payment(booking, session.get("payment_intent"), now, gateway)
    return True


def _checkout_expired(session, now, gateway) -> bool:
    booking = _booking_of_session(session)
    if booking is None:
        return False
    release_hold(booking, now, gateway)
    return True


def _charge_refunded(charge, now, gateway) -> bool:
    booking = booking_by_payment_intent(charge.get("payment_intent") or "")
    if booking is None:
        return False
    record_provider_refund(booking, int(charge.get("amount_refunded") or 0))
    return True


def _dispute_created(dispute, now, gateway) -> bool:
    booking = booking_by_payment_intent(dispute.get("payment_intent") or "")
    if booking is None:
        return False
    flag_dispute(booking, dispute.get("id", ""), now)
    return True


def _account_updated(account, now, gateway) -> bool:
    listing = db.session.scalar(
        sa.select(Practitioner).where(Practitioner.stripe_account_id == account.get("id"))
    )
    if listing is None:
        return False
    enabled = bool(account.get("charges_enabled"))
    if listing.charges_enabled != enabled:
        audit.record(
            actor_id=None,
            action="payouts.charges_enabled",
            target_type="practitioner",
            target_id=listing.id,
            before={"charges_enabled": listing.charges_enabled},
            after={"charges_enabled": enabled},
        )
        listing.charges_enabled = enabled
    return True


HANDLERS: dict[str, Callable[[Mapping[str, Any], datetime, PaymentGateway], bool]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "checkout.session.expired": _checkout_expired,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "account.updated": _account_updated,
}


def process_event(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    now: datetime,
    gateway: PaymentGateway,
) -> str:
    """Apply one verified event; a replay of a stored event id changes nothing."""
    record = PaymentEvent(provider=provider, event_id=event_id, type=event_type, received_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except sa.exc.IntegrityError:
        return DUPLICATE
    handler = HANDLERS.get(event_type)
    applied = handler(payload, now, gateway) if handler else False
    if handler and not applied:
        log.warning("payment event %s (%s) matched nothing", event_id, event_type)
    record.processed_at = now
    db.session.flush()
    return PROCESSED if applied else IGNORED
