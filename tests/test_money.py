"""Pure money arithmetic: integer minor units, rates rounded half-up to the cent."""

from decimal import ROUND_HALF_UP, Decimal

import pytest

from marketplace.money import late_cancellation_refund, percent_of, platform_fee


def half_up(amount: int, numerator: int, denominator: int) -> int:
    """The reference: exact decimal arithmetic, rounded half-up."""
    exact = Decimal(amount) * numerator / denominator
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- percent_of -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "numerator", "denominator", "expected"),
    [
        (0, 1000, 10_000, 0),
        (100, 1, 2, 50),
        (1, 1, 2, 1),  # exactly half rounds up
        (3, 1, 2, 2),
        (1, 1, 3, 0),
        (2, 1, 3, 1),
        (12345, 25, 100, 3086),  # 3086.25
        (12345, 50, 100, 6173),  # 6172.5
        (12345, 100, 100, 12345),
        (12345, 0, 100, 0),
        (10**15, 1, 7, 142857142857143),  # no float drift on large amounts
    ],
)
def test_percent_of_rounds_half_up(amount, numerator, denominator, expected):
    assert percent_of(amount, numerator, denominator) == expected
    assert percent_of(amount, numerator, denominator) == half_up(amount, numerator, denominator)


def test_percent_of_matches_exact_decimal_half_up_everywhere():
    for amount in range(0, 2001):
        for numerator, denominator in [(1000, 10_000), (25, 100), (333, 10_000), (1, 3)]:
            expected = half_up(amount, numerator, denominator)
            assert percent_of(amount, numerator, denominator) == expected, (amount, numerator)


def test_percent_of_returns_an_int():
    assert type(percent_of(12345, 25, 100)) is int


@pytest.mark.parametrize(
    ("amount", "numerator", "denominator"),
    [(-1, 10, 100), (100, -1, 100), (100, 10, 0), (100, 10, -100)],
)
def test_percent_of_refuses_negative_amounts_and_rates(amount, numerator, denominator):
    with pytest.raises(ValueError):
        percent_of(amount, numerator, denominator)


# --- platform_fee ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "bps", "fee"),
    [
        (12000, 1000, 1200),
        (12345, 1000, 1235),  # 1234.5
        (5, 1000, 1),  # 0.5 rounds up
        (4, 1000, 0),  # 0.4 rounds down
        (15, 1000, 2),  # 1.5
        (14, 1000, 1),
        (0, 1000, 0),
        (12345, 0, 0),
        (12345, 10_000, 12345),
        (9999, 250, 250),  # 249.975
        (1, 5000, 1),  # 0.5
        (1, 4999, 0),
    ],
)
def test_platform_fee_is_basis_points_half_up(price, bps, fee):
    assert platform_fee(price, bps) == fee


def test_platform_fee_never_exceeds_the_price_at_100_percent_or_less():
    for price in range(0, 500):
        for bps in (0, 1, 999, 1000, 5000, 10_000):
            assert 0 <= platform_fee(price, bps) <= price


@pytest.mark.parametrize(("price", "bps"), [(-1, 1000), (100, -1)])
def test_platform_fee_refuses_negative_inputs(price, bps):
    with pytest.raises(ValueError):
        platform_fee(price, bps)


# --- late_cancellation_refund ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "fee_percent", "refund"),
    [
        (12345, 25, 9259),  # fee 3086.25 -> 3086
        (12345, 50, 6172),  # fee 6172.5 -> 6173
        (12000, 50, 6000),
        (12000, 0, 12000),
        (12000, 100, 0),
        (1, 50, 0),  # fee 0.5 -> 1
        (1, 49, 1),  # fee 0.49 -> 0
        (0, 50, 0),
        (999, 33, 669),  # fee 329.67 -> 330
    ],
)
def test_late_refund_is_the_price_less_the_rounded_fee(price, fee_percent, refund):
    assert late_cancellation_refund(price, fee_percent) == refund


def test_late_refund_plus_fee_is_the_price():
    for price in range(0, 1000, 7):
        for percent in range(0, 101, 5):
            refund = late_cancellation_refund(price, percent)
            assert refund + half_up(price, percent, 100) == price
            assert 0 <= refund <= price


@pytest.mark.parametrize(("price", "fee_percent"), [(-100, 50), (100, -5)])
def test_late_refund_refuses_negative_inputs(price, fee_percent):
    with pytest.raises(ValueError):
        late_cancellation_refund(price, fee_percent)
