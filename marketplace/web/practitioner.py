"""The practitioner's dashboard: listing status, profile, places, services, hours, bookings
and payouts.

Each view reads its form through the schema the matching `/api/v1/practitioner/...` view
loads, calls the same service function and commits once, as that view does.
"""

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import validate
from werkzeug.datastructures import MultiDict

from marketplace.accounts.models import Role, User
from marketplace.availability import service as availability
from marketplace.availability.calendar import calendar_url
from marketplace.availability.free_time import local_today, zone_of
from marketplace.availability.models import DateOverride, TimeOff
from marketplace.availability.schemas import (
    MAX_OVERLAP_MESSAGES,
    WEEKDAY_NAMES,
    OverrideSchema,
    ScheduleSchema,
    TimeOffSchema,
    overlapping_pairs,
)
from marketplace.availability.slots import to_instant
from marketplace.bookings import queries
from marketplace.bookings import service as bookings
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.bookings.schemas import CancelSchema
from marketplace.db import utc_now
from marketplace.errors import DomainError, flatten_messages
from marketplace.extensions import db
from marketplace.fields import EARLIEST_YEAR, LATEST_YEAR, CalendarDate
from marketplace.formatting import day_short, local_short, money
from marketplace.money import dollars_text, parse_dollars
from marketplace.payments.payouts import ensure_connect_account
from marketplace.payments.providers import get_gateway
from marketplace.payments.routes import onboarding_link
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import Gender, ListingStatus, Location, Practitioner, Service
from marketplace.practitioners.schemas import LocationSchema, ProfileSchema, ServiceSchema
from marketplace.web.common import (
    FormErrors,
    errors_of,
    load_form,
    page_for,
    protect_form,
    render_form,
    therapy_options,
)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
bp.before_request(protect_form)

STATUS_WORDS = {
    ListingStatus.DRAFT: "Draft",
    ListingStatus.PENDING: "Pending review",
    ListingStatus.APPROVED: "Approved",
    ListingStatus.REJECTED: "Rejected",
    ListingStatus.SUSPENDED: "Suspended",
}
BOOKING_WORDS = {
    BookingStatus.HELD: "Awaiting payment",
    BookingStatus.CONFIRMED: "Confirmed",
    BookingStatus.COMPLETED: "Completed",
    BookingStatus.NO_SHOW: "No-show",
    BookingStatus.CANCELLED: "Cancelled",
    BookingStatus.EXPIRED: "Expired",
}
GENDER_OPTIONS = [
    (Gender.FEMALE.value, "Female"),
    (Gender.MALE.value, "Male"),
    (Gender.NON_BINARY.value, "Non-binary"),
    (Gender.UNDISCLOSED.value, "Prefer not to say"),
]
WEEKDAY_OPTIONS = list(enumerate(WEEKDAY_NAMES))
# Zones offered besides Australia's own, for practitioners near it.
OTHER_ZONES = (
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Fiji",
    "Pacific/Port_Moresby",
    "Asia/Singapore",
    "Asia/Jakarta",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
    "America/New_York",
    "UTC",
)
# Where each thing missing before submission is put right: (endpoint, field anchor, link text).
MISSING_FIXES = {
    "display_name": ("dashboard.profile", "f-display_name", "Edit your profile"),
    "bio": ("dashboard.profile", "f-bio", "Write your bio"),
    "timezone": ("dashboard.profile", "f-timezone", "Choose your time zone"),
    "locations": ("dashboard.locations", "add-location", "Add a location"),
    "services": ("dashboard.services", "add-service", "Add a service"),
}
PROFILE_LABELS = {
    "display_name": "Display name",
    "headline": "Headline",
    "bio": "Bio",
    "profession": "Profession",
    "registration_body": "Registration body",
    "registration_number": "Registration number",
    "gender": "Gender",
    "languages": "Languages",
    "telehealth": "Telehealth",
    "timezone": "Time zone",
    "slot_interval_minutes": "Slot interval",
    "buffer_before_minutes": "Buffer before",
    "buffer_after_minutes": "Buffer after",
    "min_notice_minutes": "Minimum notice",
    "horizon_days": "Booking horizon",
    "free_cancellation_hours": "Free cancellation window",
    "late_cancellation_fee_percent": "Late cancellation fee",
}
LOCATION_LABELS = {
    "name": "Name",
    "address": "Street address",
    "suburb": "Suburb",
    "state": "State",
    "postcode": "Postcode",
    "country": "Country",
    "latitude": "Latitude",
    "longitude": "Longitude",
}
SERVICE_LABELS = {
    "therapy": "Therapy",
    "name": "Name",
    "description": "Description",
    "duration_minutes": "Duration",
    "price": "Price",
    "currency": "Currency",
    "active": "Offered",
}
TIME_OFF_LABELS = {"start_at": "From", "end_at": "Until", "reason": "Reason"}
# The weekly editor shows the saved windows plus this many blank rows; the schema's limit
# caps the rows a form may carry.
EXTRA_ROWS = 7  # a blank row for each day of a first week
MAX_RULE_ROWS = 200
MAX_WINDOW_ROWS = 20
UPCOMING_DAYS = 14
UPCOMING_SHOWN = 5


def _listing() -> Practitioner:
    return listings.get_listing_of(current_user)


def _zone_name(listing: Practitioner) -> str:
    return listing.timezone or "UTC"


def _run(action: Callable[[], Any]) -> DomainError | None:
    """Call a service and commit; a refusal rolls back whatever it had flushed."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        return error
    db.session.commit()
    return None


def _page(template: str, errors: FormErrors, status: int | None = None, **context: Any):
    if status is None:
        return render_form(template, errors, **context)
    return render_template(template, errors=errors, **context), status


# --- overview and submission ---------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEntry:
    booking: Booking
    patient_name: str
    service_name: str
    location_name: str | None


def _calendar(listing: Practitioner, first_day: date, last_day: date) -> list[CalendarEntry]:
    """The bookings `GET /practitioner/bookings` lists for these local dates, with names;
    holds that lapsed unpaid never happened for the practitioner and are left out."""
    query = (
        queries.practitioner_calendar(current_user, listing, first_day, last_day)
        .join(User, User.id == Booking.patient_id)
        .join(Service, Service.id == Booking.service_id)
        .outerjoin(Location, Location.id == Booking.location_id)
        .add_columns(User.name, Service.name, Location.name)
    )
    now = utc_now()
    return [
        CalendarEntry(booking, patient, service, location)
        for booking, patient, service, location in db.session.execute(query)
        if booking.status is not BookingStatus.EXPIRED and not booking.hold_lapsed(now)
    ]


def _render_overview(listing: Practitioner, errors: FormErrors | None = None, status=None):
    today = local_today(listing, utc_now())
    upcoming = [
        entry
        for entry in _calendar(listing, today, today + timedelta(days=UPCOMING_DAYS - 1))
        if entry.booking.is_active(utc_now())
    ]
    fixes = {
        field: (url_for(endpoint, _anchor=anchor), text)
        for field, (endpoint, anchor, text) in MISSING_FIXES.items()
    }
    return _page(
        "pages/dashboard/overview.html",
        errors or {},
        status,
        listing=listing,
        zone=_zone_name(listing),
        status_word=STATUS_WORDS[listing.status],
        missing=listings.missing_for_submission(listing),
        fixes=fixes,
        can_submit=listing.can("submit"),
        upcoming=upcoming[:UPCOMING_SHOWN],
        booking_words=BOOKING_WORDS,
    )


@bp.route("")
@page_for(Role.PRACTITIONER)
def overview():
    listing = _listing()
    db.session.commit()  # a listing made on this first visit is kept, as the profile API does
    return _render_overview(listing)


@bp.route("/submit", methods=["POST"])
@page_for(Role.PRACTITIONER)
def submit():
    listing = _listing()
    refusal = _run(lambda: listings.submit_listing(listing, current_user))
    if refusal is not None:
        return _render_overview(listing, errors_of(refusal), refusal.status)
    flash("Your listing was sent for review. You can keep editing it meanwhile.", "success")
    return redirect(url_for(".overview"), 303)


# --- profile -------------------------------------------------------------------------------


@cache
def _zone_names() -> tuple[str, ...]:
    australian = sorted(name for name in available_timezones() if name.startswith("Australia/"))
    return (*australian, *OTHER_ZONES)


def _zone_options(current: str | None) -> list[tuple[str, str]]:
    names = list(_zone_names())
    if current and current not in names:
        names.append(current)  # kept as it is, so saving the form never changes it unasked
    return [(name, name.replace("_", " ")) for name in names]


def _profile_values(listing: Practitioner) -> dict[str, Any]:
    values = {field: getattr(listing, field) for field in listings.PROFILE_FIELDS}
    values["gender"] = listing.gender.value
    values["languages"] = ", ".join(listing.languages or [])
    return values


def _list_item_errors(errors: FormErrors, form: MultiDict) -> FormErrors:
    """`languages.1` becomes a message on the `languages` field naming the item."""
    merged: FormErrors = {}
    for key, texts in errors.items():
        name, _, index = key.partition(".")
        if index.isdigit() and name in form:
            items = [part.strip() for value in form.getlist(name) for part in value.split(",")]
            items = [item for item in items if item]
            item = items[int(index)] if int(index) < len(items) else ""
            texts = [f"“{item}”: {text}" if item else text for text in texts]
            key = name
        merged.setdefault(key, []).extend(texts)
    return merged


@bp.route("/profile", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def profile():
    listing = _listing()
    if request.method == "GET":
        values = _profile_values(listing)
        return _render_profile(listing, values, {})
    form = request.form.copy()
    if not form.get("timezone", "").strip():
        form.pop("timezone", None)  # nothing chosen: the API's null
    data, errors = load_form(ProfileSchema(), form)
    errors = _list_item_errors(errors, form)
    if not errors:
        refusal = _run(lambda: listings.update_profile(listing, data))
        if refusal is None:
            flash("Profile saved.", "success")
            return redirect(url_for(".profile"), 303)
        errors = errors_of(refusal)
    return _render_profile(listing, request.form, errors)


def _render_profile(listing: Practitioner, values: Mapping[str, Any], errors: FormErrors):
    return render_form(
        "pages/dashboard/profile.html",
        errors,
        listing=listing,
        values=values,
        labels=PROFILE_LABELS,
        gender_options=GENDER_OPTIONS,
        zone_options=_zone_options(values.get("timezone")),
    )


# --- locations -----------------------------------------------------------------------------


def _own_locations(listing: Practitioner) -> list[Location]:
    return list(db.session.scalars(listings.list_locations(listing)))


def _render_locations(listing: Practitioner, values: Mapping[str, Any], errors: FormErrors):
    return render_form(
        "pages/dashboard/locations.html",
        errors,
        listing=listing,
        locations=_own_locations(listing),
        values=values,
        labels=LOCATION_LABELS,
    )


@bp.route("/locations", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def locations():
    listing = _listing()
    if request.method == "GET":
        return _render_locations(listing, {"country": "AU"}, {})
    data, errors = load_form(LocationSchema())
    if not errors:
        refusal = _run(lambda: listings.create_location(listing, data))
        if refusal is None:
            flash(f"Location “{data['name']}” added.", "success")
            return redirect(url_for(".locations"), 303)
        errors = errors_of(refusal)
    return _render_locations(listing, request.form, errors)


@bp.route("/locations/<uuid:location_id>", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def location(location_id: uuid.UUID):
    place = listings.get_own_location(_listing(), location_id)
    values: Mapping[str, Any] = LocationSchema().dump(place)
    errors: FormErrors = {}
    if request.method == "POST":
        data, errors = load_form(LocationSchema())
        if not errors:
            refusal = _run(lambda: listings.update_location(place, data))
            if refusal is None:
                flash(f"Location “{data['name']}” saved.", "success")
                return redirect(url_for(".locations"), 303)
            errors = errors_of(refusal)
        values = request.form
    return render_form(
        "pages/dashboard/location.html", errors, place=place, values=values, labels=LOCATION_LABELS
    )


@bp.route("/locations/<uuid:location_id>/delete", methods=["POST"])
@page_for(Role.PRACTITIONER)
def delete_location(location_id: uuid.UUID):
    place = listings.get_own_location(_listing(), location_id)
    name = place.name
    listings.delete_location(place)
    db.session.commit()
    flash(f"Location “{name}” removed, with its hours.", "success")
    return redirect(url_for(".locations"), 303)


# --- services ------------------------------------------------------------------------------


def _service_form() -> tuple[dict | None, FormErrors]:
    """The form through the API's schema; the price is typed in dollars, stored in cents."""
    form = request.form.copy()
    form["currency"] = form.get("currency", "").strip().upper()
    price_error = None
    try:
        form["price_cents"] = str(parse_dollars(form.get("price", "")))
    except ValueError as error:
        price_error = str(error)
        form.pop("price_cents", None)
    data, errors = load_form(ServiceSchema(), form)
    errors = {("price" if key == "price_cents" else key): texts for key, texts in errors.items()}
    if price_error:
        errors["price"] = [price_error]
    return (None, errors) if errors else (data, {})


def _service_values(item: Service) -> dict[str, Any]:
    values = ServiceSchema().dump(item)
    values["price"] = dollars_text(item.price_cents)
    return values


def _render_services(listing: Practitioner, values: Mapping[str, Any], errors: FormErrors):
    return render_form(
        "pages/dashboard/services.html",
        errors,
        listing=listing,
        services=list(db.session.scalars(listings.list_services(listing))),
        values=values,
        labels=SERVICE_LABELS,
        therapy_options=therapy_options(values.get("therapy")),
    )


@bp.route("/services", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def services():
    listing = _listing()
    if request.method == "GET":
        defaults = {"currency": "AUD", "active": True, "duration_minutes": 60}
        return _render_services(listing, defaults, {})
    data, errors = _service_form()
    if not errors:
        refusal = _run(lambda: listings.create_service(listing, data))
        if refusal is None:
            flash(f"Service “{data['name']}” added.", "success")
            return redirect(url_for(".services"), 303)
        errors = errors_of(refusal)
    return _render_services(listing, request.form, errors)


@bp.route("/services/<uuid:service_id>", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def service(service_id: uuid.UUID):
    item = listings.get_own_service(_listing(), service_id)
    values: Mapping[str, Any] = _service_values(item)
    errors: FormErrors = {}
    if request.method == "POST":
        data, errors = _service_form()
        if not errors:
            refusal = _run(lambda: listings.update_service(item, data))
            if refusal is None:
                flash(f"Service “{data['name']}” saved.", "success")
                return redirect(url_for(".services"), 303)
            errors = errors_of(refusal)
        values = request.form
    return render_form(
        "pages/dashboard/service.html",
        errors,
        item=item,
        values=values,
        labels=SERVICE_LABELS,
        therapy_options=therapy_options(values.get("therapy")),
    )


@bp.route("/services/<uuid:service_id>/delete", methods=["POST"])
@page_for(Role.PRACTITIONER)
def delete_service(service_id: uuid.UUID):
    item = listings.get_own_service(_listing(), service_id)
    name = item.name
    listings.delete_service(item)
    db.session.commit()
    flash(f"Service “{name}” removed. Its past bookings are kept.", "success")
    return redirect(url_for(".services"), 303)


# --- rows of windows: the weekly hours and a date's hours ----------------------------------


def _posted_rows(form: MultiDict, prefix: str, fields: Iterable[str], limit: int) -> dict:
    """{row number: {field: text}} from inputs named `<prefix>-N-<field>`."""
    pattern = re.compile(rf"{prefix}-(\d{{1,3}})-(\w+)")
    wanted = set(fields)
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = pattern.fullmatch(key)
        if match and match[2] in wanted and int(match[1]) < limit:
            rows.setdefault(int(match[1]), {})[match[2]] = form.get(key, "").strip()
    return rows


def _row_items(rows: Mapping[int, Mapping[str, str]]) -> tuple[list[dict], list[int]]:
    """The JSON items the API takes, from the rows that are not blank, and their row numbers.

    A row without times is blank (its selects always carry a value): it is skipped, which is
    also how a window is removed. Blank optional inputs are left out, as a client would.
    """
    items, numbers = [], []
    for number in sorted(rows):
        row = rows[number]
        if not row.get("start") and not row.get("end"):
            continue
        item = {key: value for key, value in row.items() if value or key in ("start", "end")}
        if "weekday" in item:
            item["weekday"] = int(item["weekday"]) if item["weekday"].isdigit() else item["weekday"]
        items.append(item)
        numbers.append(number)
    return items, numbers


def _row_errors(
    messages: Mapping[str, list[str]],
    collection: str,
    numbers: list[int],
    shown: Iterable[str],
) -> FormErrors:
    """`rules.2.end` (the third item sent) as the field of its row, `rules-5-end`; a message
    about a field the row does not show goes on the row's start."""
    shown = set(shown)
    errors: FormErrors = {}
    for key, texts in messages.items():
        parts = key.split(".")
        if parts[0] == collection and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(numbers):
                field = parts[2] if len(parts) > 2 and parts[2] in shown else "start"
                key = f"{collection}-{numbers[index]}-{field}"
        errors.setdefault(key, []).extend(texts)
    return errors


def _overlap_errors(
    schema: type[ma.Schema],
    document: dict,
    collection: str,
    numbers: list[int],
    errors: FormErrors,
) -> FormErrors:
    """The schema's overlap messages moved onto the start of each row they are about.

    The schema names only the list; its own overlap sweep over the rows that load alone tells
    which rows each message is about.
    """
    if collection not in errors:
        return errors
    texts = list(errors[collection])
    errors = {key: value for key, value in errors.items() if key != collection}
    loaded: list[dict] = []
    positions: list[int] = []
    for position, item in enumerate(document[collection]):
        try:
            loaded.append(schema.item_schema().load(item))
        except ma.ValidationError:
            continue  # its own messages are on its fields already
        positions.append(position)
    placed: set[str] = set()
    for i, j, text in overlapping_pairs(loaded, schema.same_day)[:MAX_OVERLAP_MESSAGES]:
        for position in (positions[i], positions[j]):
            errors.setdefault(f"{collection}-{numbers[position]}-start", []).append(text)
        placed.add(text)
    leftover = [text for text in texts if text not in placed]
    if leftover:
        errors[collection] = leftover
    return errors


def _load_rows(
    schema: type[ma.Schema], document: dict, collection: str, numbers: list[int], shown
) -> tuple[dict | None, FormErrors]:
    try:
        return schema().load(document), {}
    except ma.ValidationError as error:
        errors = _row_errors(flatten_messages(error.messages), collection, numbers, shown)
        return None, _overlap_errors(schema, document, collection, numbers, errors)


def _row_labels(collection: str, numbers: Iterable[int], fields: Mapping[str, str]) -> dict:
    return {
        f"{collection}-{n}-{field}": f"Window {n + 1} {text}"
        for n in numbers
        for field, text in fields.items()
    }


def _location_options(listing: Practitioner) -> list[tuple[str, str]]:
    return [(str(place.id), f"{place.name}, {place.suburb}") for place in _own_locations(listing)]


def _requested_rows(default: int, limit: int) -> int:
    requested = request.args.get("rows", "")
    wanted = int(requested) if requested.isdigit() and len(requested) <= 3 else 0
    return min(max(default, wanted), limit)


# --- weekly hours --------------------------------------------------------------------------

RULE_FIELDS = ("weekday", "start", "end", "location_id", "valid_from", "valid_until")
RULE_SHOWN = {"weekday": "day", "start": "from", "end": "until", "location_id": "location"}


def _render_hours(
    listing: Practitioner, values: Mapping[str, Any], row_count: int, errors: FormErrors
):
    numbers = range(row_count)
    return render_form(
        "pages/dashboard/hours.html",
        errors,
        listing=listing,
        values=values,
        row_numbers=numbers,
        more_rows=min(row_count + EXTRA_ROWS, MAX_RULE_ROWS),
        can_add_rows=row_count < MAX_RULE_ROWS,
        labels={**_row_labels("rules", numbers, RULE_SHOWN), "rules": "Weekly hours"},
        weekday_options=WEEKDAY_OPTIONS,
        location_options=_location_options(listing),
        zone=_zone_name(listing),
    )


@bp.route("/hours", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def hours():
    listing = _listing()
    if request.method == "GET":
        rules = availability.get_schedule(listing)
        values: dict[str, Any] = {}
        for n, rule in enumerate(rules):
            values[f"rules-{n}-weekday"] = rule.weekday
            values[f"rules-{n}-start"] = f"{rule.start_time:%H:%M}"
            values[f"rules-{n}-end"] = f"{rule.end_time:%H:%M}"
            values[f"rules-{n}-location_id"] = str(rule.location_id)
            values[f"rules-{n}-valid_from"] = rule.valid_from and rule.valid_from.isoformat()
            values[f"rules-{n}-valid_until"] = rule.valid_until and rule.valid_until.isoformat()
        rows = _requested_rows(len(rules) + EXTRA_ROWS, MAX_RULE_ROWS)
        return _render_hours(listing, values, rows, {})
    rows = _posted_rows(request.form, "rules", RULE_FIELDS, MAX_RULE_ROWS)
    row_count = max(rows, default=-1) + 1
    if request.form.get("action") == "more_rows":
        more = min(row_count + EXTRA_ROWS, MAX_RULE_ROWS)
        return _render_hours(listing, request.form, more, {})
    items, numbers = _row_items(rows)
    data, errors = _load_rows(ScheduleSchema, {"rules": items}, "rules", numbers, RULE_SHOWN)
    if not errors:
        refusal = _run(lambda: availability.replace_schedule(listing, data["rules"]))
        if refusal is None:
            flash("Weekly hours saved.", "success")
            return redirect(url_for(".hours"), 303)
        errors = _row_errors(errors_of(refusal), "rules", numbers, RULE_SHOWN)
    return _render_hours(listing, request.form, max(row_count, 1), errors)


# --- date overrides ------------------------------------------------------------------------

WINDOW_FIELDS = ("start", "end", "location_id")
WINDOW_SHOWN = {"start": "from", "end": "until", "location_id": "location"}


def _render_overrides(
    listing: Practitioner, values: Mapping[str, Any], row_count: int, errors: FormErrors
):
    today = local_today(listing, utc_now())
    upcoming = db.session.scalars(
        availability.list_overrides(listing).where(DateOverride.date >= today)
    )
    numbers = range(row_count)
    return render_form(
        "pages/dashboard/overrides.html",
        errors,
        listing=listing,
        overrides=list(upcoming),
        values=values,
        row_numbers=numbers,
        more_rows=min(row_count + EXTRA_ROWS, MAX_WINDOW_ROWS),
        can_add_rows=row_count < MAX_WINDOW_ROWS,
        labels={
            **_row_labels("windows", numbers, WINDOW_SHOWN),
            "date": "Date",
            "windows": "Hours that day",
        },
        location_options=_location_options(listing),
        location_names={place.id: place.name for place in _own_locations(listing)},
        zone=_zone_name(listing),
        today=today,
    )


@bp.route("/overrides", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def overrides():
    listing = _listing()
    if request.method == "GET":
        rows = _requested_rows(EXTRA_ROWS, MAX_WINDOW_ROWS)
        return _render_overrides(listing, {}, rows, {})
    rows = _posted_rows(request.form, "windows", WINDOW_FIELDS, MAX_WINDOW_ROWS)
    row_count = max(rows, default=-1) + 1
    if request.form.get("action") == "more_rows":
        more = min(row_count + EXTRA_ROWS, MAX_WINDOW_ROWS)
        return _render_overrides(listing, request.form, more, {})
    items, numbers = _row_items(rows)
    document = {"date": request.form.get("date", "").strip(), "windows": items}
    data, errors = _load_rows(OverrideSchema, document, "windows", numbers, WINDOW_SHOWN)
    if not errors:
        refusal = _run(
            lambda: availability.set_override(listing, data["date"], data["windows"], utc_now())
        )
        if refusal is None:
            what = "hours" if data["windows"] else "closed all day"
            flash(f"{day_short(data['date'])} saved: {what}.", "success")
            return redirect(url_for(".overrides"), 303)
        errors = _row_errors(errors_of(refusal), "windows", numbers, WINDOW_SHOWN)
    return _render_overrides(listing, request.form, max(row_count, 1), errors)


@bp.route("/overrides/<uuid:override_id>/delete", methods=["POST"])
@page_for(Role.PRACTITIONER)
def delete_override(override_id: uuid.UUID):
    override = availability.get_own_override(_listing(), override_id)
    day = override.date
    availability.delete_override(override)
    db.session.commit()
    flash(f"{day_short(day)} follows your weekly hours again.", "success")
    return redirect(url_for(".overrides"), 303)


# --- time off ------------------------------------------------------------------------------


def _instant_text(text: str, zone: ZoneInfo) -> str:
    """A `datetime-local` value read as the listing's wall clock, written with its offset for
    the API's schema; anything else is passed on for the schema to refuse."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if local.tzinfo is not None:
        return text
    if not EARLIEST_YEAR <= local.year <= LATEST_YEAR:
        return local.replace(tzinfo=UTC).isoformat()  # the schema names the range
    return to_instant(local.date(), local.time(), zone).isoformat()


def _render_time_off(listing: Practitioner, values: Mapping[str, Any], errors: FormErrors):
    now = utc_now()
    return render_form(
        "pages/dashboard/time_off.html",
        errors,
        listing=listing,
        periods=db.session.scalars(
            availability.list_time_off(listing).where(TimeOff.end_at > now)
        ).all(),
        values=values,
        labels=TIME_OFF_LABELS,
        zone=_zone_name(listing),
    )


@bp.route("/time-off", methods=["GET", "POST"])
@page_for(Role.PRACTITIONER)
def time_off():
    listing = _listing()
    if request.method == "GET":
        return _render_time_off(listing, {}, {})
    form = request.form.copy()
    for field in ("start_at", "end_at"):
        if field in form:
            form[field] = _instant_text(form[field], zone_of(listing))
    data, errors = load_form(TimeOffSchema(), form)
    if not errors:
        refusal = _run(lambda: availability.add_time_off(listing, data))
        if refusal is None:
            zone = _zone_name(listing)
            flash(
                f"Time off saved: {local_short(data['start_at'], zone)} to "
                f"{local_short(data['end_at'], zone)}.",
                "success",
            )
            return redirect(url_for(".time_off"), 303)
        errors = errors_of(refusal)
    return _render_time_off(listing, request.form, errors)


@bp.route("/time-off/<uuid:time_off_id>/delete", methods=["POST"])
@page_for(Role.PRACTITIONER)
def delete_time_off(time_off_id: uuid.UUID):
    availability.delete_time_off(availability.get_own_time_off(_listing(), time_off_id))
    db.session.commit()
    flash("Time off removed: those hours can be booked again.", "success")
    return redirect(url_for(".time_off"), 303)


# --- bookings ------------------------------------------------------------------------------


class CalendarViewArgs(ma.Schema):
    """Which days the bookings page shows: a day, or the week (Monday first) of `date`."""

    view = ma.fields.String(load_default="week", validate=validate.OneOf(("day", "week")))
    date = CalendarDate(load_default=None)


def _calendar_args(source: MultiDict) -> tuple[dict, FormErrors]:
    args, errors = load_form(CalendarViewArgs(), source)
    return (args or {"view": "week", "date": None}), errors


def _render_bookings(
    listing: Practitioner,
    args: Mapping[str, Any],
    errors: FormErrors | None = None,
    status: int | None = None,
    failed: uuid.UUID | None = None,
):
    zone_name = _zone_name(listing)
    zone = zone_of(listing)
    today = local_today(listing, utc_now())
    day = args.get("date") or today
    if args.get("view") == "day":
        first = last = day
        step = timedelta(days=1)
    else:
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
        step = timedelta(days=7)
    days: dict[date, list[CalendarEntry]] = {
        first + timedelta(days=n): [] for n in range((last - first).days + 1)
    }
    for entry in _calendar(listing, first, last):
        days.setdefault(entry.booking.start_at.astimezone(zone).date(), []).append(entry)
    view = args.get("view", "week")
    return _page(
        "pages/dashboard/bookings.html",
        errors or {},
        status,
        listing=listing,
        view=view,
        day=day,
        first=first,
        last=last,
        today=today,
        days=days,
        earlier=url_for(".bookings", view=view, date=(day - step).isoformat()),
        later=url_for(".bookings", view=view, date=(day + step).isoformat()),
        zone=zone_name,
        now=utc_now(),
        booking_words=BOOKING_WORDS,
        failed=failed,
        money=money,
    )


@bp.route("/bookings", endpoint="bookings")
@page_for(Role.PRACTITIONER)
def bookings_page():
    listing = _listing()
    args, errors = _calendar_args(request.args)
    return _render_bookings(listing, args, errors)


def _change_booking(
    booking_id: uuid.UUID,
    change: Callable[[Booking], Any],
    done: str | Callable[[Booking], str],
):
    """Apply a lifecycle change to one of the listing's bookings, then show the same days;
    a refused change (409) shows them with the reason instead."""
    listing = _listing()
    booking = queries.get_booking_for(current_user, booking_id)
    args, _ = _calendar_args(request.form)
    refusal = _run(lambda: change(booking))
    if refusal is not None:
        return _render_bookings(listing, args, errors_of(refusal), refusal.status, booking_id)
    flash(done if isinstance(done, str) else done(booking), "success")
    back = {"view": args["view"]}
    if args.get("date"):
        back["date"] = args["date"].isoformat()
    return redirect(url_for(".bookings", **back), 303)


@bp.route("/bookings/<uuid:booking_id>/complete", methods=["POST"])
@page_for(Role.PRACTITIONER)
def complete_booking(booking_id: uuid.UUID):
    return _change_booking(
        booking_id,
        lambda b: bookings.finish_booking(b, current_user, BookingStatus.COMPLETED, utc_now()),
        "Booking marked completed.",
    )


@bp.route("/bookings/<uuid:booking_id>/no-show", methods=["POST"])
@page_for(Role.PRACTITIONER)
def no_show_booking(booking_id: uuid.UUID):
    return _change_booking(
        booking_id,
        lambda b: bookings.finish_booking(b, current_user, BookingStatus.NO_SHOW, utc_now()),
        "Booking marked as a no-show.",
    )


def _cancelled_message(booking: Booking) -> str:
    if booking.refund_cents:
        refund = money(booking.refund_cents, booking.currency)
        return f"Booking cancelled. The patient is refunded in full: {refund}."
    return "Booking cancelled. No payment had been taken."


@bp.route("/bookings/<uuid:booking_id>/cancel", methods=["POST"])
@page_for(Role.PRACTITIONER)
def cancel_booking(booking_id: uuid.UUID):
    data, errors = load_form(CancelSchema())
    if errors:
        queries.get_booking_for(current_user, booking_id)  # another's booking is still a 404
        args, _ = _calendar_args(request.form)
        return _render_bookings(_listing(), args, errors, failed=booking_id)
    return _change_booking(
        booking_id,
        lambda b: bookings.cancel_booking(
            b, current_user, data["reason"], utc_now(), get_gateway()
        ),
        _cancelled_message,
    )


# --- payouts and the calendar feed ---------------------------------------------------------


def _render_payouts(listing: Practitioner, errors: FormErrors | None = None, status=None):
    return _page(
        "pages/dashboard/payouts.html",
        errors or {},
        status,
        listing=listing,
        calendar_url=calendar_url(listing),
    )


@bp.route("/payouts")
@page_for(Role.PRACTITIONER)
def payouts():
    return _render_payouts(_listing())


@bp.route("/payouts/onboarding", methods=["POST"])
@page_for(Role.PRACTITIONER)
def start_payouts():
    """What `POST /api/v1/practitioner/payouts/onboarding` does, then off to the link."""
    listing = _listing()
    gateway = get_gateway()
    try:
        account_id = ensure_connect_account(listing, current_user.email, gateway)
        db.session.commit()
        url = onboarding_link(gateway, account_id)
    except DomainError as error:
        db.session.rollback()
        return _render_payouts(listing, errors_of(error), error.status)
    return redirect(url, 303)


@bp.route("/calendar-token", methods=["POST"])
@page_for(Role.PRACTITIONER)
def rotate_calendar():
    availability.rotate_calendar_token(_listing())
    db.session.commit()
    flash(
        "New feed link made. The old link no longer works: give the new one to your calendar app.",
        "success",
    )
    return redirect(url_for(".payouts"), 303)
