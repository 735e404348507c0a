"""GET /practitioners: sorts, stable pages, and what each item carries."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    add_extra_service,
    add_location_at,
    all_day_listing,
    set_rating,
)
from tests.helpers import parse
from tests.search.helpers import ORIGIN, all_items, free_slots, north_of, search, slugs

SORTS = ("relevance", "price", "rating", "soonest", "distance")
HOUR = 60


def ids(client, **params) -> list[str]:
    return [item["id"] for item in search(client, **params)["items"]]


def by_id(listings) -> list[str]:
    """The id order that breaks ties: ascending listing id."""
    return [str(listing.id) for listing in sorted(listings, key=lambda listing: listing.id)]


def test_price_sorts_by_the_cheapest_matching_service(app, client, token_for):
    mixed = all_day_listing(app, therapy="trigger-point-therapy", price_cents=15000)
    add_extra_service(client, token_for(mixed.owner_email), therapy="cupping", price_cents=5000)
    middle = all_day_listing(app, therapy="trigger-point-therapy", price_cents=10000)
    dear = all_day_listing(app, therapy="trigger-point-therapy", price_cents=20000)

    assert ids(client, sort="price") == [str(mixed.id), str(middle.id), str(dear.id)]
    # Only trigger point therapy counts now, so `mixed` costs 150.00.
    assert ids(client, sort="price", therapy="trigger-point-therapy") == [
        str(middle.id),
        str(mixed.id),
        str(dear.id),
    ]


def test_price_ignores_an_inactive_cheaper_service(app, client, token_for):
    listing = all_day_listing(app, price_cents=15000)
    owner = token_for(listing.owner_email)
    cheap = add_extra_service(client, owner, therapy="cupping", price_cents=1000)
    other = all_day_listing(app, price_cents=12000)
    assert ids(client, sort="price") == [str(listing.id), str(other.id)]

    client.patch(f"/api/v1/practitioner/services/{cheap}", json={"active": False}, headers=owner)
    assert ids(client, sort="price") == [str(other.id), str(listing.id)]


def test_rating_sorts_by_average_descending_with_the_unrated_last(app, client):
    best = all_day_listing(app)
    unrated = all_day_listing(app)
    worst = all_day_listing(app)
    good = all_day_listing(app)
    set_rating(app, best.id, 4.9, 10)
    set_rating(app, worst.id, 2.5, 40)
    set_rating(app, good.id, 4.1, 200)

    body = search(client, sort="rating")
    assert [item["id"] for item in body["items"]] == [
        str(best.id),
        str(good.id),
        str(worst.id),
        str(unrated.id),
    ]
    assert [(item["rating_average"], item["rating_count"]) for item in body["items"]] == [
        (4.9, 10),
        (4.1, 200),
        (2.5, 40),
        (None, 0),
    ]


def test_rating_ties_break_by_count_then_by_id(app, client):
    listings = [all_day_listing(app) for _ in range(4)]
    for listing in listings[:3]:
        set_rating(app, listing.id, 4.5, 10)
    set_rating(app, listings[3].id, 4.5, 30)
    assert ids(client, sort="rating") == [str(listings[3].id), *by_id(listings[:3])]


def test_soonest_sorts_by_the_next_free_slot_with_the_fully_booked_last(app, client):
    later = all_day_listing(app, min_notice_minutes=30 * HOUR)
    no_hours = all_day_listing(app, weekly_hours=[])
    sooner = all_day_listing(app, min_notice_minutes=2 * HOUR)
    soonest = all_day_listing(app, min_notice_minutes=0)

    items = search(client, sort="soonest")["items"]
    assert [item["id"] for item in items] == [
        str(soonest.id),
        str(sooner.id),
        str(later.id),
        str(no_hours.id),
    ]
    assert items[-1]["next_available_at"] is None
    starts = [parse(item["next_available_at"]) for item in items[:-1]]
    assert starts == sorted(starts)


def test_soonest_uses_the_next_slot_of_a_matching_service(app, client, token_for):
    # Open half an hour a day: the 30-minute cupping fits (within a day), the hour never does.
    short_days = all_day_listing(
        app,
        therapy="cupping",
        duration_minutes=30,
        weekly_hours=[(day, "00:00", "00:30") for day in range(7)],
    )
    add_extra_service(client, token_for(short_days.owner_email), therapy="dry-needling")
    # Bookable only after 30 hours' notice.
    needler = all_day_listing(app, therapy="dry-needling", min_notice_minutes=30 * HOUR)

    assert ids(client, sort="soonest") == [str(short_days.id), str(needler.id)]
    items = search(client, sort="soonest", therapy="dry-needling")["items"]
    assert [item["id"] for item in items] == [str(needler.id), str(short_days.id)]
    assert items[1]["next_available_at"] is None


def test_distance_sorts_nearest_first(app, client):
    listings = {km: all_day_listing(app, **north_of(km)) for km in (12, 3, 20, 7)}
    lat, lng = ORIGIN
    items = search(client, lat=lat, lng=lng, sort="distance")["items"]
    assert [item["id"] for item in items] == [str(listings[km].id) for km in (3, 7, 12, 20)]
    assert [item["distance_km"] for item in items] == [
        pytest.approx(km, abs=0.05) for km in (3, 7, 12, 20)
    ]


def test_relevance_without_text_prefers_the_better_rated(app, client):
    low = all_day_listing(app)
    high = all_day_listing(app)
    set_rating(app, low.id, 3.0, 10)
    set_rating(app, high.id, 4.8, 10)
    assert ids(client) == [str(high.id), str(low.id)]
    assert ids(client, sort="relevance") == [str(high.id), str(low.id)]


def test_relevance_with_text_ranks_by_where_the_words_are(app, client):
    in_bio = all_day_listing(app, name="Bio Person", bio="Studied the Quorra technique.")
    in_name = all_day_listing(app, name="Quorra Vance")
    in_headline = all_day_listing(app, name="Head Line", headline="Quorra technique")
    for listing in (in_bio, in_name, in_headline):
        set_rating(app, listing.id, 4.0, 1)
    set_rating(app, in_bio.id, 5.0, 100)

    assert ids(client, q="quorra") == [str(in_name.id), str(in_headline.id), str(in_bio.id)]
    # Two words both in the name beat one word in the name.
    both = all_day_listing(app, name="Quorra Technique")
    assert ids(client, q="quorra technique")[0] == str(both.id)


# --- pages -----------------------------------------------------------------------------------


@pytest.fixture
def thirteen(app, client, token_for):
    """Thirteen listings with many ties in every sort key."""
    listings = []
    for index in range(13):
        listing = all_day_listing(
            app,
            price_cents=10000 + 1000 * (index % 3),
            min_notice_minutes=(index % 2) * 5 * HOUR,
            **north_of(1 + index % 4),
        )
        set_rating(app, listing.id, [4.5, None, 3.0][index % 3], index % 2)
        listings.append(listing)
    return listings


def test_walking_every_page_returns_each_listing_exactly_once(app, client, thirteen):
    lat, lng = ORIGIN
    for sort in SORTS:
        params = {"sort": sort, "lat": lat, "lng": lng}
        whole = [item["id"] for item in search(client, per_page=50, **params)["items"]]
        assert sorted(whole) == sorted(str(listing.id) for listing in thirteen), sort
        for per_page in (1, 4, 5, 13):
            walked = [item["id"] for item in all_items(client, per_page=per_page, **params)]
            # Each listing once, in the same order as one big page.
            assert walked == whole, (sort, per_page)


def test_page_envelope_and_a_page_past_the_end(app, client, thirteen):
    body = search(client, page=3, per_page=5)
    assert (body["page"], body["per_page"], body["total"], len(body["items"])) == (3, 5, 13, 3)
    body = search(client, page=4, per_page=5)
    assert (body["items"], body["total"]) == ([], 13)
    body = search(client)
    assert (body["page"], body["per_page"], len(body["items"])) == (1, 20, 13)


def test_ties_break_by_id_in_every_sort(app, client):
    twins = [all_day_listing(app, **north_of(4)) for _ in range(5)]
    lat, lng = ORIGIN
    for sort in SORTS:
        assert ids(client, sort=sort, lat=lat, lng=lng) == by_id(twins), sort


# --- items -----------------------------------------------------------------------------------


def test_an_item_carries_what_a_result_card_shows(app, client, token_for):
    listing = all_day_listing(
        app,
        name="Wren Halloway",
        headline="Dry needling for stubborn glutes",
        therapy="dry-needling",
        duration_minutes=45,
        price_cents=11000,
        gender="female",
        languages=["en", "zh"],
        telehealth=True,
        **north_of(9),
    )
    owner = token_for(listing.owner_email)
    cupping = add_extra_service(
        client, owner, therapy="cupping", name="Cupping", duration_minutes=30, price_cents=6000
    )
    massage = add_extra_service(client, owner, therapy="remedial-massage", price_cents=9000)
    near = add_location_at(client, owner, **north_of(2))
    set_rating(app, listing.id, 4.7, 23)
    lat, lng = ORIGIN

    body = search(client, lat=lat, lng=lng, therapy=["dry-needling", "cupping"])
    [item] = body["items"]
    assert item["id"] == str(listing.id)
    assert item["slug"] == listing.slug
    assert item["display_name"] == "Wren Halloway"
    assert item["headline"] == "Dry needling for stubborn glutes"
    assert item["gender"] == "female"
    assert item["languages"] == ["en", "zh"]
    assert item["telehealth"] is True
    assert sorted(t["slug"] for t in item["therapies"]) == ["cupping", "dry-needling"]
    assert {t["name"] for t in item["therapies"]} == {"Cupping", "Dry needling"}
    services = {s["id"]: s for s in item["services"]}
    assert set(services) == {cupping, str(listing.service_id)}
    assert massage not in services
    assert {
        (s["therapy"], s["duration_minutes"], s["price_cents"], s["currency"])
        for s in services.values()
    } == {("cupping", 30, 6000, "AUD"), ("dry-needling", 45, 11000, "AUD")}
    assert item["location"]["id"] == near
    assert item["distance_km"] == pytest.approx(2, abs=0.05)
    assert (item["rating_average"], item["rating_count"]) == (4.7, 23)

    # next_available_at: the first slot of the matching services.
    today = datetime.now(UTC).date()
    firsts = [
        parse(
            free_slots(client, listing.slug, service, today, today + timedelta(days=3))[0][
                "start_at"
            ]
        )
        for service in (cupping, listing.service_id)
    ]
    assert parse(item["next_available_at"]) == min(firsts)
    assert parse(item["next_available_at"]).utcoffset() is not None


def test_an_item_without_a_position_has_no_distance(app, client):
    listing = all_day_listing(app)
    [item] = search(client)["items"]
    assert item["distance_km"] is None
    assert item["location"]["id"] == str(listing.location_id)


def test_slugs_helper_sanity(app, client):
    listing = all_day_listing(app)
    assert slugs(client) == [listing.slug]
