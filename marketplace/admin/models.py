"""The audit log: every admin action and every money movement."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now
from marketplace.extensions import db


class AuditEntry(db.Model):
    """Who did what to which target, when, with the state before and after."""

    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_target", "target_type", "target_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # None when the system acted (a webhook, an expired hold).
    actor_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: so.Mapped[str] = so.mapped_column(sa.String(80))
    target_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    target_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    before: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    after: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now, index=True)
