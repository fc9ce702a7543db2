"""Channels and convergence as Spark jobs; only one row per recipient (and channel) comes back.

Spark computes the per-recipient facts (stovepipe count at ``min_share``, decided exactly in integers, money
below it, HHI, top stovepipe), the channel mix and the direct payers' channels; the driver assembles them
with :func:`graphflows.analysis.convergence.convergence_of`, the in-memory engine's own function.
"""

from __future__ import annotations

import polars as pl

from graphflows.analysis.channels import CHANNEL_MIX_SCHEMA, UNCLASSIFIED, node_channels, sort_channel_mix
from graphflows.analysis.convergence import (
    STOVEPIPE_FACTS_SCHEMA,
    CountBy,
    RecipientFacts,
    _check_level,
    convergence_of,
)
from graphflows.analysis.materiality import share_fraction
from graphflows.graph import FlowGraph
from graphflows.model.schema import empty_flows

KEYS = ["recipient_id", "currency"]
#: Payers stand for their channel in the payer-channel table handed to the driver (never a real id).
CHANNEL_PAYER = "\u0000channel:"


def channel_mix_spark(rows, recipients, channels):
    """``recipient_id, channel, currency, amount_minor, share`` (Spark): income by origin channel."""
    from pyspark.sql import functions as F

    return (
        rows.join(F.broadcast(channels.withColumnRenamed("id", "stovepipe_id")), "stovepipe_id", "left")
        .withColumn("channel", F.coalesce("channel", F.lit(UNCLASSIFIED)))
        .groupBy("recipient_id", "currency", "channel")
        .agg(F.sum("amount_minor").alias("amount_minor"))
        .join(recipients.select(*KEYS, "total_in_minor"), KEYS, "left")
        .select(
            "recipient_id",
            "channel",
            "currency",
            "amount_minor",
            (F.col("amount_minor") / F.col("total_in_minor")).alias("share"),
        )
    )


def _stovepipe_facts(rows, recipients, min_share: float):
    """As ``FactGatherer``: count at ``min_share`` (exact), money below it, HHI, top stovepipe."""
    from pyspark.sql import functions as F

    fraction = share_fraction(min_share)
    wide = "decimal(38,0)"
    material = F.col("amount_minor").cast(wide) * F.lit(fraction.denominator).cast(wide) >= F.col(
        "total_in_minor"
    ).cast(wide) * F.lit(fraction.numerator).cast(wide)
    top = F.min(F.struct((-F.col("amount_minor")).alias("a"), F.col("stovepipe_id").alias("k"), "share"))
    return (
        rows.join(recipients.select(*KEYS, "total_in_minor"), KEYS)
        .groupBy(*KEYS)
        .agg(
            F.count_if(material).cast("long").alias("stovepipe_count"),
            F.coalesce(F.sum(F.when(~material, F.col("amount_minor"))), F.lit(0))
            .cast("long")
            .alias("stovepipe_below"),
            F.sum(F.col("share") * F.col("share")).alias("hhi"),
            top["k"].alias("top_stovepipe_id"),
            top["share"].alias("top_share"),
        )
    )


def _payer_channel_money(flows, channels):
    """``recipient_id, currency, payer_channel, amount_minor``: positive net pairs by the payer's channel."""
    from pyspark.sql import functions as F

    from graphflows.spark.attribution import net_pairs_spark

    positive, _ = net_pairs_spark(flows)
    return (
        positive.join(F.broadcast(channels.withColumnRenamed("id", "payer_id")), "payer_id", "left")
        .withColumn("payer_channel", F.coalesce("channel", F.lit(UNCLASSIFIED)))
        .groupBy(F.col("payee_id").alias("recipient_id"), "currency", "payer_channel")
        .agg(F.sum("net_minor").alias("amount_minor"))
    )


def convergence_spark(
    spark,
    attribution,
    flows,
    nodes: pl.DataFrame,
    *,
    count_by: CountBy = "channel",
    min_share: float = 0.01,
    min_count: int = 2,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(convergence table, channel mix) as polars frames, as the in-memory engine gives them."""
    _check_level(count_by)
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share must be between 0 and 1, not {min_share!r}")
    graph = FlowGraph(nodes, empty_flows())
    channels = spark.createDataFrame(node_channels(graph).to_pandas(), "id string, channel string")
    recipients = pl.from_arrow(attribution.recipients.toArrow()).cast(
        {"total_in_minor": pl.Int64, "payer_count": pl.UInt32}
    )
    mix = pl.from_arrow(channel_mix_spark(attribution.rows, attribution.recipients, channels).toArrow())
    stovepipes = pl.from_arrow(
        _stovepipe_facts(attribution.rows, attribution.recipients, min_share).toArrow()
    )
    payers = pl.from_arrow(_payer_channel_money(flows, channels).toArrow())
    # the direct payers' channels reach the driver as one payer per channel, with that channel
    stand_ins = payers.select(pl.col("payer_channel").unique().sort())
    facts = RecipientFacts(
        graph=FlowGraph(
            pl.concat(
                [
                    nodes,
                    stand_ins.select(
                        (CHANNEL_PAYER + pl.col("payer_channel")).alias("id"),
                        pl.col("payer_channel").alias("name"),
                        pl.lit([], pl.List(pl.String)).alias("kinds"),
                        pl.col("payer_channel").alias("channel"),
                    ),
                ],
                how="diagonal_relaxed",
            ),
            payers.select(
                (CHANNEL_PAYER + pl.col("payer_channel")).alias("payer_id"),
                pl.col("recipient_id").alias("payee_id"),
                pl.lit(None, pl.String).alias("stream_id"),
                "currency",
                pl.col("amount_minor").cast(pl.Int64),
            ),
        ),
        recipients=recipients,
        min_share=min_share,
        stovepipes=stovepipes.cast(STOVEPIPE_FACTS_SCHEMA),  # type: ignore[arg-type]
        channel_mix=sort_channel_mix(mix.cast(CHANNEL_MIX_SCHEMA)),  # type: ignore[arg-type]
        origins=pl.DataFrame(
            schema={"currency": pl.String, "stovepipe_id": pl.String, "amount_minor": pl.Int128}
        ),
    )
    table = convergence_of(facts, count_by=count_by, min_count=min_count)
    return table, facts.channel_mix
