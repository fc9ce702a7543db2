"""Net flows per payer, payee, declared stream and currency before attribution.

Credits and refunds (negative lines) cancel against payments between the same two parties from the
same stream. A pair whose lines add up to less than zero is reported, not attributed.
"""

from __future__ import annotations

import polars as pl

from graphflows.model import GraphflowsError

PAIR_KEYS = ["payer_id", "payee_id", "stream_id", "currency"]


def net_pairs(flows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (positive pairs, negative pairs), each with PAIR_KEYS, ``net_minor`` and ``lines``.

    Ids may be text or integer codes; positive pairs come in no particular order.

    A ``stream_id`` equal to the payer is the payer's own money, and one equal to the payee is a payment
    *into* that stream (a contribution to a pooled fund), so both are dropped before netting.
    Sums are exact: totals too large to keep in 64 bits raise GraphflowsError.

    >>> f = pl.DataFrame({"payer_id": ["A", "A", "A"], "payee_id": ["B", "B", "C"],
    ...     "stream_id": [None, None, None], "currency": ["GBP"] * 3, "amount_minor": [500, -200, -10]})
    >>> pos, neg = net_pairs(f)
    >>> pos.select("payee_id", "net_minor").rows(), neg.select("payee_id", "net_minor").rows()
    ([('B', 300)], [('C', -10)])
    """
    keyed = flows.select(
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
        raise GraphflowsError(
            "amounts add up to more than £46,000 trillion between two organisations; "
            "check for amounts in the wrong units (pence written as pounds?)"
        )
