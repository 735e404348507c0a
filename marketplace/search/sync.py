"""Numbering committed changes to the search documents, and bringing a worker's in-memory index
up to date with them before each search.

Writers: `reindex_listing` adds each listing it wrote to `changed_documents(session)`. When
that transaction commits, `_number_changes` takes the next revision under the lock of the one
SearchState row (so revisions grow in commit order, and a reader that sees revision N has
every change up to N), stamps the documents with it and logs it with a fresh random token.

Readers: `synced_index()` compares the latest logged change with the one the index last read.
The same: nothing to do. A later one, while the revision last read still carries the token
it had: only documents stamped after it are read. Anything else (that revision rolled back
and its number reused, or pruned from the log) reloads every document.
"""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from marketplace.extensions import db
from marketplace.search.engine import Days, Document, SearchIndex
from marketplace.search.models import SearchChange, SearchDocument, SearchState

_CHANGED = "search_changed_documents"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def changed_documents(session: so.Session) -> set[uuid.UUID]:
    """Listings whose documents this session's transaction wrote."""
    return session.info.setdefault(_CHANGED, set())


@sa.event.listens_for(so.Session, "before_commit")
def _number_changes(session: so.Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    # The row lock is held until the commit: the last lock such a transaction takes, so it
    # cannot deadlock with the practitioner locks taken before it.
    revision = session.execute(
        sa.update(SearchState)
        .where(SearchState.id == 1)
        .values(revision=SearchState.revision + 1)
        .returning(SearchState.revision)
    ).scalar_one()
    session.execute(
        sa.update(SearchDocument)
        .where(SearchDocument.practitioner_id.in_(changed))
        .values(revision=revision)
        .execution_options(synchronize_session=False)
    )
    session.execute(sa.insert(SearchChange).values(revision=revision, token=uuid.uuid4().hex))


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_changes(session: so.Session) -> None:
    session.info.pop(_CHANGED, None)


def prune_changes(keep_after: datetime) -> int:
    """Forget changes committed before `keep_after` (a worker that slept past them reloads)."""
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
        self.seen: tuple[int, str] | None = None


_replicas_lock = threading.Lock()


def _replica() -> _Replica:
    extensions = current_app.extensions
    with _replicas_lock:
        return extensions.setdefault("search_replica", _Replica())


@contextmanager
def synced_index() -> Iterator[SearchIndex]:
    """This worker's index, up to date with every change the session can see, held for the
    duration of the block (other threads wait to read or update it)."""
    replica = _replica()
    with replica.lock:
        _catch_up(replica)
        yield replica.index


def _catch_up(replica: _Replica) -> None:
    latest = db.session.execute(
        sa.select(SearchChange.revision, SearchChange.token)
        .order_by(SearchChange.revision.desc())
        .limit(1)
    ).one_or_none()
    latest = tuple(latest) if latest is not None else None
    if latest == replica.seen:
        return
    if replica.seen is not None and latest is not None and latest[0] > replica.seen[0]:
        revision, token = replica.seen
        still = db.session.scalar(
            sa.select(SearchChange.token).where(SearchChange.revision == revision)
        )
        if still == token:
            rows = _documents(SearchDocument.revision > revision)
            replica.index.apply(
                [_document(row) for row in rows if row.listed],
                [row.practitioner_id for row in rows if not row.listed],
            )
            replica.seen = latest
            return
    replica.index.load(_document(row) for row in _documents(SearchDocument.listed))
    replica.seen = latest


def _documents(condition) -> list:
    return db.session.execute(sa.select(SearchDocument.__table__).where(condition)).all()


def microseconds(instant: datetime | None) -> int | None:
    """An instant as the index holds it: microseconds since 1970 (None stays None)."""
    return None if instant is None else (instant - _EPOCH) // _MICROSECOND


def instant(microseconds: int) -> datetime:
    return _EPOCH + microseconds * _MICROSECOND


def _document(row) -> Document:
    return Document(
        id=row.practitioner_id,
        gender=row.gender,
        languages=frozenset(row.languages),
        telehealth=row.telehealth,
        rating_average=row.rating_average,
        rating_count=row.rating_count,
        offers=tuple(tuple(offer) for offer in row.offers),
        next_slots=tuple(tuple(slot) for slot in row.next_slots),
        places=tuple((latitude, longitude) for latitude, longitude in row.places),
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
