"""Write the convergence analysis back into Neo4j, replacing any earlier write-back.

On each recipient: ``channel_count``, ``channels`` (list), ``effective_channels``, ``stovepipe_count``,
``effective_stovepipes``, ``total_in_minor`` (exact) and ``total_in`` (decimal, as a float),
``below_min_share_minor``, ``currency``, ``hhi``, ``top_share``, ``top_stovepipe_id``, ``top_channel``,
``top_channel_share``, ``payer_count``, ``payer_channels`` (list); the label ``ConvergencePoint`` on the
convergence points of :func:`graphflows.analysis.convergence` (by channel and 1% materiality by default);
``(recipient)-[:ATTRIBUTED_TO {amount_minor, amount, share, currency}]->(stovepipe)`` for every row of
``attribution.csv``; and ``(recipient)-[:ATTRIBUTED_TO_CHANNEL {...}]->(:Channel {id})`` for every row of
``channels.csv``. A recipient paid in several currencies carries the node figures of its first currency
in convergence order; its relationships cover every currency.
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
from .schema import ATTRIBUTED_TO, ATTRIBUTED_TO_CHANNEL, CHANNEL_LABEL, CONVERGENCE_LABEL, ENTITY

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.graph import FlowGraph

#: Node properties the write-back owns (removed from every node before writing afresh).
RECIPIENT_PROPERTIES = (
    "stovepipe_count", "total_in_minor", "total_in", "currency", "hhi", "top_share", "top_stovepipe_id",
    "payer_count", "channel_count", "channels", "effective_channels", "effective_stovepipes",
    "below_min_share_minor", "top_channel", "top_channel_share", "payer_channels",
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
    n.top_channel_share = row[15], n.payer_channels = row[16]
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
    attributions = attribution_rows(result.rows)
    channels = channel_rows(channel_mix(result))
    for start in range(0, len(recipients), batch_size):
        retry(runner.run, RECIPIENTS_QUERY, {"rows": recipients[start : start + batch_size]}, write=True)
    for start in range(0, len(channels), batch_size):
        retry(runner.run, CHANNELS_QUERY, {"rows": channels[start : start + batch_size]}, write=True)

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
        channel_attributions=len(channels),
    )


def clear_write_back(runner: CypherRunner, *, batch_size: int = 10_000, retry: Retry = _direct) -> None:
    """Remove every ATTRIBUTED_TO relationship, Channel node, ConvergencePoint label and recipient figure."""
    clears = ((CLEAR_ATTRIBUTIONS, "deleted"), (CLEAR_CHANNELS, "deleted"), (CLEAR_RECIPIENTS, "cleared"))
    for query, column in clears:
        while True:
            result = retry(runner.run, query, {"limit": batch_size}, write=True)
            if not result.rows or result.rows[0][column] == 0:
                break


def recipient_rows(table: pl.DataFrame) -> list[list[Any]]:
    """One row per recipient (its first currency in convergence order), as lists for RECIPIENTS_QUERY."""
    first = table.unique(subset="recipient_id", keep="first", maintain_order=True)
    is_point = table.group_by("recipient_id").agg(pl.col("is_convergence_point").any().alias("_any"))
    first = first.join(is_point, on="recipient_id", how="left", maintain_order="left")
    first = first.with_columns(
        pl.col("channels", "payer_channels").fill_null("").str.split(";").list.filter(pl.element() != "")
    )
    columns = ["recipient_id", "stovepipe_count", "total_in_minor", "currency", "hhi", "top_share",
               "top_stovepipe_id", "payer_count", "_any", "channel_count", "channels", "effective_channels",
               "effective_stovepipes", "below_min_share_minor", "top_channel", "top_channel_share",
               "payer_channels"]  # fmt: skip
    return [list(row) for row in first.select(columns).iter_rows()]


def channel_rows(mix: pl.DataFrame) -> list[list[Any]]:
    """Channel-mix rows as lists: recipient, channel, currency, amount_minor, share."""
    columns = ["recipient_id", "channel", "currency", "amount_minor", "share"]
    return [list(row) for row in mix.select(columns).iter_rows()]


def attribution_rows(rows: pl.DataFrame) -> list[list[Any]]:
    """Attribution rows as lists: recipient, stovepipe, currency, amount_minor, share."""
    columns = ["recipient_id", "stovepipe_id", "currency", "amount_minor", "share"]
    return [list(row) for row in rows.select(columns).iter_rows()]
