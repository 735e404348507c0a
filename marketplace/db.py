"""The database layer beneath the models: column types, the declarative base, connection
settings for SQLite, and running side effects only once a transaction has committed."""

import enum
import logging
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import DeclarativeBase, registry

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC instant on every backend.

    SQLite has no time zone type: instants are stored there as naive UTC text, which sorts and
    compares correctly because every value shares one offset and one format.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetimes cannot be stored: give a UTC offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def value_enum(enum_class: type[enum.Enum], length: int = 20) -> sa.Enum:
    """An enum stored as its values in a VARCHAR (no database enum type to migrate)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: sa.Uuid()},
    )


@sa.event.listens_for(sa.Engine, "connect")
def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Hand transaction control to SQLAlchemy (pysqlite's own is broken for SAVEPOINT and DDL).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@sa.event.listens_for(sa.Engine, "begin")
def _begin_sqlite_transaction(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front: SQLite then serialises writers by waiting
        # (busy_timeout) instead of failing a transaction that read before it wrote.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def after_commit(session: so.Session, callback: Callable[[], Any]) -> None:
    """Run `callback` once the session's current transaction has committed (dropped on
    rollback).

    For side effects that must not happen for a change that did not stick: telling the
    payment provider, sending email.
    """
    session.info.setdefault("after_commit", []).append(callback)


@sa.event.listens_for(so.Session, "after_commit")
def _run_after_commit(session: so.Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is committed yet
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:
            # The change is committed; a failed notification must not turn it into an error.
            log.exception("after-commit callback %r failed", callback)


@sa.event.listens_for(so.Session, "after_soft_rollback")
def _drop_after_commit(session: so.Session, previous_transaction: so.SessionTransaction) -> None:
    # Only the outermost transaction's rollback: a savepoint's, or a flush's that failed
    # inside one, leaves the transaction going on.
    if previous_transaction.parent is None:
        session.info.pop("after_commit", None)


_LISTINGS_CHANGED = "listings_changed"


def mark_listing_changed(
    session: so.Session, listing_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Note that this transaction changed what search or the availability summary know of a
    listing; the listing's rows there are rewritten once, as the transaction commits (the
    hook lives with search). `now`: the instant the change was made at (default: the clock
    at commit)."""
    session.info.setdefault(_LISTINGS_CHANGED, {})[listing_id] = now


def listings_changed(session: so.Session) -> dict[uuid.UUID, datetime | None]:
    """The listings this session's transaction marked changed, each with its instant, taken
    (marks are cleared)."""
    return session.info.pop(_LISTINGS_CHANGED, {})


@sa.event.listens_for(so.Session, "after_soft_rollback")
def _forget_changed_listings(
    session: so.Session, previous_transaction: so.SessionTransaction
) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_LISTINGS_CHANGED, None)
