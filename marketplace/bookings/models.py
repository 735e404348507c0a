"""Bookings and their lifecycle: held -> confirmed -> completed | no_show, and the exits."""

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now, value_enum
from marketplace.errors import InvalidTransition
from marketplace.extensions import db


class BookingStatus(enum.StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# Statuses that can block the calendar; a hold only until it lapses.
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)

BOOKING_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.HELD: frozenset(
        {BookingStatus.CONFIRMED, BookingStatus.EXPIRED, BookingStatus.CANCELLED}
    ),
    # A payment that arrives after its hold lapsed may still confirm (or be refunded).
    BookingStatus.EXPIRED: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED}
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
}


class Booking(db.Model):
    """A patient's appointment with a practitioner for a service; never deleted."""

    __tablename__ = "bookings"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    patient_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="RESTRICT")
    )
    service_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("services.id", ondelete="RESTRICT"), index=True
    )
    location_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("locations.id", ondelete="RESTRICT")
    )
    start_at: so.Mapped[datetime]
    end_at: so.Mapped[datetime]
    # The calendar span it blocks: the listing's buffers at the time it was made.
    blocked_start_at: so.Mapped[datetime]
    blocked_end_at: so.Mapped[datetime]
    status: so.Mapped[BookingStatus] = so.mapped_column(
        value_enum(BookingStatus),
        default=BookingStatus.HELD,
    )
    hold_expires_at: so.Mapped[datetime | None]

    price_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    platform_fee_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    refund_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    refund_count: so.Mapped[int] = so.mapped_column(default=0)

    idempotency_key: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    request_fingerprint: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    payment_provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    checkout_session_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    checkout_url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    payment_intent_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), index=True)
    # Where the practitioner's share went; None while the payout is owed by the platform.
    transfer_destination: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    payout_owed_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    disputed_at: so.Mapped[datetime | None]

    paid_at: so.Mapped[datetime | None]
    confirmed_at: so.Mapped[datetime | None]
    # When the practitioner recorded the outcome: completed or no_show.
    completed_at: so.Mapped[datetime | None]
    cancelled_at: so.Mapped[datetime | None]
    cancelled_by_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    cancellation_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # The emailed invite's SEQUENCE (RFC 5545): up by one on each reschedule and cancel.
    calendar_sequence: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        sa.Index("ix_bookings_practitioner_blocked", "practitioner_id", "blocked_end_at"),
        sa.Index("ix_bookings_patient_idempotency", "patient_id", "idempotency_key", unique=True),
        sa.CheckConstraint("start_at < end_at", name="times"),
        sa.CheckConstraint(
            "blocked_start_at <= start_at AND end_at <= blocked_end_at", name="blocked"
        ),
        sa.CheckConstraint("price_cents >= 0 AND platform_fee_cents >= 0", name="money"),
        sa.CheckConstraint("refund_cents >= 0 AND refund_cents <= price_cents", name="refund"),
    )

    def is_active(self, now: datetime) -> bool:
        """Blocks the calendar now: confirmed, or held and the hold has not lapsed."""
        if self.status is BookingStatus.CONFIRMED:
            return True
        return self.status is BookingStatus.HELD and self.hold_expires_at > now

    def can_be_finished(self, now: datetime) -> bool:
        """Whether the practitioner may now record it completed or a no-show."""
        return self.status is BookingStatus.CONFIRMED and now >= self.start_at

    def can_become(self, status: BookingStatus) -> bool:
        return status in BOOKING_TRANSITIONS[self.status]

    def move_to(self, status: BookingStatus) -> None:
        if not self.can_become(status):
            raise InvalidTransition(f"A {self.status.value} booking cannot become {status.value}.")
        self.status = status


def active_booking_clause(now: datetime) -> sa.ColumnElement[bool]:
    """SQL for `Booking.is_active(now)`."""
    return sa.or_(
        Booking.status == BookingStatus.CONFIRMED,
        sa.and_(Booking.status == BookingStatus.HELD, Booking.hold_expires_at > now),
    )
