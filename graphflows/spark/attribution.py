"""Attribution as Spark jobs: netting, strongly connected groups, dependency levels, mixes by joins.

The method is the in-memory engine's (:mod:`graphflows.analysis.mixing`), step for step:

1. **Netting** per payer, payee, declared stream and currency, in exact integer sums (``decimal(38,0)``),
   refused past 2^62 like :func:`graphflows.analysis.netting.check_fits`.
2. **Cycles.** Dependency edges (mix source -> payee, declared stream -> payer) are trimmed of nodes that
   no edge enters or leaves, repeatedly, until only the *cyclic core* is left: the transfers between
   commissioners that return money. Only that core comes to the driver, where scipy finds its strongly
   connected groups; a core of more than :data:`MAX_CORE_EDGES` edges is refused with a clear message.
3. **Levels.** The condensation is ordered by levels (Kahn's algorithm, one join per level).
4. **Mixes by joins**, level by level: a node's pot is its inflow joined with the unit mixes of its
   sources; declared streams are carved out; the rest, plus any own money, is normalised into its unit
   mix. Each strongly connected group is solved exactly by the in-memory method, one group per pandas
   call (``applyInPandas``).
5. **Pennies** by largest remainder per recipient (:func:`graphflows.analysis.attribution.round_to_pennies`,
   ties to the lower origin index in sorted-id order), one partition of recipients per pandas call.

Nothing here brings flows, edges or mixes to the driver, except the cyclic core (bounded) and the
negative pairs (a report, written by Spark).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graphflows.analysis.attribution import round_to_pennies
from graphflows.analysis.channels import UNCLASSIFIED
from graphflows.analysis.mixing import PRUNE, CycleError, DenseCycle, dense_fits, sparse_mix
from graphflows.analysis.netting import LIMIT, SELF_PAYMENT_SCHEMA, self_payment_income_notes, too_large
from graphflows.model import GraphflowsError, Kind

#: The cyclic core (edges between nodes that both receive and pass on money, after trimming) is solved for
#: its strongly connected groups on the driver; past this many edges the run is refused.
MAX_CORE_EDGES = 2_000_000
GROUP_SCHEMA = "kind string, node long, origin long, value double"
POT_SCHEMA = "node long, origin long, value double"


@dataclass
class SparkAttribution:
    """Attribution rows and recipients as Spark DataFrames (ids as text), with the run's figures."""

    rows: object  # recipient_id, stovepipe_id, currency, amount_minor, share
    recipients: object  # recipient_id, currency, total_in_minor, payer_count
    negative_pairs: object  # payer_id, payee_id, stream_id, currency, net_minor, lines
    by: str
    solving_order: object = None  # recipient_id, currency and SOLVING_ORDER: the in-memory engine's row order
    notes: list[str] = field(default_factory=list)
    cycles: int = 0
    levels: int = 0
    core_edges: int = 0
    #: Lines paid by an organisation to itself, per currency (left out of income), as the in-memory engine's.
    self_payments: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SELF_PAYMENT_SCHEMA))


def net_pairs_spark(flows):
    """(positive, negative) net pairs, as :func:`graphflows.analysis.netting.net_pairs` (Spark frames)."""
    from pyspark.sql import functions as F

    stream = F.when(
        (F.col("stream_id") == F.col("payer_id")) | (F.col("stream_id") == F.col("payee_id")), None
    ).otherwise(F.col("stream_id"))
    keys = ["payer_id", "payee_id", "stream_id", "currency"]
    nets = (
        flows.filter(F.col("payer_id") != F.col("payee_id"))
        .select("payer_id", "payee_id", stream.alias("stream_id"), "currency", "amount_minor")
        .groupBy(keys)
        .agg(F.sum(F.col("amount_minor").cast("decimal(38,0)")).alias("net"), F.count("*").alias("lines"))
        .cache()
    )
    largest = nets.agg(F.max(F.abs("net"))).first()[0]
    if largest is not None and int(largest) >= LIMIT:
        raise too_large()
    nets = nets.withColumn("net_minor", F.col("net").cast("long")).drop("net")
    return nets.filter(F.col("net_minor") > 0), nets.filter(F.col("net_minor") < 0)


def self_payments_spark(flows) -> pl.DataFrame:
    """:func:`graphflows.analysis.netting.self_payments` of Spark flows (a row per currency, collected)."""
    from pyspark.sql import functions as F

    sums = (
        flows.filter(F.col("payer_id") == F.col("payee_id"))
        .groupBy("currency")
        .agg(F.count("*").alias("lines"), F.sum(F.col("amount_minor").cast("decimal(38,0)")).alias("amount"))
        .collect()
    )
    if any(abs(int(r["amount"])) >= LIMIT for r in sums):
        raise too_large()
    rows = sorted((r["currency"], int(r["lines"]), int(r["amount"])) for r in sums)
    return pl.DataFrame(rows, schema=SELF_PAYMENT_SCHEMA, orient="row")


def attribute_spark(spark, flows, nodes, *, by: str = "origin") -> SparkAttribution:
    """Attribute each recipient's income to its origins (``by`` as in :func:`graphflows.analysis.attribute`).

    ``flows``: the (financial-year filtered) flows; ``nodes``: the node table (:func:`node_frame`), whose
    ``idx`` codes the nodes in id order.
    """
    from pyspark.sql import functions as F

    if by not in ("origin", "stream"):
        raise ValueError(f"by must be 'origin' or 'stream', not {by!r}")
    forced = F.array_contains("kinds", Kind.STREAM.value) if by == "stream" else F.lit(False)
    index = nodes.select("id", "idx", forced.alias("forced"))
    own = self_payments_spark(flows)
    positive, negative = net_pairs_spark(flows)
    coded = (
        positive.join(
            F.broadcast(index.select(F.col("id").alias("payer_id"), F.col("idx").alias("payer"))), "payer_id"
        )
        .join(
            F.broadcast(index.select(F.col("id").alias("payee_id"), F.col("idx").alias("payee"))), "payee_id"
        )
        .join(
            F.broadcast(index.select(F.col("id").alias("stream_id"), F.col("idx").alias("stream"))),
            "stream_id",
            "left",
        )
        .select("payer", "payee", "stream", "currency", F.col("net_minor").alias("net"))
        .cache()
    )
    forced_ids = index.filter("forced").select(F.col("idx").alias("node"))
    channel = F.coalesce(F.col("channel"), F.lit(UNCLASSIFIED))  # node_frame always classifies
    channel_names = sorted(r[0] for r in nodes.select(channel.alias("c")).distinct().collect())
    code = F.lit(0)
    for i, name in enumerate(channel_names[1:], start=1):  # codes in name order, as the in-memory engine's
        code = F.when(channel == F.lit(name), F.lit(i)).otherwise(code)
    channel_of = F.broadcast(nodes.select(F.col("idx").alias("origin"), code.cast("long").alias("channel")))
    state = _Run(spark)
    rows, recipients, orders = [], [], []
    names = index.select("id", "idx")
    node_names = F.broadcast(names.withColumnRenamed("idx", "node"))
    for currency in sorted(r[0] for r in coded.select("currency").distinct().collect()):
        edges = coded.filter(F.col("currency") == currency).drop("currency")
        pots, totals, order = state.solve(edges, forced_ids)
        amounts = _pennies(pots.join(channel_of, "origin"), totals)
        orders.append(
            order.join(node_names, "node").select(
                F.col("id").alias("recipient_id"),
                F.lit(currency).alias("currency"),
                F.col("forced").alias("order_forced"),
                F.col("level").alias("order_level"),
                F.col("cyclic").alias("order_cyclic"),
                F.col("comp").alias("order_group"),
            )
        )
        rows.append(
            amounts.join(node_names, "node")
            .withColumnRenamed("id", "recipient_id")
            .join(F.broadcast(names.withColumnRenamed("idx", "origin")), "origin")
            .select(
                "recipient_id",
                F.col("id").alias("stovepipe_id"),
                F.lit(currency).alias("currency"),
                "amount_minor",
                (F.col("amount_minor") / F.col("total")).alias("share"),
            )
        )
        recipients.append(
            totals.join(node_names, "node").select(
                F.col("id").alias("recipient_id"),
                F.lit(currency).alias("currency"),
                F.col("total").alias("total_in_minor"),
                F.col("payers").alias("payer_count"),
            )
        )
    negatives = negative.select("payer_id", "payee_id", "stream_id", "currency", "net_minor", "lines")
    return SparkAttribution(  # computed once: convergence and every output read them
        rows=(_union(rows) if rows else spark.createDataFrame([], ROWS_SCHEMA)).localCheckpoint(),
        recipients=(
            _union(recipients) if recipients else spark.createDataFrame([], RECIPIENTS_SCHEMA)
        ).localCheckpoint(),
        negative_pairs=negatives.localCheckpoint(),
        by=by,
        solving_order=(
            _union(orders) if orders else spark.createDataFrame([], ORDER_SCHEMA)
        ).localCheckpoint(),
        notes=[*self_payment_income_notes(own), *state.notes],
        cycles=state.cycles,
        levels=state.levels,
        core_edges=state.core_edges,
        self_payments=own,
    )


ROWS_SCHEMA = "recipient_id string, stovepipe_id string, currency string, amount_minor long, share double"
#: Sort keys that put attribution rows in the in-memory engine's order (its solving order): currency by
#: currency, the streams held as origins (``--by stream``) last, then level by level the nodes outside
#: cycles (in id order) before each strongly connected group (by its lowest id), origins in id order.
SOLVING_ORDER = (
    "currency",
    "order_forced",
    "order_level",
    "order_cyclic",
    "order_group",
    "recipient_id",
    "stovepipe_id",
)
RECIPIENTS_SCHEMA = "recipient_id string, currency string, total_in_minor long, payer_count long"
ORDER_SCHEMA = (
    "recipient_id string, currency string, order_forced boolean, order_level long, order_cyclic boolean, "
    "order_group long"
)


def _union(frames: list):
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


class _Run:
    """One attribution: solves each currency's graph and keeps the figures."""

    def __init__(self, spark):
        self.spark = spark
        self.notes: list[str] = []
        self.cycles = self.levels = self.core_edges = 0

    def solve(self, edges, forced_ids):
        """(pots: node, origin, value; totals: node, total, payers; order: node, forced, level, cyclic, comp)
        of one currency's positive edges (order: :data:`SOLVING_ORDER`)."""
        from pyspark.sql import functions as F

        edges = edges.withColumn("src", F.coalesce("stream", "payer")).cache()
        totals = edges.groupBy(F.col("payee").alias("node")).agg(
            F.sum(F.col("net").cast("decimal(38,0)")).alias("total"), F.countDistinct("payer").alias("payers")
        )
        largest = totals.agg(F.max("total")).first()[0]
        if largest is not None and int(largest) >= LIMIT:
            raise too_large()
        totals = totals.withColumn("total", F.col("total").cast("long")).localCheckpoint()
        inflow = edges.groupBy("payee", "src").agg(F.sum("net").alias("amt")).localCheckpoint()
        carve = (
            edges.filter(F.col("stream").isNotNull())
            .groupBy("payer", "stream")
            .agg(F.sum("net").alias("amt"))
            .localCheckpoint()
        )
        undeclared = (
            edges.filter(F.col("stream").isNull())
            .groupBy(F.col("payer").alias("node"))
            .agg(F.sum("net").cast("double").alias("out"))
            .localCheckpoint()
        )
        everyone = (
            edges.select(F.col("payer").alias("node"))
            .union(edges.select(F.col("payee").alias("node")))
            .union(edges.filter(F.col("stream").isNotNull()).select(F.col("stream").alias("node")))
            .distinct()
        )
        forced = forced_ids.join(everyone, "node", "left_semi").localCheckpoint()
        free = everyone.join(forced, "node", "left_anti")
        deps = (
            inflow.select(F.col("src").alias("a"), F.col("payee").alias("b"))
            .union(carve.select(F.col("stream").alias("a"), F.col("payer").alias("b")))
            .join(forced.withColumnRenamed("node", "b"), "b", "left_anti")
            .distinct()
            .localCheckpoint()
        )
        comp_of = self._components(deps, free)
        level_of = self._levels(deps, comp_of)
        sources = (
            inflow.select(F.col("src").alias("node"))
            .union(carve.select(F.col("stream").alias("node")))
            .distinct()
        )
        pots = self._propagate(inflow, carve, undeclared, level_of, forced, sources)
        return pots, totals, self._solving_order(deps, comp_of, level_of, forced)

    def _solving_order(self, deps, comp_of, level_of, forced):
        """``node, forced, level, cyclic, comp`` as the in-memory engine orders nodes: its levels count the
        streams held as origins (``--by stream``), which come first there and are handed out last."""
        from pyspark.sql import functions as F

        held = forced.select("node", F.col("node").alias("comp"), F.lit(False).alias("cyclic"))
        if held.isEmpty():
            ordered = level_of
        else:
            levels = self.levels
            ordered = self._levels(deps, comp_of.unionByName(held))
            self.levels = levels  # the run's figure stays that of the propagation
        return ordered.join(forced.select("node", F.lit(True).alias("held")), "node", "left").select(
            "node", F.coalesce("held", F.lit(False)).alias("forced"), "level", "cyclic", "comp"
        )

    # -- strongly connected groups ----------------------------------------------------------------

    def _components(self, deps, free):
        """``node, comp, cyclic`` for every free node: comp is the smallest node of its cyclic group."""
        from pyspark.sql import functions as F

        core = deps.filter(F.col("a") != F.col("b")).union(deps.filter(F.col("a") == F.col("b")))
        count = core.count()
        while True:
            ends = (
                core.select(F.col("a").alias("v"))
                .distinct()
                .intersect(core.select(F.col("b").alias("v")).distinct())
            )
            trimmed = (
                core.join(ends.withColumnRenamed("v", "a"), "a", "left_semi")
                .join(ends.withColumnRenamed("v", "b"), "b", "left_semi")
                .localCheckpoint()
            )
            left = trimmed.count()
            core = trimmed
            if left == count:
                break
            count = left
        self.core_edges = max(self.core_edges, count)
        if count > MAX_CORE_EDGES:
            raise CycleError(
                f"{count} payments between organisations that pass money round in cycles: more than the "
                f"{MAX_CORE_EDGES} the Spark engine solves on the driver"
            )
        pairs = (
            pl.from_arrow(core.select("a", "b").toArrow())
            if count
            else pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
        )
        members = np.unique(np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
        a = np.searchsorted(members, pairs["a"].to_numpy())
        b = np.searchsorted(members, pairs["b"].to_numpy())
        k = members.size
        graph = sp.csr_matrix((np.ones(a.size), (a, b)), shape=(k, k))
        _, label = connected_components(graph, directed=True, connection="strong")
        size = np.bincount(label, minlength=label.max(initial=-1) + 1)
        looped = np.zeros(size.size, dtype=bool)
        looped[label[a[a == b]]] = True
        cyclic = (size[label] > 1) | looped[label]
        smallest = np.full(size.size, np.iinfo(np.int64).max)
        np.minimum.at(smallest, label, members)
        self.cycles += int(np.unique(label[cyclic]).size)
        groups = pd.DataFrame({"node": members[cyclic], "comp": smallest[label[cyclic]]})
        grouped = self.spark.createDataFrame(groups, "node long, comp long") if len(groups) else None
        result = free.withColumn("comp", F.col("node")).withColumn("cyclic", F.lit(False))
        if grouped is not None:
            result = free.join(F.broadcast(grouped), "node", "left").select(
                "node",
                F.coalesce("comp", "node").alias("comp"),
                F.col("comp").isNotNull().alias("cyclic"),
            )
        return result.localCheckpoint()

    # -- levels of the condensation ------------------------------------------------------------------

    def _levels(self, deps, comp_of):
        """``node, comp, cyclic, level``: a group's level is one more than the deepest group it depends on."""
        from pyspark.sql import functions as F

        ca = comp_of.select(F.col("node").alias("a"), F.col("comp").alias("ca"))
        cb = comp_of.select(F.col("node").alias("b"), F.col("comp").alias("cb"))
        links = (
            deps.join(ca, "a").join(cb, "b").filter(F.col("ca") != F.col("cb")).select("ca", "cb").distinct()
        ).localCheckpoint()
        waiting = links.groupBy(F.col("cb").alias("comp")).agg(F.count("*").alias("w")).localCheckpoint()
        comps = comp_of.select("comp").distinct()
        frontier = comps.join(waiting, "comp", "left_anti")
        parts = [frontier.withColumn("level", F.lit(0))]
        level = 0
        while True:
            done = (
                links.join(frontier.withColumnRenamed("comp", "ca"), "ca", "left_semi")
                .groupBy(F.col("cb").alias("comp"))
                .agg(F.count("*").alias("d"))
            )
            waiting = (
                waiting.join(done, "comp", "left")
                .select("comp", (F.col("w") - F.coalesce("d", F.lit(0))).alias("w"))
                .localCheckpoint()
            )
            frontier = waiting.filter(F.col("w") == 0).select("comp")
            waiting = waiting.filter(F.col("w") > 0)
            if frontier.isEmpty():
                break
            level += 1
            parts.append(frontier.withColumn("level", F.lit(level)))
        if not waiting.isEmpty():  # cannot happen: every group of the condensation has a level
            raise GraphflowsError("internal error: the dependency levels did not cover every group")
        self.levels = max(self.levels, level + 1)
        return comp_of.join(_union(parts), "comp").localCheckpoint()

    # -- mixes, level by level -------------------------------------------------------------------------

    def _propagate(self, inflow, carve, undeclared, level_of, forced, sources):
        """Pots ``node, origin, value`` of every payee.

        Unit mixes are solved level by level, only for nodes whose money others receive (sources); the
        pots of all other payees then come from one join of their inflow with every unit mix.
        """
        from pyspark.sql import functions as F

        at = level_of.select(F.col("node").alias("payee"), "level", "comp", "cyclic")
        src_comp = level_of.select(F.col("node").alias("src"), F.col("comp").alias("src_comp"))
        inflow_at = (
            inflow.join(at, "payee")
            .join(src_comp, "src", "left")
            .withColumn("internal", F.coalesce(F.col("src_comp") == F.col("comp"), F.lit(False)))
            .localCheckpoint()
        )
        carve_at = (
            carve.join(at.withColumnRenamed("payee", "payer"), "payer")
            .join(src_comp.withColumnRenamed("src", "stream"), "stream", "left")
            .withColumn("internal", F.coalesce(F.col("src_comp") == F.col("comp"), F.lit(False)))
            .localCheckpoint()
        )
        is_source = level_of.join(sources, "node", "left_semi").select("node", "level", "cyclic")
        work = {
            (row["level"], row["cyclic"], row["source"])
            for row in level_of.join(sources.withColumn("source", F.lit(True)), "node", "left")
            .select("level", "cyclic", F.coalesce("source", F.lit(False)).alias("source"))
            .distinct()
            .collect()
        }
        unit_parts = [
            forced.join(sources, "node", "left_semi").select(
                "node", F.col("node").alias("origin"), F.lit(1.0).alias("w")
            )
        ]
        pot_parts = []
        for level in sorted({level for level, _, _ in work}):
            units = _union(unit_parts)
            if len(unit_parts) > 16:  # keep the plan short
                units = units.localCheckpoint()
                unit_parts = [units]
            if (level, False, True) in work:
                unit_parts.append(
                    self._acyclic_level(level, inflow_at, carve_at, undeclared, is_source, units)
                )
            if (level, True, True) in work or (level, True, False) in work:
                group_pot, group_unit = self._cyclic_level(
                    level, inflow_at, carve_at, undeclared, level_of, units
                )
                pot_parts.append(group_pot)
                unit_parts.append(group_unit)
        units = _union(unit_parts)
        acyclic_in = inflow_at.filter(~F.col("cyclic")).select("payee", "src", "amt")
        forced_in = inflow.join(forced.withColumnRenamed("node", "payee"), "payee", "left_semi")
        pot_parts.append(_weighted(acyclic_in.unionByName(forced_in), "payee", "src", units))
        return _union(pot_parts)

    def _acyclic_level(self, level, inflow_at, carve_at, undeclared, is_source, units):
        """Unit mixes of the sources at ``level`` outside cycles."""
        from pyspark.sql import functions as F

        here = (F.col("level") == level) & ~F.col("cyclic")
        nodes = is_source.filter(here).select("node")
        pot = _weighted(
            inflow_at.filter(here).join(nodes.withColumnRenamed("node", "payee"), "payee", "left_semi"),
            "payee",
            "src",
            units,
        )
        carved = _weighted(carve_at.filter(here), "payer", "stream", units).withColumnRenamed(
            "value", "carved"
        )
        left = (
            pot.join(carved, ["node", "origin"], "left")
            .select("node", "origin", (F.col("value") - F.coalesce("carved", F.lit(0.0))).alias("value"))
            .filter(F.col("value") > 0)
        )
        return _unit_mix(left, nodes, undeclared).localCheckpoint()

    def _cyclic_level(self, level, inflow_at, carve_at, undeclared, level_of, units):
        from pyspark.sql import functions as F

        here = (F.col("level") == level) & F.col("cyclic")
        members = level_of.filter(here).select("node", "comp")

        def fixed(frame, row, col, kind):
            outside = frame.filter(here & ~F.col("internal"))
            comp = outside.select(F.col(row).alias("node"), "comp").distinct()
            return (
                _weighted(outside, row, col, units)
                .join(comp, "node")
                .select("comp", F.lit(kind).alias("kind"), "node", "origin", "value")
            )

        def within(frame, row, col, kind):
            return frame.filter(here & F.col("internal")).select(
                "comp",
                F.lit(kind).alias("kind"),
                F.col(row).alias("node"),
                F.col(col).alias("origin"),
                F.col("amt").cast("double").alias("value"),
            )

        parts = [
            fixed(inflow_at, "payee", "src", "fin"),
            fixed(carve_at, "payer", "stream", "fcv"),
            within(inflow_at, "payee", "src", "iin"),
            within(carve_at, "payer", "stream", "icv"),
            members.join(undeclared, "node", "left").select(
                "comp",
                F.lit("out").alias("kind"),
                "node",
                F.lit(-1).cast("long").alias("origin"),
                F.coalesce("out", F.lit(0.0)).alias("value"),
            ),
        ]
        solved = _union(parts).groupBy("comp").applyInPandas(solve_group, GROUP_SCHEMA).localCheckpoint()
        flags = solved.filter(F.col("kind").isin("approx", "too_large")).collect()
        too_large = [f for f in flags if f["kind"] == "too_large"]
        if too_large:
            raise CycleError(
                f"a cycle of {too_large[0]['node']} organisations with {too_large[0]['origin']} origins is "
                "too large to solve"
            )
        approximate = sum(f["kind"] == "approx" for f in flags)
        if approximate:
            self.notes.append(
                f"{approximate} cycle(s) did not converge fully; shares inside them are approximate "
                "(each recipient's total is still exact)"
            )
        pot = solved.filter(F.col("kind") == "pot").select("node", "origin", "value")
        unit = solved.filter(F.col("kind") == "unit").select("node", "origin", F.col("value").alias("w"))
        return pot, unit


def _weighted(frame, row: str, col: str, units):
    """``node, origin, value``: sum of ``amt`` x the unit mix of ``col``, per ``row`` and origin."""
    from pyspark.sql import functions as F

    return (
        frame.select(F.col(row).alias("node"), F.col(col).alias("source"), "amt")
        .join(units.withColumnRenamed("node", "source"), "source")
        .groupBy("node", "origin")
        .agg(F.sum(F.col("amt") * F.col("w")).alias("value"))
    )


def _unit_mix(left, nodes, undeclared):
    """normalise(left + own * e_v), pruned below PRUNE and normalised again (as mixing._unit_mix)."""
    from pyspark.sql import functions as F

    held = left.groupBy("node").agg(F.sum("value").alias("held"))
    own = (
        nodes.join(held, "node", "left")
        .join(undeclared, "node", "left")
        .select(
            "node",
            F.coalesce("held", F.lit(0.0)).alias("held"),
            F.greatest(F.coalesce("out", F.lit(0.0)) - F.coalesce("held", F.lit(0.0)), F.lit(0.0)).alias(
                "own"
            ),
        )
        .select(
            "node", F.when(F.col("held") + F.col("own") <= 0, F.lit(1.0)).otherwise(F.col("own")).alias("own")
        )
    )
    mixed = (
        left.unionByName(
            own.filter(F.col("own") > 0).select(
                "node", F.col("node").alias("origin"), F.col("own").alias("value")
            )
        )
        .groupBy("node", "origin")
        .agg(F.sum("value").alias("value"))
    )
    totals = mixed.groupBy("node").agg(F.sum("value").alias("total"))
    unit = (
        mixed.join(totals, "node")
        .select("node", "origin", (F.col("value") * (F.lit(1.0) / F.col("total"))).alias("w"))
        .filter(F.col("w") >= PRUNE)
    )
    again = unit.groupBy("node").agg(F.sum("w").alias("total"))
    return unit.join(again, "node").select(
        "node", "origin", (F.col("w") * (F.lit(1.0) / F.col("total"))).alias("w")
    )


def solve_group(frame: pd.DataFrame) -> pd.DataFrame:
    """Pots and unit mixes of one strongly connected group, by the in-memory engine's exact method."""
    group = np.sort(frame.loc[frame["kind"] == "out", "node"].to_numpy())
    k = group.size
    position = {int(v): i for i, v in enumerate(group)}

    def part(kind: str) -> pd.DataFrame:
        return frame[frame["kind"] == kind]

    fin, fcv, iin, icv = part("fin"), part("fcv"), part("iin"), part("icv")
    columns = np.unique(np.concatenate([fin["origin"].to_numpy(), fcv["origin"].to_numpy(), group]))
    if not dense_fits(k, columns.size):
        return pd.DataFrame(
            {"kind": ["too_large"], "node": [k], "origin": [columns.size], "value": [0.0]}
        ).astype({"kind": object})
    column_of = {int(c): i for i, c in enumerate(columns)}

    def dense(rows: pd.DataFrame, cols, width: int) -> np.ndarray:
        out = np.zeros((k, width))
        if len(rows):
            r = np.array([position[int(v)] for v in rows["node"]])
            c = np.array([cols[int(v)] for v in rows["origin"]])
            np.add.at(out, (r, c), rows["value"].to_numpy())
        return out

    out = part("out").set_index("node")["value"]
    cycle = DenseCycle(
        base_in=dense(fin, column_of, columns.size),
        base_carve=dense(fcv, column_of, columns.size),
        in_within=dense(iin, position, k),
        carve_within=dense(icv, position, k),
        out=np.array([float(out[v]) for v in group]),
        own_column=np.array([column_of[int(v)] for v in group]),
    )
    pot, unit, _, converged = cycle.solve()
    n = int(columns.max()) + 1
    pieces = []
    for kind, matrix in (("pot", sparse_mix(pot, columns, n)), ("unit", sparse_mix(unit, columns, n))):
        coo = matrix.tocoo()
        pieces.append(
            pd.DataFrame({"kind": kind, "node": group[coo.row], "origin": coo.col, "value": coo.data})
        )
    if not converged:
        pieces.append(
            pd.DataFrame({"kind": ["approx"], "node": [int(group[0])], "origin": [-1], "value": [0.0]})
        )
    return pd.concat(pieces, ignore_index=True).astype({"kind": object, "node": "int64", "origin": "int64"})


def _pennies(pots, totals):
    """``node, origin, amount_minor, total``: whole minor units per recipient by largest remainder, channels
    first (``pots`` carry each origin's ``channel`` code), then origins within each channel."""

    joined = pots.join(totals.select("node", "total"), "node").repartition("node")
    return joined.mapInPandas(_round_partition, "node long, origin long, amount_minor long, total long")


def _round_partition(batches):
    frames = [b for b in batches if len(b)]
    if not frames:
        return
    frame = pd.concat(frames, ignore_index=True)
    node = frame["node"].to_numpy(np.int64)
    uniq, local = np.unique(node, return_inverse=True)
    total_of = np.zeros(uniq.size, dtype=np.int64)
    total_of[local] = frame["total"].to_numpy(np.int64)
    origin = frame["origin"].to_numpy(np.int64)
    channel_of = np.zeros(int(origin.max()) + 1, dtype=np.int64)
    channel_of[origin] = frame["channel"].to_numpy(np.int64)
    r_node, r_origin, amount = round_to_pennies(
        local.astype(np.int64), origin, frame["value"].to_numpy(np.float64), total_of, channel_of=channel_of
    )
    yield pd.DataFrame(
        {"node": uniq[r_node], "origin": r_origin, "amount_minor": amount, "total": total_of[r_node]}
    )
