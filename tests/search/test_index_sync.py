"""Each worker's in-memory index follows the committed search documents."""

import contextlib
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import ListingStatus, Practitioner
from marketplace.search.engine import SearchIndex
from marketplace.search.models import SearchChange
from marketplace.search.service import SearchQuery, search_practitioners
from marketplace.search.sync import CHANGE_LOG_KEPT, prune_changes
from tests.conftest import make_app
from tests.factories import create_listing, set_status
from tests.search.helpers import search

ROOT = Path(__file__).resolve().parents[2]


def found(client, **params) -> set[str]:
    return {item["id"] for item in search(client, per_page=50, **params)["items"]}


def suspend(app, listing_id) -> None:
    set_status(app, listing_id, ListingStatus.SUSPENDED)


def test_a_second_worker_follows_changes_made_through_the_first(app, client, database_url):
    other_worker = make_app(database_url).test_client()
    assert found(other_worker) == set()

    first = create_listing(app)
    assert found(other_worker) == {str(first.id)}
    second = create_listing(app)
    assert found(other_worker) == {str(first.id), str(second.id)}

    suspend(app, first.id)
    assert found(other_worker) == {str(second.id)}
    assert found(client) == {str(second.id)}


def test_a_change_rolled_back_after_a_search_saw_it_is_forgotten(app, client):
    kept = create_listing(app, name="Kept Listing")
    # The test's connection, outside any session: its savepoint wraps the next commits.
    with app.app_context():
        savepoint = db.session.bind.begin_nested()
    gone = create_listing(app, name="Gone Listing")
    assert found(client) == {str(kept.id), str(gone.id)}
    savepoint.rollback()

    # The next change takes the revision number the rolled-back one had; one more follows.
    other = create_listing(app, name="Other Listing")
    another = create_listing(app, name="Another Listing")
    assert found(client) == {str(kept.id), str(other.id), str(another.id)}
    assert found(client, q="gone") == set()


def test_a_worker_whose_last_change_was_pruned_reloads(app, client):
    first = create_listing(app)
    assert found(client) == {str(first.id)}
    second = create_listing(app)
    with app.app_context():
        prune_changes(utc_now() + CHANGE_LOG_KEPT)
        db.session.commit()
    suspend(app, first.id)
    assert found(client) == {str(second.id)}


def rename(listing_id, name: str) -> None:
    listing = db.session.get(Practitioner, listing_id)
    listings.update_profile(
        listing, {"display_name": name, "bio": "Hands-on care.", "timezone": "Australia/Sydney"}
    )


def names(client, **params) -> set[str]:
    return {item["display_name"] for item in search(client, per_page=50, **params)["items"]}


def test_a_savepoint_rolled_back_keeps_the_transactions_earlier_changes(app, client):
    built = create_listing(app, name="Before Rename")
    assert names(client) == {"Before Rename"}
    with app.app_context():
        rename(built.id, "Quixotic Rename")
        # An insert losing a race inside a savepoint, as idempotent creates do.
        with contextlib.suppress(sa.exc.IntegrityError), db.session.begin_nested():
            owner = db.session.get(User, built.owner_id)
            db.session.add(User(email=owner.email, name="Twin", password_hash="x", role=owner.role))
            db.session.flush()
        db.session.commit()
    assert names(client, q="quixotic") == {"Quixotic Rename"}


def test_a_savepoint_released_does_not_number_the_transactions_changes(app, client):
    built = create_listing(app)
    with app.app_context():
        logged = db.session.scalar(sa.select(sa.func.count()).select_from(SearchChange))
        rename(built.id, "Renamed")
        with db.session.begin_nested():
            pass
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchChange)) == logged
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchChange)) == (
            logged + 1
        )


def test_a_search_inside_a_writing_transaction_leaves_the_index_to_committed_changes(
    app, client, database_url
):
    built = create_listing(app, name="Kept Listing")
    assert names(client) == {"Kept Listing"}
    with app.app_context():
        rename(built.id, "Second")
        db.session.commit()
    for worker in (app, make_app(database_url)):  # an index loaded, and one loading afresh
        with worker.app_context():
            rename(built.id, "Poison")
            search_practitioners(SearchQuery(q="poison"), utc_now())
            db.session.rollback()
        assert names(worker.test_client(), q="poison") == set()
        assert names(worker.test_client(), q="second") == {"Second"}


def test_documents_without_a_logged_change_are_loaded(app, database_url):
    built = create_listing(app)
    with app.app_context():
        db.session.execute(sa.delete(SearchChange))
        db.session.commit()
    assert found(make_app(database_url).test_client()) == {str(built.id)}


def test_a_worker_whose_catching_up_failed_reloads_at_the_next_search(app, client, monkeypatch):
    first = create_listing(app, therapy="cupping")
    assert found(client) == {str(first.id)}
    applying = SearchIndex.apply

    def fail_halfway(index, listed, unlisted):
        listed = list(listed)
        applying(index, listed[:0], [])
        index._put(listed[0])  # the document stored, what derives from it not mended
        raise MemoryError

    monkeypatch.setattr(SearchIndex, "apply", fail_halfway)
    second = create_listing(app, therapy="dry-needling")
    with pytest.raises(MemoryError):
        search(client)
    monkeypatch.setattr(SearchIndex, "apply", applying)
    assert found(client, therapy="dry-needling") == {str(second.id)}
    assert found(client) == {str(first.id), str(second.id)}


def test_gunicorn_loads_a_workers_index_before_it_serves(app, database_url):
    listing = create_listing(app)
    worker_app = make_app(database_url)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings["post_worker_init"](SimpleNamespace(wsgi=worker_app)).join(timeout=60)
    replica = worker_app.extensions["search_replica"]
    assert replica.loaded
    assert replica.index.ids_of(range(replica.index.size)) == [listing.id]
