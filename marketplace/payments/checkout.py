"""A held booking's payment page, and how its hold ends when the page does.

The words: a booking *holds* its slot until paid; the provider's *checkout* is the payment
page. `open_checkout` opens it. A hold *expires*: when its time runs out
(`expire_lapsed_holds`), or first, by `release_hold`, when its checkout ends
unpaid (the patient left with Cancel, the provider's session expired, or the page never
opened). `gateway.expire_checkout` closes the provider's page so it takes no late payment.
"""

import uuid
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace import audit
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import after_commit, mark_listing_changed
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.formatting import local_full
from marketplace.locking import lock_booking
from marketplace.payments.gateway import CheckoutRequest, PaymentGateway

# Stripe sessions last 24 hours at most; so does the way back from one.
CANCEL_LINK_MAX_AGE = 24 * 60 * 60


def open_checkout(
    booking: Booking,
    gateway: PaymentGateway,
    *,
    patient_email: str,
    success_url: str,
    cancel_url: str,
    now: datetime,
) -> Booking:
    """Open the payment page of a held booking, once (a retry finds the first). If the
    provider fails, the hold is released at once, and its Idempotency-Key with it, so the
    client's retry makes a fresh attempt instead of getting this dead hold back."""
    if booking.checkout_session_id is not None or booking.status is not BookingStatus.HELD:
        return booking
    listing = booking.listing
    destination = listing.stripe_account_id if listing.charges_enabled else None
    # Stripe refuses sessions that expire in under 30 minutes; our own hold is what counts.
    expires_at = max(booking.hold_expires_at, now + timedelta(minutes=31))
    request = CheckoutRequest(
        booking_id=str(booking.id),
        service_name=booking.service.name,
        description=f"{listing.display_name}, {local_full(booking.start_at, listing.timezone)}",
        amount_cents=booking.price_cents,
        currency=booking.currency,
        patient_email=patient_email,
        application_fee_cents=booking.platform_fee_cents,
        destination_account=destination,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=int(expires_at.timestamp()),
    )
    try:
        session = gateway.create_checkout(request)
    except DomainError:
        db.session.rollback()
        booking.idempotency_key = None
        release_hold(booking, now, gateway)
        raise
    booking.checkout_session_id = session.id
    booking.checkout_url = session.url
    booking.transfer_destination = destination
    db.session.flush()
    return booking


def expire_lapsed_holds(
    practitioner_id: uuid.UUID, now: datetime, gateway: PaymentGateway
) -> list[Booking]:
    """Mark this practitioner's lapsed holds expired (they stopped blocking when they lapsed),
    and close their payment pages once this commits. The caller holds the practitioner's
    lock."""
    lapsed = list(
        db.session.scalars(
            sa.select(Booking).where(
                Booking.practitioner_id == practitioner_id, Booking.hold_lapsed(now)
            )
        )
    )
    for booking in lapsed:
        before = booking.audit_state()
        booking.expire(now)
        audit.record_booking(booking, None, "booking.expire", before)
        close_checkout_after_commit(booking, gateway)
    db.session.flush()
    return lapsed


def release_hold(
    booking: Booking, now: datetime, gateway: PaymentGateway, *, close_checkout: bool = False
) -> Booking:
    """The checkout ended unpaid: the hold expires now and frees the slot (a booking paid
    meanwhile is untouched). `close_checkout`: the provider's page may still be open (the
    patient walked away from it), so it is closed too once this commits."""
    lock_booking(booking)
    if booking.status is not BookingStatus.HELD:
        return booking
    before = booking.audit_state()
    booking.expire(now)
    audit.record_booking(booking, None, "booking.expire", before)
    if close_checkout:
        close_checkout_after_commit(booking, gateway)
    db.session.flush()
    mark_listing_changed(db.session, booking.practitioner_id, now)
    return booking


def close_checkout_after_commit(booking: Booking, gateway: PaymentGateway) -> None:
    """Once this transaction commits, close the booking's provider page, which outlives our
    hold (Stripe's last 30 minutes at least), so it takes no payment for a freed slot."""
    if booking.checkout_session_id:
        after_commit(db.session, partial(gateway.expire_checkout, booking.checkout_session_id))


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


def booking_by_checkout_session(session_id: str) -> Booking | None:
    return db.session.scalar(sa.select(Booking).where(Booking.checkout_session_id == session_id))
