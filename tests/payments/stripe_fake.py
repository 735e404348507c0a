"""Stripe's side of the wire for tests: a recording HTTP client and signed webhook events.

`RecordingStripeHTTP` replaces the stripe library's HTTP client, so `stripe.StripeClient` builds
real requests (URL, headers, form encoding, retries) and this class answers them with
Stripe-shaped JSON instead of the network. Each request is kept for assertions.
"""

import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import stripe


@dataclass
class RecordedRequest:
    method: str
    url: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    def param(self, name: str) -> str | None:
        """The single value of a form parameter (bracketed names as Stripe encodes them)."""
        values = self.form.get(name)
        if values is None:
            return None
        assert len(values) == 1, f"{name} sent {len(values)} times"
        return values[0]


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern
    status: int
    error: dict[str, Any]
    remaining: int | None  # None: every matching request fails


def stripe_error(
    status: int, code: str = "card_declined", message: str = "Your card was declined."
) -> dict[str, Any]:
    """Stripe's error body for a status: card errors for 402, request errors otherwise."""
    kind = {402: "card_error", 500: "api_error"}.get(status, "invalid_request_error")
    return {"error": {"type": kind, "code": code, "message": message}}


class RecordingStripeHTTP(stripe.HTTPClient):
    """Records every request the stripe library sends and answers like the Stripe API."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)

    # --- what the tests use ------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_pattern: str,
        status: int = 400,
        *,
        error: dict[str, Any] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests (path as a full-match regex) with a Stripe error."""
        self._failures.append(
            _Failure(
                method.upper(),
                re.compile(path_pattern),
                status,
                error or stripe_error(status),
                times,
            )
        )

    def heal(self) -> None:
        """Stop failing: every request succeeds again."""
        self._failures.clear()

    def calls(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        """The recorded requests of a method whose path fully matches the regex."""
        pattern = re.compile(path_pattern)
        return [
            r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)
        ]

    def only(self, method: str, path_pattern: str) -> RecordedRequest:
        """The one recorded request of a method and path; fails if there are more or none."""
        matching = self.calls(method, path_pattern)
        assert len(matching) == 1, [(r.method, r.path) for r in self.requests]
        return matching[0]

    # --- the stripe.HTTPClient interface -----------------------------------------------------

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        if isinstance(post_data, bytes):
            post_data = post_data.decode("utf-8")
        parts = urlsplit(url)
        form = parse_qs(post_data or parts.query or "", keep_blank_values=True)
        recorded = RecordedRequest(method.upper(), url, parts.path, dict(headers or {}), form)
        self.requests.append(recorded)
        for failure in self._failures:
            if failure.method == recorded.method and failure.pattern.fullmatch(recorded.path):
                if failure.remaining is not None:
                    if failure.remaining <= 0:
                        continue
                    failure.remaining -= 1
                return self._answer(failure.status, failure.error)
        body = self._respond(recorded)
        if body is None:
            return self._answer(404, stripe_error(404, "resource_missing", "No such route."))
        return self._answer(200, body)

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise NotImplementedError("the marketplace never streams from Stripe")

    def close(self) -> None:
        """Nothing to release."""

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # the library's retries are real; waiting between them is not needed here

    # --- Stripe-shaped answers ---------------------------------------------------------------

    def _answer(self, status: int, body: dict[str, Any]):
        headers = {"Content-Type": "application/json", "Request-Id": f"req_{next(self._ids)}"}
        return json.dumps(body), status, headers

    def _respond(self, request: RecordedRequest) -> dict[str, Any] | None:
        path, method = request.path, request.method
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = f"cs_test_{next(self._ids)}{uuid.uuid4().hex[:12]}"
            return {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(request.param("line_items[0][price_data][unit_amount]") or 0),
                "currency": request.param("line_items[0][price_data][currency]"),
                "customer_email": request.param("customer_email"),
                "expires_at": int(request.param("expires_at") or 0),
                "metadata": {"booking_id": request.param("metadata[booking_id]")},
                "payment_intent": None,
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            }
        expire = re.fullmatch(r"/v1/checkout/sessions/([^/]+)/expire", path)
        if method == "POST" and expire:
            return {
                "id": expire.group(1),
                "object": "checkout.session",
                "status": "expired",
                "url": None,
            }
        if method == "POST" and path == "/v1/refunds":
            return {
                "id": f"re_{next(self._ids)}{uuid.uuid4().hex[:12]}",
                "object": "refund",
                "amount": int(request.param("amount") or 0),
                "currency": "aud",
                "payment_intent": request.param("payment_intent"),
                "status": "succeeded",
            }
        if method == "POST" and path == "/v1/accounts":
            return {
                "id": f"acct_{next(self._ids)}{uuid.uuid4().hex[:12]}",
                "object": "account",
                "type": request.param("type"),
                "email": request.param("email"),
                "country": request.param("country"),
                "charges_enabled": False,
                "details_submitted": False,
            }
        if method == "POST" and path == "/v1/account_links":
            account = request.param("account")
            return {
                "object": "account_link",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
                "url": f"https://connect.stripe.com/setup/e/{account}/{uuid.uuid4().hex[:16]}",
            }
        return None


# --- webhooks ---------------------------------------------------------------------------------


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send: `t=...,v1=HMAC-SHA256`."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def stripe_event(event_type: str, data_object: dict[str, Any], event_id: str | None = None):
    """A Stripe event envelope around one API object."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": data_object},
    }


def checkout_session_object(
    session_id: str,
    booking_id: str,
    *,
    payment_status: str = "paid",
    payment_intent: str | None = None,
    status: str = "complete",
) -> dict[str, Any]:
    """The `checkout.session` object Stripe puts in checkout events."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": status,
        "payment_status": payment_status,
        "payment_intent": payment_intent,
        "client_reference_id": booking_id,
        "metadata": {"booking_id": booking_id},
    }


def post_event(client, event: dict[str, Any], secret: str, *, timestamp: int | None = None):
    """Deliver an event to the webhook endpoint, signed like Stripe signs it."""
    payload = json.dumps(event)
    return client.post(
        "/api/v1/webhooks/stripe",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(payload, secret, timestamp)},
    )
