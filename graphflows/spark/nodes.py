"""The node table of flows in Spark: id, first name seen, kinds, channel and form, and an integer code.

Nothing comes to the driver: the distinct nodes are grouped by Spark and classified by
:func:`graphflows.classify.classify_nodes` (the in-memory engine's own rules, which look at one node at a
time) in the Python workers, one Arrow batch at a time. "First name seen" follows the in-memory order:
payers in flow order, then payees, then declared streams. ``idx`` is each node's position in id order,
the integer code the attribution works in (ties in the rounding go to the lower code, as in memory).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from graphflows.classify import ChannelMap, classify_nodes
from graphflows.model import Kind
from graphflows.spark.positions import positioned

#: The columns :func:`graphflows.classify.classify_nodes` adds.
CLASSIFIED = ("channel", "channel_method", "form", "form_method")


def node_frame(flows, channel_map: ChannelMap | None = None, organisations=None):
    """Spark frame ``id, name, kinds, channel, channel_method, form, form_method, idx`` (and the columns
    of ``organisations``, a Spark frame of how records matched into organisations), cached."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StringType, StructField, StructType

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

    nodes = seen.groupBy("id").agg(
        first("name").alias("name"),
        F.array_sort(F.collect_set("kind")).alias("kinds"),
        first("given").alias("channel_given"),
    )
    nodes = nodes.withColumn("name", F.coalesce("name", "id"))
    if organisations is not None:  # as graphflows.graph.build_graph
        extra = organisations.drop(
            *[c for c in ("name", "kinds", "channel_given") if c in organisations.columns]
        )
        nodes = nodes.join(extra, "id", "left")
    fields = [f for f in nodes.schema.fields if f.name != "channel_given"]
    schema = StructType(fields + [StructField(c, StringType()) for c in CLASSIFIED])
    target = to_arrow_schema(schema)
    classified = nodes.mapInArrow(lambda batches: _classify(batches, channel_map, target), schema)
    ordered = classified.orderBy("id").select(  # ranges of ids, in order
        "*", F.spark_partition_id().alias("_range"), F.monotonically_increasing_id().alias("_at")
    )
    return positioned(ordered.localCheckpoint(), "_range", "_at", "idx").cache()


def _classify(batches: Iterator[pa.RecordBatch], channel_map: ChannelMap | None, target: pa.Schema):
    import polars as pl

    for batch in batches:
        if batch.num_rows:
            nodes = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(nodes, pl.DataFrame)
            done = classify_nodes(nodes.with_columns(pl.col("kinds").cast(pl.List(pl.String))), channel_map)
            yield from done.select(target.names).to_arrow().cast(target).to_batches()


def matched_map_lines(nodes, channel_map: ChannelMap) -> set[int]:
    """The lines of ``channel_map`` that match a node of ``nodes`` (see
    :meth:`graphflows.classify.ChannelMap.matched_lines`), found in the workers: only line numbers come
    back."""
    columns = [c for c in ("id", "name", "org_ids") if c in nodes.columns]
    found = nodes.select(*columns).mapInArrow(lambda batches: _matched(batches, channel_map), "line long")
    return {row["line"] for row in found.distinct().collect()}


def _matched(batches: Iterator[pa.RecordBatch], channel_map: ChannelMap):
    import polars as pl

    for batch in batches:
        if batch.num_rows:
            nodes = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(nodes, pl.DataFrame)
            lines = sorted(channel_map.matched_lines(nodes))
            yield pa.RecordBatch.from_pydict({"line": lines}, schema=pa.schema([("line", pa.int64())]))
