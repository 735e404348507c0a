"""A practitioner's working hours: weekly rules, date overrides and time off."""

import uuid
from datetime import date, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now
from marketplace.extensions import db


class AvailabilityRule(db.Model):
    """Weekly hours: a local wall-clock window on a weekday at a location."""

    __tablename__ = "availability_rules"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    weekday: so.Mapped[int]
    start_time: so.Mapped[time]
    end_time: so.Mapped[time]
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("locations.id", ondelete="CASCADE"), index=True
    )
    valid_from: so.Mapped[date | None]
    valid_until: so.Mapped[date | None]

    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("start_time < end_time", name="window"),
    )


class DateOverride(db.Model):
    """A date whose own windows replace the weekly rules; no windows means closed."""

    __tablename__ = "date_overrides"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE")
    )
    date: so.Mapped[date]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)

    windows: so.Mapped[list["OverrideWindow"]] = so.relationship(
        back_populates="override",
        cascade="all, delete-orphan",
        order_by="OverrideWindow.start_time",
        lazy="selectin",
    )

    __table_args__ = (sa.UniqueConstraint("practitioner_id", "date"),)


class OverrideWindow(db.Model):
    __tablename__ = "override_windows"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    override_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("date_overrides.id", ondelete="CASCADE"), index=True
    )
    start_time: so.Mapped[time]
    end_time: so.Mapped[time]
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("locations.id", ondelete="CASCADE"), index=True
    )

    override: so.Mapped[DateOverride] = so.relationship(back_populates="windows")

    __table_args__ = (sa.CheckConstraint("start_time < end_time", name="window"),)


class TimeOff(db.Model):
    """An instant range in which nothing can be booked."""

    __tablename__ = "time_off"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE")
    )
    start_at: so.Mapped[datetime]
    end_at: so.Mapped[datetime]
    reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)

    __table_args__ = (
        sa.CheckConstraint("start_at < end_at", name="range"),
        sa.Index("ix_time_off_practitioner_end", "practitioner_id", "end_at"),
    )


class AvailabilityDay(db.Model):
    """Per listing, service duration and local day: the first free slot and the free time.

    A summary kept for search (`available_on`, `soonest`, `next_available_at`) so that search
    never runs the slot engine per candidate. It is rewritten in the same transaction as
    anything that changes availability, and rolled forward daily (`refresh-availability`).
    Only days with at least one free slot have a row.
    """

    __tablename__ = "availability_days"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    duration_minutes: so.Mapped[int] = so.mapped_column(primary_key=True)
    day: so.Mapped[date] = so.mapped_column(primary_key=True)
    first_slot_at: so.Mapped[datetime]
    last_slot_at: so.Mapped[datetime]
    # The instants until which those slots stay bookable (slot start less the minimum notice):
    # as time passes, a day whose first deadline has gone still has later slots, and a day
    # whose last deadline has gone has none left.
    first_bookable_until: so.Mapped[datetime]
    last_bookable_until: so.Mapped[datetime]
    free_minutes: so.Mapped[int]

    __table_args__ = (
        sa.Index("ix_availability_days_day", "day", "practitioner_id", "duration_minutes"),
        # One listing's day, as `available_on` probes it per candidate.
        sa.Index(
            "ix_availability_days_listing_day", "practitioner_id", "day", "last_bookable_until"
        ),
    )
