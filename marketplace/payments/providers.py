"""Choosing the payment gateway the app runs with, once, when the app is built."""

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.simulated import SimulatedGateway
from marketplace.payments.stripe_gateway import StripeGateway


def build_gateway(config: Mapping[str, Any]) -> PaymentGateway:
    """The gateway `PAYMENTS_PROVIDER` names."""
    provider = config["PAYMENTS_PROVIDER"]
    if provider == "stripe":
        return StripeGateway.from_config(config)
    if provider == "simulated":
        return SimulatedGateway()
    raise RuntimeError(f"unknown PAYMENTS_PROVIDER {provider!r}")


def init_payments(app: Flask) -> None:
    app.extensions["payment_gateway"] = build_gateway(app.config)


def get_gateway() -> PaymentGateway:
    """The app's gateway, built once by `init_payments` as the app is created."""
    return current_app.extensions["payment_gateway"]
