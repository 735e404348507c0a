"""What one test writes is gone in the next (the rollback fixture works)."""

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db

CANARY_EMAIL = "canary@example.com"


def _canaries(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.email == CANARY_EMAIL)
        )


def test_canary_writes_and_commits(app, client):
    assert _canaries(app) == 0
    response = client.post(
        "/api/v1/auth/register",
        json={"email": CANARY_EMAIL, "password": "long enough pw", "name": "Canary"},
    )
    assert response.status_code == 201
    assert _canaries(app) == 1


def test_canary_is_gone_in_the_next_test(app):
    assert _canaries(app) == 0
