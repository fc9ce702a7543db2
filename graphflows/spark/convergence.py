"""Channels and convergence as Spark jobs; nothing per recipient comes to the driver.

Spark computes the per-recipient facts (stovepipe count at ``min_share``, decided exactly in integers, money
below it, HHI, top stovepipe), the channel mix and the direct payers' channels; the Python workers assemble
them, a batch of recipients at a time, with :func:`graphflows.analysis.convergence.convergence_of`, the
in-memory engine's own function.
"""

from __future__ import annotations

import polars as pl

from graphflows.analysis.channels import CHANNEL_MIX_SCHEMA, UNCLASSIFIED, sort_channel_mix
from graphflows.analysis.convergence import (
    STOVEPIPE_FACTS_SCHEMA,
    CountBy,
    RecipientFacts,
    _check_level,
    convergence_of,
)
from graphflows.analysis.materiality import share_fraction
from graphflows.graph import FlowGraph

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


#: The convergence table's columns as Spark types (the in-memory table's, UInt32 as long).
TABLE_SCHEMA = (
    "recipient_id string, recipient_name string, kinds string, channel string, form string, "
    "channel_count long, channels string, effective_channels double, stovepipe_count long, "
    "effective_stovepipes double, total_in_minor long, below_min_share_minor long, top_channel string, "
    "top_channel_share double, top_stovepipe_id string, top_share double, hhi double, payer_count long, "
    "payer_channels string, payer_channel_count long, effective_payer_channels double, currency string, "
    "is_convergence_point boolean, top_stovepipe_name string"
)
NODE_FACTS = ("id", "name", "kinds", "channel", "form")


def convergence_order(count_by: CountBy) -> list[tuple[object, bool]]:
    """The in-memory table's order as ``(column, descending)``: convergence points first, then by counted
    number, effective number (in thousandths, as :func:`~graphflows.analysis.convergence.as_ranked`),
    currency, money and id."""
    from pyspark.sql import functions as F

    return [
        ("is_convergence_point", True),
        (f"{count_by}_count", True),
        (F.floor(F.col(f"effective_{count_by}s") * 1000 + 0.5), True),
        ("currency", False),
        ("total_in_minor", True),
        ("recipient_id", False),
    ]


def convergence_spark(
    spark,
    attribution,
    flows,
    nodes,
    *,
    count_by: CountBy = "channel",
    min_share: float = 0.01,
    min_count: int = 2,
):
    """(convergence table, channel mix) as Spark frames, row for row the in-memory engine's (unsorted).

    Spark gathers each recipient's facts into one row (its channel mix and payers' channels as lists, its
    own and its top stovepipe's node facts); the Python workers turn each Arrow batch of such rows into
    convergence rows with :func:`graphflows.analysis.convergence.convergence_of`, the in-memory function.
    Sort the table by :func:`convergence_order`.
    """
    from pyspark.sql import functions as F

    _check_level(count_by)
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share must be between 0 and 1, not {min_share!r}")
    channels = nodes.select("id", F.coalesce("channel", F.lit(UNCLASSIFIED)).alias("channel"))
    recipients = attribution.recipients
    mix = channel_mix_spark(attribution.rows, recipients, channels).localCheckpoint()
    payers = _payer_channel_money(flows, channels)
    facts = nodes.select(F.col("id").alias("_id"), F.struct(*NODE_FACTS).alias("_node"))
    gathered = (
        recipients.join(_stovepipe_facts(attribution.rows, recipients, min_share), KEYS, "left")
        .join(
            mix.groupBy(*KEYS).agg(
                F.collect_list(F.struct("channel", "amount_minor", "share")).alias("_mix")
            ),
            KEYS,
            "left",
        )
        .join(
            payers.groupBy(*KEYS).agg(
                F.collect_list(F.struct("payer_channel", "amount_minor")).alias("_payers")
            ),
            KEYS,
            "left",
        )
        .join(facts.withColumnRenamed("_node", "_self"), F.col("_id") == F.col("recipient_id"), "left")
        .drop("_id")
        .join(facts.withColumnRenamed("_node", "_top"), F.col("_id") == F.col("top_stovepipe_id"), "left")
        .drop("_id")
    )
    settings = {"count_by": count_by, "min_count": min_count, "min_share": min_share}
    table = gathered.mapInArrow(lambda batches: _convergence_batches(batches, **settings), TABLE_SCHEMA)
    return table.localCheckpoint(), mix


def _convergence_batches(batches, *, count_by: CountBy, min_count: int, min_share: float):
    """Convergence rows of each batch of gathered recipients (see :func:`convergence_spark`)."""
    import pyarrow as pa

    for batch in batches:
        if not batch.num_rows:
            continue
        frame = pl.from_arrow(pa.Table.from_batches([batch]))
        assert isinstance(frame, pl.DataFrame)
        table = convergence_of(_facts(frame, min_share), count_by=count_by, min_count=min_count)
        yield from table.cast({"payer_count": pl.Int64}).to_arrow().to_batches()


def _facts(frame: pl.DataFrame, min_share: float) -> RecipientFacts:
    """:class:`RecipientFacts` of a batch of gathered recipients."""

    def listed(column: str) -> pl.DataFrame:
        return frame.select(*KEYS, column).explode(column).drop_nulls(column).unnest(column)

    node_parts = [frame.select(c).drop_nulls(c).unnest(c) for c in ("_self", "_top")]
    nodes = pl.concat(node_parts).unique("id", keep="first")
    payers = listed("_payers")
    stand_ins = payers.select(pl.col("payer_channel").unique().sort())
    graph = FlowGraph(
        pl.concat(  # the direct payers' channels stand in for them: one payer per channel, with that channel
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
    )
    mix = listed("_mix").select(list(CHANNEL_MIX_SCHEMA))
    return RecipientFacts(
        graph=graph,
        recipients=frame.select(*KEYS, "total_in_minor", "payer_count").cast(
            {"total_in_minor": pl.Int64, "payer_count": pl.UInt32}
        ),
        min_share=min_share,
        stovepipes=frame.filter(pl.col("stovepipe_count").is_not_null())
        .select(list(STOVEPIPE_FACTS_SCHEMA))
        .cast(STOVEPIPE_FACTS_SCHEMA),  # type: ignore[arg-type]
        channel_mix=sort_channel_mix(mix.cast(CHANNEL_MIX_SCHEMA)),  # type: ignore[arg-type]
        origins=pl.DataFrame(
            schema={"currency": pl.String, "stovepipe_id": pl.String, "amount_minor": pl.Int128}
        ),
    )
