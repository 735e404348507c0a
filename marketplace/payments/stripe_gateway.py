"""Stripe: Checkout Sessions with Connect destination charges, refunds, Express onboarding."""

import time
from collections.abc import Mapping
from typing import Any

import stripe

from marketplace.errors import PaymentFailed
from marketplace.payments.gateway import CheckoutRequest, CheckoutSession, Refund


class StripeGateway:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http_client: Any = None) -> "StripeGateway":
        options: dict[str, Any] = {"max_network_retries": 2}
        if config.get("STRIPE_API_BASE"):
            options["base_addresses"] = {"api": config["STRIPE_API_BASE"]}
        if http_client is not None:
            options["http_client"] = http_client
        return cls(stripe.StripeClient(config["STRIPE_SECRET_KEY"], **options))

    def _call(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except stripe.StripeError as error:
            raise PaymentFailed(
                f"The payment provider refused: {error.user_message or error}"
            ) from error

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        payment_intent_data: dict[str, Any] = {"metadata": {"booking_id": request.booking_id}}
        if request.destination_account:
            payment_intent_data["application_fee_amount"] = request.application_fee_cents
            payment_intent_data["transfer_data"] = {"destination": request.destination_account}
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_cents,
                        "product_data": {
                            "name": request.service_name,
                            "description": request.description,
                        },
                    },
                }
            ],
            "customer_email": request.patient_email,
            "client_reference_id": request.booking_id,
            "metadata": {"booking_id": request.booking_id},
            "payment_intent_data": payment_intent_data,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at,
        }
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": f"checkout-{request.booking_id}"},
        )
        return CheckoutSession(id=session.id, url=session.url)

    def expire_checkout(self, session_id: str) -> None:
        try:
            self.client.v1.checkout.sessions.expire(
                session_id, options={"idempotency_key": f"expire-{session_id}"}
            )
        except stripe.InvalidRequestError:
            # Already completed or expired: nothing left to stop.
            pass
        except stripe.StripeError as error:
            raise PaymentFailed(str(error)) from error

    def refund(self, *, payment_intent_id, amount_cents, idempotency_key, reverse_transfer):
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount_cents}
        if reverse_transfer:
            params["reverse_transfer"] = True
            params["refund_application_fee"] = True
        refund = self._call(
            self.client.v1.refunds.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return Refund(id=refund.id, amount_cents=refund.amount)

    def create_connect_account(self, *, email: str, country: str, idempotency_key: str) -> str:
        account = self._call(
            self.client.v1.accounts.create,
            params={
                "type": "express",
                "email": email,
                "country": country,
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
            },
            options={"idempotency_key": idempotency_key},
        )
        return account.id

    def create_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        # A link is single-use and short-lived; a retry within the minute gets the same one.
        minute = int(time.time()) // 60
        link = self._call(
            self.client.v1.account_links.create,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            options={"idempotency_key": f"account-link-{account_id}-{minute}"},
        )
        return link.url
