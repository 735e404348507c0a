"""Rule 5: whatever a client sends, the answer is a clear 4xx and nothing changes."""

import os
import uuid

import pytest

from marketplace.accounts.models import User
from tests.conftest import make_app
from tests.factories import PASSWORD, create_listing
from tests.helpers import count_rows, problem_of

REGISTER = "/api/v1/auth/register"


def test_deeply_nested_json_is_400_and_writes_nothing(app, client):
    nested: object = "x"
    for _ in range(200):
        nested = [nested]
    response = client.post(REGISTER, json={"email": nested, "password": PASSWORD, "name": "Deep"})
    problem_of(response, 400)
    assert count_rows(app, User) == 0


def test_json_deeper_than_the_parser_allows_is_400(app, client):
    body = '{"email": ' + "[" * 100_000 + "]" * 100_000 + "}"
    problem_of(client.post(REGISTER, data=body, content_type="application/json"), 400)
    assert count_rows(app, User) == 0


def test_a_nul_character_in_a_body_is_422_naming_the_field(app, client):
    response = client.post(
        REGISTER, json={"email": "a@example.com", "password": PASSWORD, "name": "A\x00B"}
    )
    body = problem_of(response, 422)
    assert "name" in body["errors"]
    assert count_rows(app, User) == 0


def test_a_nul_character_in_a_query_is_422(client):
    body = problem_of(client.get("/api/v1/practitioners?q=back%00pain"), 422)
    assert "q" in body["errors"]


def test_a_nul_character_in_a_path_is_404(client):
    problem_of(client.get("/api/v1/practitioners/abc%00def"), 404)


def test_an_enormous_price_max_is_422(client):
    body = problem_of(client.get("/api/v1/practitioners?price_max=9223372036854775808"), 422)
    assert "price_max" in body["errors"]


def test_slots_with_only_a_far_to_date_stay_within_the_range_limit(app, client):
    listing = create_listing(app)
    response = client.get(
        f"/api/v1/practitioners/{listing.slug}/slots",
        query_string={"service_id": listing.service_id, "to": "2999-12-31"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["from"] == "2999-12-18" and body["to"] == "2999-12-31"
    assert body["items"] == []


@pytest.mark.committing
@pytest.mark.skipif(not os.environ.get("REDIS_TEST_URL"), reason="needs REDIS_TEST_URL")
def test_rate_limits_are_shared_through_redis(database_url):
    app = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=os.environ["REDIS_TEST_URL"],
        # Counters outlive the test in Redis: a fresh namespace per run.
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
    )
    client = app.test_client()
    email = "redis-limited@example.com"
    statuses = [
        client.post("/api/v1/auth/login", json={"email": email, "password": "x" * 10}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
