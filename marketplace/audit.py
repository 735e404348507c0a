"""Writing and reading the audit log; every feature records through `record`."""

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from marketplace.admin.models import AuditEntry
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.bookings.models import Booking


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def record(
    *,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: Any,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry


def record_booking(
    booking: "Booking",
    actor: "User | None",
    action: str,
    before: Mapping[str, Any] | None,
    **details: Any,
) -> AuditEntry:
    """A change to a booking: its `audit_state()` before and after, with `details` of the
    change (a refund's id, a dispute's). `actor` None: the platform or the provider."""
    return record(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type="booking",
        target_id=booking.id,
        before=before,
        after={**booking.audit_state(), **details},
    )


def list_entries_query(
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
) -> sa.Select:
    query = sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return query
