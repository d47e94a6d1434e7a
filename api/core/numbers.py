"""Exact numbers: counts are kept as fractions and rounded once, when they are stored."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction


def rounded(value: Fraction | None, places: str) -> Decimal | None:
    """`value` as a Decimal with the places of `places` (e.g. "0.000001"), rounded half to
    even (banker's rounding, no drift over many values); None stays None."""
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(places), rounding=ROUND_HALF_EVEN
    )


def yuan_to_fen(amount: Decimal | int | None) -> int:
    """An amount in yuan with at most two decimals (a `Numeric(…, 2)` column) as integer fen,
    exactly; None is 0."""
    if amount is None:
        return 0
    return int((Decimal(amount) * 100).to_integral_value())
