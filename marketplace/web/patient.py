"""The patient's pages: search, a practitioner's profile and slots, booking, my bookings."""

import uuid
from datetime import date, datetime, timedelta
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from marketplace.accounts.models import Role
from marketplace.availability import free_time
from marketplace.availability.calendar import build_booking_file
from marketplace.bookings import queries
from marketplace.bookings import service as bookings
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.bookings.schemas import BookingCreateSchema, CancelSchema, RescheduleSchema
from marketplace.catalog.service import list_conditions
from marketplace.db import utc_now
from marketplace.errors import Conflict, DomainError, NotFound, SlotUnavailable
from marketplace.extensions import db, limiter
from marketplace.formatting import (
    cancellation_policy,
    language_name,
    money,
)
from marketplace.payments.providers import get_gateway
from marketplace.payments.routes import checkout_return_urls
from marketplace.practitioners.models import Gender, Location, Practitioner, Service
from marketplace.practitioners.service import get_public_listing
from marketplace.search.places import find_place
from marketplace.search.routes import search_query
from marketplace.search.schemas import SearchArgs
from marketplace.search.service import SORTS, search_practitioners
from marketplace.web.common import (
    errors_of,
    load_form,
    page_for,
    protect_form,
    render_form,
    therapy_options,
)

bp = Blueprint("web", __name__)
bp.before_request(protect_form)

PICKER_DAYS = 7
POPULAR_CONDITIONS = 8
PRICE_CHOICES = (8000, 100_00, 120_00, 150_00)
SORT_LABELS = {
    "relevance": "Best match",
    "distance": "Nearest",
    "price": "Lowest price",
    "rating": "Best rated",
    "soonest": "Soonest available",
}
# Australia's most spoken languages (2021 census), as ISO 639-1 codes.
COMMON_LANGUAGES = ("en", "zh", "ar", "vi", "pa", "el", "it", "hi", "es", "ne", "tl", "ko", "ja")
GENDER_LABELS = {
    Gender.FEMALE.value: "Female",
    Gender.MALE.value: "Male",
    Gender.NON_BINARY.value: "Non-binary",
    Gender.UNDISCLOSED.value: "Not stated",
}


@bp.route("/")
def home():
    conditions = sorted(list_conditions(), key=lambda c: -c["practitioner_count"])
    return render_template(
        "pages/home.html",
        therapy_options=therapy_options(),
        conditions=[c for c in conditions if c["practitioner_count"]][:POPULAR_CONDITIONS],
        values={},
        errors={},
    )


# --- search --------------------------------------------------------------------------------


def _search_form_context(values) -> dict:
    return {
        "values": values,
        "therapy_options": therapy_options(),
        "sorts": [(sort, SORT_LABELS.get(sort, sort)) for sort in SORTS],
        "genders": GENDER_LABELS,
        "price_options": [(cents, f"{money(cents, 'AUD')}") for cents in PRICE_CHOICES],
        "languages": [(code, language_name(code)) for code in COMMON_LANGUAGES],
    }


@bp.route("/search")
def search():
    """The API's search parameters plus `near`, a place name resolved offline."""
    args = MultiDict(request.args)
    errors: dict[str, list[str]] = {}
    place = None
    near = args.get("near", "").strip()
    if near and "lat" not in args and "lng" not in args:
        place = find_place(near)
        if place is None:
            errors["near"] = [
                f"We could not find “{near}” in Australia. Try a suburb or city, "
                "such as Bondi or Melbourne."
            ]
        else:
            args["lat"], args["lng"] = str(place.latitude), str(place.longitude)
    data, schema_errors = load_form(SearchArgs(), args, checkboxes=False)
    errors.update(schema_errors)
    context = _search_form_context(request.args)
    if errors:
        return render_form("pages/search.html", errors, results=None, place=None, **context)
    try:
        results = search_practitioners(search_query(data), utc_now())
    except DomainError as error:  # an unknown therapy or condition
        return render_form(
            "pages/search.html", errors_of(error), results=None, place=None, **context
        )
    pages = -(-results["total"] // results["per_page"])
    return render_template(
        "pages/search.html",
        errors={},
        results=results,
        place=place,
        pages=pages,
        page_url=_page_url,
        **context,
    )


def _page_url(page: int) -> str:
    args = MultiDict(request.args)
    args["page"] = str(page)
    return url_for("web.search") + "?" + urlencode(list(args.items(multi=True)))


# --- a practitioner's page and the slot picker --------------------------------------------


def _picker(
    listing: Practitioner,
    service: Service | None,
    first_day: date | None,
    now,
    moving: Booking | None = None,
):
    """The days the picker shows and their free slots; it opens on the earliest free week.
    When `moving` a booking, its own time counts as free."""
    today = free_time.local_today(listing, now)
    if service is None:
        return {"days": [], "first_day": today, "earlier": None, "later": None}
    if first_day is None:
        earliest = free_time.earliest_free_slot(listing, service.duration_minutes, now)
        first_day = (
            earliest.start_at.astimezone(free_time.zone_of(listing)).date() if earliest else today
        )
    # Past the horizon nothing is offered; clamping there keeps far dates from overflowing.
    horizon_end = today + timedelta(days=listing.horizon_days)
    first_day = min(max(first_day, today), horizon_end + timedelta(days=1))
    last_day = first_day + timedelta(days=PICKER_DAYS - 1)
    slots = free_time.free_slots(
        listing,
        service.duration_minutes,
        first_day,
        last_day,
        now,
        ignore_booking_id=moving.id if moving else None,
    )
    zone = free_time.zone_of(listing)
    by_day: dict[date, list] = {first_day + timedelta(days=n): [] for n in range(PICKER_DAYS)}
    for slot in slots:
        by_day[slot.start_at.astimezone(zone).date()].append(slot)
    return {
        "days": list(by_day.items()),
        "first_day": first_day,
        "earlier": max(today, first_day - timedelta(days=PICKER_DAYS))
        if first_day > today
        else None,
        "later": last_day + timedelta(days=1) if last_day < horizon_end else None,
    }


def _chosen_service(listing: Practitioner, raw_id: str | None) -> Service | None:
    services = listing.active_services
    for service in services:
        if raw_id and str(service.id) == raw_id:
            return service
    return services[0] if services else None


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _render_practitioner(
    listing: Practitioner,
    service: Service | None,
    first_day: date | None,
    *,
    errors=None,
    status=HTTPStatus.OK,
):
    now = utc_now()
    return (
        render_template(
            "pages/practitioner.html",
            listing=listing,
            service=service,
            picker=_picker(listing, service, first_day, now),
            picker_url=lambda day: url_for(
                "web.practitioner", slug=listing.slug, service_id=service.id, **{"from": day}
            ),
            policy=cancellation_policy(
                listing.free_cancellation_hours, listing.late_cancellation_fee_percent
            ),
            errors=errors or {},
        ),
        status,
    )


@bp.route("/practitioners/<slug>")
def practitioner(slug: str):
    listing = get_public_listing(slug)
    service = _chosen_service(listing, request.args.get("service_id"))
    return _render_practitioner(listing, service, _parse_day(request.args.get("from")))


# --- booking -------------------------------------------------------------------------------


def _listing_of_service(raw_id) -> tuple[Practitioner, Service] | None:
    try:
        service = db.session.get(Service, uuid.UUID(str(raw_id)))
    except ValueError:
        return None
    if service is None:
        return None
    listing = db.session.get(Practitioner, service.practitioner_id)
    return (listing, service) if listing.is_public else None


def _book(values: MultiDict):
    """Hold the chosen slot and send the patient to pay; a refusal goes back to the picker."""
    found = _listing_of_service(values.get("service_id"))
    if found is None:
        abort(HTTPStatus.NOT_FOUND, "This practitioner is not taking bookings.")
    listing, service = found
    data, errors = load_form(BookingCreateSchema(), values)
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    if not errors:
        try:
            booking = bookings.book(
                patient=current_user,
                service_id=data["service_id"],
                start_at=data["start_at"],
                location_id=data["location_id"],
                # Each slot form carries its own key: a double click holds the slot once.
                idempotency_key=_form_key(values),
                policy=bookings.BookingPolicy.from_config(current_app.config),
                gateway=get_gateway(),
                return_urls=checkout_return_urls,
                now=utc_now(),
            )
        except DomainError as error:
            db.session.rollback()
            errors, status = errors_of(error), error.status
            if isinstance(error, SlotUnavailable):
                errors = {"_schema": [f"{error.detail} It may have just been taken."]}
        else:
            return redirect(booking.checkout_url, 303)
    first_day = None
    if data is not None:
        first_day = data["start_at"].astimezone(free_time.zone_of(listing)).date()
    return _render_practitioner(listing, service, first_day, errors=errors, status=status)


def _form_key(values: MultiDict) -> str | None:
    key = values.get("idempotency_key", "").strip()
    return f"web-{key}" if 0 < len(key) <= 200 else None


@bp.route("/book", methods=["POST"])
@page_for(Role.PATIENT)
@limiter.limit(bookings.BOOKING_RATE_LIMIT, key_func=lambda: f"user:{current_user.id}")
def book():
    return _book(request.form)


@bp.route("/book")
def book_page():
    """A booking link without its form (e.g. opened again from history): back to the picker."""
    found = _listing_of_service(request.args.get("service_id"))
    if found is None:
        return redirect(url_for("web.search"), 303)
    listing, service = found
    return redirect(url_for("web.practitioner", slug=listing.slug, service_id=service.id), 303)


def continue_after_sign_in(target: str):
    """After sign-in, go where the visitor was going; a slot they chose is booked now, since
    the sign-in form itself carried a CSRF token."""
    parts = urlsplit(target)
    if parts.path == url_for("web.book") and current_user.role is Role.PATIENT:
        return _book(MultiDict(parse_qsl(parts.query, keep_blank_values=True)))
    return redirect(target, 303)


# --- a booking and my bookings -------------------------------------------------------------


def _own_booking(booking_id: uuid.UUID) -> Booking:
    """The signed-in patient's booking; anyone else's is indistinguishable from absent."""
    booking = queries.get_booking_for(current_user, booking_id)
    if not booking.is_patient(current_user):
        raise NotFound("No such booking.")
    return booking


def _booking_view(booking: Booking, now: datetime | None = None) -> dict:
    now = now or utc_now()
    listing = db.session.get(Practitioner, booking.practitioner_id)
    return {
        "booking": booking,
        "listing": listing,
        "service": db.session.get(Service, booking.service_id),
        "location": db.session.get(Location, booking.location_id) if booking.location_id else None,
        "waiting": booking.awaiting_payment(now),
        # A hold that ran out reads as expired before the sweep writes it so.
        "lapsed": booking.hold_lapsed(now),
    }


def _load_what_bookings_name(rows: list[Booking]) -> None:
    """One query per kind puts every row's practitioner, service and location in the session,
    so `_booking_view`'s gets are lookups, not a query per booking."""
    for model, ids in (
        (Practitioner, {b.practitioner_id for b in rows}),
        (Service, {b.service_id for b in rows}),
        (Location, {b.location_id for b in rows if b.location_id}),
    ):
        if ids:
            db.session.scalars(sa.select(model).where(model.id.in_(ids))).all()


@bp.route("/bookings/<uuid:booking_id>/done")
@page_for(Role.PATIENT)
def booking_done(booking_id: uuid.UUID):
    """Where the payment page sends the patient back to (Stripe's success_url)."""
    return render_template("pages/booking_done.html", **_booking_view(_own_booking(booking_id)))


@bp.route("/bookings/<uuid:booking_id>/calendar.ics")
@page_for(Role.PATIENT)
def booking_calendar_file(booking_id: uuid.UUID):
    view = _booking_view(_own_booking(booking_id))
    if view["booking"].status is not BookingStatus.CONFIRMED:
        raise Conflict("Only a confirmed booking can be added to a calendar.")
    summary = f"{view['service'].name} with {view['listing'].display_name}"
    body = build_booking_file(view["booking"], summary, view["location"], utc_now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'},
    )


@bp.route("/me/bookings")
@page_for(Role.PATIENT)
def my_bookings():
    now = utc_now()
    mine = list(db.session.scalars(queries.list_bookings(current_user)))
    _load_what_bookings_name(mine)
    rows = [_booking_view(booking, now) for booking in mine]
    upcoming = [r for r in rows if r["booking"].end_at > now and r["booking"].is_active(now)]
    for row in upcoming:
        row["reschedulable"] = not row["booking"].reschedule_refusal(now)
    past = [r for r in rows if r not in upcoming]
    past.reverse()
    return render_template("pages/my_bookings.html", upcoming=upcoming, past=past, now=now)


def _refund_terms(booking: Booking) -> dict:
    """What cancelling now would give back, for the patient to read before confirming."""
    if not booking.is_paid:
        return {"paid": False, "refund_cents": 0}
    now = utc_now()
    refusal = booking.cancellation_refusal(current_user, now)
    if refusal is not None:
        raise refusal
    return {"paid": True, "refund_cents": booking.cancellation_refund(current_user, now)}


@bp.route("/me/bookings/<uuid:booking_id>/cancel", methods=["GET", "POST"])
@page_for(Role.PATIENT)
def cancel_booking(booking_id: uuid.UUID):
    booking = _own_booking(booking_id)
    view = _booking_view(booking)
    errors: dict[str, list[str]] = {}
    status = HTTPStatus.OK
    if request.method == "POST":
        data, errors = load_form(CancelSchema())
        status = HTTPStatus.UNPROCESSABLE_ENTITY
        if not errors:
            try:
                bookings.cancel_booking(
                    booking, current_user, data["reason"], utc_now(), get_gateway()
                )
            except DomainError as error:
                db.session.rollback()
                errors, status = errors_of(error), error.status
            else:
                db.session.commit()
                flash("Your booking is cancelled.", "success")
                return redirect(url_for("web.my_bookings"), 303)
    terms = None
    if booking.is_active(utc_now()):
        try:
            terms = _refund_terms(booking)
        except DomainError as error:  # the appointment has started
            errors, status = errors or errors_of(error), error.status
    return (
        render_template(
            "pages/cancel_booking.html",
            terms=terms,
            errors=errors,
            values=request.form,
            **view,
        ),
        status,
    )


@bp.route("/me/bookings/<uuid:booking_id>/reschedule", methods=["GET", "POST"])
@page_for(Role.PATIENT)
def reschedule_booking(booking_id: uuid.UUID):
    booking = _own_booking(booking_id)
    view = _booking_view(booking)
    errors: dict[str, list[str]] = {}
    status = HTTPStatus.OK
    first_day = _parse_day(request.args.get("from"))
    if request.method == "POST":
        data, errors = load_form(RescheduleSchema())
        status = HTTPStatus.UNPROCESSABLE_ENTITY
        if not errors:
            try:
                bookings.reschedule_booking(
                    booking, current_user, data["start_at"], utc_now(), get_gateway()
                )
            except DomainError as error:
                db.session.rollback()
                errors, status = errors_of(error), error.status
            else:
                db.session.commit()
                flash("Your booking has moved to the new time.", "success")
                return redirect(url_for("web.booking_done", booking_id=booking.id), 303)
            first_day = data["start_at"].astimezone(free_time.zone_of(view["listing"])).date()
    refusal = booking.reschedule_refusal(utc_now())
    picker = None
    if refusal and request.method == "GET":
        errors, status = {"_schema": [refusal]}, HTTPStatus.CONFLICT
    elif not refusal:
        picker = _picker(view["listing"], view["service"], first_day, utc_now(), moving=booking)
    return (
        render_template(
            "pages/reschedule.html",
            picker=picker,
            picker_url=lambda day: url_for(
                "web.reschedule_booking", booking_id=booking.id, **{"from": day}
            ),
            errors=errors,
            **view,
        ),
        status,
    )
