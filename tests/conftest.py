"""App, database and client fixtures.

The schema is built once per run by the Alembic migrations. Each test then runs inside one outer
transaction on one connection that is rolled back afterwards; the app's own commits only release
savepoints, so whatever a test writes is gone in the next.

Search reads the database, so it sees what the test's transaction holds, and nothing after
the rollback.

The backend is SQLite by default; `TEST_BACKEND=postgres` with `TEST_POSTGRES_URL` runs the same
suite on a fresh PostgreSQL database.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import flask_migrate
import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

from config import normalise_database_url
from marketplace import create_app
from marketplace.extensions import db, limiter
from tests.factories import PASSWORD, create_user

BACKEND = os.environ.get("TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")

requires_postgres = pytest.mark.skipif(
    BACKEND != "postgres", reason="needs PostgreSQL (TEST_BACKEND=postgres, TEST_POSTGRES_URL)"
)


class ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session ignores a session-level bind; the tests need theirs honoured."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    name = f"mkp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = sa.make_url(normalise_database_url(admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if BACKEND == "postgres":
        if not POSTGRES_URL:
            pytest.exit("TEST_BACKEND=postgres needs TEST_POSTGRES_URL", returncode=2)
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def make_app(database_url: str, **overrides):
    url = normalise_database_url(database_url)
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, **overrides)


@pytest.fixture(scope="session")
def app(database_url):
    app = make_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback_each_test(request, app):
    if "committing" in request.keywords:
        yield
        return
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    original_session = db.session
    db.session = db._make_scoped_session(
        {
            "class_": ConnectionBoundSession,
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
        }
    )
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original_session
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _rate_limits_stay_in_their_test():
    """The limiter is one object shared by every app: a test that makes an app with limits on
    must not leave them on for the session app's next tests."""
    enabled = limiter.enabled
    yield
    limiter.enabled = enabled


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """`make_user(role, email=None, name="Test User")` -> (id, email): `create_user` of the app."""

    def make(role: str = "patient", email: str | None = None, name: str = "Test User"):
        return create_user(app, role, email=email, name=name)

    return make


@pytest.fixture
def token_for(client):
    """Bearer headers for an email (password `PASSWORD`), through the public token endpoint."""

    def issue(email: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return issue


@pytest.fixture
def auth(make_user, token_for):
    """`auth("practitioner")` -> bearer headers of a new user of that role."""

    def headers(role: str = "patient", **kwargs) -> dict[str, str]:
        _, email = make_user(role, **kwargs)
        return token_for(email)

    return headers
