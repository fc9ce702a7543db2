"""Net flows per payer, payee, declared stream and currency before attribution.

Credits and refunds (negative lines) cancel against payments between the same two parties from the
same stream. A pair whose lines add up to less than zero is reported, not attributed. A payment an
organisation makes to itself (a *self-payment*: an internal transfer, or a slip in the publisher's ids) is
no one else's money: it is left out of income and counted (:func:`self_payments`).
"""

from __future__ import annotations

import polars as pl

from graphflows.model import GraphflowsError
from graphflows.model.money import money_words
from graphflows.model.schema import SELF_PAYMENT

PAIR_KEYS = ["payer_id", "payee_id", "stream_id", "currency"]


def net_pairs(flows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (positive pairs, negative pairs), each with PAIR_KEYS, ``net_minor`` and ``lines``.

    Ids may be text or integer codes; positive pairs come in no particular order.

    A ``stream_id`` equal to the payer is the payer's own money, and one equal to the payee is a payment
    *into* that stream (a contribution to a pooled fund), so both are dropped before netting. Lines whose
    payer is the payee (self-payments) are left out: see :func:`self_payments`.
    Sums are exact: totals too large to keep in 64 bits raise GraphflowsError.

    >>> f = pl.DataFrame({"payer_id": ["A", "A", "A"], "payee_id": ["B", "B", "C"],
    ...     "stream_id": [None, None, None], "currency": ["GBP"] * 3, "amount_minor": [500, -200, -10]})
    >>> pos, neg = net_pairs(f)
    >>> pos.select("payee_id", "net_minor").rows(), neg.select("payee_id", "net_minor").rows()
    ([('B', 300)], [('C', -10)])
    """
    keyed = flows.filter(~SELF_PAYMENT).select(
        "payer_id",
        "payee_id",
        pl.when((pl.col("stream_id") == pl.col("payer_id")) | (pl.col("stream_id") == pl.col("payee_id")))
        .then(None)
        .otherwise(pl.col("stream_id"))
        .alias("stream_id"),
        "currency",
        "amount_minor",
    )
    # 64-bit sums are exact when even the sum of every absolute amount fits; else sum in 128 bits
    wide = keyed.select(pl.col("amount_minor").cast(pl.Int128).abs().sum()).item() >= LIMIT
    amount = pl.col("amount_minor").cast(pl.Int128) if wide else pl.col("amount_minor")
    nets = keyed.group_by(PAIR_KEYS).agg(amount.sum().alias("net_minor"), pl.len().alias("lines"))
    if wide:
        check_fits(nets["net_minor"])
        nets = nets.with_columns(pl.col("net_minor").cast(pl.Int64))
    return nets.filter(pl.col("net_minor") > 0), nets.filter(pl.col("net_minor") < 0).sort(PAIR_KEYS)


#: Largest total kept in 64 bits (pence): about £46,000 trillion, far above any real public budget.
LIMIT = 2**62


def check_fits(totals: pl.Series) -> None:
    """Refuse totals (Int128 sums) too large to keep exactly in 64-bit integers."""
    if totals.len() and totals.abs().max() >= LIMIT:  # type: ignore[operator]
        raise too_large()


def too_large() -> GraphflowsError:
    """The refusal of a total past :data:`LIMIT` (here and in the Spark engine)."""
    return GraphflowsError(
        "amounts add up to more than £46,000 trillion between two organisations; "
        "check for amounts in the wrong units (pence written as pounds?)"
    )


SELF_PAYMENT_SCHEMA = {"currency": pl.String(), "lines": pl.Int64(), "amount_minor": pl.Int64()}


def self_payments(flows: pl.DataFrame) -> pl.DataFrame:
    """``currency, lines, amount_minor``: the lines paid by an organisation to itself, and their sum, per
    currency. They are left out of income (A paid £100 by S and paying itself £50 has £100 in, all from
    S, and one payer), so ``read = attributed + negative nets + self-payments`` to the penny.

    >>> f = pl.DataFrame({"payer_id": ["A", "S"], "payee_id": ["A", "A"], "currency": ["GBP"] * 2,
    ...     "amount_minor": [5000, 10000]})
    >>> self_payments(f).rows()
    [('GBP', 1, 5000)]
    """
    own = flows.filter(SELF_PAYMENT)
    sums = own.group_by("currency").agg(
        pl.len().cast(pl.Int64).alias("lines"),
        pl.col("amount_minor").cast(pl.Int128).sum().alias("amount_minor"),
    )
    check_fits(sums["amount_minor"])
    return sums.select(
        pl.col("currency").cast(pl.String), "lines", pl.col("amount_minor").cast(pl.Int64)
    ).sort("currency")


def self_payment_income_notes(table: pl.DataFrame) -> list[str]:
    """The note an analysis gives about self-payments (:func:`self_payments`'s table), if there are any.

    >>> own = pl.DataFrame({"currency": ["GBP"], "lines": [15], "amount_minor": [84038831]})
    >>> print(*self_payment_income_notes(own))
    15 self-payment(s) (an organisation paying itself: GBP 840,388.31) left out of income and payer counts
    """
    if table.is_empty():
        return []
    lines = int(table["lines"].sum())
    money = ", ".join(money_words(v, c) for c, v in table.select("currency", "amount_minor").iter_rows())
    return [
        f"{lines:,} self-payment(s) (an organisation paying itself: {money}) "
        "left out of income and payer counts"
    ]
