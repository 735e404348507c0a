"""The outbox: one row per email, written in the transaction of the change that causes it."""

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now, value_enum
from marketplace.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxMessage(db.Model):
    """An email to one recipient, rendered when written; `key` makes each event write it once."""

    __tablename__ = "outbox_messages"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    # (event, subject, recipient): a replayed webhook or a retried request writes nothing new.
    key: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    event: so.Mapped[str] = so.mapped_column(sa.String(64))
    recipient_email: so.Mapped[str] = so.mapped_column(sa.String(254))
    recipient_user_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    subject: so.Mapped[str] = so.mapped_column(sa.String(255))
    text_body: so.Mapped[str] = so.mapped_column(sa.Text)
    html_body: so.Mapped[str] = so.mapped_column(sa.Text)
    ical: so.Mapped[str | None] = so.mapped_column(sa.Text)
    ical_method: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    booking_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("bookings.id", ondelete="SET NULL"), index=True
    )
    # The booking's start this message was written for (a reminder is void once it moved).
    booking_start_at: so.Mapped[datetime | None]
    status: so.Mapped[OutboxStatus] = so.mapped_column(
        value_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    # A worker's lease: while it lasts nobody else sends this row; a dead worker's lapses.
    claimed_until: so.Mapped[datetime | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    sent_at: so.Mapped[datetime | None]

    __table_args__ = (
        # The sweep's question: what is pending and due?
        sa.Index("ix_outbox_messages_status_due", "status", "next_attempt_at"),
    )
