import uuid

from flask import current_app
from flask_login import current_user
from flask_smorest import Blueprint

from marketplace.accounts.auth import (
    login_required,
    patient_only,
    practitioner_only,
    roles_required,
)
from marketplace.accounts.models import Role
from marketplace.bookings import queries, service
from marketplace.bookings.models import BookingStatus
from marketplace.bookings.schemas import (
    BookingCreatedSchema,
    BookingCreateSchema,
    BookingListArgs,
    BookingSchema,
    CalendarArgs,
    CancelSchema,
    IdempotencyHeaderSchema,
    RescheduleSchema,
)
from marketplace.db import utc_now
from marketplace.extensions import db, limiter
from marketplace.pagination import page_of, paginate
from marketplace.payments.providers import get_gateway
from marketplace.payments.routes import checkout_return_urls
from marketplace.practitioners.service import get_listing_of

bp = Blueprint("bookings", __name__, url_prefix="/api/v1", description="Bookings")


def _booker_key() -> str:
    return f"user:{current_user.id}"


@bp.route("/bookings", methods=["POST"])
@patient_only
@limiter.limit(service.BOOKING_RATE_LIMIT, key_func=_booker_key)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(BookingCreateSchema)
@bp.response(201, BookingCreatedSchema)
def create_booking(headers, data):
    booking = service.book(
        patient=current_user,
        service_id=data["service_id"],
        start_at=data["start_at"],
        location_id=data["location_id"],
        idempotency_key=headers["idempotency_key"],
        policy=service.BookingPolicy.from_config(current_app.config),
        gateway=get_gateway(),
        return_urls=checkout_return_urls,
        now=utc_now(),
    )
    return {"booking": booking, "checkout_url": booking.checkout_url}


@bp.route("/bookings")
@login_required
@bp.arguments(BookingListArgs, location="query")
@bp.response(200, page_of(BookingSchema))
def list_bookings(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(queries.list_bookings(current_user, **args), page, per_page)


@bp.route("/bookings/<uuid:booking_id>")
@login_required
@bp.response(200, BookingSchema)
def get_booking(booking_id: uuid.UUID):
    return queries.get_booking_for(current_user, booking_id)


@bp.route("/bookings/<uuid:booking_id>/cancel", methods=["POST"])
@roles_required(Role.PATIENT, Role.PRACTITIONER)
@bp.arguments(CancelSchema)
@bp.response(200, BookingSchema)
def cancel_booking(data, booking_id: uuid.UUID):
    booking = queries.get_booking_for(current_user, booking_id)
    service.cancel_booking(booking, current_user, data["reason"], utc_now(), get_gateway())
    db.session.commit()
    return booking


@bp.route("/bookings/<uuid:booking_id>/reschedule", methods=["POST"])
@roles_required(Role.PATIENT, Role.PRACTITIONER)
@bp.arguments(RescheduleSchema)
@bp.response(200, BookingSchema)
def reschedule_booking(data, booking_id: uuid.UUID):
    booking = queries.get_booking_for(current_user, booking_id)
    service.reschedule_booking(booking, current_user, data["start_at"], utc_now(), get_gateway())
    db.session.commit()
    return booking


def _finish(booking_id: uuid.UUID, outcome: BookingStatus):
    booking = queries.get_booking_for(current_user, booking_id)
    service.finish_booking(booking, current_user, outcome, utc_now())
    db.session.commit()
    return booking


@bp.route("/bookings/<uuid:booking_id>/complete", methods=["POST"])
@roles_required(Role.PATIENT, Role.PRACTITIONER)
@bp.response(200, BookingSchema)
def complete_booking(booking_id: uuid.UUID):
    return _finish(booking_id, BookingStatus.COMPLETED)


@bp.route("/bookings/<uuid:booking_id>/no-show", methods=["POST"])
@roles_required(Role.PATIENT, Role.PRACTITIONER)
@bp.response(200, BookingSchema)
def no_show_booking(booking_id: uuid.UUID):
    return _finish(booking_id, BookingStatus.NO_SHOW)


@bp.route("/practitioner/bookings/<uuid:booking_id>")
@practitioner_only
@bp.response(200, BookingSchema)
def practitioner_booking(booking_id: uuid.UUID):
    return queries.get_booking_for(current_user, booking_id)


@bp.route("/practitioner/bookings")
@practitioner_only
@bp.arguments(CalendarArgs, location="query")
@bp.response(200, page_of(BookingSchema))
def practitioner_calendar(args):
    """The practitioner's own bookings; `from`/`to` are local dates in the listing's zone."""
    query = queries.practitioner_calendar(
        current_user, get_listing_of(current_user), args.get("from_date"), args.get("to_date")
    )
    return paginate(query, args["page"], args["per_page"])
