"""What the simulated gateway's payment page shows (its route is the payments blueprint's,
where the real provider's pages are stood in for)."""

from marketplace.formatting import local_clock, local_full
from marketplace.payments.checkout import booking_by_checkout_session


def checkout_view(session_id: str) -> dict | None:
    """What the simulated gateway's payment page shows of its booking."""
    booking = booking_by_checkout_session(session_id)
    if booking is None:
        return None
    listing = booking.listing
    return {
        "booking": booking,
        "service": booking.service,
        "listing": listing,
        "starts": local_full(booking.start_at, listing.timezone),
        "hold_until": local_clock(booking.hold_expires_at, listing.timezone),
    }
