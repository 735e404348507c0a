from datetime import UTC, date, datetime, timedelta

from tests.factories import create_listing


def next_weekday(weekday: int, after: date | None = None) -> date:
    day = (after or datetime.now(UTC).date()) + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def test_slots_of_an_approved_listing(app, client):
    listing = create_listing(app, timezone="Australia/Sydney", slot_interval_minutes=30)
    monday = next_weekday(0)
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "from": monday, "to": monday},
    )
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert len(items) == 15  # 09:00 .. 16:00 every 30 minutes for a 60-minute service
    first = datetime.fromisoformat(items[0]["start_at"])
    assert first.utcoffset() == timedelta(0)
    assert items[0]["location_id"] == str(listing.location_id)
