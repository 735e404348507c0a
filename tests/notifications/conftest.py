import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications.models import OutboxMessage
from tests.notifications.smtp_server import SmtpServer


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail(app, smtp_server, monkeypatch):
    """The app sends to a real SMTP server on loopback for this test."""
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://relieve.example")
    return smtp_server


def outbox_rows(app, **where) -> list[OutboxMessage]:
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.key)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows
