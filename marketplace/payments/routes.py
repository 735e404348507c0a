import json

import marshmallow as ma
import stripe
from flask import abort as html_abort
from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_smorest import Blueprint, abort

from marketplace.accounts.auth import cross_origin_exempt, practitioner_only
from marketplace.accounts.models import Role
from marketplace.bookings.models import BookingStatus
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.payments import checkout, payouts, webhooks
from marketplace.payments.providers import get_gateway
from marketplace.practitioners.service import get_listing_of
from marketplace.web.checkout import checkout_view
from marketplace.web.common import page_for

bp = Blueprint("payments", __name__, description="Payments, payouts and provider callbacks")


class OnboardingLinkSchema(ma.Schema):
    url = ma.fields.String()


# Stripe's own default; older signatures are refused as replays.
SIGNATURE_TOLERANCE_SECONDS = 300


@bp.route("/api/v1/webhooks/stripe", methods=["POST"])
@cross_origin_exempt
@bp.response(200)
def stripe_webhook():
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        abort(503, message="Webhooks are not configured.")
    payload = request.get_data()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            request.headers.get("Stripe-Signature", ""),
            secret,
            SIGNATURE_TOLERANCE_SECONDS,
        )
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
        payload_object = event["data"]["object"]
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        abort(400, message="Invalid webhook signature or payload.")
    outcome = webhooks.process_event(
        provider="stripe",
        event_id=event_id,
        event_type=event_type,
        payload=payload_object,
        now=utc_now(),
        gateway=get_gateway(),
    )
    db.session.commit()
    return {"received": True, "outcome": outcome}


@bp.route("/checkout/<session_id>", methods=["GET", "POST"])
@cross_origin_exempt
@bp.doc(hide=True)
def simulated_checkout(session_id: str):
    """The simulated gateway's hosted payment page (development and tests only)."""
    view = checkout_view(session_id)
    if view is None or view["booking"].payment_provider != "simulated":
        html_abort(404)
    if request.method == "POST":
        action = request.form.get("action")
        if action not in ("pay", "cancel"):
            html_abort(400)
        booking = view["booking"]
        if action == "pay" and booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED):
            # Like Stripe, an abandoned or expired session takes no payment.
            html_abort(409)
        event_type = "checkout.session.completed" if action == "pay" else "checkout.session.expired"
        webhooks.process_event(
            provider="simulated",
            event_id=f"{session_id}:{action}",
            event_type=event_type,
            payload={
                "id": session_id,
                "payment_status": "paid" if action == "pay" else "unpaid",
                "payment_intent": f"sim_pi_{booking.id.hex}" if action == "pay" else None,
                "metadata": {"booking_id": str(booking.id)},
            },
            now=utc_now(),
            gateway=get_gateway(),
        )
        db.session.commit()
        if action == "pay":
            # As Stripe's success_url does: the patient lands on the confirmation.
            return redirect(url_for("web.booking_done", booking_id=booking.id), 303)
        return redirect(url_for("payments.simulated_checkout", session_id=session_id), 303)
    return render_template("pages/checkout.html", **view, now=utc_now())


@bp.route("/bookings/<uuid:booking_id>/checkout-cancelled")
@cross_origin_exempt
@bp.doc(hide=True)
def checkout_cancelled(booking_id):
    """Where the provider's Cancel button leads: the hold is released at once."""
    booking = checkout.booking_for_cancel_token(booking_id, request.args.get("token", ""))
    if booking is None:
        html_abort(404)
    checkout.release_hold(booking, utc_now(), get_gateway(), close_checkout=True)
    db.session.commit()
    return render_template("pages/checkout_cancelled.html", booking=booking)


@bp.route("/payouts/simulated-onboarding/<account_id>", methods=["GET", "POST"])
@cross_origin_exempt
@bp.doc(hide=True)
def simulated_onboarding(account_id: str):
    """Stands in for Stripe's Express onboarding: finishing it enables charges."""
    if current_app.config["PAYMENTS_PROVIDER"] != "simulated" or not account_id.startswith(
        "acct_sim_"
    ):
        html_abort(404)
    if request.method == "POST":
        webhooks.process_event(
            provider="simulated",
            event_id=f"{account_id}:onboarded",
            event_type="account.updated",
            payload={"id": account_id, "charges_enabled": True},
            now=utc_now(),
            gateway=get_gateway(),
        )
        db.session.commit()
    return render_template(
        "pages/onboarding.html", account_id=account_id, done=request.method == "POST"
    )


@bp.route("/api/v1/practitioner/payouts/onboarding", methods=["POST"])
@practitioner_only
@bp.response(200, OnboardingLinkSchema)
def payout_onboarding():
    listing = get_listing_of(current_user)
    gateway = get_gateway()
    account_id = payouts.ensure_connect_account(listing, current_user.email, gateway)
    db.session.commit()
    return {"url": onboarding_link(gateway, account_id)}


def onboarding_link(gateway, account_id: str) -> str:
    """A fresh Stripe-hosted onboarding link for the account (they expire within minutes)."""
    return gateway.create_onboarding_link(
        account_id=account_id,
        refresh_url=url_for("payments.payout_onboarding_refresh", _external=True),
        return_url=url_for("payments.payout_onboarding_return", _external=True),
    )


def checkout_return_urls(booking) -> tuple[str, str]:
    """Where the payment page sends the patient: the confirmation, or back, with a signed
    link, to release the hold."""
    return (
        url_for("web.booking_done", booking_id=booking.id, _external=True),
        url_for(
            "payments.checkout_cancelled",
            booking_id=booking.id,
            token=checkout.checkout_cancel_token(booking),
            _external=True,
        ),
    )


@bp.route("/payouts/refresh")
@bp.doc(hide=True)
@page_for(Role.PRACTITIONER)
def payout_onboarding_refresh():
    """Stripe sends an expired onboarding link here: the practitioner gets a new one."""
    listing = get_listing_of(current_user)
    if not listing.stripe_account_id:
        return redirect(url_for("dashboard.payouts"), 303)
    url = onboarding_link(get_gateway(), listing.stripe_account_id)
    db.session.commit()
    return redirect(url, 303)


@bp.route("/payouts/return")
@bp.doc(hide=True)
@page_for(Role.PRACTITIONER)
def payout_onboarding_return():
    """Back from Stripe; payouts switch on when Stripe reports the account can take charges."""
    listing = get_listing_of(current_user)
    return render_template("pages/payouts.html", listing=listing)
