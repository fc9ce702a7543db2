"""Materiality: does an amount bring at least a given share of a total? Decided exactly, in integers.

Float shares are not enough at the threshold: polars computes ``17 / 1700`` as ``0.009999999999999998``,
so a channel bringing exactly 1% would be missed. The threshold is read as the decimal it was written as
(``0.01`` is 1/100) and compared as ``amount * 100 >= total * 1``.

>>> import polars as pl
>>> frame = pl.DataFrame({"amount": [17, 16], "total": [1700, 1700]})
>>> frame.select(at_least_share(pl.col("amount"), pl.col("total"), 0.01)).to_series().to_list()
[True, False]
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl


def share_fraction(min_share: float) -> Fraction:
    """``min_share`` as the fraction its shortest decimal form names (0.01 -> 1/100)."""
    return Fraction(repr(float(min_share))).limit_denominator(10**12)


def at_least_share(amount: pl.Expr, total: pl.Expr, min_share: float) -> pl.Expr:
    """``amount >= min_share * total`` exactly (128-bit integer arithmetic on minor units)."""
    fraction = share_fraction(min_share)
    wide = pl.Int128
    return amount.cast(wide) * fraction.denominator >= total.cast(wide) * fraction.numerator
