"""How instants and money read to a person: pure functions, no Flask.

Times are always the practitioner's wall clock with the zone named, because that is where
the appointment happens, whatever zone the reader's device is in.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pycountry


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def local_short(instant: datetime, zone: str) -> str:
    """ "Tue 9 Mar, 10:00 AEDT"."""
    local = _local(instant, zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local.tzname()}"


def local_full(instant: datetime, zone: str) -> str:
    """ "Tuesday 9 March 2027 at 10:00 AEDT", for accessible names and confirmations."""
    local = _local(instant, zone)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


def local_clock(instant: datetime, zone: str) -> str:
    """ "10:00 AEDT"."""
    local = _local(instant, zone)
    return f"{local:%H:%M} {local.tzname()}"


def day_short(day: date) -> str:
    """ "Tue 9 Mar"."""
    return f"{day:%a} {day.day} {day:%b}"


def day_full(day: date) -> str:
    """ "Tuesday 9 March 2027"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def money(amount_cents: int, currency: str) -> str:
    """ "95.00 AUD" (integer minor units; every currency we take has two decimals)."""
    sign = "-" if amount_cents < 0 else ""
    whole, cents = divmod(abs(amount_cents), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}"


def cancellation_policy(free_hours: int, late_fee_percent: int) -> str:
    """A listing's cancellation terms in words, as the booking service applies them."""
    after_start = (
        "Once the appointment has started it cannot be cancelled. If the practitioner "
        "cancels, you are refunded in full."
    )
    if free_hours == 0 or late_fee_percent == 0:
        return f"Free cancellation until the appointment starts. {after_start}"
    hours = f"{free_hours} hour{'' if free_hours == 1 else 's'}"
    kept = (
        "the full price is kept"
        if late_fee_percent == 100
        else f"{late_fee_percent}% of the price is kept"
    )
    return (
        f"Free cancellation up to {hours} before the appointment; after that {kept}. {after_start}"
    )


def language_name(code: str) -> str:
    """ "zh" -> "Chinese": ISO 639-1 codes as a reader knows them."""
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language else code
