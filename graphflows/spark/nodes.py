"""The node table of flows in Spark: id, first name seen, kinds, given channel; classified on the driver.

Nodes are few next to flows (an organisation pays or is paid many times), so the distinct nodes are
brought to the driver and classified by :func:`graphflows.classify.classify_nodes`, as the in-memory
engine does. "First name seen" follows the in-memory order: payers in flow order, then payees, then
declared streams.
"""

from __future__ import annotations

import polars as pl

from graphflows.classify import ChannelMap, classify_nodes
from graphflows.model import Kind


def node_table(
    flows, channel_map: ChannelMap | None = None, organisations: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``id, name, kinds, channel, channel_method, form, form_method`` of every node (polars)."""
    from pyspark.sql import functions as F

    def side(rank: int, prefix: str):
        given = f"{prefix}_channel"
        return flows.select(
            F.col(f"{prefix}_id").alias("id"),
            F.col(f"{prefix}_name").alias("name"),
            F.col(f"{prefix}_kind").alias("kind"),
            (F.col(given) if given in flows.columns else F.lit(None).cast("string")).alias("given"),
            F.struct(F.lit(rank).alias("side"), "_file", "_seq").alias("seen"),
        )

    streams = flows.filter(F.col("stream_id").isNotNull()).select(
        F.col("stream_id").alias("id"),
        F.lit(None).cast("string").alias("name"),
        F.lit(Kind.STREAM.value).alias("kind"),
        F.lit(None).cast("string").alias("given"),
        F.struct(F.lit(2).alias("side"), "_file", "_seq").alias("seen"),
    )
    seen = side(0, "payer").unionByName(side(1, "payee")).unionByName(streams)

    def first(column: str):
        return F.min(F.when(F.col(column).isNotNull(), F.struct("seen", column)))[column]

    grouped = seen.groupBy("id").agg(
        F.min("seen").alias("seen"),
        first("name").alias("name"),
        F.array_sort(F.collect_set("kind")).alias("kinds"),
        first("given").alias("channel_given"),
    )
    ordered = grouped.select(
        "id",
        "name",
        "kinds",
        "channel_given",
        F.col("seen.side").alias("_side"),
        F.col("seen._file").alias("_file"),
        F.col("seen._seq").alias("_seq"),
    )
    nodes = (
        pl.from_arrow(ordered.toArrow())
        .sort("_side", "_file", "_seq")
        .drop("_side", "_file", "_seq")
        .with_columns(pl.col("name").fill_null(pl.col("id")), pl.col("kinds").cast(pl.List(pl.String)))
    )
    if organisations is not None and organisations.height:  # as graphflows.graph.build_graph
        extra = organisations.drop(
            [c for c in ("name", "kinds", "channel_given") if c in organisations.columns]
        )
        nodes = nodes.join(extra, on="id", how="left")
    return classify_nodes(nodes, channel_map).drop("channel_given")
