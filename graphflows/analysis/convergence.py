"""Convergence points: recipients where money from several stovepipes arrives."""

from __future__ import annotations

import polars as pl

from graphflows.analysis.attribution import Attribution

CONVERGENCE_COLUMNS = [
    "recipient_id",
    "recipient_name",
    "kinds",
    "stovepipe_count",
    "total_in_minor",
    "top_stovepipe_id",
    "top_share",
    "hhi",
    "payer_count",
    "currency",
    "is_convergence_point",
    "top_stovepipe_name",
]


def convergence(result: Attribution, *, min_stovepipes: int = 2, min_share: float = 0.0) -> pl.DataFrame:
    """One row per recipient and currency, convergence points first (most stovepipes, then most money).

    A stovepipe counts when it brings at least one penny and at least ``min_share`` of the recipient's
    income. ``hhi`` is the sum of squared shares over all stovepipes (1.0 = a single source).
    """
    counted = result.rows.filter(pl.col("share") >= min_share)
    stats = result.rows.group_by("recipient_id", "currency").agg(
        (pl.col("share") ** 2).sum().alias("hhi"),
        pl.col("stovepipe_id")
        .sort_by(pl.col("amount_minor"), pl.col("stovepipe_id"), descending=[True, False])
        .first()
        .alias("top_stovepipe_id"),
        pl.col("share").max().alias("top_share"),
    )
    counts = counted.group_by("recipient_id", "currency").agg(
        pl.len().cast(pl.Int64).alias("stovepipe_count")
    )
    names = result.graph.nodes.select(
        pl.col("id").alias("recipient_id"),
        pl.col("name").alias("recipient_name"),
        pl.col("kinds").list.join(";"),
    )
    table = (
        result.recipients.join(stats, on=["recipient_id", "currency"], how="left")
        .join(counts, on=["recipient_id", "currency"], how="left")
        .join(names, on="recipient_id", how="left")
        .join(
            names.select(
                pl.col("recipient_id").alias("top_stovepipe_id"),
                pl.col("recipient_name").alias("top_stovepipe_name"),
            ),
            on="top_stovepipe_id",
            how="left",
        )
        .with_columns(pl.col("stovepipe_count").fill_null(0))
        .with_columns((pl.col("stovepipe_count") >= min_stovepipes).alias("is_convergence_point"))
    )
    return table.sort(
        ["is_convergence_point", "stovepipe_count", "total_in_minor", "recipient_id"],
        descending=[True, True, True, False],
    ).select(CONVERGENCE_COLUMNS)


def funding_mix(result: Attribution, recipient_id: str) -> pl.DataFrame:
    """One recipient's income by stovepipe, largest first, with names.

    >>> funding_mix(result, "inclusion-healthcare")   # doctest: +SKIP
    """
    names = result.graph.nodes.select(
        pl.col("id").alias("stovepipe_id"), pl.col("name").alias("stovepipe_name")
    )
    return (
        result.rows.filter(pl.col("recipient_id") == recipient_id)
        .join(names, on="stovepipe_id", how="left")
        .sort(["currency", "amount_minor", "stovepipe_id"], descending=[False, True, False])
        .select("stovepipe_id", "stovepipe_name", "currency", "amount_minor", "share")
    )
