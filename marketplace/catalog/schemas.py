import marshmallow as ma
from marshmallow import validate

from marketplace.fields import StrictBoolean, StrictString
from marketplace.pagination import PageArgs

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class TherapySchema(ma.Schema):
    slug = StrictString(validate=[validate.Length(1, 80), validate.Regexp(SLUG_PATTERN)])
    name = StrictString(required=True, validate=validate.Length(1, 120))
    description = StrictString(load_default="", validate=validate.Length(max=2000))
    active = StrictBoolean(load_default=True)
    practitioner_count = ma.fields.Integer(dump_only=True)


class TherapyUpdateSchema(ma.Schema):
    name = StrictString(validate=validate.Length(1, 120))
    description = StrictString(validate=validate.Length(max=2000))
    active = StrictBoolean()


class ConditionSchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    synonyms = ma.fields.List(ma.fields.String())
    therapies = ma.fields.List(ma.fields.String())
    practitioner_count = ma.fields.Integer()


class TaxonomyArgs(PageArgs):
    per_page = ma.fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))
