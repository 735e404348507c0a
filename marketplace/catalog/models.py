"""The therapy and condition taxonomy (reference data loaded by a migration)."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now
from marketplace.extensions import db

condition_therapies = sa.Table(
    "condition_therapies",
    db.metadata,
    sa.Column("condition_id", sa.ForeignKey("conditions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "therapy_type_id",
        sa.ForeignKey("therapy_types.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class TherapyType(db.Model):
    """A kind of therapy a service is of (trigger point therapy, dry needling...)."""

    __tablename__ = "therapy_types"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    active: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)

    conditions: so.Mapped[list["Condition"]] = so.relationship(
        secondary=condition_therapies, back_populates="therapies", order_by="Condition.name"
    )

    def __repr__(self) -> str:
        return f"<TherapyType {self.slug}>"


class Condition(db.Model):
    """A complaint patients search by (sciatica, buttock pain...), linked to therapies."""

    __tablename__ = "conditions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    synonyms: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)

    therapies: so.Mapped[list[TherapyType]] = so.relationship(
        secondary=condition_therapies, back_populates="conditions", order_by=TherapyType.name
    )

    def __repr__(self) -> str:
        return f"<Condition {self.slug}>"
