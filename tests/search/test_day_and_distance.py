"""Two rules of issue 15: with `available_on` a card shows its first free slot that day, and a
located search without `q` lets the nearest practitioners lead."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import ALL_DAY, add_extra_service, create_listing, hold, set_rating
from tests.helpers import parse
from tests.search.helpers import ORIGIN, free_slots, north_of, search


def by_slug(body: dict) -> dict[str, dict]:
    return {item["slug"]: item for item in body["items"]}


def test_with_available_on_next_available_at_is_the_first_free_slot_that_day(app, client, auth):
    open_now = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, min_notice_minutes=0)
    # Monday to Friday 09:00-17:00 in Sydney (the factory's default hours).
    sydney = create_listing(app, timezone="Australia/Sydney", min_notice_minutes=0)
    today = datetime.now(ZoneInfo("Australia/Sydney")).date()
    day = next(
        today + timedelta(days=n) for n in range(3, 10) if (today + timedelta(n)).weekday() < 5
    )

    items = by_slug(search(client))
    # Without a day: the next slot overall, which for the open listing is today.
    assert parse(items[open_now.slug]["next_available_at"]).date() <= datetime.now(UTC).date() + (
        timedelta(days=1)
    )

    items = by_slug(search(client, available_on=day.isoformat()))
    for listing in (open_now, sydney):
        first = free_slots(client, listing.slug, listing.service_id, day, day)[0]["start_at"]
        shown = parse(items[listing.slug]["next_available_at"])
        assert shown == parse(first), listing.slug
        assert shown.astimezone(ZoneInfo(listing.timezone)).date() == day
    assert (
        parse(items[sydney.slug]["next_available_at"])
        .astimezone(ZoneInfo("Australia/Sydney"))
        .time()
        .hour
        == 9
    )

    # The day's first slot taken: the card shows the next free one that day.
    first = free_slots(client, sydney.slug, sydney.service_id, day, day)[0]["start_at"]
    hold(client, auth("patient"), sydney.service_id, first)
    items = by_slug(search(client, available_on=day.isoformat()))
    second = free_slots(client, sydney.slug, sydney.service_id, day, day)[0]["start_at"]
    assert parse(second) > parse(first)
    assert parse(items[sydney.slug]["next_available_at"]) == parse(second)


def test_with_available_on_next_available_at_counts_only_matching_services(app, client, token_for):
    # The cupping service fits no day (open half an hour, the service lasts an hour); the
    # dry needling one, half an hour, does.
    listing = create_listing(
        app,
        timezone="UTC",
        weekly_hours=[(day, "00:00", "00:30") for day in range(7)],
        min_notice_minutes=0,
        therapy="cupping",
        duration_minutes=60,
    )
    add_extra_service(
        client, token_for(listing.owner_email), therapy="dry-needling", duration_minutes=30
    )
    day = datetime.now(UTC).date() + timedelta(days=2)
    [item] = search(client, available_on=day.isoformat(), therapy="dry-needling")["items"]
    assert parse(item["next_available_at"]) == datetime.combine(day, datetime.min.time(), UTC)
    assert search(client, available_on=day.isoformat(), therapy="cupping")["items"] == []


def test_a_located_search_without_q_lists_the_nearest_first(app, client):
    # Today's complaint: 4.6 km (rated 5.0) was listed before 1.6 km (rated 4.7).
    near = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, **north_of(1.6))
    farther = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, **north_of(4.6))
    far_best = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, **north_of(20))
    set_rating(app, near.id, 4.7, 12)
    set_rating(app, farther.id, 5.0, 80)
    set_rating(app, far_best.id, 5.0, 120)
    lat, lng = ORIGIN

    for params in ({}, {"sort": "relevance"}):
        body = search(client, lat=lat, lng=lng, **params)
        assert [item["id"] for item in body["items"]] == [
            str(near.id),
            str(farther.id),
            str(far_best.id),
        ]
    # Without a position, rating alone orders them (ties by id).
    unlocated = [item["id"] for item in search(client)["items"]]
    assert unlocated[-1] == str(near.id)


def test_a_located_search_still_lets_a_much_better_rated_listing_a_little_farther_lead(app, client):
    near_poor = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, **north_of(1.0))
    close_good = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, **north_of(1.5))
    set_rating(app, near_poor.id, 3.8, 5)
    set_rating(app, close_good.id, 4.9, 40)
    lat, lng = ORIGIN
    ids = [item["id"] for item in search(client, lat=lat, lng=lng)["items"]]
    assert ids == [str(close_good.id), str(near_poor.id)]
