"""Money: decimal strings to exact integer minor units, per currency exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import ValidationError
from plugin.profiles.money import currency_exponent, format_minor, from_minor, to_minor

CURRENCIES = ["USD", "EUR", "PLN", "JPY", "KRW", "ISK", "BHD", "KWD", "OMR", "JOD", "TND", "CLF"]
minor_units = st.integers(min_value=-(10**15), max_value=10**15)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("eur", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("OMR", 3),
     ("JOD", 3), ("TND", 3), ("XYZ", 2), (None, 2)],
)  # fmt: skip
def test_currency_exponents(currency: str | None, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@given(minor=minor_units, currency=st.sampled_from(CURRENCIES))
def test_display_amount_round_trips_exactly(minor: int, currency: str) -> None:
    assert to_minor(str(from_minor(minor, currency)), currency) == minor


@given(
    units=st.integers(min_value=0, max_value=10**12),
    cents=st.integers(min_value=0, max_value=99),
)
def test_two_decimal_strings_are_exact_where_floats_are_not(units: int, cents: int) -> None:
    text = f"{units}.{cents:02d}"
    assert to_minor(text, "USD") == units * 100 + cents


@given(minor=minor_units, currency=st.sampled_from(CURRENCIES))
def test_display_string_has_the_currency_precision(minor: int, currency: str) -> None:
    text = format_minor(minor, currency)
    assert text is not None
    exponent = currency_exponent(currency)
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert decimals == exponent
    assert Decimal(text) * (10**exponent) == minor


def test_float_trap_amounts_convert_exactly() -> None:
    # 0.1 + 0.2 style traps: float("4.35") * 100 == 434.99999999999994
    assert to_minor("4.35", "USD") == 435
    assert to_minor("1.005", "KWD") == 1005
    assert to_minor("1200", "JPY") == 1200


def test_excess_precision_rounds_half_to_even() -> None:
    assert to_minor("0.125", "USD") == 12
    assert to_minor("0.135", "USD") == 14


@pytest.mark.parametrize(
    "bad", ["example string", "", "NaN", "Infinity", "1e999999999", "1e30", "1,00"]
)
def test_non_amounts_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        to_minor(bad, "USD")


def test_none_formats_as_none() -> None:
    assert format_minor(None, "USD") is None


@given(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["USD", "JPY", "KWD", "CLF", None]),
)
def test_integer_formatting_equals_the_decimal_one(minor: int, currency: str | None) -> None:
    assert format_minor(minor, currency) == str(from_minor(minor, currency))


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(-5, "USD", "-0.05"), (0, "PLN", "0.00"), (1200, "JPY", "1200"), (-1234, "KWD", "-1.234")],
)
def test_small_and_negative_amounts_keep_their_digits(minor, currency, text) -> None:
    assert format_minor(minor, currency) == text
