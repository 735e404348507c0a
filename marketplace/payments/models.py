"""Payment provider events, recorded so that each is processed at most once."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now
from marketplace.extensions import db


class PaymentEvent(db.Model):
    """A payment provider event, stored so that each is processed at most once."""

    __tablename__ = "payment_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    event_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    type: so.Mapped[str] = so.mapped_column(sa.String(80))
    received_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    processed_at: so.Mapped[datetime | None]

    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)
