"""``analyse --engine spark``: read, net, attribute and find convergence points as Spark jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, CountBy
from graphflows.classify import ChannelMap
from graphflows.graph.build import financial_year_bounds
from graphflows.ingest.base import as_location
from graphflows.model import InputError
from graphflows.spark.attribution import SparkAttribution, attribute_spark
from graphflows.spark.convergence import convergence_spark
from graphflows.spark.nodes import matched_map_lines, node_frame
from graphflows.spark.read import SparkFlows, read_flows_spark


@dataclass
class SparkAnalysis:
    """What a Spark run found, as Spark frames (the driver holds none of their rows).

    ``table`` is the convergence table (unsorted; :func:`graphflows.spark.convergence.convergence_order`),
    ``channels`` the channel mix, ``nodes`` the classified node table.
    """

    nodes: Any
    attribution: SparkAttribution
    table: Any
    channels: Any
    flows: Any  # the flows analysed
    records_read: int
    rejected: int
    files: list[dict[str, Any]]
    totals: dict[str, int]
    flows_used: int
    #: Records that are not money (blank and 'Total' lines), counted by ``convert``.
    non_money: int = 0
    #: Records of transactions already read in another file, counted by ``convert``, and their money.
    repeated: int = 0
    repeated_amount: dict[str, int] = field(default_factory=dict)
    #: The reading notes ``convert`` kept, then the analysis's.
    notes: list[str] = field(default_factory=list)
    #: Records set aside by ``skip_invalid`` in flows CSV files (a Spark frame), or None.
    rejects: Any = None
    financial_year: str | None = None
    undated_excluded: int = 0
    #: Money per currency of the flows in the financial year (all flows without one).
    period_totals: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def analyse_spark(
    spark,
    paths: list[Path] | list[str],  # a str with a scheme (s3a://, hdfs://, file://) is a URL
    *,
    by: str = "origin",
    financial_year: str | None = None,
    count_by: CountBy = "channel",
    min_count: int = 2,
    min_share: float = DEFAULT_MIN_SHARE,
    skip_invalid: bool = False,
    channel_map: ChannelMap | None = None,
) -> SparkAnalysis:
    """The whole analysis of native flows CSV files and ``convert`` Parquet folders, in Spark."""
    from pyspark.sql import functions as F

    read = read_flows_spark(spark, [as_location(p) for p in paths], skip_invalid=skip_invalid)
    flows = read.flows.cache()
    check_rows(flows.count(), read, paths)
    inputs = [str(entry["path"]) for entry in read.files]
    channel_map, map_notes = _channel_map(channel_map, read.channel_maps, inputs)
    nodes = node_frame(flows, channel_map, read.organisations)
    if channel_map is not None:
        map_notes += channel_map.unmatched(matched_map_lines(nodes, channel_map))
    totals = _totals(flows)
    undated = 0
    used, period_totals = flows, totals
    if financial_year:
        start, end = financial_year_bounds(financial_year)
        undated = flows.filter(F.col("date").isNull()).count()
        used = flows.filter((F.col("date") >= F.lit(start)) & (F.col("date") < F.lit(end)))
        period_totals = _totals(used)
    flows_used = used.count()
    attribution = attribute_spark(spark, used, nodes, by=by)
    table, channels = convergence_spark(
        spark, attribution, used, nodes, count_by=count_by, min_share=min_share, min_count=min_count
    )
    return SparkAnalysis(
        nodes=nodes,
        attribution=attribution,
        table=table,
        channels=channels,
        flows=used,
        records_read=read.records_read,
        rejected=read.rejected,
        files=read.files,
        totals=totals,
        period_totals=period_totals,
        flows_used=flows_used,
        non_money=read.non_money,
        repeated=read.repeated,
        repeated_amount=read.repeated_amount,
        notes=[*read.notes, *map_notes],
        rejects=read.rejects,
        financial_year=financial_year,
        undated_excluded=undated,
        settings={"count_by": count_by, "min_count": min_count, "min_share": min_share},
    )


def _channel_map(
    given: ChannelMap | None, kept: list[tuple[str, ChannelMap]], inputs: list[str] | None = None
) -> tuple[ChannelMap | None, list[str]]:
    """The ``--channels`` mapping to classify with: the one given to ``analyse``, else the one ``convert``
    kept in the folders (folders kept with different mappings are refused); and notes when the mapping
    given replaces a kept one, or when a kept one classifies ``inputs`` that were converted without it."""
    if given is not None:
        replaced = []
        for folder, kept_map in kept:
            if kept_map.lines() != given.lines():
                replaced.append(
                    f"{folder}: the channel mapping {kept_map.source} given to `graphflows convert` is not "
                    f"used: --channels {given.source} replaces it"
                )
        return given, replaced
    distinct = {tuple(kept_map.lines()): (folder, kept_map) for folder, kept_map in kept}
    if len(distinct) > 1:
        (first, a), (second, b) = list(distinct.values())[:2]
        raise InputError(
            f"{first} and {second} were converted with different channel mappings ({a.source}, {b.source}): "
            "give the one to use with --channels"
        )
    if not kept:
        return None, []
    folder, kept_map = kept[0]
    mapped = {name for name, _ in kept}
    without = [name for name in inputs or [] if name not in mapped]
    notes = [
        f"{name}: read without a channel mapping of its own; the mapping {kept_map.source} kept in {folder} "
        "classifies its organisations too (give --channels to choose the mapping for every input)"
        for name in without
    ]
    return kept_map, notes


def check_rows(counted: int, read: SparkFlows, paths: list[Path] | list[str]) -> None:
    """Refuse flows Spark read that the inputs' own counts do not give (a part replaced or lost)."""
    if counted != read.flows_expected:
        names = ", ".join(str(p) for p in paths)
        raise InputError(
            f"{names}: Spark read {counted} flows where graphflows-flows.json counts {read.flows_expected} "
            "(a part was changed, lost or added after `graphflows convert`; convert again); nothing was "
            "analysed"
        )


def _totals(flows) -> dict[str, int]:
    """Money per currency (minor units, summed exactly), currencies in order."""
    from pyspark.sql import functions as F

    rows = (
        flows.groupBy("currency")
        .agg(F.sum(F.col("amount_minor").cast("decimal(38,0)")).alias("total"))
        .collect()
    )
    return dict(sorted((r["currency"], int(r["total"])) for r in rows))
