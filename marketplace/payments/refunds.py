"""Giving a patient's money back through the gateway."""

from marketplace import audit
from marketplace.accounts.models import User
from marketplace.bookings.models import Booking
from marketplace.payments.gateway import PaymentGateway


def refund(
    booking: Booking,
    amount_cents: int,
    gateway: PaymentGateway,
    actor: User | None,
    reason: str,
) -> None:
    """Refund up to `amount_cents` of what is left of the charge; the key makes a retried
    refund harmless."""
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
    before = booking.audit_state()
    booking.refund_count = sequence
    booking.record_refund(booking.refund_cents + result.amount_cents)
    audit.record_booking(
        booking,
        actor,
        "payment.refund",
        before,
        refund_id=result.id,
        amount_cents=result.amount_cents,
        reason=reason,
    )
