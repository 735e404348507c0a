"""RQ on Redis: the queue only moves outbox ids; the table decides what is sent, and when.

A job is `deliver_job(message_id)` with a job id derived from the message id, so the sweep
re-queues a row only when no job for it is already waiting.
"""

import logging
import threading
import uuid

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, SimpleWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from marketplace.extensions import redis_connection

log = logging.getLogger(__name__)

WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.CREATED}
JOB_TIMEOUT_SECONDS = 90  # under the lease: a hung send is stopped before another may start


def connection(app: Flask) -> Redis:
    return redis_connection(app)


def outbox_queue(app: Flask) -> Queue:
    return Queue(app.config["OUTBOX_QUEUE"], connection=connection(app))


def job_id(message_id: uuid.UUID | str) -> str:
    return f"outbox-{message_id}"


def enqueue(app: Flask, message_id: uuid.UUID | str) -> bool:
    """Queue one delivery unless a job for this message is already waiting."""
    redis = connection(app)
    try:
        # One read of the job hash; a job that finishes meanwhile is simply queued again.
        if Job.fetch(job_id(message_id), connection=redis).get_status(refresh=False) in WAITING:
            return False
    except (NoSuchJobError, InvalidJobOperation):
        pass
    outbox_queue(app).enqueue(
        deliver_job,
        str(message_id),
        job_id=job_id(message_id),
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=0,
        failure_ttl=24 * 60 * 60,
    )
    return True


_app_lock = threading.Lock()
_worker_app: Flask | None = None


def _app() -> Flask:
    """The app a job runs in: the worker command's own, or one built from the environment
    (a plain `rq worker` process)."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    with _app_lock:
        if _worker_app is None:
            from marketplace import create_app

            _worker_app = create_app()
        return _worker_app


def deliver_job(message_id: str) -> str:
    """The RQ job: deliver one outbox row now."""
    from marketplace.extensions import db
    from marketplace.notifications.delivery import deliver

    app = _app()
    with app.app_context():
        try:
            return deliver(message_id)
        finally:
            db.session.remove()


def run_worker(app: Flask, *, burst: bool, sweep_seconds: float) -> None:
    """An RQ worker on the outbox queue plus a periodic sweep thread (which heals lost
    enqueues and runs retries and reminders as they fall due)."""
    from marketplace.notifications.delivery import sweep_until

    stop = threading.Event()
    global _worker_app
    _worker_app = app
    if burst:
        sweep_until(app, sweep_seconds, stop, burst=True)
    else:
        threading.Thread(
            target=sweep_until, args=(app, sweep_seconds, stop), name="outbox-sweep", daemon=True
        ).start()
    # SimpleWorker runs each job in this process: no fork per email, and the app (its
    # configuration and connection pool) is built once.
    worker = SimpleWorker([outbox_queue(app)], connection=connection(app))
    try:
        worker.work(burst=burst, logging_level="WARNING")
    finally:
        stop.set()
