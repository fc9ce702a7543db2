"""The bulk first load: Neo4j's offline importer into graphflows' own local server.

For a first load into an empty database (or one the user asked to replace), the graph and its write-back
are written as import files (CSV with typed headers; nodes numbered 0, 1, 2 ... by graphflows, so the
importer maps no ids), and Neo4j's importer (``neo4j-admin database import full``, whose classes are on
the server's class path) builds a new store from them in a staging folder. graphflows' server runs the
importer in its own, already warm JVM (``graphflows.v1.importStore``) while its database keeps answering,
then swaps the new store in (its default database stops and starts; the JVM and its ports stay), and the
schema's constraints and indexes are created in one transaction. A server started by older code gets the
importer in a JVM of its own (``org.neo4j:neo4j-import-tool`` from Maven), then ``graphflows.v1.swapStore``
(or, older still, a restart). The result is the database the Bolt loader would have written (same labels,
properties and value types: tests compare full dumps), so later Bolt loads on top add nothing. The system
database (users and the generated password) is not touched.

>>> report = bulk_load(read_graph(["flows.csv"]), Path("~/.local/share/graphflows/neo4j"))  # doctest: +SKIP
>>> report.steps                                                                       # doctest: +SKIP
{'analysis': 3.1, 'import files': 1.4, 'import': 8.2, 'swap store': 0.2, 'schema': 1.4}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, CountBy
from graphflows.model import FLOW_COLUMNS, LABELS, Kind

from . import server
from .loader import LoadReport, WriteBackReport, flow_keys, has_procedure
from .runner import CypherError, Neo4jSettings, Neo4jUnavailable, connect, same_server, translate_errors
from .schema import (
    ATTRIBUTED_TO,
    ATTRIBUTED_TO_CHANNEL,
    CHANNEL_LABEL,
    CONVERGENCE_LABEL,
    ENTITY,
    FLOWS_TO,
    OTHER_STOVEPIPES,
    OTHER_STOVEPIPES_ID,
    SCHEMA_STATEMENTS,
)
from .writeback import OTHER_STOVEPIPES_NAME, recipient_table, split_attribution

if TYPE_CHECKING:
    from graphflows.graph import FlowGraph

IMPORTER_POM = server.SERVER_SOURCES / "importer.xml"
#: graphflows' own server swaps a staged store in without restarting (server/GraphflowsProcedures.java).
SWAP_PROCEDURE = "graphflows.v1.swapStore"
#: ... and runs the importer in its own JVM (its classes are loaded there), then swaps the store in.
IMPORT_PROCEDURE = "graphflows.v1.importStore"
#: The importer's arguments for :data:`IMPORT_PROCEDURE`, one a line, in the staging folder.
IMPORT_ARGUMENTS = "import.args"
#: JVM options of a separate importer JVM (servers started before :data:`IMPORT_PROCEDURE` existed): the
#: parallel collector took 10-20 % less CPU than G1 for the importer here (benchmarks/README.md).
IMPORTER_JVM_OPTIONS = (*(o for o in server.JVM_OPTIONS if o != "-XX:+UseG1GC"), "-XX:+UseParallelGC")
#: The folder (inside the server's data folder) where import files and the new store are made.
STAGE = "bulk-import"
#: Separates the values of list properties (and labels) in the import files: never in channel ids.
ARRAY_DELIMITER = ";"
#: Neo4j import header types for polars types (what the Bolt driver stores for the same Python values).
IMPORT_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "string",
    pl.Int8: "long",
    pl.Int16: "long",
    pl.Int32: "long",
    pl.Int64: "long",
    pl.UInt8: "long",
    pl.UInt16: "long",
    pl.UInt32: "long",
    pl.Float64: "double",
    pl.Boolean: "boolean",
    pl.Date: "date",
}
#: Columns of the recipients' figures that are lists (``string[]``).
LIST_COLUMNS = ("channels", "payer_channels")


class BulkUnsupported(server.Neo4jServerError):
    """This graph cannot go through the importer exactly (e.g. an extra column of an unsupported type)."""


@dataclass
class ImportFiles:
    """The import files of one load: node files, relationship files by type, and the files in which a text
    value holds a line break (the importer parses those as multi-line, which it cannot split over threads)."""

    nodes: list[Path] = field(default_factory=list)
    relationships: list[tuple[str, Path]] = field(default_factory=list)
    multiline: list[Path] = field(default_factory=list)


Progress = Callable[[str], None]


def bulk_load(
    graph: FlowGraph,
    data_dir: Path | None = None,
    *,
    write_back: bool = True,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = 2,
    progress: Progress | None = None,
) -> LoadReport:
    """Replace the database of the local server on ``data_dir`` with ``graph`` (and its analysis).

    The server must be running (it is restarted on the same ports). ``report.steps`` holds the seconds of
    each step: analysis, import files, import, restart, schema.
    """
    started = time.perf_counter()
    info = server.status(data_dir)
    if info is None:
        raise server.Neo4jServerError(
            "the bulk load needs graphflows' local server running (graphflows neo4j start)"
        )
    data_dir = Path(info.data_dir)
    report = LoadReport(nodes=graph.node_count, flows=graph.flow_count, totals=graph.totals())
    steps: dict[str, float] = {}
    stage = data_dir / STAGE
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "files").mkdir(parents=True, mode=0o700)
    auth = server.credentials(data_dir)
    user, password = auth if auth else (None, None)
    settings = Neo4jSettings(uri=info.bolt_uri, user=user, password=password)
    try:
        with _step(steps, "analysis", progress):
            tables = analysis_tables(graph, count_by, min_share, min_count) if write_back else None
        with _step(steps, "import files", progress):
            files = write_import_files(graph, stage / "files", tables, min_share=min_share)
        with connect(settings) as runner:
            in_server = has_procedure(runner, IMPORT_PROCEDURE) and not _has_line_break(files, stage)
            in_place = in_server or has_procedure(runner, SWAP_PROCEDURE)
            if in_server:
                with _step(steps, "import", progress):
                    start_import_in_place(runner, files, stage)
                    wait_for(stage, "import")
                with _step(steps, "swap store", progress):
                    wait_for(stage, "swap")
                    wait_until_answering(runner)
                with _step(steps, "schema", progress):
                    create_schema(runner)
        if not in_server:
            with _step(steps, "import", progress):
                run_importer(files, stage)
            with _step(steps, "swap store" if in_place else "restart", progress):
                if in_place:
                    with connect(settings) as runner:
                        swap_in_place(runner, stage)
                else:  # a server started with older code: stop it, swap the folders, start it again
                    info = server.restart(info, lambda: _swap_store(data_dir, stage))
            with _step(steps, "schema", progress), connect(settings) as runner:
                create_schema(runner)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if tables is not None:
        report.write_back = tables.report
    report.method = "bulk"
    report.seconds = time.perf_counter() - started
    report.steps = steps
    return report


@contextmanager
def _step(steps: dict[str, float], name: str, progress: Progress | None):  # type: ignore[no-untyped-def]
    if progress:
        progress(name)
    began = time.perf_counter()
    yield
    steps[name] = time.perf_counter() - began


@dataclass
class AnalysisTables:
    """The write-back as tables: recipients' figures, material attributions, remainders, channel mix."""

    recipients: pl.DataFrame
    attributions: pl.DataFrame
    remainders: pl.DataFrame
    channels: pl.DataFrame
    report: WriteBackReport


def analysis_tables(graph: FlowGraph, count_by: CountBy, min_share: float, min_count: int) -> AnalysisTables:
    """What :func:`graphflows.neo4j.write_attribution` writes, as tables (the same functions make both)."""
    from graphflows.analysis import attribute, channel_mix, convergence

    result = attribute(graph, by="origin")
    table = convergence(result, count_by=count_by, min_share=min_share, min_count=min_count)
    recipients = recipient_table(table)
    material, remainders = split_attribution(result.rows, min_share)
    channels = channel_mix(result)
    report = WriteBackReport(
        recipients=recipients.height,
        convergence_points=int(recipients["_any"].sum()),
        attributions=material.height,
        remainders=remainders.height,
        channel_attributions=channels.height,
    )
    return AnalysisTables(recipients, material, remainders, channels, report)


def write_import_files(
    graph: FlowGraph, folder: Path, tables: AnalysisTables | None, *, min_share: float = DEFAULT_MIN_SHARE
) -> ImportFiles:
    """Write the graph (and the write-back ``tables``) as the importer's CSV files into ``folder``.

    Nodes are numbered 0, 1, 2 ... in the files (``:ID``, imported with ``--id-type=actual``: the number is
    the node's record, so the importer maps no ids) and carry their text ``id`` as an ordinary property;
    relationships name their ends by those numbers.
    """
    files = ImportFiles()
    nodes = _node_table(graph.nodes, tables.recipients if tables is not None else None)
    entity = NodeNumbers(nodes.get_column("id"), first=0)
    files.nodes.append(_write(entity.numbered(nodes), folder / "nodes.csv", files))
    flows = _flow_table(graph.flows, entity)
    files.relationships.append((FLOWS_TO, _write(flows, folder / "flows.csv", files)))
    if tables is None:
        return files
    amount = _major("amount_minor").alias("amount")
    attributions = tables.attributions.select(
        entity.start("recipient_id"), entity.end("stovepipe_id"), "currency", "amount_minor", amount, "share"
    )
    files.relationships.append((ATTRIBUTED_TO, _write(attributions, folder / "attributed.csv", files)))
    channel_ids = tables.channels.get_column("channel").unique().sort()
    channels = NodeNumbers(channel_ids, first=entity.next)
    channel_nodes = pl.DataFrame({"id": channel_ids, ":LABEL": CHANNEL_LABEL})
    if channel_nodes.height:
        files.nodes.append(_write(channels.numbered(channel_nodes), folder / "channels.csv", files))
    mix = tables.channels.select(
        entity.start("recipient_id"), channels.end("channel"), "currency", "amount_minor", amount, "share"
    )
    files.relationships.append((ATTRIBUTED_TO_CHANNEL, _write(mix, folder / "channel_mix.csv", files)))
    if tables.remainders.height:
        other = NodeNumbers(pl.Series([OTHER_STOVEPIPES_ID]), first=channels.next)
        other_node = pl.DataFrame(
            {"id": [OTHER_STOVEPIPES_ID], "name": [OTHER_STOVEPIPES_NAME], ":LABEL": [OTHER_STOVEPIPES]}
        )
        files.nodes.append(_write(other.numbered(other_node), folder / "other_stovepipes.csv", files))
        rest = tables.remainders.select(
            entity.start("recipient_id"),
            pl.lit(other.first, dtype=pl.Int64).alias(":END_ID"),
            "currency",
            "amount_minor",
            amount,
            "share",
            "stovepipes",
            pl.lit(min_share, dtype=pl.Float64).alias("min_share"),
        )
        files.relationships.append((ATTRIBUTED_TO, _write(rest, folder / "remainders.csv", files)))
    return files


class NodeNumbers:
    """The numbers (``:ID``, from ``first`` on, in order) of the nodes with text ids ``ids``.

    >>> numbers = NodeNumbers(pl.Series(["a", "b"]), first=5)
    >>> pl.DataFrame({"x": ["b", "a"]}).select(numbers.start("x")).to_series().to_list(), numbers.next
    ([6, 5], 7)
    """

    def __init__(self, ids: pl.Series, *, first: int) -> None:
        self.ids = ids
        self.first = first
        self.numbers = pl.int_range(first, first + ids.len(), dtype=pl.Int64, eager=True)
        self.next = first + ids.len()

    def numbered(self, nodes: pl.DataFrame) -> pl.DataFrame:
        """``nodes`` (in the order of ``ids``) with their numbers as the first column."""
        return nodes.insert_column(0, self.numbers.alias(":ID"))

    def _number(self, column: str, name: str) -> pl.Expr:
        """Text ids to numbers; an id of no node fails (the importer would reject the relationship)."""
        return pl.col(column).replace_strict(self.ids, self.numbers, return_dtype=pl.Int64).alias(name)

    def start(self, column: str) -> pl.Expr:
        return self._number(column, ":START_ID")

    def end(self, column: str) -> pl.Expr:
        return self._number(column, ":END_ID")


def _node_table(nodes: pl.DataFrame, recipients: pl.DataFrame | None) -> pl.DataFrame:
    """Entity nodes: id, name, labels, extra columns and (for recipients) the write-back's figures."""
    label_of = {kind.value: LABELS[kind] for kind in Kind}
    labels = pl.concat_list(
        pl.lit([ENTITY]),
        pl.col("kinds").list.sort().list.eval(pl.element().replace_strict(label_of, return_dtype=pl.String)),
    )
    table = nodes.with_columns(labels.alias(":LABEL")).drop("kinds")
    if recipients is not None:
        figures = recipients.with_columns(_major("total_in_minor").alias("total_in")).rename(
            {"recipient_id": "id"}
        )
        table = table.join(figures, on="id", how="left", maintain_order="left", suffix="_wb")
        clash = [c for c in table.columns if c.endswith("_wb")]
        if clash:
            raise BulkUnsupported(f"node columns clash with the write-back's figures: {clash}")
        point = (
            pl.when(pl.col("_any").fill_null(False))
            .then(pl.lit([CONVERGENCE_LABEL]))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        )
        table = table.with_columns(pl.concat_list(":LABEL", point).alias(":LABEL")).drop("_any")
    return table


def _flow_table(flows: pl.DataFrame, entity: NodeNumbers) -> pl.DataFrame:
    """FLOWS_TO relationships: what the loader's queries store (amount = amount_minor / 100 as a float)."""
    keys = pl.Series("flow_id", flow_keys(flows), dtype=pl.String)
    extras = [c for c in flows.columns if c not in FLOW_COLUMNS]
    return flows.select(
        entity.start("payer_id"),
        entity.end("payee_id"),
        keys,
        "amount_minor",
        _major("amount_minor").alias("amount"),
        "currency",
        "date",
        "stream_id",
        "reference",
        "source",
        "line",
        *extras,
    )


def _major(column: str) -> pl.Expr:
    """Minor units as a float in major units, exactly as Cypher's ``toFloat(x) / 100.0`` computes it (a
    correctly rounded division: polars turns a division by a constant into a multiplication, which can
    differ in the last bit, so numpy divides)."""
    return pl.col(column).map_batches(
        lambda s: pl.Series(s.name, s.cast(pl.Float64).to_numpy() / 100.0).fill_nan(None),
        return_dtype=pl.Float64,
    )


def _write(table: pl.DataFrame, path: Path, files: ImportFiles) -> Path:
    """Write ``table`` as an import CSV: typed headers, lists joined, values quoted where needed."""
    header: dict[str, str] = {}
    columns: list[pl.Expr] = []
    for name, dtype in table.schema.items():
        if name.startswith(":"):  # node numbers, labels, start, end: as they are
            header[name] = name
            listed = isinstance(dtype, pl.List)
            columns.append(pl.col(name).list.join(ARRAY_DELIMITER) if listed else pl.col(name))
            continue
        if isinstance(dtype, pl.List) and dtype.inner == pl.String:
            values = table.get_column(name).explode().drop_nulls()
            if values.str.contains(ARRAY_DELIMITER, literal=True).any() or (values == "").any():
                raise BulkUnsupported(f"list column {name!r} holds {ARRAY_DELIMITER!r} or an empty text")
            empty = pl.col(name).list.len() == 0
            header[name] = f"{name}:string[]"
            columns.append(pl.when(~empty).then(pl.col(name).list.join(ARRAY_DELIMITER)))
            continue
        if dtype == pl.Float32:
            dtype = pl.Float64
        kind = IMPORT_TYPES.get(type(dtype))
        if kind is None:
            raise BulkUnsupported(f"column {name!r} has a type the bulk import does not carry: {dtype}")
        header[name] = f"{name}:{kind}"
        columns.append(pl.col(name).cast(dtype))
    out = table.select(columns).rename(header)
    text = [c for c, t in out.schema.items() if t == pl.String]
    if text and out.select(pl.any_horizontal(pl.col(text).str.contains("[\r\n]").any())).item():
        files.multiline.append(path)
    out.write_csv(path)
    return path


def importer_classpath(*, quiet: bool = True) -> list[str]:
    """The importer's jars (fetched by Maven into ~/.m2 the first time), listed in the runtime folder."""
    return server.maven_classpath(
        IMPORTER_POM, "importer", "fetching Neo4j's importer with Maven failed", quiet=quiet
    )


def importer_arguments(files: ImportFiles, stage: Path) -> list[str]:
    """``database import full`` and its options for ``files``: nodes numbered by graphflows
    (``--id-type=actual``), strict about bad rows, 2 GB off-heap at most. Writes the importer's home (a
    ``conf/neo4j.conf`` that puts the new store under ``stage/data``) into ``stage/home``."""
    conf = stage / "home" / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "neo4j.conf").write_text(
        f"server.directories.data={stage / 'data'}\nserver.directories.logs={stage / 'logs'}\n"
        "dbms.usage_report.enabled=false\n"
    )
    return [
        "database", "import", "full",
        *(f"--nodes={path}" for path in files.nodes),
        *(f"--relationships={kind}={path}" for kind, path in files.relationships),
        f"--array-delimiter={ARRAY_DELIMITER}", "--id-type=actual",
        *_multiline_options(files.multiline),
        "--bad-tolerance=0", "--skip-bad-relationships=false", "--skip-duplicate-nodes=false",
        f"--threads={max(1, os.cpu_count() or 1)}", "--max-off-heap-memory=2g",
        f"--report-file={stage / 'import.report'}", "neo4j",
    ]  # fmt: skip


def run_importer(files: ImportFiles, stage: Path, *, heap: str = "1g") -> None:
    """Build a new ``neo4j`` store from ``files`` under ``stage/data`` in a JVM of its own (offline)."""
    arguments = importer_arguments(files, stage)
    home = stage / "home"
    jars = importer_classpath()
    java = shutil.which("java")
    assert java is not None  # checked by importer_classpath
    command = [
        java, f"-Xmx{heap}", *IMPORTER_JVM_OPTIONS, "-cp", os.pathsep.join(jars), "org.neo4j.cli.AdminTool",
        *arguments,
    ]  # fmt: skip
    env = os.environ | {"NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    result = subprocess.run(command, capture_output=True, text=True, cwd=stage, env=env, check=False)
    if result.returncode != 0 or "IMPORT DONE" not in result.stdout + result.stderr:
        detail = _importer_failure(result.stdout + result.stderr) or f"exit status {result.returncode}"
        raise server.Neo4jServerError(f"Neo4j's importer failed: {detail[:400]}")


def _importer_failure(output: str) -> str:
    """The line of the importer's output that says what went wrong (else its last line)."""
    lines = [line for line in output.splitlines() if line.strip()]
    causes = [line for line in lines if "Exception" in line or "ERROR" in line or "rror:" in line]
    return (causes or lines[-3:] or [""])[-1].strip()


def _has_line_break(files: ImportFiles, stage: Path) -> bool:
    """Whether an importer argument holds a line break (:data:`IMPORT_ARGUMENTS` could not carry it)."""
    return any("\n" in a or "\r" in a for a in importer_arguments(files, stage))


def start_import_in_place(runner: Any, files: ImportFiles, stage: Path) -> None:
    """Ask graphflows' server to import ``files`` in its own JVM and then swap the new store in
    (:data:`IMPORT_PROCEDURE`); follow it with :func:`wait_for`."""
    arguments = importer_arguments(files, stage)
    (stage / IMPORT_ARGUMENTS).write_text("".join(f"{a}\n" for a in arguments), encoding="utf-8")
    runner.run(f"CALL {IMPORT_PROCEDURE}() YIELD stage RETURN stage", write=True)


def wait_for(stage: Path, step: str, *, timeout: float = 3600.0) -> None:
    """Wait until the server wrote ``stage/<step>.done``; raise with its reason on ``<step>.failed``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = stage / f"{step}.failed"
        if failed.exists():
            reason = failed.read_text(errors="replace").strip()
            if step == "import":
                output = stage / "import.out"
                detail = _importer_failure(output.read_text(errors="replace")) if output.exists() else ""
                raise server.Neo4jServerError(f"Neo4j's importer failed: {(detail or reason)[:400]}")
            raise server.Neo4jServerError(f"swapping in the imported store failed: {reason[:400]}")
        if (stage / f"{step}.done").exists():
            return
        time.sleep(0.05)
    raise server.Neo4jServerError(f"the server did not finish the {step} within {timeout:.0f} s")


def swap_in_place(runner: Any, stage: Path, *, timeout: float = 600.0) -> None:
    """Ask graphflows' server to swap in the staged store (:data:`SWAP_PROCEDURE`), and wait until it has
    and the database answers again."""
    runner.run(f"CALL {SWAP_PROCEDURE}() YIELD stage RETURN stage", write=True)
    wait_for(stage, "swap", timeout=timeout)
    wait_until_answering(runner, timeout=timeout)


def wait_until_answering(runner: Any, *, timeout: float = 600.0) -> None:
    """Wait until the (restarted) database answers a query."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            runner.run("RETURN 1 AS ok")
            return
        except (Neo4jUnavailable, CypherError):  # the database is still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _multiline_options(paths: list[Path]) -> list[str]:
    """``--multiline-fields``: off, or only for the files that need it (all, if a path holds a comma); a list
    of files needs the importer's v2 multi-line format."""
    if not paths:
        return ["--multiline-fields=false"]
    if any("," in str(path) for path in paths):
        return ["--multiline-fields=true"]
    return [f"--multiline-fields={','.join(map(str, paths))}", "--multiline-fields-format=v2"]


def _swap_store(data_dir: Path, stage: Path) -> None:
    """With the server stopped: put the new ``neo4j`` store and its transaction logs in place."""
    for part in ("databases", "transactions"):
        target = data_dir / "data" / part / "neo4j"
        old = stage / "old" / part
        old.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.rename(old)
        (stage / "data" / part / "neo4j").rename(target)


def create_schema(runner: Any) -> None:
    """The schema's constraints and indexes on the freshly imported store (none exist yet), in one
    transaction, so the indexes are populated together; then wait until they are online."""
    with translate_errors(runner.settings), runner.session() as session, session.begin_transaction() as tx:
        for statement in SCHEMA_STATEMENTS:
            tx.run(statement).consume()
        tx.commit()
    runner.run("CALL db.awaitIndexes(300)")


def database_is_empty(runner: Any) -> bool:
    """Whether the database holds no node at all."""
    return not runner.run("MATCH (n) RETURN count(n) > 0 AS any LIMIT 1").rows[0]["any"]


#: ``graphflows load --method auto`` uses the importer from this many flows on: below, stopping and starting
#: the server costs more than the Bolt loader takes (see benchmarks/README.md).
BULK_MIN_FLOWS = 100_000


@dataclass(frozen=True)
class Method:
    """How a load goes in: ``bulk`` (the importer) or ``bolt`` (the idempotent loader), and why."""

    name: str
    reason: str
    data_dir: Path | None = None


def choose_method(
    settings: Neo4jSettings, runner: Any, flows: int, *, requested: str = "auto", replace: bool = False
) -> Method:
    """Pick the load method (``requested``: auto, bulk or bolt); raises when ``bulk`` cannot be had.

    Bulk needs graphflows' own local server (found by itself or named by its URI), its default database,
    and an empty database unless ``replace``. ``auto`` also wants at least :data:`BULK_MIN_FLOWS` flows.
    """
    emptied = "; --replace empties the database first" if replace else ""
    if requested == "bolt":
        return Method("bolt", f"asked for with --method bolt{emptied}")
    local = server.status()
    if local is None or not same_server(settings.uri, local.bolt_uri):
        why = "not graphflows' own local server, so the importer cannot reach its data folder"
        if requested == "bulk":
            raise server.Neo4jServerError(f"the bulk import cannot load into {settings.uri}: {why}")
        return Method("bolt", f"{why}{emptied}")
    if settings.database not in (None, "neo4j"):
        why = f"database {settings.database!r} is not the local server's default database (neo4j)"
        if requested == "bulk":
            raise server.Neo4jServerError(f"the bulk import cannot load into {why}")
        return Method("bolt", f"{why}{emptied}")
    empty = database_is_empty(runner)
    if not empty and not replace:
        if requested == "bulk":
            raise server.Neo4jServerError(
                "the database already holds data: the bulk import would replace it all (add --replace), "
                "or load on top with --method bolt"
            )
        return Method("bolt", "the database already holds data; loading again only adds what is new")
    data_dir = Path(local.data_dir)
    state = "asked to replace the database" if replace and not empty else "the database is empty"
    if requested == "bulk":
        return Method("bulk", f"asked for with --method bulk; {state}", data_dir)
    if flows < BULK_MIN_FLOWS and not replace:
        return Method(
            "bolt", f"{state}, but {flows:,} flows load faster over Bolt than a server restart takes"
        )
    return Method("bulk", f"{state} on graphflows' local server", data_dir)
