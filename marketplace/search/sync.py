"""Numbering committed changes to the search documents, and bringing a worker's in-memory index
up to date with them before each search.

Writers: `reindex_listing` adds each listing it wrote to `changed_documents(session)`. When
that transaction commits, the commit hook in `index` rewrites the listings it marked changed,
then `number_changes` takes the next revision (`take_revision`: under the lock of the one
SearchState row, so revisions grow in commit order and a reader that sees revision N has every
change up to N), stamps the documents with it and logs it with a fresh random token.

Readers: `synced_index()` compares the latest logged change with the one the index last read.
The same: nothing to do. A later one, while the revision last read still carries the token
it had: only the documents stamped since are read (unless they are so many that a reload is
as cheap). Anything else (the revision last read pruned from the log, or gone: a rolled-back
transaction, a restored database) reloads every document. The index only ever reads what its
session's transaction has not written itself, which outside the tests' rolled-back
transactions means committed data; and since a reader runs each statement on a snapshot at
least as new as the last one read (PostgreSQL's READ COMMITTED; SQLite's transactions take
the write lock as they begin), revisions it sees never go back in normal running.
"""

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app

from marketplace.extensions import db
from marketplace.search.engine import Days, Document, SearchIndex, microseconds
from marketplace.search.models import SearchChange, SearchDocument, SearchState

_CHANGED = "search_changed_documents"
# Beyond this many changed documents (or a quarter of the index), a worker reloads instead.
MAX_CHANGES_APPLIED = 2000
CHANGE_LOG_KEPT = timedelta(days=1)


def changed_documents(session: so.Session) -> set[uuid.UUID]:
    """Listings whose documents this session's transaction wrote."""
    return session.info.setdefault(_CHANGED, set())


def take_revision(connection: sa.Connection) -> int:
    """The next revision, logged with a fresh token. The state row stays locked until the
    transaction ends, which hands out revisions in commit order."""
    state = SearchState.__table__
    revision = connection.execute(
        sa.update(state)
        .where(state.c.id == 1)
        .values(revision=state.c.revision + 1)
        .returning(state.c.revision)
    ).scalar_one()
    connection.execute(
        sa.insert(SearchChange.__table__).values(revision=revision, token=uuid.uuid4().hex)
    )
    return revision


def number_changes(session: so.Session) -> None:
    """Stamp the documents the committing transaction wrote with the next revision. Called by
    the commit hook in `index` once the marked listings are rewritten, so no write follows."""
    changed = session.info.get(_CHANGED)
    if not changed:
        return
    # The last lock such a transaction takes, so it cannot deadlock with the practitioner
    # locks taken before it; held for the commit alone.
    revision = take_revision(session.connection())
    session.execute(
        sa.update(SearchDocument)
        .where(SearchDocument.practitioner_id.in_(changed))
        .values(revision=revision)
        .execution_options(synchronize_session=False)
    )
    del session.info[_CHANGED]


@sa.event.listens_for(so.Session, "after_soft_rollback")
def _forget_changes(session: so.Session, previous_transaction: so.SessionTransaction) -> None:
    # Only the whole transaction's rollback: after a savepoint's (or a failed flush's) the
    # listings it wrote stay listed, and numbering a document that did not change costs a
    # reader one needless read, never a wrong answer.
    if previous_transaction.parent is None:
        session.info.pop(_CHANGED, None)


def prune_changes(now: datetime) -> int:
    """Forget changes committed more than CHANGE_LOG_KEPT before `now` (a worker that slept
    past them reloads)."""
    keep_after = now - CHANGE_LOG_KEPT
    latest = db.session.scalar(sa.select(sa.func.max(SearchChange.revision)))
    return db.session.execute(
        sa.delete(SearchChange).where(
            SearchChange.committed_at < keep_after, SearchChange.revision != latest
        )
    ).rowcount


class _Replica:
    """One worker's copy of the documents, and the change it was last brought up to."""

    def __init__(self) -> None:
        self.index = SearchIndex()
        self.lock = threading.Lock()
        self.loaded = False
        self.seen: tuple[int, str] | None = None


_replicas_lock = threading.Lock()


def _replica() -> _Replica:
    extensions = current_app.extensions
    replica = extensions.get("search_replica")
    if replica is None:
        with _replicas_lock:
            replica = extensions.setdefault("search_replica", _Replica())
    return replica


def warm_index(app: Flask) -> None:
    """Load the worker's index now rather than at its first search."""
    with app.app_context():
        try:
            with synced_index():
                pass
        finally:
            db.session.remove()


@contextmanager
def synced_index() -> Iterator[SearchIndex]:
    """This worker's index, up to date with every committed change the session can see,
    held for the duration of the block (other threads wait to read or update it)."""
    replica = _replica()
    # The transaction first, the index's lock second, in every thread: on SQLite a transaction
    # begins by taking the database's write lock, which a thread holding the index's would
    # otherwise wait for while its holder waits for the index.
    db.session.connection()
    with replica.lock:
        _catch_up(replica)
        yield replica.index


def _catch_up(replica: _Replica) -> None:
    if db.session.info.get(_CHANGED):
        # This transaction wrote documents it has not committed: the index, which every
        # request of the worker shares, takes committed changes only.
        return
    latest = db.session.execute(
        sa.select(SearchChange.revision, SearchChange.token)
        .order_by(SearchChange.revision.desc())
        .limit(1)
    ).one_or_none()
    latest = tuple(latest) if latest is not None else None
    if replica.loaded and latest == replica.seen:
        return
    loaded, replica.loaded = replica.loaded, False  # until the index is whole again
    if loaded and latest is not None and replica.seen is not None and latest[0] > replica.seen[0]:
        revision, token = replica.seen
        still = db.session.scalar(
            sa.select(SearchChange.token).where(SearchChange.revision == revision)
        )
        rows = _documents(SearchDocument.revision > revision) if still == token else None
        if rows is not None and len(rows) <= max(MAX_CHANGES_APPLIED, replica.index.size // 4):
            replica.index.apply(
                [_document(row) for row in rows if row.listed],
                [row.practitioner_id for row in rows if not row.listed],
            )
            replica.loaded, replica.seen = True, latest
            return
    replica.index.load(_document(row) for row in _documents(SearchDocument.listed))
    replica.loaded, replica.seen = True, latest


def _documents(condition) -> list:
    # JSON read as text and parsed here: psycopg's own parsing of each value costs twice as
    # much, which matters when a worker loads 100,000 documents.
    columns = [
        sa.cast(column, sa.Text).label(column.name) if isinstance(column.type, sa.JSON) else column
        for column in SearchDocument.__table__.columns
    ]
    return db.session.execute(sa.select(*columns).where(condition)).all()


def _document(row) -> Document:
    return Document(
        id=row.practitioner_id,
        gender=row.gender,
        languages=frozenset(json.loads(row.languages)),
        telehealth=row.telehealth,
        rating_average=row.rating_average,
        rating_count=row.rating_count,
        offers=tuple(map(tuple, json.loads(row.offers))),
        next_slots=tuple(map(tuple, json.loads(row.next_slots))),
        places=tuple(map(tuple, json.loads(row.places))),
        texts=(row.name_terms, row.headline_terms, row.bio_terms),
        days=Days(
            base=row.days_base,
            any=int(row.days_any, 16),
            every=int(row.days_every, 16),
            base_any_until=microseconds(row.base_day_any_until),
            base_every_until=microseconds(row.base_day_every_until),
            next_any_until=microseconds(row.next_day_any_until),
            next_every_until=microseconds(row.next_day_every_until),
            later_until=microseconds(row.later_days_until),
        ),
    )
