"""Load a funding graph into Neo4j: batched, idempotent, retried, and reconciled to the penny.

Nodes are MERGEd on ``id`` (label ``Entity`` plus their kind labels); each flow becomes one ``FLOWS_TO``
relationship MERGEd on ``flow_id``, a digest of the flow's content and provenance, so loading the same data
again adds nothing and a load interrupted midway finishes cleanly when simply run again. The MERGE looks
for the flow among the relationships between its two nodes (found by their unique ``id``), so no
relationship index is needed. Into a database with no flows yet, batches are CREATEd (faster); a batch
retried after a lost connection is MERGEd, since it may have been committed. Flows travel as batches of
columns (a map of equal-length lists: far less work for the client than a list per row), nodes as lists in
``UNWIND $rows``; values are always parameters, never spliced into the query text.

Into a database with no flows, two batches are in flight at once (``workers``): each Bolt transaction runs
on one server thread, so two keep both cores of a small machine busy (MERGE batches go one at a time). On
graphflows' own local server a first load CREATEs through the ``graphflows.v2.createFlows`` procedure
(``server/GraphflowsProcedures.java``) instead of Cypher; any other Neo4j gets the same relationships from
the portable Cypher query (tests compare the two, and the MERGE).

>>> from graphflows.graph import read_graph                        # doctest: +SKIP
>>> with connect() as runner:                                      # doctest: +SKIP
...     report = load_graph(runner, read_graph(["flows.csv"]))
>>> report.flows, report.totals                                    # doctest: +SKIP
(47, {'GBP': 1932000000})
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any

import polars as pl

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, CountBy
from graphflows.graph import FlowGraph
from graphflows.model import FLOW_COLUMNS, LABELS, GraphflowsError, Kind

from .parallel import LoadStopped, create_then_merge, in_parallel
from .runner import CypherError, CypherRunner, Neo4jError, Neo4jUnavailable, QueryResult
from .schema import ENTITY, FLOWS_TO, apply_schema

#: Called after each batch with (rows done, rows in total, what is being loaded).
Progress = Callable[[int, int, str], None]

DEFAULT_BATCH_SIZE = 10_000
#: Flow batches in flight at once (one server thread each).
DEFAULT_WORKERS = 2
#: Pauses (seconds) before each retry of a batch when Neo4j is unavailable: about two minutes in all.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 30, 60)
#: The flow columns that make up a flow's identity (with the file's name, not its folder).
FLOW_KEY_COLUMNS = (
    "payer_id",
    "payee_id",
    "amount_minor",
    "currency",
    "date",
    "stream_id",
    "reference",
    "line",
)
#: Flow columns sent to Neo4j, in this order after payer, payee and flow_id.
FLOW_PROPERTIES = ("amount_minor", "currency", "date", "stream_id", "reference", "source", "line")
#: The columns of a flow batch (``$batch``): lists of equal length; ``date`` is ISO text or null. A batch
#: of flows with extra input columns also has ``extras``: one map per flow (its non-null extra values).
FLOW_BATCH_COLUMNS = ("payer", "payee", "flow_id", *FLOW_PROPERTIES)
EXTRAS_COLUMN = "extras"

FLOWS_QUERY = f"""
UNWIND range(0, size($batch.flow_id) - 1) AS i
MATCH (payer:{ENTITY} {{id: $batch.payer[i]}})
MATCH (payee:{ENTITY} {{id: $batch.payee[i]}})
MERGE (payer)-[f:{FLOWS_TO} {{flow_id: $batch.flow_id[i]}}]->(payee)
ON CREATE SET f.amount_minor = $batch.amount_minor[i], f.amount = toFloat($batch.amount_minor[i]) / 100.0,
              f.currency = $batch.currency[i], f.date = date($batch.date[i]),
              f.stream_id = $batch.stream_id[i], f.reference = $batch.reference[i],
              f.source = $batch.source[i], f.line = $batch.line[i]
SET f += coalesce($batch.extras[i], {{}})
RETURN count(*) AS flows
"""
#: The same, for a database that had no flows when the load started (keys are unique within a load).
CREATE_FLOWS_QUERY = FLOWS_QUERY.replace("MERGE (payer)", "CREATE (payer)").replace("ON CREATE SET", "SET")
#: What CREATE_FLOWS_QUERY does, as one procedure call on graphflows' own server (same relationships for
#: the batches :func:`flow_batch` makes). The version in the name changes whenever what it stores changes,
#: so a server still running older code is not used.
CREATE_FLOWS_PROCEDURE = "graphflows.v2.createFlows"
CREATE_FLOWS_CALL = f"CALL {CREATE_FLOWS_PROCEDURE}($batch) YIELD flows RETURN flows"
HAS_PROCEDURE_QUERY = "SHOW PROCEDURES YIELD name WHERE name = $name RETURN count(*) > 0 AS found"
HAS_FLOWS_QUERY = f"MATCH ()-[f:{FLOWS_TO}]->() RETURN count(f) > 0 AS any LIMIT 1"
#: The flows already in the database, grouped by the file they came from (checked before a load).
STORED_FLOWS_QUERY = (
    f"MATCH ()-[f:{FLOWS_TO}]->() RETURN f.source AS source, collect(f.flow_id) AS flow_ids ORDER BY source"
)
#: How many of the load's node ids the database already holds (asked once the schema's index is there).
HELD_NODES_QUERY = f"MATCH (n:{ENTITY}) WHERE n.id IN $ids RETURN count(n) AS held"
#: One batch of :func:`empty_database` (relationships first, then nodes; constraints and indexes stay).
EMPTY_QUERIES = (
    "MATCH ()-[x]->() WITH x LIMIT $limit DELETE x RETURN count(*) AS deleted",
    "MATCH (x) WITH x LIMIT $limit DELETE x RETURN count(*) AS deleted",
)
#: The money the database holds, by currency (printed after a load, to check totals to the penny).
DATABASE_TOTALS_QUERY = (
    f"MATCH ()-[f:{FLOWS_TO}]->() RETURN f.currency AS currency, sum(f.amount_minor) AS total "
    "ORDER BY currency"
)


class OtherFlowsInDatabase(GraphflowsError):
    """The database holds flows this load does not contain: its write-back would leave them out."""


@dataclass
class LoadReport:
    """What a load did: counts in the input, batches sent, retries needed, and the input's totals.

    ``already``: the input's flows the database held before the load (loading them again adds nothing);
    ``nodes_already``: the same for its nodes (their ``id``).
    """

    nodes: int = 0
    flows: int = 0
    already: int = 0
    nodes_already: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)
    write_back: WriteBackReport | None = None
    #: ``bolt`` (this loader) or ``bulk`` (the importer: :mod:`.bulk`), and the seconds of each step.
    method: str = "bolt"
    steps: dict[str, float] = field(default_factory=dict)


@dataclass
class WriteBackReport:
    """What the write-back wrote: recipients annotated, convergence points, ATTRIBUTED_TO relationships."""

    recipients: int = 0
    convergence_points: int = 0
    attributions: int = 0
    remainders: int = 0
    channel_attributions: int = 0


def nodes_query(labels: Sequence[str], *, extras: bool) -> str:
    """The node batch query for one combination of kind labels (labels come from a fixed list only)."""
    unknown = [label for label in labels if label not in LABELS.values()]
    if unknown:
        raise ValueError(f"not a graphflows label: {unknown}")
    set_labels = "".join(f":{label}" for label in labels)
    lines = ["UNWIND $rows AS row", f"MERGE (n:{ENTITY} {{id: row[0]}})", "SET n.name = row[1]"]
    if set_labels:
        lines.append(f"SET n{set_labels}")
    if extras:
        lines.append("SET n += row[2]")
    return "\n".join(lines)


def flow_key(row: dict[str, Any]) -> str:
    """A flow's identity: a digest of its content and its file's *name* and line (stable across runs).

    >>> flow = {"payer_id": "A", "payee_id": "B", "amount_minor": 100, "currency": "GBP", "line": "2",
    ...         "source": "/data/x.csv"}
    >>> key = flow_key(flow)
    >>> key == flow_key(flow | {"source": "copy/x.csv"}), key == flow_key(flow | {"line": "3"})
    (True, False)
    """
    parts = [str(PurePath(row.get("source") or "").name)]
    parts += ["" if row.get(name) is None else str(row[name]) for name in FLOW_KEY_COLUMNS]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def flow_keys(flows: pl.DataFrame) -> list[str]:
    """:func:`flow_key` for every row of a flow table (same order), made unique within the table.

    Two flows with the same content, file name and line (the same file loaded from two folders) get
    ``#2``, ``#3``... on the repeats, so every input flow stays one relationship.
    """
    sources = flows.get_column("source")
    file_names = {path: PurePath(path).name for path in sources.drop_nulls().unique().to_list()}
    names = sources.replace_strict(file_names, default="", return_dtype=pl.String)
    cols = [names, *(flows.get_column(c).cast(pl.String) for c in FLOW_KEY_COLUMNS)]
    joined = pl.DataFrame({str(i): c.fill_null("") for i, c in enumerate(cols)}).select(
        pl.concat_str(pl.all(), separator="\x1f")
    )
    blake = hashlib.blake2b
    keys = [blake(text.encode(), digest_size=12).hexdigest() for text in joined.to_series()]
    if len(set(keys)) != len(keys):
        seen: dict[str, int] = {}
        for i, key in enumerate(keys):
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                keys[i] = f"{key}#{seen[key]}"
    return keys


def load_graph(
    runner: CypherRunner,
    graph: FlowGraph,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    write_back: bool = True,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = 2,
    min_stovepipes: int | None = None,
    schema: bool = True,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    workers: int = DEFAULT_WORKERS,
    procedure: bool | None = None,
    replace: bool = False,
) -> LoadReport:
    """Load ``graph`` (nodes, then flows), then write its analysis back (see :mod:`.writeback`).

    The analysis written back covers ``graph`` only, so a database that already holds flows this load
    does not contain (another file, another year) is refused with :class:`OtherFlowsInDatabase` before
    anything is written; loading the same files again adds nothing. ``replace``: empty the database
    first (every node and relationship; constraints and indexes stay).

    ``progress(done, total, what)`` is called after each batch (``what``: nodes, flows, analysis).
    ``workers``: flow batches CREATEd at once into a database with no flows (``runner`` is then called from
    that many threads); MERGE batches go one at a time.
    ``count_by``, ``min_share``, ``min_count`` (older name ``min_stovepipes``): the convergence points
    labelled in the write-back (see :func:`graphflows.analysis.convergence`).
    ``procedure``: CREATE a first load through :data:`CREATE_FLOWS_PROCEDURE` (None: when the server has
    it; False: always portable Cypher).
    """
    started = time.perf_counter()
    report = LoadReport(nodes=graph.node_count, flows=graph.flow_count, totals=graph.totals())
    send = _Sender(runner, retry_delays, report)
    keys = flow_keys(graph.flows)
    if replace:
        send.call(empty_database, runner, batch_size=batch_size)
    else:
        loading = graph.flows["source"].unique().to_list()
        report.already = send.call(check_no_other_flows, runner, keys, loading)
    if schema:
        send.call(apply_schema, runner)
    if not replace:
        report.nodes_already = send.call(held_nodes, runner, graph.nodes["id"].to_list())
    _load_nodes(send, graph.nodes, batch_size, progress)
    fresh = not send.call(runner.run, HAS_FLOWS_QUERY).rows[0]["any"]
    create = None  # a database that already holds flows: MERGE every batch
    if fresh:
        if procedure is None:
            procedure = send.call(has_procedure, runner, CREATE_FLOWS_PROCEDURE)
        create = CREATE_FLOWS_CALL if procedure else CREATE_FLOWS_QUERY
    _load_flows(send, graph.flows, keys, batch_size, progress, create=create, workers=workers)
    if write_back:
        from graphflows.analysis import attribute

        from .writeback import write_attribution

        if progress:
            progress(0, 1, "analysis")
        report.write_back = write_attribution(
            runner,
            attribute(graph, by="origin"),
            count_by=count_by,
            min_share=min_share,
            min_count=min_stovepipes if min_stovepipes is not None else min_count,
            batch_size=batch_size,
            retry=send.call,
            workers=workers,
            stop=send.stop,
        )
        if progress:
            progress(1, 1, "analysis")
    report.seconds = time.perf_counter() - started
    return report


def check_no_other_flows(runner: CypherRunner, keys: Sequence[str], loading: Iterable[str] = ()) -> int:
    """Refuse (:class:`OtherFlowsInDatabase`) when the database holds flows whose ids are not in ``keys``;
    else return how many of ``keys`` it already holds.

    The message names the files those flows came from (a zip's members by the zip) and what to do instead;
    when some of them are among the files of this load (``loading``: its flows' sources), it also says why
    their flows can differ: organisations matched by name get ids that depend on the files read with them.
    """
    wanted = set(keys)
    others: dict[str, int] = {}
    held = 0
    for row in runner.run(STORED_FLOWS_QUERY).rows:
        missing = sum(1 for flow_id in row["flow_ids"] if flow_id not in wanted)
        held += len(row["flow_ids"]) - missing
        if missing:
            name = _file_name(row["source"])
            others[name] = others.get(name, 0) + missing
    if not others:
        return held
    shown = sorted(others.items(), key=lambda item: (-item[1], item[0]))
    files = ", ".join(f"{name} ({count:,} flows)" for name, count in shown[:5])
    if len(shown) > 5:
        files += f" and {len(shown) - 5:,} more files"
    loaded_again = sorted(set(others) & {_file_name(source) for source in loading})
    why = ""
    if loaded_again:
        why = (
            f" ({', '.join(loaded_again)} {'is' if len(loaded_again) == 1 else 'are'} in this load too, but "
            "read with other files: an organisation matched by name gets an id that depends on the other "
            "files loaded with it (one file's 'X LLP' is the 'X' of another only when both are read), so "
            "some of its flows have other ids now)"
        )
    raise OtherFlowsInDatabase(
        f"the database already holds {sum(others.values()):,} flows that this load does not contain, from "
        f"{files}{why}; the analysis written back covers the files of one load only, so nothing was loaded: "
        "load every file together in one `graphflows load` (the same set of files as before), or add "
        "--replace (replace=True from Python) to empty the database first"
    )


def held_nodes(runner: CypherRunner, ids: list[str]) -> int:
    """How many of the node ``ids`` the database already holds (``Entity`` nodes with that ``id``)."""
    rows = runner.run(HELD_NODES_QUERY, {"ids": ids}).rows
    return int(rows[0]["held"]) if rows else 0


def _file_name(source: str | None) -> str:
    """A flow's source as the refusal names it: the file's name, a zip member's by its zip."""
    return PurePath(source.split("!")[0]).name if source else "(no source)"


def empty_database(runner: CypherRunner, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    """Delete every relationship, then every node, in batches (constraints and indexes stay)."""
    for query in EMPTY_QUERIES:
        while runner.run(query, {"limit": batch_size}, write=True).rows[0]["deleted"]:
            pass


def has_procedure(runner: CypherRunner, name: str) -> bool:
    """Whether the server has the procedure ``name`` (False where SHOW PROCEDURES is not allowed)."""
    try:
        found = runner.run(HAS_PROCEDURE_QUERY, {"name": name}).rows
    except CypherError:
        return False
    return bool(found and found[0]["found"])


def node_batches(nodes: pl.DataFrame, batch_size: int) -> Iterator[tuple[str, list[list[Any]]]]:
    """(query, rows) batches for the node table: one query per combination of kinds."""
    extra_columns = [c for c in nodes.columns if c not in ("id", "name", "kinds")]
    grouped = nodes.with_columns(pl.col("kinds").list.sort().list.join(",").alias("_kinds"))
    for (kinds_text,), group in grouped.group_by("_kinds", maintain_order=True):
        labels = [LABELS[Kind(k)] for k in str(kinds_text).split(",") if k]
        query = nodes_query(labels, extras=bool(extra_columns))
        for start in range(0, group.height, batch_size):
            chunk = group.slice(start, batch_size)
            ids, names = chunk.get_column("id").to_list(), chunk.get_column("name").to_list()
            if extra_columns:
                props = [
                    {k: v for k, v in row.items() if v is not None}
                    for row in chunk.select(extra_columns).iter_rows(named=True)
                ]
                yield query, [list(r) for r in zip(ids, names, props, strict=True)]
            else:
                yield query, [list(r) for r in zip(ids, names, strict=True)]


def flow_batch(flows: pl.DataFrame, keys: list[str] | None = None) -> dict[str, list[Any]]:
    """A flow table as one ``$batch``: :data:`FLOW_BATCH_COLUMNS`, each a list (dates as ISO text), plus
    ``extras`` (a map per flow) when the table has columns beyond :data:`FLOW_COLUMNS`.

    >>> import datetime
    >>> table = pl.DataFrame({"payer_id": ["A"], "payee_id": ["B"], "amount_minor": [12345],
    ...     "currency": ["GBP"], "date": [datetime.date(2024, 4, 1)], "stream_id": [None],
    ...     "reference": ["r1"], "source": ["x.csv"], "line": ["2"]})
    >>> batch = flow_batch(table, ["k1"])
    >>> batch["flow_id"], batch["amount_minor"], batch["date"], batch["stream_id"]
    (['k1'], [12345], ['2024-04-01'], [None])
    """
    keys = flow_keys(flows) if keys is None else keys
    table = flows.select(
        pl.col("payer_id").alias("payer"),
        pl.col("payee_id").alias("payee"),
        pl.Series("flow_id", keys, dtype=pl.String),
        *(pl.col(name).cast(pl.String) if name == "date" else pl.col(name) for name in FLOW_PROPERTIES),
    )
    batch = {name: table.get_column(name).to_list() for name in FLOW_BATCH_COLUMNS}
    extra_columns = [c for c in flows.columns if c not in FLOW_COLUMNS]
    if extra_columns:
        batch[EXTRAS_COLUMN] = [
            {k: v for k, v in row.items() if v is not None}
            for row in flows.select(extra_columns).iter_rows(named=True)
        ]
    return batch


def flow_batch_of_one(payer: str, payee: str) -> dict[str, list[Any]]:
    """A one-flow ``$batch`` (with ``extras``) between two node ids: for warming a server up."""
    return {
        "payer": [payer], "payee": [payee], "flow_id": [f"{payer}>{payee}"], "amount_minor": [100],
        "currency": ["GBP"], "date": ["2024-04-01"], "stream_id": [None], "reference": ["r"], "source": ["x"],
        "line": ["2"], EXTRAS_COLUMN: [{"expense_type": "warm-up"}],
    }  # fmt: skip


def _load_nodes(send: _Sender, nodes: pl.DataFrame, batch_size: int, progress: Progress | None) -> None:
    done = 0
    for query, rows in node_batches(nodes, batch_size):
        send.batch(query, {"rows": rows})
        done += len(rows)
        if progress:
            progress(done, nodes.height, "nodes")


def _load_flows(
    send: _Sender,
    flows: pl.DataFrame,
    keys: list[str],
    batch_size: int,
    progress: Progress | None,
    *,
    create: str | None,
    workers: int,
) -> None:
    """Send the flows in batches, ``workers`` at a time; ``create``: the query for a fresh database.

    Extra input columns travel in the same batch (``extras``), set as each flow is created or merged (a
    separate pass that found each flow again was O(flows x flows between the same two nodes): 18 s of a
    9,411-flow load where three payers pay the same trusts thousands of times).
    """

    def load_batch(start: int) -> int:
        chunk = flows.slice(start, batch_size)
        batch = flow_batch(chunk, keys[start : start + batch_size])
        result = send.batch(create or FLOWS_QUERY, {"batch": batch}, retry_query=FLOWS_QUERY)
        written = result.rows[0]["flows"] if result.rows else None
        if written != chunk.height:
            raise Neo4jError(
                f"Neo4j took {written} of the {chunk.height} flows of a batch: a payer or payee node is "
                "missing (was the database changed during the load?)"
            )
        return chunk.height

    done = 0
    batches = range(0, flows.height, batch_size)
    # MERGE locks both nodes of every flow it looks at: two MERGE batches wait on (and can deadlock over)
    # the same busy payers, which was slower than one at a time (measured), so only CREATE runs in parallel.
    parallel = max(1, workers) if create else 1
    for loaded in in_parallel(load_batch, batches, parallel, send.stop):
        done += loaded
        if progress:
            progress(done, flows.height, "flows")


class _Sender:
    """Send batches, retrying with backoff while Neo4j is unavailable (restarting, network blip).

    Shared by the loading threads, so the runner must be safe to call from several threads at once
    (:class:`BoltRunner` is: it opens a session per query). ``stop`` ends every thread's retrying.
    """

    def __init__(self, runner: CypherRunner, delays: Sequence[float], report: LoadReport):
        self.runner, self.delays, self.report = runner, tuple(delays), report
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def batch(self, query: str, parameters: dict[str, Any], retry_query: str | None = None) -> QueryResult:
        """Send one batch; a retry sends ``retry_query`` (idempotent) as the first try may have committed."""
        run = partial(self.runner.run, parameters=parameters, write=True)
        result = self.call(create_then_merge(run, query, retry_query or query))
        with self._lock:
            self.report.batches += 1
        return result

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for delay in (*self.delays, None):
            if self.stop.is_set():
                raise LoadStopped("stopped: another batch failed")
            try:
                return fn(*args, **kwargs)
            except Neo4jUnavailable:
                if delay is None:
                    raise
                with self._lock:
                    self.report.retries += 1
                if self.stop.wait(delay):
                    raise LoadStopped("stopped: another batch failed") from None
        raise AssertionError("unreachable")
