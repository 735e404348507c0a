"""Bookings and their lifecycle: held -> confirmed -> completed | no_show, and the exits.

The transitions are the model's methods (each checks it is allowed and stamps its time), as
are the rules that decide them; the services around them lock, authorise, move money and
record.
"""

import enum
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.hybrid import hybrid_method

from marketplace.db import utc_now, value_enum
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from marketplace.extensions import db
from marketplace.money import late_cancellation_refund

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.practitioners.models import Practitioner, Service


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

    listing: so.Mapped["Practitioner"] = so.relationship(foreign_keys=[practitioner_id])
    service: so.Mapped["Service"] = so.relationship(foreign_keys=[service_id])

    # --- what holds now ---------------------------------------------------------------------

    @hybrid_method
    def is_active(self, now: datetime) -> bool:
        """Blocks the calendar now: confirmed, or awaiting payment."""
        return self.status is BookingStatus.CONFIRMED or self.awaiting_payment(now)

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls, now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(cls.status == BookingStatus.CONFIRMED, cls.awaiting_payment(now))

    @hybrid_method
    def awaiting_payment(self, now: datetime) -> bool:
        """Held, and the hold has not lapsed: the patient may still pay."""
        return self.status is BookingStatus.HELD and self.hold_expires_at > now

    @awaiting_payment.inplace.expression
    @classmethod
    def _awaiting_payment_expression(cls, now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == BookingStatus.HELD, cls.hold_expires_at > now)

    @hybrid_method
    def hold_lapsed(self, now: datetime) -> bool:
        """Still held, but its hold ran out: it no longer blocks, and expires when swept."""
        return self.status is BookingStatus.HELD and self.hold_expires_at <= now

    @hold_lapsed.inplace.expression
    @classmethod
    def _hold_lapsed_expression(cls, now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == BookingStatus.HELD, cls.hold_expires_at <= now)

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    def is_patient(self, user: "User") -> bool:
        return user.id == self.patient_id

    def is_practitioner(self, user: "User") -> bool:
        return self.listing.owner_id == user.id

    def is_free_cancellation(self, now: datetime) -> bool:
        """Whether `now` is inside the listing's free-cancellation window: the one rule for
        cancelling in full and for rescheduling at all."""
        return self.start_at - now >= timedelta(hours=self.listing.free_cancellation_hours)

    def cancellation_refusal(self, by: "User", now: datetime) -> DomainError | None:
        """Why `by` may not cancel now (the error to raise), or None when they may."""
        if self.status not in ACTIVE_STATUSES:
            return Conflict(f"A {self.status.value} booking cannot be cancelled.")
        if self.is_patient(by):
            if now >= self.start_at:
                return Conflict("The appointment has started; it can no longer be cancelled.")
            return None
        if self.is_practitioner(by):
            return None
        return NotPermitted("Only the patient or the practitioner can cancel.")

    def can_be_cancelled_by(self, user: "User", now: datetime) -> bool:
        return self.cancellation_refusal(user, now) is None

    def cancellation_refund(self, by: "User", now: datetime) -> int:
        """What cancelling now gives back, if paid: the price less the listing's
        late-cancellation fee when the patient cancels outside the free window, else all."""
        if self.is_patient(by) and not self.is_free_cancellation(now):
            fee_percent = self.listing.late_cancellation_fee_percent
            return late_cancellation_refund(self.price_cents, fee_percent)
        return self.price_cents

    def reschedule_refusal(self, now: datetime) -> str | None:
        """Why the patient may not move this booking now, or None when they may."""
        if not self.is_active(now):
            return f"A {self.status.value} booking cannot be rescheduled."
        if not self.is_free_cancellation(now):
            return "Too close to the appointment to reschedule; cancel instead."
        return None

    def can_be_finished(self, now: datetime) -> bool:
        """Whether the practitioner may now record it completed or a no-show."""
        return self.status is BookingStatus.CONFIRMED and now >= self.start_at

    def audit_state(self) -> dict[str, Any]:
        """What the audit log keeps of a booking."""
        return {
            "status": self.status,
            "start_at": self.start_at,
            "end_at": self.end_at,
            "price_cents": self.price_cents,
            "platform_fee_cents": self.platform_fee_cents,
            "refund_cents": self.refund_cents,
            "currency": self.currency,
        }

    # --- transitions ------------------------------------------------------------------------

    def confirm(self, now: datetime) -> None:
        self._move_to(BookingStatus.CONFIRMED)
        self.confirmed_at = now

    def expire(self, now: datetime) -> None:
        """The hold ends unpaid: it lapsed, or its checkout ended first (then it stops
        blocking now rather than at its expiry)."""
        self._move_to(BookingStatus.EXPIRED)
        self.hold_expires_at = min(self.hold_expires_at, now)

    def cancel(self, by: "User | None", reason: str, now: datetime) -> None:
        """Cancelled by `by` (None: the platform)."""
        self._move_to(BookingStatus.CANCELLED)
        self.cancelled_at = now
        self.cancelled_by_id = by.id if by is not None else None
        self.cancellation_reason = reason

    def finish(self, outcome: BookingStatus, now: datetime) -> None:
        """The practitioner records that it happened (completed) or not (no_show)."""
        if not self.can_be_finished(now):
            if self.status is not BookingStatus.CONFIRMED:
                raise Conflict(f"A {self.status.value} booking cannot be marked {outcome.value}.")
            raise Conflict("The appointment has not started yet.")
        self._move_to(outcome)
        self.completed_at = now

    def record_payment(self, payment_intent_id: str | None, now: datetime) -> None:
        """Paid: while the practitioner cannot take charges, the platform owes their share."""
        self.paid_at = now
        self.payment_intent_id = payment_intent_id or self.payment_intent_id
        if self.transfer_destination is None:
            self.payout_owed_cents = self.price_cents - self.platform_fee_cents

    def record_refund(self, refunded_cents: int) -> None:
        """The patient has had `refunded_cents` back in all; what the platform still owes
        the practitioner shrinks with it."""
        self.refund_cents = min(refunded_cents, self.price_cents)
        if self.transfer_destination is None and self.is_paid:
            owed_share = self.price_cents - self.platform_fee_cents
            self.payout_owed_cents = max(0, owed_share - self.refund_cents)

    def _move_to(self, status: BookingStatus) -> None:
        if status not in BOOKING_TRANSITIONS[self.status]:
            raise InvalidTransition(f"A {self.status.value} booking cannot become {status.value}.")
        self.status = status
