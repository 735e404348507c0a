"""Each worker's in-memory index follows the committed search documents."""

from marketplace.extensions import db, utc_now
from marketplace.practitioners.models import ListingStatus
from marketplace.search.sync import prune_changes
from tests.conftest import make_app
from tests.factories import create_listing, set_status
from tests.search.builders import search


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
        prune_changes(keep_after=utc_now())
        db.session.commit()
    suspend(app, first.id)
    assert found(client) == {str(second.id)}
