"""The development gateway: a checkout page of this app stands in for Stripe's hosted one."""

import secrets

from flask import url_for

from marketplace.payments.gateway import CheckoutRequest, CheckoutSession, Refund


class SimulatedGateway:
    name = "simulated"

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        # Like Stripe's hosted page, the URL's unguessable session id is the only credential.
        session_id = f"sim_cs_{secrets.token_urlsafe(24)}"
        url = url_for("payments.simulated_checkout", session_id=session_id, _external=True)
        return CheckoutSession(id=session_id, url=url)

    def expire_checkout(self, session_id: str) -> None:
        """Nothing to tell: the page checks the booking's state itself."""

    def refund(self, *, payment_intent_id, amount_cents, idempotency_key, reverse_transfer):
        return Refund(id=f"sim_re_{idempotency_key}", amount_cents=amount_cents)

    def create_connect_account(self, *, email: str, country: str, idempotency_key: str) -> str:
        return f"acct_sim_{secrets.token_hex(8)}"

    def create_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        return url_for("payments.simulated_onboarding", account_id=account_id, _external=True)
