"""A patient holds a slot, pays on the simulated checkout page, and the slot is gone."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import create_listing


def first_slot(client, listing, days_ahead: int = 3):
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": day, "to": day + timedelta(days=7)},
    )
    return response.get_json()["items"][0]


@pytest.fixture
def listing(app):
    return create_listing(app, weekly_hours=[(day, "09:00", "17:00") for day in range(7)])


def test_hold_pay_and_confirm(app, client, auth, listing):
    patient = auth("patient")
    slot = first_slot(client, listing)
    response = client.post(
        "/api/v1/bookings",
        json={"service_id": str(listing.service_id), "start_at": slot["start_at"]},
        headers={**patient, "Idempotency-Key": "k1"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    booking = body["booking"]
    assert booking["status"] == "held"
    assert booking["price_cents"] == 12000
    assert booking["platform_fee_cents"] == 1200
    assert body["checkout_url"].startswith("http://localhost/checkout/sim_cs_")

    again = client.post(
        "/api/v1/bookings",
        json={"service_id": str(listing.service_id), "start_at": slot["start_at"]},
        headers={**patient, "Idempotency-Key": "k1"},
    )
    assert again.status_code == 201
    assert again.get_json()["booking"]["id"] == booking["id"]

    assert slot["start_at"] != first_slot(client, listing)["start_at"]

    page = client.get(body["checkout_url"])
    assert page.status_code == 200
    assert b"120.00 AUD" in page.data
    paid = client.post(body["checkout_url"], data={"action": "pay"})
    assert paid.status_code == 303
    confirmed = client.get(f"/api/v1/bookings/{booking['id']}", headers=patient).get_json()
    assert confirmed["status"] == "confirmed"

    cancelled = client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=patient)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["refund_cents"] == 12000
    assert slot["start_at"] == first_slot(client, listing)["start_at"]
