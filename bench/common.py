"""Helpers shared by the benchmarks: scratch databases, the app, bulk loading, statistics.

A benchmark prints exactly one JSON object on stdout (`emit`); progress and diagnostics go to
stderr (`log`), so `python -m bench.x > result.json` keeps only the figures.
"""

import json
import math
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from config import normalise_database_url

_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    """The benchmark's single JSON object, on stdout."""
    print(json.dumps(result, default=str), flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated linearly between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def backend_of(url: str) -> str:
    return sa.make_url(normalise_database_url(url)).get_backend_name()


def _admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(normalise_database_url(server_url), isolation_level="AUTOCOMMIT")


def postgres_database_exists(server_url: str, name: str) -> bool:
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
        return found is not None
    finally:
        admin.dispose()


def create_postgres_database(server_url: str, name: str) -> str:
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    url = sa.make_url(normalise_database_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, name: str) -> None:
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def scratch_database(url: str | None, prefix: str, keep_name: str | None = None) -> Iterator[str]:
    """A database URL for one benchmark run, removed on the way out unless kept.

    - `url` None, `sqlite` or `sqlite://`: a new SQLite file in a temporary directory.
    - `sqlite:///path`: that file (which must not exist yet unless it is kept).
    - a PostgreSQL URL names a server: a new database `<prefix>_<random>` is created there and
      dropped at the end.
    With `keep_name`, the database (PostgreSQL) or file (SQLite, in the temporary directory
    unless a path was given) of that name is created if missing and never removed, so a later
    run can reuse it.
    """
    if url in (None, "sqlite", "sqlite://"):
        if keep_name:
            yield f"sqlite:///{Path(tempfile.gettempdir()) / (keep_name + '.sqlite')}"
            return
        with tempfile.TemporaryDirectory(prefix=f"{prefix}_") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        return
    parsed = sa.make_url(normalise_database_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database:
            raise SystemExit("give a SQLite file path, or no --database-url for a temporary one")
        if keep_name:
            yield parsed.render_as_string(hide_password=False)
            return
        if path.exists():
            raise SystemExit(f"{path} exists: remove it, or pass --keep to reuse it")
        try:
            yield parsed.render_as_string(hide_password=False)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if backend != "postgresql":
        raise SystemExit(f"unsupported database: {backend}")
    if keep_name:
        if not postgres_database_exists(url, keep_name):
            create_postgres_database(url, keep_name)
        yield parsed.set(database=keep_name).render_as_string(hide_password=False)
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    database_url = create_postgres_database(url, name)
    try:
        yield database_url
    finally:
        drop_postgres_database(url, name)


def make_app(database_url: str, migrate: bool = True, **overrides):
    """The app in its testing configuration on `database_url`, migrated to the head."""
    import flask_migrate

    from marketplace import create_app

    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=normalise_database_url(database_url), **overrides
    )
    if migrate:
        with app.app_context():
            flask_migrate.upgrade()
    return app


def column_defaults(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """`row` completed with the Python-side defaults of the columns it does not name.

    Columns without one (nullable, server defaults, generated) are left to the database.
    """
    for column in table.columns:
        if column.name in row or column.default is None:
            continue
        default = column.default
        if default.is_callable:
            row[column.name] = default.arg(None)
        elif default.is_scalar:
            row[column.name] = default.arg
    return row


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert many rows fast: COPY on PostgreSQL (psycopg 3), executemany elsewhere.

    Values are what the model would take (enums, aware datetimes, lists for JSON...): each
    column's own bind processing turns them into what the driver stores, as an ORM insert would.
    Every row must name the same columns (after `column_defaults`).
    """
    rows = [column_defaults(table, dict(row)) for row in rows]
    if not rows:
        return 0
    names = list(rows[0])
    if conn.dialect.name != "postgresql":
        for start in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[start : start + 5000])
        return len(rows)
    processors = [
        table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for name in names
    ]
    columns = ", ".join(f'"{name}"' for name in names)
    raw = conn.connection.driver_connection
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    process(row[name]) if process is not None else row[name]
                    for name, process in zip(names, processors, strict=True)
                ]
            )
    return len(rows)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Ask a server to stop, and make it if it does not in `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
