"""Money as integer minor units: decimal amounts in, exact integers out, per currency exponent."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from plugin.errors import ValidationError

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
DEFAULT_EXPONENT = 2
MAX_MINOR = 2**63 - 1  # a BIGINT column


def currency_exponent(currency: str | None) -> int:
    """Digits after the decimal point in `currency` (2 when unknown or not given)."""
    return _EXPONENTS.get((currency or "").upper(), DEFAULT_EXPONENT)


def to_minor(amount: str | int | Decimal, currency: str | None) -> int:
    """`"12.34"` USD → 1234; `"1200"` JPY → 1200; `"1.234"` KWD → 1234.

    Through Decimal, never float, so no amount is off by one minor unit. Digits beyond
    the currency's precision (which shops do not send) round half to even.
    """
    try:
        value = Decimal(str(amount).strip())
        if not value.is_finite():
            raise InvalidOperation
        scaled = value.scaleb(currency_exponent(currency))
        minor = int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except ArithmeticError:  # InvalidOperation, Overflow …
        raise ValidationError(f"not a decimal amount: {amount!r}") from None
    if abs(minor) > MAX_MINOR:
        raise ValidationError(f"amount out of range: {amount!r}")
    return minor


def from_minor(minor: int, currency: str | None) -> Decimal:
    """1234 USD → Decimal('12.34'): for display, with the currency's fixed precision."""
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_minor(minor: int | None, currency: str | None) -> str | None:
    """The amount as a plain decimal string (JSON-safe, exact), or None."""
    return None if minor is None else minor_text(minor, currency_exponent(currency))


def minor_text(minor: int, exponent: int) -> str:
    """`str(from_minor(…))` in integer arithmetic: an export writes it for every row."""
    if exponent == 0:
        return str(minor)
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{exponent}d}"
