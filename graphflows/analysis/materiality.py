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

import numpy as np
import polars as pl


def share_fraction(min_share: float) -> Fraction:
    """``min_share`` as the fraction its shortest decimal form names (0.01 -> 1/100)."""
    return Fraction(repr(float(min_share))).limit_denominator(10**12)


def at_least_share(amount: pl.Expr, total: pl.Expr, min_share: float) -> pl.Expr:
    """``amount >= min_share * total`` exactly (128-bit integer arithmetic on minor units)."""
    fraction = share_fraction(min_share)
    wide = pl.Int128
    return amount.cast(wide) * fraction.denominator >= total.cast(wide) * fraction.numerator


def at_least_share_array(amount: np.ndarray, total: np.ndarray, min_share: float) -> np.ndarray:
    """:func:`at_least_share` on integer arrays: floats decide all but the amounts within a hair of the
    threshold, which are decided in exact (Python) integers.

    >>> at_least_share_array(np.array([17, 16, 1]), np.array([1700, 1700, 3]), 0.01).tolist()
    [True, False, True]
    """
    fraction = share_fraction(min_share)
    target = fraction.numerator / fraction.denominator
    ratio = amount / total
    result = ratio >= target
    for i in np.flatnonzero(np.abs(ratio - target) <= 1e-9 * target):
        result[i] = int(amount[i]) * fraction.denominator >= int(total[i]) * fraction.numerator
    return result
