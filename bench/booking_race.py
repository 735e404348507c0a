"""Race many patients for the same slots through gunicorn and count what the database kept.

    python -m bench.booking_race --database-url postgresql://postgres@127.0.0.1:5432/postgres

The URL names a server (any database on it): a fresh database `bench_race_<random>` is created
there, migrated and seeded with one approved listing and `--clients` patients with bearer tokens,
then the app is served by gunicorn (`--workers` sync workers on a free loopback port). Every
client tries to book every one of `--slots` slots, in its own shuffled order, so each slot is
contested by all clients. One JSON object is printed; the exit status is 1 unless every slot was
booked exactly once, nothing answered 5xx and the database holds no overlapping active bookings.
The server is stopped and the database dropped at the end, whatever happened.
"""

import argparse
import http.client
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import stop_process
from config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FAST_HASH = "pbkdf2:sha256:1000"  # the seeded passwords are never used: tokens are

# Only the bench's own active bookings can overlap; buffers included (blocked_*), [start, end).
DOUBLE_BOOKINGS_SQL = sa.text(
    """
    SELECT count(*) FROM bookings a JOIN bookings b
      ON a.practitioner_id = b.practitioner_id AND a.id < b.id
    WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
      AND a.blocked_start_at < b.blocked_end_at AND b.blocked_start_at < a.blocked_end_at
    """
)
ACTIVE_SQL = sa.text("SELECT count(*) FROM bookings WHERE status IN ('held', 'confirmed')")


def server_app():
    """The WSGI app gunicorn serves (DATABASE_URL from the environment).

    Rate limits and the per-patient cap on unpaid holds are lifted: the race measures the
    calendar lock, not the abuse guards in front of it.
    """
    from marketplace import create_app

    return create_app(
        "development",
        RATELIMIT_ENABLED=False,
        MAX_OPEN_HOLDS=1_000_000,
        PAYMENTS_PROVIDER="simulated",
    )


@contextmanager
def scratch_database(server_url: str):
    """A new database on the server of `server_url`, dropped (forcibly) on the way out."""
    server = sa.make_url(normalise_database_url(server_url))
    if server.get_backend_name() != "postgresql":
        raise SystemExit("the race benchmark needs a PostgreSQL server URL")
    name = f"bench_race_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def seed(database_url: str, clients: int, slots: int) -> tuple[str, str, list[str]]:
    """Migrate, then one approved listing and patients with tokens: (slug, service id, tokens)."""
    import flask_migrate

    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.accounts.service import issue_token
    from marketplace.extensions import db
    from tests.factories import create_listing, create_user

    app = create_app(
        "development", SQLALCHEMY_DATABASE_URI=database_url, PASSWORD_HASH_METHOD=FAST_HASH
    )
    with app.app_context():
        flask_migrate.upgrade()
    # 45-minute treatments every hour with a 15-minute buffer after: blocked spans touch.
    daily = 16
    listing = create_listing(
        app,
        timezone="UTC",
        duration_minutes=45,
        slot_interval_minutes=60,
        buffer_before_minutes=0,
        buffer_after_minutes=15,
        horizon_days=max(60, slots // daily + 10),
        weekly_hours=[(day, "06:00", "22:00") for day in range(7)],
    )
    tokens = []
    for number in range(clients):
        user_id, _ = create_user(app, "patient", email=f"racer{number}@example.com")
        with app.app_context():
            _token, plain = issue_token(db.session.get(User, user_id), "bench")
            db.session.commit()
            tokens.append(plain)
    with app.app_context():
        db.engine.dispose()
    return listing.slug, str(listing.service_id), tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body=None, headers=None, timeout=60.0):
    """One request on a new connection (gunicorn's sync workers close each one): (status, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={**(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def gunicorn(database_url: str, workers: int, log_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MARKETPLACE_ENV": "development",
        "PAYMENTS_PROVIDER": "simulated",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "bench.booking_race:server_app()",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(process, port)
        yield port
    finally:
        stop_process(process)


def wait_healthy(process: subprocess.Popen, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        try:
            status, _ = call(port, "GET", "/api/v1/health", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not become healthy in time")


def slot_starts(port: int, slug: str, service_id: str, count: int) -> list[str]:
    first = datetime.now(UTC).date() + timedelta(days=1)
    last = first + timedelta(days=count // 8 + 7)
    status, body = call(
        port,
        "GET",
        f"/api/v1/practitioners/{slug}/slots?service_id={service_id}&from={first}&to={last}",
    )
    if status != 200:
        raise RuntimeError(f"slots: {status} {body[:300]!r}")
    starts = [item["start_at"] for item in json.loads(body)["items"]][:count]
    if len(starts) < count:
        raise RuntimeError(f"only {len(starts)} free slots, {count} wanted")
    return starts


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.transport_errors = 0
        self.samples: list[str] = []  # the first unexpected answers, for the report

    def add(self, status: int | None, seconds: float, detail: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if status is None:
                self.transport_errors += 1
            else:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if (status is None or status not in (201, 409)) and len(self.samples) < 5:
                self.samples.append(f"{status}: {detail[:500]}")


def client_run(port, token, service_id, starts, barrier, tally: Tally) -> None:
    order = list(starts)
    random.shuffle(order)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    barrier.wait()
    for start_at in order:
        body = {"service_id": service_id, "start_at": start_at}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        began = time.perf_counter()
        try:
            status, raw = call(port, "POST", "/api/v1/bookings", body, {**headers, **key})
            detail = raw.decode(errors="replace")
        except OSError as exc:
            status, detail = None, repr(exc)
        tally.add(status, time.perf_counter() - began, f"{start_at} {detail}")


def race(port: int, tokens: list[str], service_id: str, starts: list[str]) -> tuple[Tally, float]:
    tally = Tally()
    barrier = threading.Barrier(len(tokens) + 1)
    threads = [
        threading.Thread(target=client_run, args=(port, token, service_id, starts, barrier, tally))
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - began


def count(database_url: str, query: sa.TextClause) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(query).scalar_one()
    finally:
        engine.dispose()


def p95_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000, 1)


def run(server_url: str, workers: int, clients: int, slots: int) -> dict:
    with scratch_database(server_url) as database_url, tempfile.TemporaryDirectory() as tmp:
        slug, service_id, tokens = seed(database_url, clients, slots)
        log_path = Path(tmp) / "gunicorn.log"
        try:
            with gunicorn(database_url, workers, log_path) as port:
                starts = slot_starts(port, slug, service_id, slots)
                tally, elapsed = race(port, tokens, service_id, starts)
        except BaseException:
            print_log(log_path)
            raise
        result = {
            "attempts": len(tally.latencies),
            "created": tally.statuses.get(201, 0),
            "conflicts": tally.statuses.get(409, 0),
            "server_errors": sum(n for status, n in tally.statuses.items() if status >= 500),
            "double_bookings": count(database_url, DOUBLE_BOOKINGS_SQL),
            "requests_per_s": round(len(tally.latencies) / elapsed, 1),
            "p95_ms": p95_ms(tally.latencies),
            "active_bookings": count(database_url, ACTIVE_SQL),
            "other_statuses": {
                str(status): n
                for status, n in sorted(tally.statuses.items())
                if status not in (201, 409) and status < 500
            },
            "transport_errors": tally.transport_errors,
            "workers": workers,
            "clients": clients,
            "slots": slots,
            "elapsed_s": round(elapsed, 2),
        }
        if tally.samples:
            print("unexpected answers:\n  " + "\n  ".join(tally.samples), file=sys.stderr)
        print_log(log_path)
        return result


def print_log(log_path: Path) -> None:
    """What gunicorn and the app logged (warnings and tracebacks only), to stderr."""
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    if log.strip():
        print("gunicorn log (last 4000 characters):\n" + log[-4000:], file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--slots", type=int, default=100)
    args = parser.parse_args(argv)
    result = run(args.database_url, args.workers, args.clients, args.slots)
    print(json.dumps(result))
    held = (
        result["created"] == args.slots
        and result["active_bookings"] == args.slots
        and result["server_errors"] == 0
        and result["transport_errors"] == 0
        and result["double_bookings"] == 0
    )
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
