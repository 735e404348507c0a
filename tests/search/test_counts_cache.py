"""The total and facets may be kept for a few seconds per filter set; the page never is."""

import os
import time

import pytest

from marketplace.search.counts import KEY_PREFIX
from tests.factories import all_day_listing
from tests.search.helpers import search

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL")


@pytest.fixture
def counts_kept(app):
    """Switch the cache on (the suite runs with it off) and leave no entries behind."""

    def keep(seconds: int = 30, redis_url: str | None = None) -> None:
        app.config["SEARCH_FACETS_CACHE_SECONDS"] = seconds
        app.config["REDIS_URL"] = redis_url
        app.extensions.pop("search_counts", None)
        app.extensions.pop("redis", None)

    saved = {name: app.config.get(name) for name in ("SEARCH_FACETS_CACHE_SECONDS", "REDIS_URL")}
    yield keep
    client = app.extensions.pop("redis", None)
    if client is not None and app.config.get("REDIS_URL") == REDIS_TEST_URL:
        for key in client.scan_iter(f"{KEY_PREFIX}*"):
            client.delete(key)
    app.extensions.pop("search_counts", None)
    app.config.update(saved)


def suspend(client, admin, listing) -> None:
    response = client.post(
        f"/api/v1/admin/listings/{listing.id}/suspend", json={"reason": "Checks"}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def ids_of(body: dict) -> set[str]:
    return {item["id"] for item in body["items"]}


def check_kept_counts_and_fresh_items(app, client, auth) -> None:
    staying = all_day_listing(app, name="Odile Staying", therapy="dry-needling")
    leaving = all_day_listing(app, name="Piet Leaving", therapy="dry-needling")
    first = search(client, therapy="dry-needling")
    assert ids_of(first) == {str(staying.id), str(leaving.id)}
    assert first["total"] == 2

    suspend(client, auth("admin"), leaving)

    # The very next search no longer shows the suspended listing ...
    again = search(client, therapy="dry-needling")
    assert ids_of(again) == {str(staying.id)}
    # ... while its count, a few seconds old, is the one kept for these filters.
    assert again["total"] == 2
    assert again["facets"] == first["facets"]
    # Another page or order of the same filters shares the count; other filters do not.
    assert search(client, therapy="dry-needling", sort="price")["total"] == 2
    assert search(client, therapy="dry-needling", q="odile")["total"] == 1


def test_counts_are_kept_in_the_worker_and_items_are_not(app, client, auth, counts_kept):
    counts_kept(30)
    check_kept_counts_and_fresh_items(app, client, auth)


def test_kept_counts_lapse_after_their_seconds(app, client, auth, counts_kept):
    counts_kept(1)
    listing = all_day_listing(app, name="Quentin Lapsing")
    assert search(client, q="quentin")["total"] == 1
    suspend(client, auth("admin"), listing)
    assert search(client, q="quentin")["total"] == 1
    time.sleep(1.1)
    assert search(client, q="quentin")["total"] == 0


def test_without_a_cache_the_count_follows_at_once(app, client, auth, counts_kept):
    counts_kept(0)
    listing = all_day_listing(app, name="Rosalind Counted")
    assert search(client, q="rosalind")["total"] == 1
    suspend(client, auth("admin"), listing)
    assert search(client, q="rosalind")["total"] == 0


@pytest.mark.skipif(not REDIS_TEST_URL, reason="needs Redis (REDIS_TEST_URL)")
def test_counts_are_kept_in_redis_for_every_worker(app, client, auth, counts_kept):
    counts_kept(30, REDIS_TEST_URL)
    check_kept_counts_and_fresh_items(app, client, auth)
    redis = app.extensions["redis"]
    keys = list(redis.scan_iter(f"{KEY_PREFIX}*"))
    assert keys
    assert all(0 < redis.ttl(key) <= 30 for key in keys)
    assert "search_counts" not in app.extensions  # nothing kept in this worker


def test_an_unreachable_redis_only_costs_the_counting(app, client, counts_kept):
    listing = all_day_listing(app, name="Sigrun Unkept")
    counts_kept(30, "redis://127.0.0.1:1/0")
    body = search(client, q="sigrun")
    assert (ids_of(body), body["total"]) == ({str(listing.id)}, 1)
