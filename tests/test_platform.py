"""The error contract, health, OpenAPI, rate limits, the migrations and transactions."""

import contextlib

import alembic.autogenerate
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext

from marketplace.accounts.models import Role, User
from marketplace.db import after_commit
from marketplace.extensions import db
from marketplace.search.models import include_object
from tests.conftest import make_app
from tests.factories import PASSWORD
from tests.helpers import count_rows, problem_of


def test_health_checks_the_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_is_generated_from_the_schemas(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    assert "201" in register["responses"]
    assert "Register" in spec["components"]["schemas"]


def test_unknown_api_path_is_problem_404(client):
    body = problem_of(client.get("/api/v1/nope"), 404)
    assert body["title"] == "Not Found"


def test_wrong_method_is_problem_405_with_allow(client):
    response = client.delete("/api/v1/health")
    problem_of(response, 405)
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_413_and_writes_nothing(app, client):
    huge = {"email": "a@example.com", "password": PASSWORD, "name": "x" * (1024 * 1024 + 10)}
    problem_of(client.post("/api/v1/auth/register", json=huge), 413)
    assert count_rows(app, User) == 0


def test_unknown_html_path_is_an_html_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not Found" in response.get_data(as_text=True)


@pytest.mark.committing
def test_unexpected_error_is_problem_500_without_a_stack_trace(database_url):
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.route("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internals")

    body = problem_of(app.test_client().get("/api/v1/explode"), 500)
    text = str(body)
    assert "secret internals" not in text and "Traceback" not in text


@pytest.mark.committing
def test_credential_endpoints_are_rate_limited(database_url):
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"email": "x@example.com", "password": "y" * 10}
        ).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    response = client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "z"})
    problem_of(response, 429)
    assert "Retry-After" in response.headers


@pytest.mark.committing
def test_migrations_match_the_models(app):
    """The equivalent of `flask db check` on the backend under test."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_object": include_object,
            },
        )
        diff = alembic.autogenerate.compare_metadata(context, db.metadata)
    assert diff == []


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/auth/tokens"])
def test_protected_endpoints_without_credentials_are_401(client, path):
    problem_of(client.get(path), 401)


def test_after_commit_callbacks_survive_a_savepoint_that_failed(app):
    ran = []
    with app.app_context():
        after_commit(db.session, lambda: ran.append("notified"))
        existing = User(
            email="first@example.com", name="First", password_hash="x", role=Role.PATIENT
        )
        db.session.add(existing)
        db.session.flush()
        # A duplicate insert losing inside a savepoint, as an idempotent create does.
        with contextlib.suppress(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.add(
                User(email=existing.email, name="Twin", password_hash="x", role=existing.role)
            )
            db.session.flush()
        db.session.commit()
    assert ran == ["notified"]


def test_after_commit_callbacks_wait_for_the_outer_commit(app):
    ran = []
    with app.app_context():
        after_commit(db.session, lambda: ran.append("notified"))
        with db.session.begin_nested():
            db.session.add(
                User(email="saved@example.com", name="Saved", password_hash="x", role=Role.PATIENT)
            )
        assert ran == []
        db.session.rollback()
    assert ran == []
