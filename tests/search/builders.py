"""Builders and reading helpers shared by the search tests."""

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner
from marketplace.search.index import reindex_listing

SEARCH_URL = "/api/v1/practitioners"
SERVICES_URL = "/api/v1/practitioner/services"
LOCATIONS_URL = "/api/v1/practitioner/locations"

# Open around the clock, every day of the week.
ALL_DAY = [(day, "00:00", "23:59") for day in range(7)]
# Sydney's Town Hall: the patient's position in the located tests.
ORIGIN = (-33.8688, 151.2093)
KM_PER_DEGREE_LAT = 6371.0088 * math.pi / 180

# Every module whose `utc_now` a request or a re-index reads.
CLOCK_MODULES = (
    "marketplace.db",
    "marketplace.search.routes",
    "marketplace.search.index",
    "marketplace.availability.routes",
    "marketplace.bookings.routes",
    "marketplace.payments.routes",
)


def north_of(km: float, origin: tuple[float, float] = ORIGIN) -> dict[str, float]:
    """Coordinates `km` kilometres due north of `origin` (a great-circle distance of `km`)."""
    return {"latitude": origin[0] + km / KM_PER_DEGREE_LAT, "longitude": origin[1]}


def search(client, **params) -> dict:
    """GET /practitioners, which must answer 200; returns the body."""
    response = client.get(SEARCH_URL, query_string=params)
    assert response.status_code == 200, (params, response.get_data(as_text=True))
    return response.get_json()


def slugs(client, **params) -> list[str]:
    return [item["slug"] for item in search(client, **params)["items"]]


def all_items(client, per_page: int = 7, **params) -> list[dict]:
    """Every item of a search, walking its pages; checks `total` against what was walked."""
    items: list[dict] = []
    page = 1
    while True:
        body = search(client, page=page, per_page=per_page, **params)
        items.extend(body["items"])
        if len(body["items"]) < per_page:
            break
        page += 1
    assert body["total"] == len(items), params
    return items


def add_service(client, headers, **fields) -> str:
    """A service added through the practitioner's own API; returns its id."""
    body = {
        "therapy": "trigger-point-therapy",
        "name": "Extra treatment",
        "duration_minutes": 60,
        "price_cents": 10000,
        "currency": "AUD",
        **fields,
    }
    response = client.post(SERVICES_URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def add_location(client, headers, latitude: float, longitude: float, name="Second") -> str:
    body = {
        "name": name,
        "address": "2 Side St",
        "suburb": "Elsewhere",
        "latitude": latitude,
        "longitude": longitude,
    }
    response = client.post(LOCATIONS_URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def set_rating(app, listing_id: uuid.UUID, average: float | None, count: int) -> None:
    """Ratings have no public API yet: write them and re-index, as a review would."""
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner)
            .where(Practitioner.id == listing_id)
            .values(rating_average=average, rating_count=count)
        )
        reindex_listing(listing_id)
        db.session.commit()


def local_today(zone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(zone)).date()


def parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def free_slots(client, listing_slug: str, service_id, first: date, last: date) -> list[dict]:
    response = client.get(
        f"/api/v1/practitioners/{listing_slug}/slots",
        query_string={"service_id": str(service_id), "from": first, "to": last},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def freeze_clock(monkeypatch, instant: datetime) -> None:
    """Stop the app's clock at `instant` for requests, re-indexing and the CLI alike."""
    for module in CLOCK_MODULES:
        monkeypatch.setattr(f"{module}.utc_now", lambda: instant)


def book(client, headers, service_id, start_at: str, key: str | None = None) -> dict:
    """Hold a slot as a patient; returns the 201 body (`booking`, `checkout_url`)."""
    response = client.post(
        "/api/v1/bookings",
        json={"service_id": str(service_id), "start_at": start_at},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def pay(client, checkout_url: str) -> None:
    response = client.post(checkout_url, data={"action": "pay"})
    assert response.status_code == 303, response.get_data(as_text=True)


def book_and_pay(client, headers, service_id, start_at: str) -> str:
    """A confirmed booking of the slot; returns its id."""
    created = book(client, headers, service_id, start_at)
    pay(client, created["checkout_url"])
    booking_id = created["booking"]["id"]
    response = client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert response.get_json()["status"] == "confirmed", response.get_json()
    return booking_id


def day_after(today: date, days: int) -> date:
    return today + timedelta(days=days)
