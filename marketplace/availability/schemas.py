import re
from datetime import date, time, timedelta

import marshmallow as ma
from marshmallow import validate

from marketplace.fields import CalendarDate, Instant, StrictInteger, StrictString

MAX_SLOT_RANGE_DAYS = 62
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class WallClockTime(ma.fields.Field):
    """A local wall-clock time written `HH:MM` (24-hour)."""

    default_error_messages = {"invalid": "Not a valid HH:MM time."}

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        match = _HH_MM.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.make_error("invalid")
        return time(int(match[1]), int(match[2]))

    def _jsonschema_type_mapping(self):
        return {"type": "string", "pattern": _HH_MM.pattern, "example": "09:00"}


def _describe(window: dict) -> str:
    hours = f"{window['start']:%H:%M}-{window['end']:%H:%M}"
    return f"{WEEKDAY_NAMES[window['weekday']]} {hours}" if "weekday" in window else hours


def _validity_overlaps(a: dict, b: dict) -> bool:
    """Whether two rules' validity periods share a date (None = unbounded)."""
    a_from, a_until = a.get("valid_from") or date.min, a.get("valid_until") or date.max
    b_from, b_until = b.get("valid_from") or date.min, b.get("valid_until") or date.max
    return a_from <= b_until and b_from <= a_until


# Beyond this many, one more message says how many more there are: a list of 200 identical
# windows would otherwise answer with 19,900 messages.
MAX_OVERLAP_MESSAGES = 20


def overlapping_pairs(
    windows: list[dict], same_day=lambda a, b: True
) -> list[tuple[int, int, str]]:
    """(i, j, message) for each pair of windows, i < j, that fall on the same day and overlap
    in time; found in one sweep by start time rather than by trying every pair."""
    order = sorted(range(len(windows)), key=lambda k: windows[k]["start"])
    pairs = []
    open_windows: list[int] = []
    for k in order:
        window = windows[k]
        open_windows = [o for o in open_windows if windows[o]["end"] > window["start"]]
        for o in open_windows:
            if same_day(windows[o], window):
                i, j = min(o, k), max(o, k)
                pairs.append((i, j, f"{_describe(windows[i])} overlaps {_describe(windows[j])}."))
        open_windows.append(k)
    return sorted(pairs)


def overlap_messages(pairs: list[tuple[int, int, str]]) -> list[str]:
    messages = [message for _i, _j, message in pairs[:MAX_OVERLAP_MESSAGES]]
    if len(pairs) > MAX_OVERLAP_MESSAGES:
        messages.append(f"And {len(pairs) - MAX_OVERLAP_MESSAGES} more overlaps.")
    return messages


def rules_share_a_day(a: dict, b: dict) -> bool:
    # Rules whose validity periods are disjoint may share hours (summer and winter hours).
    return a["weekday"] == b["weekday"] and _validity_overlaps(a, b)


class WindowSchema(ma.Schema):
    start = WallClockTime(required=True)
    end = WallClockTime(required=True)
    location_id = ma.fields.UUID(required=True)

    @ma.validates_schema
    def start_before_end(self, data, **kwargs):
        if "start" in data and "end" in data and data["start"] >= data["end"]:
            raise ma.ValidationError("Must be after start.", field_name="end")


class RuleSchema(WindowSchema):
    weekday = StrictInteger(required=True, validate=validate.Range(0, 6))
    valid_from = CalendarDate(load_default=None, allow_none=True)
    valid_until = CalendarDate(load_default=None, allow_none=True)

    @ma.validates_schema
    def validity_in_order(self, data, **kwargs):
        first, last = data.get("valid_from"), data.get("valid_until")
        if first and last and first > last:
            raise ma.ValidationError("Must not be before valid_from.", field_name="valid_until")


class ScheduleSchema(ma.Schema):
    rules = ma.fields.List(
        ma.fields.Nested(RuleSchema), required=True, validate=validate.Length(max=200)
    )

    item_schema = RuleSchema
    same_day = staticmethod(rules_share_a_day)

    @ma.validates_schema
    def no_overlaps(self, data, **kwargs):
        pairs = overlapping_pairs(data.get("rules", []), self.same_day)
        if pairs:
            raise ma.ValidationError(overlap_messages(pairs), field_name="rules")


class OverrideSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    date = CalendarDate(required=True)
    windows = ma.fields.List(
        ma.fields.Nested(WindowSchema), required=True, validate=validate.Length(max=20)
    )

    item_schema = WindowSchema
    same_day = staticmethod(lambda a, b: True)

    @ma.validates_schema
    def no_overlaps(self, data, **kwargs):
        pairs = overlapping_pairs(data.get("windows", []))
        if pairs:
            raise ma.ValidationError(overlap_messages(pairs), field_name="windows")


class TimeOffSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    start_at = Instant(required=True)
    end_at = Instant(required=True)
    reason = StrictString(load_default="", validate=validate.Length(max=200))

    @ma.validates_schema
    def end_after_start(self, data, **kwargs):
        if "start_at" in data and "end_at" in data and data["end_at"] <= data["start_at"]:
            raise ma.ValidationError("Must be after the start.", field_name="end_at")


class SlotsArgs(ma.Schema):
    service_id = ma.fields.UUID(required=True)
    location_id = ma.fields.UUID()
    from_date = CalendarDate(data_key="from")
    to_date = CalendarDate(data_key="to")

    @ma.validates_schema
    def sensible_range(self, data, **kwargs):
        first, last = data.get("from_date"), data.get("to_date")
        if first and last:
            if last < first:
                raise ma.ValidationError("Must not be before from.", field_name="to")
            if last - first >= timedelta(days=MAX_SLOT_RANGE_DAYS):
                raise ma.ValidationError(
                    f"At most {MAX_SLOT_RANGE_DAYS} days from `from`.", field_name="to"
                )


class SlotSchema(ma.Schema):
    start_at = ma.fields.AwareDateTime()
    end_at = ma.fields.AwareDateTime()
    location_id = ma.fields.UUID()


class SlotListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SlotSchema))
    timezone = ma.fields.String()
    from_date = ma.fields.Date(data_key="from")
    to_date = ma.fields.Date(data_key="to")


class CalendarFeedArgs(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(1, 64))


class CalendarLinkSchema(ma.Schema):
    calendar_url = ma.fields.String()
