"""Listings built over the public HTTP API, the way a practitioner and an admin build them."""

import uuid

PROFILE = {
    "display_name": "Dr Jane Citizen",
    "headline": "Trigger point therapy for buttock and sciatic-type pain",
    "bio": "Fifteen years of hands-on work with stubborn gluteal pain.",
    "profession": "Myotherapist",
    "registration_body": "Myotherapy Association Australia",
    "registration_number": "MAA-12345",
    "gender": "female",
    "languages": ["en", "zh"],
    "telehealth": True,
    "timezone": "Australia/Sydney",
    "slot_interval_minutes": 30,
    "buffer_before_minutes": 5,
    "buffer_after_minutes": 10,
    "min_notice_minutes": 240,
    "horizon_days": 90,
    "free_cancellation_hours": 48,
    "late_cancellation_fee_percent": 25,
}
LOCATION = {
    "name": "Surry Hills clinic",
    "address": "12 Crown St",
    "suburb": "Surry Hills",
    "state": "NSW",
    "postcode": "2010",
    "country": "AU",
    "latitude": -33.8861,
    "longitude": 151.2111,
}
SERVICE = {
    "therapy": "trigger-point-therapy",
    "name": "Initial consultation",
    "duration_minutes": 60,
    "price_cents": 12000,
    "currency": "AUD",
}

PROFILE_URL = "/api/v1/practitioner/profile"
LOCATIONS_URL = "/api/v1/practitioner/locations"
SERVICES_URL = "/api/v1/practitioner/services"
SUBMIT_URL = "/api/v1/practitioner/submit"
STATUSES = ("draft", "pending", "approved", "rejected", "suspended")


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def get_profile(client, headers) -> dict:
    return _ok(client.get(PROFILE_URL, headers=headers))


def put_profile(client, headers, **changes) -> dict:
    return _ok(client.put(PROFILE_URL, json={**PROFILE, **changes}, headers=headers))


def add_location(client, headers, **changes) -> dict:
    return _ok(client.post(LOCATIONS_URL, json={**LOCATION, **changes}, headers=headers), 201)


def add_service(client, headers, **changes) -> dict:
    return _ok(client.post(SERVICES_URL, json={**SERVICE, **changes}, headers=headers), 201)


def build_listing(client, headers, *, therapy: str = "trigger-point-therapy", **profile) -> dict:
    """A complete draft listing (profile, one location, one service); returns the profile."""
    put_profile(client, headers, **profile)
    add_location(client, headers)
    add_service(client, headers, therapy=therapy)
    return get_profile(client, headers)


def submit(client, headers) -> dict:
    return _ok(client.post(SUBMIT_URL, headers=headers))


def review(client, admin, listing_id: str, action: str, reason: str | None = None) -> dict:
    """An admin's approve / reject / suspend / reinstate, which must succeed."""
    url = f"/api/v1/admin/listings/{listing_id}/{action}"
    body = {"reason": reason or f"Reason to {action}."} if action in ("reject", "suspend") else None
    return _ok(client.post(url, json=body, headers=admin))


def admin_listing(client, admin, listing_id: str) -> dict:
    return _ok(client.get(f"/api/v1/admin/listings/{listing_id}", headers=admin))


def listing_in_status(client, headers, admin, status: str, **build) -> dict:
    """A complete listing brought to `status` through the workflow; returns the owner's view."""
    assert status in STATUSES, status
    listing = build_listing(client, headers, **build)
    if status != "draft":
        submit(client, headers)
    if status in ("approved", "suspended"):
        review(client, admin, listing["id"], "approve")
    if status == "rejected":
        review(client, admin, listing["id"], "reject")
    if status == "suspended":
        review(client, admin, listing["id"], "suspend")
    listing = get_profile(client, headers)
    assert listing["status"] == status
    return listing


def approved_listing(client, headers, admin, **build) -> dict:
    return listing_in_status(client, headers, admin, "approved", **build)


def user_id(client, headers) -> str:
    return _ok(client.get("/api/v1/me", headers=headers))["id"]


def unknown_id() -> str:
    return str(uuid.uuid4())
