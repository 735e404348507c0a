"""Ordering by a matching service's price or next slot reads services in that order, taking
each listing at its first: a listing with many early services must not crowd out the next."""

from datetime import UTC, datetime, timedelta

from tests.factories import add_extra_service, all_day_listing
from tests.search.helpers import search


def crowded_and_next(app, client, token_for):
    crowded = all_day_listing(app, name="Ulla Crowded", therapy="dry-needling", price_cents=1000)
    owner = token_for(crowded.owner_email)
    for number in range(1, 9):
        add_extra_service(
            client,
            owner,
            name=f"Needling {number}",
            therapy="dry-needling",
            price_cents=1000 + 100 * number,
            duration_minutes=15 + 5 * number,
        )
    following = all_day_listing(
        app, name="Viggo Following", therapy="dry-needling", price_cents=5000
    )
    return crowded, following


def test_the_listing_after_one_with_many_cheap_services_is_the_next_by_price(
    app, client, token_for
):
    crowded, following = crowded_and_next(app, client, token_for)
    pages = [
        search(client, therapy="dry-needling", sort="price", per_page=1, page=page)
        for page in (1, 2, 3)
    ]
    assert [item["id"] for page in pages for item in page["items"]] == [
        str(crowded.id),
        str(following.id),
    ]
    assert [page["items"][0]["price_from_cents"] for page in pages[:2]] == [1000, 5000]
    assert pages[0]["total"] == 2


def test_the_listing_after_one_with_many_services_is_the_next_by_soonest(app, client, token_for):
    crowded, following = crowded_and_next(app, client, token_for)
    found = [
        item["id"]
        for page in (1, 2)
        for item in search(
            client, therapy="dry-needling", price_max=5000, sort="soonest", per_page=1, page=page
        )["items"]
    ]
    assert sorted(found) == sorted([str(crowded.id), str(following.id)])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    on_the_day = search(
        client,
        therapy="dry-needling",
        price_max=5000,
        available_on=tomorrow,
        sort="soonest",
        per_page=1,
        page=2,
    )
    assert (on_the_day["total"], len(on_the_day["items"])) == (2, 1)
