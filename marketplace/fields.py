"""marshmallow fields shared by the features' schemas: strict scalars and checked codes."""

from datetime import UTC
from functools import cache
from zoneinfo import available_timezones

import marshmallow as ma
import pycountry
from marshmallow import validate


class StrictInteger(ma.fields.Integer):
    """An integer that refuses strings and floats instead of coercing them."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class StrictBoolean(ma.fields.Boolean):
    """Only JSON `true` / `false`: "yes" or 1 are more likely mistakes than intent."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictString(ma.fields.String):
    """A string, trimmed of surrounding white space."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip()


# Instants and dates the calendar can do arithmetic on without leaving datetime's range.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


class Instant(ma.fields.AwareDateTime):
    """An ISO 8601 instant with a UTC offset (naive ones are refused), returned in UTC."""

    default_error_messages = {
        "out_of_range": f"Must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
        "invalid": "Give a date and time with its UTC offset, e.g. 2027-03-09T10:00:00+11:00.",
        "invalid_awareness": (
            "Give the time with its UTC offset, e.g. 2027-03-09T10:00:00+11:00 (or ...Z for UTC)."
        ),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
            raise self.make_error("out_of_range")
        return result.astimezone(UTC)


class CalendarDate(ma.fields.Date):
    """A `YYYY-MM-DD` date within the range the calendar handles."""

    default_error_messages = {
        "out_of_range": f"Must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
    }

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
            raise self.make_error("out_of_range")
        return result


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _currencies() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


@cache
def _languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def _member_of(codes, error: str) -> validate.Validator:
    def check(value: str) -> None:
        if value not in codes():
            raise ma.ValidationError(error)

    return check


class TimezoneName(StrictString):
    """An IANA time zone name, e.g. `Australia/Sydney`."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=_member_of(_timezones, "Not a known IANA time zone."),
            metadata={"example": "Australia/Sydney"},
            **kwargs,
        )


class CurrencyCode(ma.fields.String):
    """An ISO 4217 code, upper case (`AUD`)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=_member_of(_currencies, "Not an ISO 4217 currency code (upper case)."),
            metadata={"example": "AUD"},
            **kwargs,
        )


class LanguageCode(ma.fields.String):
    """An ISO 639-1 code, lower case (`en`)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=_member_of(_languages, "Not an ISO 639-1 language code (lower case)."),
            **kwargs,
        )


class CountryCode(ma.fields.String):
    """An ISO 3166-1 alpha-2 code, upper case (`AU`)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=_member_of(_countries, "Not an ISO 3166-1 alpha-2 country code."),
            **kwargs,
        )


def is_known_timezone(name: str) -> bool:
    return name in _timezones()
