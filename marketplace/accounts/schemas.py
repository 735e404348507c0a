import marshmallow as ma
from marshmallow import validate

from marketplace.accounts.models import Role
from marketplace.accounts.service import SELF_REGISTERABLE_ROLES
from marketplace.fields import StrictBoolean

PASSWORD_MIN_LENGTH = 10


class EmailAddress(ma.fields.Email):
    """An email address, trimmed and lower-cased before it is validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kwargs)


class RegisterSchema(ma.Schema):
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(
            PASSWORD_MIN_LENGTH, 256, error="Use at least {min} characters (at most {max})."
        ),
    )
    name = ma.fields.String(
        required=True,
        validate=validate.Length(1, 120, error="Enter a name of up to {max} characters."),
    )
    role = ma.fields.Enum(
        Role,
        by_value=True,
        load_default=Role.PATIENT,
        validate=validate.OneOf(
            sorted(SELF_REGISTERABLE_ROLES), error="Must be one of: patient, practitioner."
        ),
    )


class CredentialsSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(1, 254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(1, 256))


class TokenRequestSchema(CredentialsSchema):
    name = ma.fields.String(load_default="", validate=validate.Length(max=100))


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(dump_only=True)
    name = ma.fields.String(dump_only=True)
    role = ma.fields.Enum(Role, by_value=True, dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)


class MeSchema(UserSchema):
    """The signed-in user, with their own settings."""

    email_reminders = ma.fields.Boolean(dump_only=True)


class MeUpdateSchema(ma.Schema):
    """`PATCH /me`: the settings a user may change (anything else is 422)."""

    email_reminders = StrictBoolean()

    @ma.validates_schema
    def changes_something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Send at least one setting to change, e.g. email_reminders.")


class TokenSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    last_used_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = ma.fields.String(dump_only=True)
