"""Verified payment events, applied at most once each, in any order, however late."""

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from marketplace import audit
from marketplace.bookings import service as bookings
from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.models import PaymentEvent
from marketplace.practitioners.models import Practitioner

log = logging.getLogger(__name__)

PROCESSED, DUPLICATE, IGNORED = "processed", "duplicate", "ignored"


def _booking_of_session(session: Mapping[str, Any]) -> Booking | None:
    booking = bookings.booking_by_checkout_session(session.get("id") or "")
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
    bookings.confirm_payment(booking, session.get("payment_intent"), now, gateway)
    return True


def _checkout_expired(session, now, gateway) -> bool:
    booking = _booking_of_session(session)
    if booking is None:
        return False
    bookings.expire_hold(booking, now)
    return True


def _charge_refunded(charge, now, gateway) -> bool:
    booking = bookings.booking_by_payment_intent(charge.get("payment_intent") or "")
    if booking is None:
        return False
    bookings.record_provider_refund(booking, int(charge.get("amount_refunded") or 0))
    return True


def _dispute_created(dispute, now, gateway) -> bool:
    booking = bookings.booking_by_payment_intent(dispute.get("payment_intent") or "")
    if booking is None:
        return False
    bookings.flag_dispute(booking, dispute.get("id", ""), now)
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


def ensure_connect_account(listing: Practitioner, email: str, gateway: PaymentGateway) -> str:
    """The listing's Connect account, created on first use (and only once)."""
    if not listing.stripe_account_id:
        country = listing.locations[0].country if listing.locations else "AU"
        listing.stripe_account_id = gateway.create_connect_account(
            email=email, country=country, idempotency_key=f"connect-{listing.id}"
        )
        audit.record(
            actor_id=listing.owner_id,
            action="payouts.account_created",
            target_type="practitioner",
            target_id=listing.id,
            before={"stripe_account_id": None},
            after={"stripe_account_id": listing.stripe_account_id},
        )
        db.session.flush()
    return listing.stripe_account_id
