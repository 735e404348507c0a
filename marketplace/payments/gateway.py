"""The payment gateway interface and the data it passes; the implementations are in
`stripe_gateway` and `simulated`, chosen by `providers`."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CheckoutRequest:
    booking_id: str
    service_name: str
    description: str
    amount_cents: int
    currency: str
    patient_email: str
    application_fee_cents: int
    # The practitioner's Connect account when it can take charges; None keeps the payout owed.
    destination_account: str | None
    success_url: str
    cancel_url: str
    expires_at: int  # epoch seconds


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class Refund:
    id: str
    amount_cents: int


class PaymentGateway(Protocol):
    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def expire_checkout(self, session_id: str) -> None: ...

    def refund(
        self,
        *,
        payment_intent_id: str | None,
        amount_cents: int,
        idempotency_key: str,
        reverse_transfer: bool,
    ) -> Refund: ...

    def create_connect_account(self, *, email: str, country: str, idempotency_key: str) -> str: ...

    def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> str: ...
