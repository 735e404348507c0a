"""Queue many emails through the outbox and deliver them to a local SMTP server.

    python -m bench.outbox --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python -m bench.outbox --database-url URL --kill-midway

A fresh database is created on the server of the URL (or a temporary SQLite file), migrated,
and `--messages` outbox rows are written through `notifications.service.write` in
transactions of `--batch`, as the app writes them. `--workers` processes of the real
`flask --app wsgi worker` deliver them to an aiosmtpd server in this process: RQ workers on
Redis when a Redis answers at `--redis-url`, else in-process sweeps. With `--kill-midway`
one worker is killed (SIGKILL) once half the messages have arrived, and started again.

One JSON object is printed: `messages_per_s` (arrivals over the time from the first commit
to the last arrival), `p95_delivery_ms` (commit to accepted by the server), `duplicates`
(messages the server received more than once) and `lost` (rows never received, or not
marked sent). The exit status is 1 unless both are 0. The database is dropped at the end.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from bench.common import emit, log, make_app, ms, percentile, scratch_database

ROOT = Path(__file__).resolve().parent.parent


def redis_answers(url: str) -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def start_worker(env: dict[str, str], log_file) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


def write_messages(app, count: int, batch: int) -> dict[str, float]:
    """Write `count` rows in transactions of `batch`; the commit time of each id."""
    from marketplace.accounts.models import User
    from marketplace.extensions import db
    from marketplace.notifications import service
    from tests.factories import create_user

    user_id, _ = create_user(app, "practitioner", email=f"bench-{uuid.uuid4().hex[:6]}@example.com")

    class Listing:
        display_name = "Bench listing"
        slug = "bench-listing"

    committed: dict[str, float] = {}
    with app.app_context():
        recipient = db.session.get(User, user_id)
        for start in range(0, count, batch):
            ids = []
            for number in range(start, min(start + batch, count)):
                ids.append(
                    service.write(
                        key=f"bench:{number}",
                        event="listing.approved",
                        recipient=recipient,
                        subject=f"Bench message {number}",
                        template="listing_reviewed",
                        context={
                            "action": "approve",
                            "listing": Listing(),
                            "reason": None,
                            "base_url": "http://127.0.0.1:5000",
                        },
                    )
                )
            db.session.commit()  # enqueues (or delivers) each after the commit
            now = time.time()
            committed.update({str(message_id): now for message_id in ids})
    return committed


def run(args) -> dict:
    from marketplace.extensions import db
    from marketplace.notifications.models import OutboxMessage, OutboxStatus
    from tests.notifications.smtp_server import SmtpServer

    use_redis = not args.no_redis and redis_answers(args.redis_url)
    queue_name = f"outbox-bench-{uuid.uuid4().hex[:8]}"
    smtp = SmtpServer().start()
    with (
        scratch_database(args.database_url, "bench_outbox") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        overrides = {"SMTP_URL": smtp.url, "OUTBOX_QUEUE": queue_name}
        if use_redis:
            overrides["REDIS_URL"] = args.redis_url
        else:
            # No Redis: the writer must not deliver in-process after commit; workers sweep.
            overrides["REDIS_URL"] = None
        app = make_app(url, **overrides)
        env = {
            **os.environ,
            "MARKETPLACE_ENV": "development",
            "DATABASE_URL": url,
            "SMTP_URL": smtp.url,
            "OUTBOX_QUEUE": queue_name,
            "OUTBOX_LEASE_SECONDS": str(args.lease_seconds),
            "OUTBOX_SWEEP_SECONDS": "2" if use_redis else "0.2",
        }
        if use_redis:
            env["REDIS_URL"] = args.redis_url
        else:
            env.pop("REDIS_URL", None)
        env.pop("STRIPE_SECRET_KEY", None)
        worker_log = open(Path(tmp) / "workers.log", "wb")  # noqa: SIM115
        workers = [start_worker(env, worker_log) for _ in range(args.workers)]
        killed = restarted = False
        try:
            time.sleep(1.5)  # let the workers start
            if not use_redis:
                # Without Redis nothing is queued: workers find rows by sweeping.
                app.config["REDIS_URL"] = None
            began = time.time()
            log(f"writing {args.messages} messages ({'RQ' if use_redis else 'sweep'} workers)")
            if use_redis:
                committed = write_messages(app, args.messages, args.batch)
            else:
                committed = _write_without_delivery(app, args.messages, args.batch)
            log("written; waiting for delivery")
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                arrived = len(smtp.received)
                if args.kill_midway and not killed and arrived >= args.messages // 2:
                    os.kill(workers[0].pid, signal.SIGKILL)
                    workers[0].wait()
                    killed = True
                    log(f"killed worker {workers[0].pid} at {arrived} arrivals; restarting")
                    workers[0] = start_worker(env, worker_log)
                    restarted = True
                with app.app_context():
                    pending = db.session.scalar(
                        sa.select(sa.func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status != OutboxStatus.SENT)
                    )
                    db.session.remove()
                if pending == 0 and len({r.outbox_id for r in smtp.received}) >= args.messages:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # a straggler sent twice would arrive now
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            worker_log.close()
            smtp.stop()
            if use_redis:
                from redis import Redis

                redis = Redis.from_url(args.redis_url)
                for key in redis.scan_iter(f"*{queue_name}*"):
                    redis.delete(key)
        received = smtp.received
        counts = Counter(r.outbox_id for r in received)
        with app.app_context():
            sent_ids = {
                str(i)
                for i in db.session.scalars(
                    sa.select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENT)
                )
            }
            db.engine.dispose()
        first_arrival = {}
        for r in received:
            first_arrival.setdefault(r.outbox_id, r.at)
        latencies = [first_arrival[i] - committed[i] for i in committed if i in first_arrival]
        last = max((r.at for r in received), default=began)
        log_text = (Path(tmp) / "workers.log").read_text(errors="replace")
        if "Traceback" in log_text:
            print("worker log (last 3000 characters):\n" + log_text[-3000:], file=sys.stderr)
        lost = len({i for i in committed if i not in counts} | (set(committed) - sent_ids))
        return {
            "messages": args.messages,
            "workers": args.workers,
            "queue": "rq" if use_redis else "sweep",
            "backend": sa.make_url(url).get_backend_name(),
            "messages_per_s": round(len(counts) / max(last - began, 1e-9), 1),
            "p95_delivery_ms": ms(percentile(latencies, 95)) if latencies else None,
            "p50_delivery_ms": ms(percentile(latencies, 50)) if latencies else None,
            "duplicates": sum(n - 1 for n in counts.values() if n > 1),
            "lost": lost,
            "received": len(received),
            "killed_midway": killed and restarted,
            "lease_seconds": args.lease_seconds,
            "elapsed_s": round(last - began, 2),
        }


def _write_without_delivery(app, count: int, batch: int) -> dict[str, float]:
    """As `write_messages`, but the writer leaves delivery to the sweeping workers."""
    from marketplace.notifications import delivery

    original = delivery.dispatch
    delivery.dispatch = lambda app, message_id: None
    try:
        return write_messages(app, count, batch)
    finally:
        delivery.dispatch = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL or sqlite")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="messages per transaction")
    parser.add_argument("--kill-midway", action="store_true")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    )
    parser.add_argument("--no-redis", action="store_true", help="sweeping workers only")
    parser.add_argument("--lease-seconds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    result = run(args)
    emit(result)
    return 0 if result["duplicates"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
