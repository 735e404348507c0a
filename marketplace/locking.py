"""Serialising changes to one practitioner's calendar: its bookings, hours and listing."""

import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner

if TYPE_CHECKING:
    from marketplace.bookings.models import Booking


def lock_practitioner(practitioner_id: uuid.UUID) -> None:
    """Hold the practitioner's row lock until the transaction ends.

    SQLite needs nothing here: every transaction there begins IMMEDIATE, holding the database's
    single write lock from its first statement.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.select(Practitioner.id).where(Practitioner.id == practitioner_id).with_for_update()
        )


def lock_booking(booking: "Booking") -> "Booking":
    """Take the booking's practitioner's lock and re-read the booking: decide on committed
    state only.

    Every transition goes through here, so a cancellation racing a payment (or two payment
    events racing each other) is serialised and the second sees what the first did.
    """
    db.session.flush()
    lock_practitioner(booking.practitioner_id)
    db.session.refresh(booking)
    return booking
