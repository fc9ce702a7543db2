"""Channels and convergence as Spark jobs; only one row per recipient (and channel) comes back.

The per-recipient parts (counts at ``min_share``, money below it, HHI, counted channels largest first,
top stovepipe, payer channels) are computed by Spark exactly as :mod:`graphflows.analysis.convergence`
computes them, then assembled by :func:`graphflows.analysis.convergence.assemble_convergence`.
"""

from __future__ import annotations

import polars as pl

from graphflows.analysis.channels import UNCLASSIFIED, channels_of, order_channel_mix
from graphflows.analysis.convergence import CountBy, assemble_convergence, node_facts

KEYS = ["recipient_id", "currency"]


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


def _ranked(key: str, amount: str = "amount_minor", keep=None):
    """Values of ``key`` sorted by ``amount`` (largest first) then ``key``, optionally only where ``keep``."""
    from pyspark.sql import functions as F

    item = F.struct((-F.col(amount)).alias("a"), F.col(key).alias("k"))
    listed = F.collect_list(F.when(keep, item) if keep is not None else item)
    return F.transform(F.array_sort(listed), lambda x: x["k"])


def _level(frame, key: str, name: str, min_share: float):
    """As ``convergence._level``: counted number, money below the threshold, HHI (and channel text)."""
    from pyspark.sql import functions as F

    material = F.col("share") >= min_share
    columns = [
        F.count_if(material).cast("long").alias(f"{name}_count"),
        F.coalesce(F.sum(F.when(~material, F.col("amount_minor"))), F.lit(0))
        .cast("long")
        .alias(f"{name}_below"),
        F.sum(F.col("share") * F.col("share")).alias("hhi" if name == "stovepipe" else "channel_hhi"),
    ]
    if name == "channel":
        columns += [
            F.concat_ws(";", _ranked(key, keep=material)).alias("channels"),
            _ranked(key)[0].alias("top_channel"),
            F.max("share").alias("top_channel_share"),
        ]
    else:
        columns += [_ranked(key)[0].alias("top_stovepipe_id"), F.max("share").alias("top_share")]
    out = frame.groupBy(*KEYS).agg(*columns)
    if name == "channel":
        out = out.withColumn(
            "effective_channels",
            F.when(F.col("channel_hhi") > 0, 1 / F.col("channel_hhi")).otherwise(F.lit(0.0)),
        ).drop("channel_hhi")
    return out


def _payer_channels(flows, channels):
    from pyspark.sql import functions as F

    paid = (
        flows.select("payer_id", F.col("payee_id").alias("recipient_id"), "currency", "amount_minor")
        .join(F.broadcast(channels.withColumnRenamed("id", "payer_id")), "payer_id", "left")
        .withColumn("payer_channel", F.coalesce("channel", F.lit(UNCLASSIFIED)))
        .groupBy(*KEYS, "payer_channel")
        .agg(F.sum(F.col("amount_minor").cast("decimal(38,0)")).alias("amount_minor"))
        .filter(F.col("amount_minor") > 0)
    )
    return paid.groupBy(*KEYS).agg(F.concat_ws(";", _ranked("payer_channel")).alias("payer_channels"))


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
    if count_by not in ("channel", "stovepipe"):
        raise ValueError(f"count_by must be 'channel' or 'stovepipe', not {count_by!r}")
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share must be between 0 and 1, not {min_share!r}")
    channels = spark.createDataFrame(channels_of(nodes).to_pandas(), "id string, channel string")
    mix = channel_mix_spark(attribution.rows, attribution.recipients, channels).cache()
    stovepipes = _level(attribution.rows, "stovepipe_id", "stovepipe", min_share)
    by_channel = _level(mix, "channel", "channel", min_share)
    parts = (
        attribution.recipients.join(stovepipes, KEYS, "left")
        .join(by_channel, KEYS, "left")
        .join(_payer_channels(flows, channels), KEYS, "left")
    )
    got = pl.from_arrow(parts.toArrow())
    recipients = got.select(
        *KEYS, pl.col("total_in_minor").cast(pl.Int64), pl.col("payer_count").cast(pl.UInt32)
    )
    stovepipe_part = got.select(
        *KEYS, pl.col("stovepipe_count").cast(pl.Int64), pl.col("stovepipe_below").cast(pl.Int64), "hhi"
    )
    channel_part = got.select(
        *KEYS,
        pl.col("channel_count").cast(pl.Int64),
        pl.col("channel_below").cast(pl.Int64),
        "channels",
        "top_channel",
        "top_channel_share",
        "effective_channels",
    )
    top = got.select(*KEYS, "top_stovepipe_id", "top_share")
    payers = got.select(*KEYS, "payer_channels")
    table = assemble_convergence(
        recipients,
        stovepipe_part,
        channel_part,
        top,
        payers,
        node_facts(nodes),
        count_by=count_by,
        min_count=min_count,
    )
    mix_rows = pl.from_arrow(mix.toArrow())
    return table, order_channel_mix(mix_rows)
