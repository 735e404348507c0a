"""What a listing's search rows say, and the edits that must rewrite them."""

from datetime import UTC, date, datetime, timedelta

from marketplace.search.index import bookable_days, next_slots
from tests.factories import LOCATIONS_URL, create_listing
from tests.search.helpers import ORIGIN, north_of, search

TODAY = date(2026, 12, 1)
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def row(minutes: int, days_ahead: int, first_hour: int, last_hour: int) -> dict:
    day = TODAY + timedelta(days=days_ahead)
    first = datetime(day.year, day.month, day.day, first_hour, tzinfo=UTC)
    last = datetime(day.year, day.month, day.day, last_hour, tzinfo=UTC)
    notice = timedelta(hours=1)
    return {
        "duration_minutes": minutes,
        "day": day,
        "first_slot_at": first,
        "last_slot_at": last,
        "first_bookable_until": first - notice,
        "last_bookable_until": last - notice,
    }


def test_bookable_days_of_any_and_of_every_service():
    rows = [
        row(30, 0, 13, 16),
        row(60, 0, 13, 15),
        row(30, 1, 9, 17),  # only the short service fits tomorrow
        row(30, 3, 9, 17),
        row(60, 3, 10, 12),
    ]
    columns = bookable_days(rows, TODAY, [30, 60])
    # A character a day from today: tomorrow only the short service fits, day 2 has none.
    assert columns["days_any"] == "1101"
    assert columns["days_every"] == "1001"
    assert columns["base_day_any_until"] == rows[0]["last_bookable_until"]
    assert columns["base_day_every_until"] == rows[1]["last_bookable_until"]
    assert columns["next_day_any_until"] == rows[2]["last_bookable_until"]
    assert columns["next_day_every_until"] is None
    # The later days hold until the first of their last slots passes.
    assert columns["later_days_until"] == rows[4]["last_bookable_until"]


def test_bookable_days_of_a_listing_without_slots():
    columns = bookable_days([], TODAY, [60])
    assert (columns["days_any"], columns["days_every"], columns["later_days_until"]) == (
        "",
        "",
        None,
    )


def test_next_slots_take_each_durations_earliest_day():
    rows = [row(60, 2, 9, 17), row(60, 1, 14, 16), row(30, 3, 8, 9)]
    assert next_slots(rows) == {
        30: (rows[2]["first_slot_at"], rows[2]["first_bookable_until"]),
        60: (rows[1]["first_slot_at"], rows[1]["first_bookable_until"]),
    }


def test_moving_a_location_moves_the_listing_in_a_located_search(app, client, token_for):
    listing = create_listing(app, timezone="UTC", min_notice_minutes=0, **north_of(30))
    lat, lng = ORIGIN
    assert search(client, lat=lat, lng=lng, radius_km=10)["items"] == []

    response = client.patch(
        f"{LOCATIONS_URL}/{listing.location_id}",
        json=north_of(4),
        headers=token_for(listing.owner_email),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    items = search(client, lat=lat, lng=lng, radius_km=10)["items"]
    assert [item["id"] for item in items] == [str(listing.id)]
    assert items[0]["distance_km"] == 4.0


def test_a_renamed_therapy_is_found_by_its_new_name_and_a_retired_one_by_none(app, client, auth):
    listing = create_listing(app, therapy="cupping")
    admin = auth("admin")
    assert [item["id"] for item in search(client, q="cupping")["items"]] == [str(listing.id)]

    response = client.patch(
        "/api/v1/admin/therapies/cupping", json={"name": "Vacuum glass therapy"}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [item["id"] for item in search(client, q="vacuum glass")["items"]] == [str(listing.id)]
    assert search(client, q="cupping")["items"] == []

    response = client.patch(
        "/api/v1/admin/therapies/cupping", json={"active": False}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert search(client, q="vacuum")["items"] == []
    # Its services stay bookable, so the listing stays in search.
    assert [item["id"] for item in search(client)["items"]] == [str(listing.id)]
