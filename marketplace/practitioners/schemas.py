import marshmallow as ma
from marshmallow import validate

from marketplace.availability.calendar import calendar_url
from marketplace.fields import (
    CountryCode,
    CurrencyCode,
    LanguageCode,
    StrictBoolean,
    StrictInteger,
    StrictString,
    TimezoneName,
)
from marketplace.pagination import PageArgs
from marketplace.practitioners.models import Gender, ListingStatus

MAX_PRICE_CENTS = 100_000_000


def _text(max_length: int, **kwargs) -> StrictString:
    return StrictString(validate=validate.Length(max=max_length), **kwargs)


def _minutes(low: int, high: int, default: int) -> StrictInteger:
    return StrictInteger(load_default=default, validate=validate.Range(low, high))


class ProfileSchema(ma.Schema):
    """The practitioner's own listing; `PUT` replaces it (absent fields take their defaults)."""

    id = ma.fields.UUID(dump_only=True)
    slug = ma.fields.String(dump_only=True)
    status = ma.fields.Enum(ListingStatus, by_value=True, dump_only=True)
    status_reason = ma.fields.String(dump_only=True, allow_none=True)
    calendar_url = ma.fields.Function(calendar_url, dump_only=True, allow_none=True)
    charges_enabled = ma.fields.Boolean(dump_only=True)

    display_name = StrictString(required=True, validate=validate.Length(1, 120))
    headline = _text(200, load_default="")
    bio = _text(5000, load_default="")
    profession = _text(120, load_default="")
    registration_body = _text(120, load_default="")
    registration_number = _text(60, load_default="")
    gender = ma.fields.Enum(Gender, by_value=True, load_default=Gender.UNDISCLOSED)
    languages = ma.fields.List(
        LanguageCode(), load_default=lambda: ["en"], validate=validate.Length(max=20)
    )
    telehealth = StrictBoolean(load_default=False)
    timezone = TimezoneName(load_default=None, allow_none=True)
    slot_interval_minutes = _minutes(5, 240, 15)
    buffer_before_minutes = _minutes(0, 240, 0)
    buffer_after_minutes = _minutes(0, 240, 0)
    min_notice_minutes = _minutes(0, 60 * 24 * 30, 120)
    horizon_days = _minutes(1, 365, 60)
    free_cancellation_hours = _minutes(0, 24 * 30, 24)
    late_cancellation_fee_percent = _minutes(0, 100, 50)

    @ma.post_load
    def unique_languages(self, data, **kwargs):
        if "languages" in data:
            data["languages"] = list(dict.fromkeys(data["languages"]))
        return data


class LocationSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = StrictString(required=True, validate=validate.Length(1, 120))
    address = StrictString(required=True, validate=validate.Length(1, 255))
    suburb = StrictString(required=True, validate=validate.Length(1, 120))
    state = _text(60, load_default="")
    postcode = _text(12, load_default="")
    country = CountryCode(load_default="AU")
    latitude = ma.fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = ma.fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))


class ServiceSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    therapy = StrictString(
        required=True, validate=validate.Length(1, 80, error="Choose a therapy.")
    )
    therapy_name = ma.fields.String(dump_only=True, attribute="therapy_type.name")
    name = StrictString(required=True, validate=validate.Length(1, 120))
    description = _text(2000, load_default="")
    duration_minutes = StrictInteger(required=True, validate=validate.Range(5, 480))
    price_cents = StrictInteger(required=True, validate=validate.Range(0, MAX_PRICE_CENTS))
    currency = CurrencyCode(required=True)
    active = StrictBoolean(load_default=True)


class PublicServiceSchema(ServiceSchema):
    class Meta:
        exclude = ("active",)


class TherapyRefSchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()


class PublicProfileSchema(ma.Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    display_name = ma.fields.String()
    headline = ma.fields.String()
    bio = ma.fields.String()
    profession = ma.fields.String()
    registration_body = ma.fields.String()
    registration_number = ma.fields.String()
    gender = ma.fields.Enum(Gender, by_value=True)
    languages = ma.fields.List(ma.fields.String())
    telehealth = ma.fields.Boolean()
    timezone = ma.fields.String()
    therapies = ma.fields.List(ma.fields.Nested(TherapyRefSchema), attribute="offered_therapies")
    rating_average = ma.fields.Float(allow_none=True)
    rating_count = ma.fields.Integer()
    free_cancellation_hours = ma.fields.Integer()
    late_cancellation_fee_percent = ma.fields.Integer()
    services = ma.fields.List(ma.fields.Nested(PublicServiceSchema), attribute="active_services")
    locations = ma.fields.List(ma.fields.Nested(LocationSchema))


class ReasonSchema(ma.Schema):
    reason = StrictString(
        required=True,
        validate=validate.Length(1, 2000, error="Give a reason, in at most {max} characters."),
    )


class ListingSummarySchema(ProfileSchema):
    """What an admin sees in the review queue: the listing without the practitioner's private
    calendar feed link (its token is the practitioner's alone)."""

    class Meta:
        exclude = ("calendar_url",)

    owner_email = ma.fields.String(dump_only=True, attribute="owner.email")
    submitted_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    reviewed_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    services = ma.fields.List(ma.fields.Nested(ServiceSchema), dump_only=True)
    locations = ma.fields.List(ma.fields.Nested(LocationSchema), dump_only=True)


class ListingQueueArgs(PageArgs):
    status = ma.fields.Enum(ListingStatus, by_value=True, load_default=ListingStatus.PENDING)
