import marshmallow as ma
from marshmallow import validate

from marketplace.fields import CalendarDate, LanguageCode, StrictString
from marketplace.pagination import PageArgs
from marketplace.practitioners.models import Gender
from marketplace.practitioners.schemas import (
    MAX_PRICE_CENTS,
    LocationSchema,
    PublicServiceSchema,
    TherapyRefSchema,
)
from marketplace.search.service import SORTS

MAX_RADIUS_KM = 200
DEFAULT_RADIUS_KM = 25


class SearchArgs(PageArgs):
    therapy = ma.fields.List(StrictString(validate=validate.Length(1, 80)), load_default=list)
    condition = StrictString(validate=validate.Length(1, 80))
    q = StrictString(validate=validate.Length(max=200))
    lat = ma.fields.Float(allow_nan=False, validate=validate.Range(-90, 90))
    lng = ma.fields.Float(allow_nan=False, validate=validate.Range(-180, 180))
    radius_km = ma.fields.Float(
        allow_nan=False,
        validate=validate.Range(0, MAX_RADIUS_KM, min_inclusive=False),
    )
    available_on = CalendarDate()
    price_max = ma.fields.Integer(validate=validate.Range(0, MAX_PRICE_CENTS))
    gender = ma.fields.Enum(Gender, by_value=True)
    language = LanguageCode()
    telehealth = ma.fields.Boolean()
    sort = ma.fields.String(load_default="relevance", validate=validate.OneOf(SORTS))

    @ma.validates_schema
    def position_is_complete(self, data, **kwargs):
        has_lat, has_lng = "lat" in data, "lng" in data
        if has_lat != has_lng:
            missing = "lng" if has_lat else "lat"
            raise ma.ValidationError("Give both lat and lng, or neither.", field_name=missing)
        if "radius_km" in data and not has_lat:
            raise ma.ValidationError("A radius needs lat and lng.", field_name="radius_km")
        if data.get("sort") == "distance" and not has_lat:
            raise ma.ValidationError("Sorting by distance needs lat and lng.", field_name="sort")


class SearchLocationSchema(LocationSchema):
    class Meta:
        exclude = ("address",)


class SearchItemSchema(ma.Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    display_name = ma.fields.String()
    headline = ma.fields.String()
    profession = ma.fields.String()
    gender = ma.fields.String()
    languages = ma.fields.List(ma.fields.String())
    telehealth = ma.fields.Boolean()
    therapies = ma.fields.List(ma.fields.Nested(TherapyRefSchema))
    services = ma.fields.List(ma.fields.Nested(PublicServiceSchema))
    price_from_cents = ma.fields.Integer(allow_none=True)
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    distance_km = ma.fields.Float(allow_none=True)
    rating_average = ma.fields.Float(allow_none=True)
    rating_count = ma.fields.Integer()
    next_available_at = ma.fields.AwareDateTime(allow_none=True)


class FacetsSchema(ma.Schema):
    therapy = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    gender = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class SearchResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchItemSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    facets = ma.fields.Nested(FacetsSchema)
