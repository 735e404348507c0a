"""Pure money arithmetic in integer minor units (no Flask, no floats)."""

import re


def percent_of(amount_cents: int, numerator: int, denominator: int) -> int:
    """amount * numerator / denominator, rounded half-up to the cent."""
    if amount_cents < 0 or numerator < 0 or denominator <= 0:
        raise ValueError("amounts and rates must not be negative")
    return (amount_cents * numerator * 2 + denominator) // (2 * denominator)


def platform_fee(price_cents: int, fee_bps: int) -> int:
    """The platform's cut: basis points of the price, half-up to the cent."""
    return percent_of(price_cents, fee_bps, 10_000)


def late_cancellation_refund(price_cents: int, fee_percent: int) -> int:
    """What a late cancellation refunds: the price less the fee (half-up to the cent)."""
    return price_cents - percent_of(price_cents, fee_percent, 100)


# Whole dollars (thousands may be grouped with commas), then up to any number of decimals:
# too many decimals gets its own message.
MAX_DOLLAR_DIGITS = 12
_DOLLARS = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?")


def parse_dollars(text: str) -> int:
    """Cents from an amount typed in dollars ("95", "95.5", "$1,200.00"); ValueError says why
    it is not one."""
    cleaned = text.strip().removeprefix("$").strip()
    match = _DOLLARS.fullmatch(cleaned)
    if match is None or not (match[1] or match[2]):
        raise ValueError("Enter an amount in dollars, such as 95.00.")
    whole, fraction = (match[1] or "0").replace(",", ""), match[2] or ""
    if len(fraction) > 2:
        raise ValueError("Use at most two decimal places (cents), such as 95.50.")
    if len(whole) > MAX_DOLLAR_DIGITS:
        raise ValueError("That amount is too large.")
    return int(whole) * 100 + int(fraction.ljust(2, "0"))


def dollars_text(amount_cents: int) -> str:
    """The amount as a dollars field shows it: 9500 -> "95.00"."""
    whole, cents = divmod(amount_cents, 100)
    return f"{whole}.{cents:02d}"
