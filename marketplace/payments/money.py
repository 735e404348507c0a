"""Pure money arithmetic in integer minor units (no Flask, no floats)."""


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
