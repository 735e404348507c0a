"""Reading helpers shared by the search tests: searching, places, the clock. What they search
is built by tests/factories.py."""

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SEARCH_URL = "/api/v1/practitioners"

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


def local_today(zone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(zone)).date()


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


def day_after(today: date, days: int) -> date:
    return today + timedelta(days=days)
