"""Data migrations, run from the revision before them on a database of their own."""

import uuid

import flask_migrate
import pytest
import sqlalchemy as sa

from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner
from tests.conftest import BACKEND, POSTGRES_URL, fresh_postgres_database, make_app

USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    *(sa.column(name) for name in ("email", "name", "password_hash", "role", "created_at")),
)


@pytest.fixture
def empty_database_url(tmp_path):
    if BACKEND == "postgres":
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"


def _user(connection, role: str, name: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    created_at = utc_now()
    if connection.dialect.name == "sqlite":
        created_at = created_at.replace(tzinfo=None)
    connection.execute(
        sa.insert(USERS).values(
            id=user_id,
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            name=name,
            password_hash="x",
            role=role,
            created_at=created_at,
        )
    )
    return user_id


@pytest.mark.committing
def test_0013_opens_a_draft_listing_for_each_practitioner_account_without_one(
    empty_database_url,
):
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="0012")
        # Accounts as the schema stood at 0012, before sign-up opened the listing.
        with db.engine.begin() as connection:
            early = _user(connection, "practitioner", "Jo Early")
            namesake = _user(connection, "practitioner", "Jo Early")
            _user(connection, "patient", "Pat")

        flask_migrate.upgrade()

        listings = {
            listing.owner_id: listing for listing in db.session.scalars(sa.select(Practitioner))
        }
        assert set(listings) == {early, namesake}  # the patient gets none
        assert {listing.status for listing in listings.values()} == {ListingStatus.DRAFT}
        assert {listing.display_name for listing in listings.values()} == {"Jo Early"}
        assert sorted(listing.slug for listing in listings.values()) == ["jo-early", "jo-early-2"]
        assert all(listing.calendar_token for listing in listings.values())
        db.session.remove()

        # Run again (as on a database that had them already): nothing more is opened.
        flask_migrate.downgrade(revision="0012")
        flask_migrate.upgrade()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Practitioner)) == 2
        db.session.remove()
        db.engine.dispose()
