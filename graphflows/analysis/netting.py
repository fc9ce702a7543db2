"""Net flows per payer, payee, declared stream and currency before attribution.

Credits and refunds (negative lines) cancel against payments between the same two parties from the
same stream. A pair whose lines add up to less than zero is reported, not attributed.
"""

from __future__ import annotations

import polars as pl

PAIR_KEYS = ["payer_id", "payee_id", "stream_id", "currency"]


def net_pairs(flows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (positive pairs, negative pairs), each with PAIR_KEYS, ``net_minor`` and ``lines``.

    Ids may be text or integer codes; positive pairs come in no particular order.

    A ``stream_id`` equal to the payer is the payer's own money, so it is dropped before netting.

    >>> f = pl.DataFrame({"payer_id": ["A", "A", "A"], "payee_id": ["B", "B", "C"],
    ...     "stream_id": [None, None, None], "currency": ["GBP"] * 3, "amount_minor": [500, -200, -10]})
    >>> pos, neg = net_pairs(f)
    >>> pos.select("payee_id", "net_minor").rows(), neg.select("payee_id", "net_minor").rows()
    ([('B', 300)], [('C', -10)])
    """
    keyed = flows.select(
        "payer_id",
        "payee_id",
        pl.when(pl.col("stream_id") == pl.col("payer_id"))
        .then(None)
        .otherwise(pl.col("stream_id"))
        .alias("stream_id"),
        "currency",
        "amount_minor",
    )
    nets = keyed.group_by(PAIR_KEYS, maintain_order=True).agg(
        pl.col("amount_minor").sum().alias("net_minor"), pl.len().alias("lines")
    )
    return nets.filter(pl.col("net_minor") > 0), nets.filter(pl.col("net_minor") < 0).sort(PAIR_KEYS)
