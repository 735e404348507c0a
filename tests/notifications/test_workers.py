"""Delivery across real commits: racing workers, the worker process on Redis, bad settings.

These tests commit for real, on a database of their own (never the session database the
rollback-wrapped tests share), which is dropped afterwards.
"""

import os
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.notifications import delivery, service
from marketplace.notifications.models import OutboxMessage, OutboxStatus
from marketplace.notifications.smtp import ConfigError
from tests.conftest import BACKEND, POSTGRES_URL, fresh_postgres_database, make_app
from tests.factories import create_user
from tests.notifications.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL")


@pytest.fixture(scope="module")
def committed_url():
    if BACKEND == "postgres":
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'outbox.db'}"


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker_app(committed_url, smtp):
    app = make_app(committed_url, SMTP_URL=smtp.url)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def write_one(app, *, due_later: bool = False) -> tuple[uuid.UUID, str]:
    """Commit one listing-approved email for a new user; (message id, recipient)."""
    user_id, email = create_user(app, "practitioner")
    with app.app_context():
        message_id = service.write(
            key=f"test:{uuid.uuid4()}",
            event="listing.approved",
            recipient=db.session.get(User, user_id),
            subject=f"Approved {uuid.uuid4().hex[:6]}",
            template="listing_reviewed",
            context={"action": "approve", "listing": _Listing(), "reason": None, "base_url": "x"},
            due_at=utc_now() + timedelta(seconds=0.5) if due_later else None,
        )
        db.session.commit()
    return message_id, email


class _Listing:
    display_name = "A listing"
    slug = "a-listing"


def status_of(app, message_id) -> OutboxStatus:
    with app.app_context():
        return db.session.get(OutboxMessage, message_id).status


@pytest.mark.committing
def test_two_workers_at_once_send_one_message(worker_app, smtp):
    message_id, email = write_one(worker_app, due_later=True)
    assert smtp.to(email) == []
    now = utc_now() + timedelta(seconds=1)
    results: list[str] = []
    racers = 8 if BACKEND == "postgres" else 1
    barrier = threading.Barrier(racers)

    def work() -> None:
        with worker_app.app_context():
            barrier.wait(timeout=10)
            results.append(delivery.deliver(message_id, now))
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # SQLite serialises writers: a second worker after the first finds nothing to do.
    with worker_app.app_context():
        results.append(delivery.deliver(message_id, now))
    assert sorted(results).count(delivery.SENT) == 1
    assert set(results) == {delivery.SENT, delivery.NOT_CLAIMED}
    smtp.wait_for(1)
    assert len(smtp.to(email)) == 1
    assert status_of(worker_app, message_id) is OutboxStatus.SENT


@pytest.mark.committing
def test_a_rolled_back_transaction_leaves_no_message(worker_app, smtp):
    user_id, email = create_user(worker_app, "practitioner")
    with worker_app.app_context():
        service.write(
            key=f"test:{uuid.uuid4()}",
            event="listing.approved",
            recipient=db.session.get(User, user_id),
            subject="Never",
            template="listing_reviewed",
            context={"action": "approve", "listing": _Listing(), "reason": None, "base_url": "x"},
        )
        db.session.rollback()
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient_email == email)
        )
    assert count == 0
    assert smtp.to(email) == []


@pytest.mark.committing
@pytest.mark.skipif(not REDIS_TEST_URL, reason="needs Redis (REDIS_TEST_URL)")
def test_the_worker_process_delivers_queued_messages(committed_url, worker_app, smtp):
    from redis import Redis

    queue_name = f"outbox-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        committed_url, SMTP_URL=smtp.url, REDIS_URL=REDIS_TEST_URL, OUTBOX_QUEUE=queue_name
    )
    env = {
        **os.environ,
        "MARKETPLACE_ENV": "development",
        "DATABASE_URL": committed_url,
        "REDIS_URL": REDIS_TEST_URL,
        "SMTP_URL": smtp.url,
        "OUTBOX_QUEUE": queue_name,
        "OUTBOX_SWEEP_SECONDS": "1",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        queued = [write_one(app) for _ in range(3)]  # queued after commit, through Redis
        for message_id, email in queued:
            smtp_wait_to(smtp, email)
            assert wait_status(app, message_id) is OutboxStatus.SENT
        assert worker.poll() is None, worker.stdout.read().decode()
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        redis = Redis.from_url(REDIS_TEST_URL)
        for key in redis.scan_iter(f"*{queue_name}*"):
            redis.delete(key)
        with app.app_context():
            db.engine.dispose()
    for _message_id, email in queued:
        assert len(smtp.to(email)) == 1, output.decode()


def smtp_wait_to(smtp, email, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not smtp.to(email):
        time.sleep(0.05)
    assert smtp.to(email), f"nothing reached {email}"


def wait_status(app, message_id, timeout: float = 10.0) -> OutboxStatus:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = status_of(app, message_id)
        if status is OutboxStatus.SENT:
            return status
        time.sleep(0.05)
    return status_of(app, message_id)


@pytest.mark.parametrize(
    "url",
    [
        "smtp//mail.example.com",
        "http://mail.example.com",
        "smtp://",
        "smtp://host:notaport",
        "smtp://host:25?starttls=maybe",
        "smtps://host?starttls=1",
    ],
)
def test_a_malformed_smtp_url_stops_the_app_naming_the_variable(url):
    with pytest.raises(ConfigError, match="SMTP_URL"):
        create_app("testing", SMTP_URL=url)


def test_the_command_line_refuses_to_start_on_a_malformed_smtp_url():
    env = {**os.environ, "MARKETPLACE_ENV": "development", "SMTP_URL": "smtp//oops"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox-sweep"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"SMTP_URL is malformed" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url",
    ["smtp://mail.example.com", "smtps://u:p%40ss@mail.example.com:465", "smtp://h:587?starttls=1"],
)
def test_well_formed_smtp_urls_start(url):
    create_app("testing", SMTP_URL=url)
