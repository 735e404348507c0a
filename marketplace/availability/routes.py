import uuid
from datetime import timedelta

from flask import Response
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from marketplace.accounts.auth import practitioner_only
from marketplace.availability import calendar, free_time, service
from marketplace.availability.schemas import (
    CalendarFeedArgs,
    CalendarLinkSchema,
    OverrideSchema,
    ScheduleSchema,
    SlotListSchema,
    SlotsArgs,
    TimeOffSchema,
)
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.pagination import PageArgs, page_of, paginate
from marketplace.practitioners.service import get_listing_of, get_public_listing

bp = Blueprint("availability", __name__, url_prefix="/api/v1", description="Hours and free slots")
FEED_HISTORY = timedelta(days=90)


def _schedule(listing):
    rules = service.get_schedule(listing)
    return {
        "rules": [
            {
                "weekday": r.weekday,
                "start": r.start_time,
                "end": r.end_time,
                "location_id": r.location_id,
                "valid_from": r.valid_from,
                "valid_until": r.valid_until,
            }
            for r in rules
        ]
    }


@bp.route("/practitioner/schedule")
class Schedule(MethodView):
    @practitioner_only
    @bp.response(200, ScheduleSchema)
    def get(self):
        return _schedule(get_listing_of(current_user))

    @practitioner_only
    @bp.arguments(ScheduleSchema)
    @bp.response(200, ScheduleSchema)
    def put(self, data):
        listing = get_listing_of(current_user)
        service.replace_schedule(listing, data["rules"])
        db.session.commit()
        return _schedule(listing)


def _override_out(override):
    return {
        "id": override.id,
        "date": override.date,
        "windows": [
            {"start": w.start_time, "end": w.end_time, "location_id": w.location_id}
            for w in override.windows
        ],
    }


@bp.route("/practitioner/overrides")
class Overrides(MethodView):
    @practitioner_only
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(OverrideSchema))
    def get(self, args):
        page = paginate(service.list_overrides(get_listing_of(current_user)), **args)
        return {**page, "items": [_override_out(o) for o in page["items"]]}

    @practitioner_only
    @bp.arguments(OverrideSchema)
    @bp.response(201, OverrideSchema)
    @bp.alt_response(200, schema=OverrideSchema, description="An existing override replaced")
    def post(self, data):
        override, created = service.set_override(
            get_listing_of(current_user), data["date"], data["windows"], utc_now()
        )
        db.session.commit()
        return _override_out(override), 201 if created else 200


@bp.route("/practitioner/overrides/<uuid:override_id>")
class OverrideItem(MethodView):
    @practitioner_only
    @bp.response(200, OverrideSchema)
    def get(self, override_id: uuid.UUID):
        return _override_out(service.get_own_override(get_listing_of(current_user), override_id))

    @practitioner_only
    @bp.response(204)
    def delete(self, override_id: uuid.UUID):
        service.delete_override(service.get_own_override(get_listing_of(current_user), override_id))
        db.session.commit()


@bp.route("/practitioner/time-off")
class TimeOffList(MethodView):
    @practitioner_only
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(TimeOffSchema))
    def get(self, args):
        return paginate(service.list_time_off(get_listing_of(current_user)), **args)

    @practitioner_only
    @bp.arguments(TimeOffSchema)
    @bp.response(201, TimeOffSchema)
    def post(self, data):
        time_off = service.add_time_off(get_listing_of(current_user), data)
        db.session.commit()
        return time_off


@bp.route("/practitioner/time-off/<uuid:time_off_id>")
class TimeOffItem(MethodView):
    @practitioner_only
    @bp.response(200, TimeOffSchema)
    def get(self, time_off_id: uuid.UUID):
        return service.get_own_time_off(get_listing_of(current_user), time_off_id)

    @practitioner_only
    @bp.response(204)
    def delete(self, time_off_id: uuid.UUID):
        service.delete_time_off(service.get_own_time_off(get_listing_of(current_user), time_off_id))
        db.session.commit()


@bp.route("/practitioners/<id_or_slug>/slots")
@bp.arguments(SlotsArgs, location="query")
@bp.response(200, SlotListSchema)
def slots(args, id_or_slug: str):
    listing = get_public_listing(id_or_slug)
    bookable = service.get_bookable_service(listing, args["service_id"])
    now = utc_now()
    first_day, last_day = service.slot_range(
        args.get("from_date"), args.get("to_date"), free_time.local_today(listing, now)
    )
    found = free_time.free_slots(listing, bookable.duration_minutes, first_day, last_day, now)
    if "location_id" in args:
        found = [slot for slot in found if slot.location_id == args["location_id"]]
    return {
        "items": found,
        "timezone": listing.timezone,
        "from_date": first_day,
        "to_date": last_day,
    }


@bp.route("/practitioner/calendar.ics")
@bp.arguments(CalendarFeedArgs, location="query")
def calendar_feed(args):
    listing = service.get_listing_by_calendar_token(args["token"])
    now = utc_now()
    rows = service.confirmed_bookings_for_feed(listing, now - FEED_HISTORY)
    body = calendar.build_feed(listing.display_name, rows, now)
    return Response(
        body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"}
    )


@bp.route("/practitioner/calendar-token", methods=["POST"])
@practitioner_only
@bp.response(200, CalendarLinkSchema)
def rotate_calendar_token():
    listing = service.rotate_calendar_token(get_listing_of(current_user))
    db.session.commit()
    return {"calendar_url": calendar.calendar_url(listing)}
