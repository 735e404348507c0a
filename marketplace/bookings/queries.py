"""Which bookings a user may see, and the lists pages and the API show."""

import uuid
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.availability.free_time import zone_of
from marketplace.availability.slots import to_instant
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner


def visible_bookings(user: User) -> sa.Select:
    """The bookings a user may see: their own, their listing's, or all for admins."""
    query = sa.select(Booking)
    if user.role is Role.PATIENT:
        return query.where(Booking.patient_id == user.id)
    if user.role is Role.PRACTITIONER:
        return query.join(Practitioner, Practitioner.id == Booking.practitioner_id).where(
            Practitioner.owner_id == user.id
        )
    return query


def list_bookings(
    user: User,
    *,
    status: BookingStatus | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
) -> sa.Select:
    query = visible_bookings(user)
    if status is not None:
        query = query.where(Booking.status == status)
    if start_from is not None:
        query = query.where(Booking.start_at >= start_from)
    if start_to is not None:
        query = query.where(Booking.start_at < start_to)
    return query.order_by(Booking.start_at, Booking.id)


def practitioner_calendar(
    user: User, listing: Practitioner, first_day: date | None, last_day: date | None
) -> sa.Select:
    """A practitioner's bookings starting on the listing's local dates `first_day`..`last_day`."""
    zone = zone_of(listing)
    start_from = to_instant(first_day, time(0), zone) if first_day else None
    start_to = to_instant(last_day + timedelta(days=1), time(0), zone) if last_day else None
    return list_bookings(user, start_from=start_from, start_to=start_to)


def get_booking_for(user: User, booking_id: uuid.UUID) -> Booking:
    """A booking the user may see; anyone else's is indistinguishable from absent."""
    booking = db.session.scalar(visible_bookings(user).where(Booking.id == booking_id))
    if booking is None:
        raise NotFound("No such booking.")
    return booking
