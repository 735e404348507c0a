"""Delivering outbox rows: claim with a lease, send over SMTP, then mark sent.

A row is claimed by one conditional UPDATE (pending, due, and no live lease) and that claim is
committed before anything is sent, so two workers never send it at once. It is marked `sent`
only after the SMTP server accepted it; a worker that dies in between leaves a lease that
lapses, and the row is sent again (once more, never lost). Failures retry with backoff; a
permanent refusal (5xx) or the last try marks it `failed` for an admin to retry.
"""

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app

from marketplace.accounts.models import User
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.db import after_commit, utc_now
from marketplace.extensions import db
from marketplace.notifications import smtp
from marketplace.notifications.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd... failed try; a try after the last wait that fails is final.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
REMINDER_EVENT = "booking.reminder"

SENT, SKIPPED, RETRY, FAILED, NOT_CLAIMED = "sent", "skipped", "retry", "failed", "not_claimed"

_table = OutboxMessage.__table__


@contextmanager
def _session() -> Iterator[so.Session]:
    """A session of its own, on the app's database: delivery runs after the caller's commit
    (inside its after-commit hook, where that session can emit no SQL) and commits in steps."""
    session = so.Session(
        bind=db.session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    try:
        yield session
    finally:
        session.close()


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


def due_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Pending, due, and not under a live lease: what may be claimed now."""
    return sa.and_(
        _table.c.status == OutboxStatus.PENDING,
        _table.c.next_attempt_at <= now,
        sa.or_(_table.c.claimed_until.is_(None), _table.c.claimed_until < now),
    )


def claim(session: so.Session, message_id: uuid.UUID, now: datetime) -> bool:
    """Take the row for one try (committed), or learn that it is not ours to send."""
    claimed = session.execute(
        sa.update(_table)
        .where(_table.c.id == message_id, due_clause(now))
        .values(claimed_until=now + lease(), attempts=_table.c.attempts + 1)
    ).rowcount
    session.commit()
    return claimed == 1


def skip_reason(session: so.Session, message: OutboxMessage, now: datetime) -> str | None:
    """Why a reminder is void at send time: the booking changed or the reader opted out."""
    if message.event != REMINDER_EVENT:
        return None
    booking = session.get(Booking, message.booking_id) if message.booking_id else None
    if booking is None or booking.status is not BookingStatus.CONFIRMED:
        return f"booking is {booking.status.value if booking else 'gone'}"
    if booking.start_at != message.booking_start_at:
        return "booking was rescheduled"
    if booking.start_at <= now:
        return "appointment has started"
    user = session.get(User, message.recipient_user_id) if message.recipient_user_id else None
    if user is None or not user.email_reminders:
        return "recipient turned reminders off"
    return None


def _finish(session: so.Session, message_id: uuid.UUID, **values) -> None:
    session.execute(
        sa.update(_table)
        .where(_table.c.id == message_id, _table.c.status == OutboxStatus.PENDING)
        .values(claimed_until=None, **values)
    )
    session.commit()


def deliver(message_id: uuid.UUID | str, now: datetime | None = None) -> str:
    """Send one outbox row if it is due and nobody else holds it; returns what happened."""
    message_id = uuid.UUID(str(message_id))
    now = now or utc_now()
    config = current_app.config
    with _session() as session:
        if not claim(session, message_id, now):
            return NOT_CLAIMED
        message = session.get(OutboxMessage, message_id)
        reason = skip_reason(session, message, now)
        session.expunge(message)
        session.rollback()  # end the read: no transaction is held across the network
        if reason:
            _finish(session, message_id, status=OutboxStatus.SKIPPED, last_error=reason)
            log.info("outbox %s (%s) skipped: %s", message_id, message.key, reason)
            return SKIPPED
        try:
            _send(message, config)
        except Exception as error:
            return _record_failure(session, message, error, now)
        _finish(session, message_id, status=OutboxStatus.SENT, sent_at=now, last_error=None)
        return SENT


def _send(message: OutboxMessage, config) -> None:
    email = smtp.build_message(message, config["MAIL_FROM"])
    if not config.get("SMTP_URL"):
        log.info(
            "email (no SMTP_URL, not sent) to %s\nSubject: %s\n\n%s%s",
            message.recipient_email,
            message.subject,
            message.text_body,
            f"\n--- invite ({message.ical_method}) ---\n{message.ical}" if message.ical else "",
        )
        return
    smtp.send(smtp.parse_smtp_url(config["SMTP_URL"]), email, config["MAIL_FROM"])


def _record_failure(
    session: so.Session, message: OutboxMessage, error: Exception, now: datetime
) -> str:
    attempts = message.attempts  # this try included (counted by the claim)
    detail = smtp.describe(error)[:2000]
    if smtp.is_permanent(error) or attempts >= MAX_ATTEMPTS:
        _finish(session, message.id, status=OutboxStatus.FAILED, last_error=detail)
        log.warning("outbox %s failed after %d tries: %s", message.id, attempts, detail)
        return FAILED
    retry_at = now + BACKOFF[attempts - 1]
    _finish(session, message.id, next_attempt_at=retry_at, last_error=detail)
    log.warning("outbox %s try %d failed (%s); next at %s", message.id, attempts, detail, retry_at)
    return RETRY


# --- after commit and the sweep -------------------------------------------------------------


def dispatch_after_commit(message_id: uuid.UUID) -> None:
    """Once the writing transaction commits, queue the row (Redis) or send it here."""
    after_commit(db.session, partial(dispatch, current_app._get_current_object(), message_id))


def dispatch(app: Flask, message_id: uuid.UUID) -> None:
    if app.config.get("REDIS_URL"):
        from marketplace.notifications import queue

        try:
            queue.enqueue(app, message_id)
        except Exception:  # the row is committed: the sweep will find it
            log.exception("could not queue outbox %s; the sweep will", message_id)
        return
    deliver(message_id)


def due_ids(now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    with _session() as session:
        return list(
            session.scalars(
                sa.select(_table.c.id)
                .where(due_clause(now))
                .order_by(_table.c.next_attempt_at)
                .limit(limit)
            )
        )


def sweep(now: datetime | None = None, limit: int = 1000) -> int:
    """Queue (Redis) or deliver here every row that is due and not sent; returns how many.

    Heals lost enqueues, crashed workers (their leases lapse) and runs retries and reminders
    when they fall due. Safe to run twice or on many hosts: sending goes through `claim`.
    """
    now = now or utc_now()
    ids = due_ids(now, limit)
    if current_app.config.get("REDIS_URL"):
        from marketplace.notifications import queue

        for message_id in ids:
            queue.enqueue(current_app, message_id)
        return len(ids)
    for message_id in ids:
        deliver(message_id, now)
    return len(ids)


def retry_failed(message: OutboxMessage, now: datetime) -> None:
    """An admin's retry: a failed row becomes pending and due now, its tries counted afresh."""
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_until = None
    db.session.flush()
    dispatch_after_commit(message.id)


def sweep_until(app: Flask, interval: float, stop: threading.Event, *, burst: bool = False) -> None:
    """Sweep every `interval` seconds until `stop` is set (once with `burst`); a failed sweep
    is logged and tried again, never the end of the worker."""
    while not stop.is_set():
        try:
            with app.app_context():
                try:
                    sweep()
                finally:
                    db.session.remove()
        except Exception:
            log.exception("outbox sweep failed; trying again in %ss", interval)
        if burst:
            return
        stop.wait(interval)
