"""Write the convergence analysis back into Neo4j, replacing any earlier write-back.

On each recipient: ``channel_count``, ``channels`` (list), ``effective_channels``, ``stovepipe_count``,
``effective_stovepipes``, ``total_in_minor`` (exact) and ``total_in`` (decimal, as a float),
``below_min_share_minor``, ``currency``, ``hhi``, ``top_share``, ``top_stovepipe_id``, ``top_channel``,
``top_channel_share``, ``payer_count``, ``payer_channels`` (list), ``convergence_rank`` (its row in
``convergence.csv``: 1 is the top convergence point); the label ``ConvergencePoint`` on the
convergence points of :func:`graphflows.analysis.convergence` (by channel and 1% materiality by default);
``(recipient)-[:ATTRIBUTED_TO {amount_minor, amount, share, currency}]->(stovepipe)`` for every row of
``attribution.csv`` whose share is at least ``min_share`` (the load's materiality threshold), plus, per
recipient and currency, one ``(recipient)-[:ATTRIBUTED_TO {..., stovepipes, min_share}]->(:OtherStovepipes
{id: "below_min_share"})`` for the money from all the stovepipes below it (``stovepipes``: how many), so the
ATTRIBUTED_TO of a recipient always add up to its income to the penny (a wide-mix graph has tens of
millions of thin shares: writing each would dwarf the flows); and
``(recipient)-[:ATTRIBUTED_TO_CHANNEL {...}]->(:Channel {id})`` for every row of ``channels.csv``.
A recipient paid in several currencies carries the node figures of its first currency in convergence
order; its relationships cover every currency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import polars as pl

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, CountBy

from .parallel import create_then_merge, in_parallel
from .runner import CypherRunner
from .schema import (
    ATTRIBUTED_TO,
    ATTRIBUTED_TO_CHANNEL,
    CHANNEL_LABEL,
    CONVERGENCE_LABEL,
    ENTITY,
    OTHER_STOVEPIPES,
    OTHER_STOVEPIPES_ID,
)

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.graph import FlowGraph

#: Node properties the write-back owns (removed from every node before writing afresh).
RECIPIENT_PROPERTIES = (
    "stovepipe_count", "total_in_minor", "total_in", "currency", "hhi", "top_share", "top_stovepipe_id",
    "payer_count", "channel_count", "channels", "effective_channels", "effective_stovepipes",
    "below_min_share_minor", "top_channel", "top_channel_share", "payer_channels", "convergence_rank",
)  # fmt: skip

CLEAR_ATTRIBUTIONS = f"""
MATCH ()-[r:{ATTRIBUTED_TO}]->()
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS deleted
"""
CLEAR_CHANNELS = f"""
MATCH (c:{CHANNEL_LABEL})
WITH c LIMIT $limit
DETACH DELETE c
RETURN count(*) AS deleted
"""
CLEAR_OTHER_STOVEPIPES = f"""
MATCH (o:{OTHER_STOVEPIPES})
DETACH DELETE o
RETURN 0 AS deleted
"""
CLEAR_RECIPIENTS = f"""
MATCH (n:{ENTITY})
WHERE n:{CONVERGENCE_LABEL} OR n.stovepipe_count IS NOT NULL
WITH n LIMIT $limit
REMOVE n:{CONVERGENCE_LABEL}, {", ".join(f"n.{p}" for p in RECIPIENT_PROPERTIES)}
RETURN count(*) AS cleared
"""
RECIPIENTS_QUERY = f"""
UNWIND $rows AS row
MATCH (n:{ENTITY} {{id: row[0]}})
SET n.stovepipe_count = row[1], n.total_in_minor = row[2], n.total_in = toFloat(row[2]) / 100.0,
    n.currency = row[3], n.hhi = row[4], n.top_share = row[5], n.top_stovepipe_id = row[6],
    n.payer_count = row[7], n.channel_count = row[9], n.channels = row[10], n.effective_channels = row[11],
    n.effective_stovepipes = row[12], n.below_min_share_minor = row[13], n.top_channel = row[14],
    n.top_channel_share = row[15], n.payer_channels = row[16], n.convergence_rank = row[17]
FOREACH (_ IN CASE WHEN row[8] THEN [1] ELSE [] END | SET n:{CONVERGENCE_LABEL})
"""
#: Channel nodes and each recipient's income by channel (few rows: one per recipient and channel).
CHANNELS_QUERY = f"""
UNWIND $rows AS row
MATCH (recipient:{ENTITY} {{id: row[0]}})
MERGE (channel:{CHANNEL_LABEL} {{id: row[1]}})
MERGE (recipient)-[a:{ATTRIBUTED_TO_CHANNEL} {{currency: row[2]}}]->(channel)
SET a.amount_minor = row[3], a.amount = toFloat(row[3]) / 100.0, a.share = row[4]
"""
ATTRIBUTIONS_QUERY = f"""
UNWIND $rows AS row
MATCH (recipient:{ENTITY} {{id: row[0]}})
MATCH (stovepipe:{ENTITY} {{id: row[1]}})
CREATE (recipient)-[:{ATTRIBUTED_TO} {{currency: row[2], amount_minor: row[3],
                                      amount: toFloat(row[3]) / 100.0, share: row[4]}}]->(stovepipe)
"""
#: The money of each recipient (and currency) from the stovepipes below the materiality threshold.
OTHER_STOVEPIPES_NODE = f"MERGE (o:{OTHER_STOVEPIPES} {{id: $id}}) SET o.name = $name"
OTHER_STOVEPIPES_NAME = "Stovepipes below the materiality threshold (min_share)"
REMAINDERS_QUERY = f"""
UNWIND $rows AS row
MATCH (recipient:{ENTITY} {{id: row[0]}})
MATCH (other:{OTHER_STOVEPIPES} {{id: $id}})
MERGE (recipient)-[a:{ATTRIBUTED_TO} {{currency: row[1]}}]->(other)
SET a.amount_minor = row[2], a.amount = toFloat(row[2]) / 100.0, a.share = row[3], a.stovepipes = row[4],
    a.min_share = $min_share
"""

#: The same, for a batch retried after a lost connection (its first try may have committed): one
#: ATTRIBUTED_TO per recipient, stovepipe and currency, as in attribution.csv.
MERGE_ATTRIBUTIONS_QUERY = f"""
UNWIND $rows AS row
MATCH (recipient:{ENTITY} {{id: row[0]}})
MATCH (stovepipe:{ENTITY} {{id: row[1]}})
MERGE (recipient)-[a:{ATTRIBUTED_TO} {{currency: row[2]}}]->(stovepipe)
SET a.amount_minor = row[3], a.amount = toFloat(row[3]) / 100.0, a.share = row[4]
"""

Retry = Callable[..., Any]


def _direct(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def write_analysis(runner: CypherRunner, graph: FlowGraph, **options: Any) -> Any:
    """Analyse ``graph`` (attribution by origin) and write the results back (``options``: those of
    :func:`write_attribution`); returns a WriteBackReport."""
    from graphflows.analysis import attribute

    return write_attribution(runner, attribute(graph, by="origin"), **options)


def write_attribution(
    runner: CypherRunner,
    result: Attribution,
    *,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = 2,
    min_stovepipes: int | None = None,
    batch_size: int = 10_000,
    retry: Retry = _direct,
    workers: int = 1,
    stop: threading.Event | None = None,
) -> Any:
    """Replace the write-back with ``result``: clear the old one, then write recipients and attributions.

    ``count_by``, ``min_share``, ``min_count`` (or its older name ``min_stovepipes``): which recipients are
    labelled ConvergencePoint, as in :func:`graphflows.analysis.convergence`.
    ``workers``: ATTRIBUTED_TO batches CREATEd at once (``runner`` is then called from that many threads).
    """
    from graphflows.analysis import channel_mix, convergence

    from .loader import WriteBackReport

    clear_write_back(runner, batch_size=batch_size, retry=retry)
    if min_stovepipes is not None:
        min_count = min_stovepipes
    table = convergence(result, count_by=count_by, min_share=min_share, min_count=min_count)
    recipients = recipient_rows(table)
    material, remainders = split_attribution(result.rows, min_share)
    attributions = attribution_rows(material)
    channels = channel_rows(channel_mix(result))
    for start in range(0, len(recipients), batch_size):
        retry(runner.run, RECIPIENTS_QUERY, {"rows": recipients[start : start + batch_size]}, write=True)
    for start in range(0, len(channels), batch_size):
        retry(runner.run, CHANNELS_QUERY, {"rows": channels[start : start + batch_size]}, write=True)
    if remainders.height:
        other = {"id": OTHER_STOVEPIPES_ID, "name": OTHER_STOVEPIPES_NAME}
        retry(runner.run, OTHER_STOVEPIPES_NODE, other, write=True)
        rows = [list(row) for row in remainders.select(REMAINDER_COLUMNS).iter_rows()]
        for start in range(0, len(rows), batch_size):
            params = {
                "rows": rows[start : start + batch_size],
                "id": OTHER_STOVEPIPES_ID,
                "min_share": min_share,
            }
            retry(runner.run, REMAINDERS_QUERY, params, write=True)

    def write_batch(start: int) -> int:
        rows = attributions[start : start + batch_size]
        run = partial(runner.run, parameters={"rows": rows}, write=True)
        retry(create_then_merge(run, ATTRIBUTIONS_QUERY, MERGE_ATTRIBUTIONS_QUERY))
        return len(rows)

    batches = range(0, len(attributions), batch_size)
    for _ in in_parallel(write_batch, batches, max(1, workers), stop or threading.Event()):
        pass
    return WriteBackReport(
        recipients=len(recipients),
        convergence_points=sum(1 for row in recipients if row[8]),
        attributions=len(attributions),
        remainders=remainders.height,
        channel_attributions=len(channels),
    )


def clear_write_back(runner: CypherRunner, *, batch_size: int = 10_000, retry: Retry = _direct) -> None:
    """Remove every ATTRIBUTED_TO relationship, Channel node, ConvergencePoint label and recipient figure."""
    clears = (
        (CLEAR_ATTRIBUTIONS, "deleted"),
        (CLEAR_CHANNELS, "deleted"),
        (CLEAR_OTHER_STOVEPIPES, "deleted"),
        (CLEAR_RECIPIENTS, "cleared"),
    )
    for query, column in clears:
        while True:
            result = retry(runner.run, query, {"limit": batch_size}, write=True)
            if not result.rows or result.rows[0][column] == 0:
                break


#: Columns of :func:`split_attribution`'s remainders, in REMAINDERS_QUERY's order.
REMAINDER_COLUMNS = ("recipient_id", "currency", "amount_minor", "share", "stovepipes")


def split_attribution(rows: pl.DataFrame, min_share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Attribution rows at or above ``min_share`` of their recipient's income (decided exactly in integers,
    as the convergence counts are: :func:`graphflows.analysis.materiality.at_least_share`), and one
    remainder per recipient and currency for the rest (:data:`REMAINDER_COLUMNS`; ``share`` is the sum of
    the folded shares).

    >>> rows = pl.DataFrame({"recipient_id": ["P"] * 3, "stovepipe_id": ["A", "B", "C"],
    ...     "currency": ["GBP"] * 3, "amount_minor": [990, 6, 4], "share": [0.99, 0.006, 0.004]})
    >>> material, rest = split_attribution(rows, 0.01)
    >>> material["stovepipe_id"].to_list(), rest.rows()
    (['A'], [('P', 'GBP', 10, 0.01, 2)])
    """
    from graphflows.analysis.materiality import at_least_share

    income = pl.col("amount_minor").sum().over("recipient_id", "currency")
    below = ~at_least_share(pl.col("amount_minor"), income, min_share)
    rest = (
        rows.filter(below)
        .group_by("recipient_id", "currency", maintain_order=True)
        .agg(
            pl.col("amount_minor").sum().cast(pl.Int64),
            pl.col("share").sort().sum(),
            pl.len().cast(pl.Int64).alias("stovepipes"),
        )
        .filter(pl.col("amount_minor") > 0)
        .sort("recipient_id", "currency")
        .select(REMAINDER_COLUMNS)
    )
    return rows.filter(~below), rest


def recipient_table(table: pl.DataFrame) -> pl.DataFrame:
    """One row per recipient (its first currency in convergence order): :data:`RECIPIENT_COLUMNS`, with
    ``channels`` and ``payer_channels`` as lists (null when empty: Neo4j stores no empty list property)."""
    ranked = table.with_row_index("convergence_rank", offset=1).with_columns(
        pl.col("convergence_rank").cast(pl.Int64)
    )
    first = ranked.unique(subset="recipient_id", keep="first", maintain_order=True)
    is_point = table.group_by("recipient_id").agg(pl.col("is_convergence_point").any().alias("_any"))
    first = first.join(is_point, on="recipient_id", how="left", maintain_order="left")
    lists = pl.col("channels", "payer_channels")
    first = first.with_columns(
        pl.when(lists.fill_null("") != "").then(lists.str.split(";").list.filter(pl.element() != ""))
    )
    return first.select(RECIPIENT_COLUMNS)


#: Columns of :func:`recipient_table`, in RECIPIENTS_QUERY's order (``_any``: a convergence point).
RECIPIENT_COLUMNS = (
    "recipient_id", "stovepipe_count", "total_in_minor", "currency", "hhi", "top_share", "top_stovepipe_id",
    "payer_count", "_any", "channel_count", "channels", "effective_channels", "effective_stovepipes",
    "below_min_share_minor", "top_channel", "top_channel_share", "payer_channels", "convergence_rank",
)  # fmt: skip


def recipient_rows(table: pl.DataFrame) -> list[list[Any]]:
    """:func:`recipient_table` as lists for RECIPIENTS_QUERY."""
    return [list(row) for row in recipient_table(table).iter_rows()]


def channel_rows(mix: pl.DataFrame) -> list[list[Any]]:
    """Channel-mix rows as lists: recipient, channel, currency, amount_minor, share."""
    columns = ["recipient_id", "channel", "currency", "amount_minor", "share"]
    return [list(row) for row in mix.select(columns).iter_rows()]


def attribution_rows(rows: pl.DataFrame) -> list[list[Any]]:
    """Attribution rows as lists: recipient, stovepipe, currency, amount_minor, share."""
    columns = ["recipient_id", "stovepipe_id", "currency", "amount_minor", "share"]
    return [list(row) for row in rows.select(columns).iter_rows()]
