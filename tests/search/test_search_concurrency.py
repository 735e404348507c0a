"""Under real concurrency on PostgreSQL, another worker's search never lags a committed change.

Writers commit for real from many threads while another worker searches; each writer, once
its commit returns, must find its change through that other worker. The tests run on a
database of their own (never the session database the rollback-wrapped tests share).
"""

import threading

import flask_migrate
import pytest

from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus
from tests.conftest import POSTGRES_URL, fresh_postgres_database, make_app, requires_postgres
from tests.factories import create_listing, set_status

pytestmark = [requires_postgres, pytest.mark.committing]

WRITERS = 8
ROUNDS = 3


@pytest.fixture(scope="module")
def apps():
    with fresh_postgres_database(POSTGRES_URL) as url:
        options = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 0}}
        writer, reader = make_app(url, **options), make_app(url, **options)
        with writer.app_context():
            flask_migrate.upgrade()
        yield writer, reader
        for app in (writer, reader):
            with app.app_context():
                db.engine.dispose()


def found(client, **params) -> set[str]:
    response = client.get("/api/v1/practitioners", query_string={"per_page": 50, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["items"]}


def test_a_committed_change_is_found_by_another_worker_at_once(apps):
    writer, reader = apps
    reader_client = reader.test_client()
    assert found(reader_client) == set()  # the reader's index is loaded, then kept up
    barrier = threading.Barrier(WRITERS)
    misses: list[str] = []

    def write(number: int) -> None:
        barrier.wait()
        for round_number in range(ROUNDS):
            name = f"Writer{number} Round{round_number}"
            listing = create_listing(writer, name=name)
            if str(listing.id) not in found(reader_client, q=name):
                misses.append(f"{name} not found after its commit")
            set_status(writer, listing.id, ListingStatus.SUSPENDED)
            if str(listing.id) in found(reader_client, q=name):
                misses.append(f"{name} still found after its suspension")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert misses == []
    assert found(reader_client) == set()
