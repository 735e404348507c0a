"""Paying practitioners out: their Stripe Connect account and its onboarding."""

from marketplace import audit
from marketplace.extensions import db
from marketplace.payments.gateway import PaymentGateway
from marketplace.practitioners.models import Practitioner


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
