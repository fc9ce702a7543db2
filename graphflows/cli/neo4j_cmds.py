"""Neo4j commands: ``neo4j start|stop|status|env``, ``load``, ``query`` (the Cypher library) and ``cypher``.

Connection (:meth:`graphflows.neo4j.Neo4jSettings.resolve`): ``--neo4j-uri``, else ``NEO4J_URI``, else the
local server started by ``graphflows neo4j start`` (default data folder) with its generated credentials;
``NEO4J_USER`` and ``NEO4J_PASSWORD`` from the environment. The password is printed only by ``neo4j env``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from graphflows.analysis.convergence import CountBy
from graphflows.cli.analyse import convergence_options
from graphflows.cli.display import SafeConsole, console, money_totals, print_notes, reading_line, steps
from graphflows.cli.inputs import input_options, raw_csv_option, read_input_graph
from graphflows.model import GraphflowsError
from graphflows.outputs import OutputFiles, neutralise, rows_frame, write_csv

if TYPE_CHECKING:
    from graphflows.neo4j.loader import LoadReport

err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def register(group: click.Group) -> None:
    group.add_command(neo4j_group)
    group.add_command(load)
    group.add_command(query)
    group.add_command(cypher)


def neo4j_uri_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--neo4j-uri`` (default: NEO4J_URI, else the running local server)."""
    return click.option(
        "--neo4j-uri",
        "neo4j_uri",
        metavar="URI",
        default=None,
        help="Bolt URI of the server (default: $NEO4J_URI, else the local server from "
        "`graphflows neo4j start`). User and password come from $NEO4J_USER and $NEO4J_PASSWORD, "
        "else from the local server's data folder.",
    )(command)


def param_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="A query parameter (repeat for several).",
    )(command)


def csv_option(command: Callable[..., Any]) -> Callable[..., Any]:
    command = raw_csv_option(command)
    return click.option(
        "--csv",
        "csv_path",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        default=None,
        help="Write the rows to this CSV file ('-' for stdout) instead of printing a table (exact values: "
        "money in minor units, as the *_minor column names say; shares as fractions in full precision).",
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json",
        "json_path",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        default=None,
        help="Write the rows as JSON to this file ('-' for stdout) instead of printing a table "
        "(exact values, like --csv).",
    )(command)


# ---------------------------------------------------------------- neo4j start / stop / status


@click.group("neo4j", short_help="Start, stop or check a local Neo4j server (needs JDK 17 and Maven).")
def neo4j_group() -> None:
    """Run a local Neo4j Community 5.26 server (fetched from Maven Central; needs JDK 17 and Maven)."""


def data_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder for the database and its logs (default: $GRAPHFLOWS_NEO4J_DATA or "
        "~/.local/share/graphflows/neo4j).",
    )(command)


@neo4j_group.command("start")
@data_option
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Bolt port (default: the last start's when free, else a free one).",
)
@click.option("--browser/--no-browser", default=True, show_default=True, help="Also serve Neo4j Browser.")
@click.option("--heap", default="1g", show_default=True, help="JVM heap size.")
@click.option("--pagecache", default="256m", show_default=True, help="Neo4j page cache size.")
@click.option(
    "--gds",
    is_flag=True,
    help="With Neo4j Graph Data Science, Community edition (GPLv3; fetched with Maven on first use).",
)
def neo4j_start(
    data_dir: Path | None, port: int | None, browser: bool, heap: str, pagecache: str, gds: bool
) -> None:
    """Start the server in the background; the last line printed is its Bolt URI.

    Listens on 127.0.0.1 only, with authentication on: user neo4j and a generated password kept in the
    data folder (readable by you only). graphflows commands, the Python API and the notebooks use it by
    themselves; `graphflows neo4j env` prints it for other tools. LOAD CSV from files is off.
    """
    from graphflows.neo4j import server

    try:
        with steps("Starting Neo4j (the first start downloads it with Maven)"):
            info = server.start(data_dir, port=port, browser=browser, heap=heap, pagecache=pagecache, gds=gds)
    except server.AlreadyRunning as exc:
        err_console.print(
            f"Neo4j is already running on {exc.info.data_dir} (pid {exc.info.pid}).", markup=False
        )
        info = exc.info
    else:
        err_console.print(f"Neo4j started (pid {info.pid}, data in {info.data_dir}).", markup=False)
    if info.browser_url:
        err_console.print(f"Neo4j Browser: {browser_link(info.browser_url, info.bolt_uri)}", markup=False)
    err_console.print(
        'graphflows finds it by itself. Other tools: eval "$(graphflows neo4j env)" '
        "(sets NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD).   Stop it: graphflows neo4j stop",
        markup=False,
    )
    click.echo(info.bolt_uri)


def browser_link(browser_url: str, bolt_uri: str, user: str = "neo4j") -> str:
    """The Browser URL preset to connect to ``bolt_uri`` as ``user`` (the password is typed in: the
    Browser takes none in its URL, and graphflows never prints it outside `neo4j env`)."""
    scheme, _, address = bolt_uri.partition("://")
    return f"{browser_url}?dbms={scheme}://{user}@{address}&preselectAuthMethod=NATIVE"


@neo4j_group.command("stop")
@data_option
def neo4j_stop(data_dir: Path | None) -> None:
    """Stop the server cleanly (SIGTERM, then wait for it to finish)."""
    from graphflows.neo4j import server

    with steps("Stopping Neo4j"):
        stopped = server.stop(data_dir)
    where = (data_dir or server.default_data_dir()).expanduser()
    click.echo("Neo4j stopped." if stopped else f"No Neo4j server was running on {where}.")


@neo4j_group.command("status")
@data_option
def neo4j_status(data_dir: Path | None) -> None:
    """Say whether the server runs, and where."""
    from graphflows.neo4j import server

    info = server.status(data_dir)
    if info is None:
        click.echo("Neo4j is not running.")
        return
    click.echo(f"Neo4j is running (pid {info.pid}, data in {info.data_dir}).")
    if info.browser_url:
        click.echo(f"Neo4j Browser: {browser_link(info.browser_url, info.bolt_uri)}")
    click.echo(info.bolt_uri)


@neo4j_group.command("env")
@data_option
def neo4j_env(data_dir: Path | None) -> None:
    """Print `export NEO4J_URI=... NEO4J_USER=... NEO4J_PASSWORD=...` lines for the running local server.

    For tools other than graphflows (cypher-shell, scripts): eval "$(graphflows neo4j env)".
    The password is printed on stdout for your shell only: do not paste it into logs or issues.
    """
    import shlex

    from graphflows.neo4j import server

    info = server.status(data_dir)
    auth = server.credentials(Path(info.data_dir)) if info else None
    if info is None or auth is None:
        where = (data_dir or server.default_data_dir()).expanduser()
        raise GraphflowsError(
            f"no Neo4j server is running on {where} (start one with `graphflows neo4j start`)"
        )
    values = {"NEO4J_URI": info.bolt_uri, "NEO4J_USER": auth[0], "NEO4J_PASSWORD": auth[1]}
    for name, value in values.items():
        click.echo(f"export {name}={shlex.quote(value)}")


# ---------------------------------------------------------------- load


@click.command(short_help="Load funding FILES into Neo4j and write the analysis back.")
@input_options(
    skip_invalid_help="Go on past bad records: they are left out of the load and counted at the end (no "
    "file is written; `graphflows analyse --skip-invalid` lists them in rejects.csv)."
)
@neo4j_uri_option
@click.option(
    "--batch-size", type=click.IntRange(1), default=10_000, show_default=True, help="Rows per write."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="Flow batches written at once (each runs on one server thread).",
)
@convergence_options
@click.option(
    "--write-back/--no-write-back", default=True, show_default=True, help="Write the analysis back."
)
@click.option(
    "--method",
    type=click.Choice(["auto", "bulk", "bolt"]),
    default="auto",
    show_default=True,
    help="bulk: Neo4j's offline importer (graphflows' local server, empty database or --replace; the server "
    "restarts); bolt: the idempotent loader (any Neo4j; loading the same files again adds nothing); auto: "
    "bulk for a large first load into the local server, else bolt.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Empty the database first (every node and relationship), then load: the bulk import on the local "
    "server, else over Bolt.",
)
def load(
    files: tuple[Path, ...],
    format_: str | None,
    skip_invalid: bool,
    neo4j_uri: str | None,
    batch_size: int,
    workers: int,
    count_by: CountBy,
    min_count: int,
    min_share: float,
    write_back: bool,
    method: str,
    replace: bool,
    **input_extras: Any,
) -> None:
    """Load funding FILES into Neo4j, then write the analysis back (loading again adds nothing).

    The analysis written back covers the files of one load: load every file together, or --replace; a
    database holding flows from other files is refused before anything is written.

    A large first load into graphflows' own local server goes through Neo4j's offline importer (the server
    restarts); anything else through the idempotent Bolt loader. The output says which ran and why.
    """
    from graphflows.export import reading_counts
    from graphflows.neo4j import Neo4jSettings, load_graph
    from graphflows.neo4j.bulk import bulk_load, choose_method

    with _runner(neo4j_uri):
        pass  # a server that does not answer is said before the files are read (minutes, for large ones)
    with steps("Reading input files and building the graph"):
        ingest, graph = read_input_graph(files, format_, skip_invalid, **input_extras)
    read = reading_line(reading_counts(ingest), len(ingest.files), ingest.totals(), ingest.repeated_amount())
    console.print(f"{read}.", markup=False)
    print_notes(ingest.notes)
    settings = Neo4jSettings.resolve(neo4j_uri)
    with _runner(neo4j_uri) as runner:
        chosen = choose_method(settings, runner, graph.flow_count, requested=method, replace=replace)
    console.print(f"Method: {chosen.name} ({chosen.reason}).", markup=False)
    analysis = {"count_by": count_by, "min_count": min_count, "min_share": min_share}
    if chosen.name == "bulk":
        with steps("Bulk import") as bar:

            def step(name: str) -> None:
                bar.update(bar.task_ids[0], description=f"Bulk import: {name}")

            report = bulk_load(graph, chosen.data_dir, write_back=write_back, progress=step, **analysis)
    with _runner(neo4j_uri) as runner:
        if chosen.name == "bolt":
            with _progress_bar() as progress:
                report = load_graph(
                    runner,
                    graph,
                    batch_size=batch_size,
                    workers=workers,
                    progress=progress,
                    write_back=write_back,
                    replace=replace,
                    **analysis,
                )
        db_totals = _database_totals(runner)
    how = (
        "steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.steps.items())
        if report.method == "bulk"
        else f"{report.batches:,} batches, {report.retries:,} retries"
    )
    console.print(
        f"Loaded {_loaded(report)} worth {money_totals(report.totals)} in {report.seconds:.1f} s ({how}).",
        markup=False,
    )
    if report.write_back is not None:
        wb = report.write_back
        console.print(
            f"Analysis written back: {wb.recipients:,} recipients, {wb.convergence_points:,} convergence "
            f"points (by {count_by}), {wb.attributions:,} ATTRIBUTED_TO (stovepipes at or above "
            f"{min_share * 100:g}% of a recipient's income) plus {wb.remainders:,} remainders, and "
            f"{wb.channel_attributions:,} ATTRIBUTED_TO_CHANNEL relationships.",
            markup=False,
        )
    console.print(f"The database now holds flows worth {money_totals(db_totals)}.", markup=False)
    if skip_invalid and ingest.rejects.height:
        console.print(f"{ingest.rejects.height:,} record(s) rejected and not loaded.", markup=False)


def _loaded(report: LoadReport) -> str:
    """``25 nodes and 47 flows (all new)``, or each with what the database held before the load:
    ``25 nodes (0 new, 25 already in the database) and 47 flows (0 new, 47 already in the database)``."""
    if not report.nodes_already and not report.already:
        return f"{report.nodes:,} nodes and {report.flows:,} flows (all new)"
    nodes, flows = _new(report.nodes, report.nodes_already), _new(report.flows, report.already)
    return f"{report.nodes:,} nodes ({nodes}) and {report.flows:,} flows ({flows})"


def _new(count: int, already: int) -> str:
    """``all new``, or ``0 new, 9,411 already in the database`` (loading a node or flow again adds
    nothing)."""
    if not already:
        return "all new"
    return f"{count - already:,} new, {already:,} already in the database"


def _database_totals(runner: Any) -> dict[str, int]:
    from graphflows.neo4j.loader import DATABASE_TOTALS_QUERY

    result = runner.run(DATABASE_TOTALS_QUERY)
    return {row["currency"]: row["total"] for row in result.rows}


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int, str], None]]:
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("Writing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def update(done: int, total: int, what: str) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)

        yield update


# ---------------------------------------------------------------- query / cypher


@click.command(short_help="Run a query of the Cypher library by NAME (no NAME: list them).")
@click.argument("name", required=False)
@param_option
@csv_option
@json_option
@click.option("--list", "list_", is_flag=True, help="List the library's queries and their questions.")
@neo4j_uri_option
def query(
    name: str | None,
    params: tuple[str, ...],
    csv_path: Path | None,
    raw_csv: bool,
    json_path: Path | None,
    list_: bool,
    neo4j_uri: str | None,
) -> None:
    """Run query NAME from the Cypher library (cypher/*.cypher) and print its rows.

    On the terminal, money (*_minor columns) is shown with its currency and shares as percentages;
    --csv and --json keep exact values for machines."""
    from graphflows.neo4j.library import list_queries, load_query

    if list_ or not name:
        _print_library(list_queries())
        return
    library_query = load_query(name)
    bound = library_query.bind(parse_params(params, typed=False))
    _check_outputs(csv_path, json_path)
    with _runner(neo4j_uri) as runner:
        result = library_query.run(runner, bound)
    _output(result.columns, result.rows, csv_path, json_path, raw_csv)


@click.command(short_help="Run your own Cypher QUERY on the database and print its rows.")
@click.argument("text", metavar="QUERY")
@param_option
@csv_option
@json_option
@click.option("--write", is_flag=True, help="Allow the query to change the database (read-only otherwise).")
@neo4j_uri_option
def cypher(
    text: str,
    params: tuple[str, ...],
    csv_path: Path | None,
    raw_csv: bool,
    json_path: Path | None,
    write: bool,
    neo4j_uri: str | None,
) -> None:
    """Run an ad-hoc Cypher QUERY (a read transaction unless --write); parameter values are read as JSON
    when they parse (10, true, "text"), else as text."""
    values = parse_params(params, typed=True)
    _check_outputs(csv_path, json_path)
    with _runner(neo4j_uri) as runner:
        result = runner.run(text, values, write=write)
    if result.columns or not write:
        _output(result.columns, result.rows, csv_path, json_path, raw_csv, query=text)
    if write:
        err_console.print(changes_line(result.counters), markup=False)


def changes_line(counters: dict[str, int]) -> str:
    """``Changes: nodes created: 1, properties set: 2`` (or ``No changes.``) after ``cypher --write``."""
    if not counters:
        return "No changes."
    return "Changes: " + ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in sorted(counters.items()))


def parse_params(items: tuple[str, ...], *, typed: bool) -> dict[str, Any]:
    """``("limit=10", "id=P1")`` -> ``{"limit": "10", "id": "P1"}`` (JSON values decoded when ``typed``)."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GraphflowsError(f"--param {item!r}: expected KEY=VALUE")
        if typed:
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                pass
            else:
                _check_integers(item, decoded)
                values[key.strip()] = decoded
                continue
        values[key.strip()] = value
    return values


def _check_integers(item: str, value: Any) -> None:
    """Refuse an integer Neo4j cannot hold (anywhere in a list or map), naming the parameter."""
    from graphflows.neo4j.parameters import INT64

    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool) and not INT64[0] <= v <= INT64[1]:
            raise GraphflowsError(
                f"--param {item[:60]!r}: integer {str(v)[:30]} is out of range (Neo4j integers are 64-bit, "
                f"{INT64[0]} to {INT64[1]})"
            )
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())


def _print_library(queries: list[Any]) -> None:
    grid = Table(title="Cypher library (graphflows query NAME --param KEY=VALUE)")
    grid.add_column("Name", no_wrap=True)
    grid.add_column("Question", overflow="fold")
    grid.add_column("Parameters", overflow="fold")
    for q in queries:
        params = ", ".join(p.name + ("" if p.optional else "*") for p in q.parameters)
        grid.add_row(q.name, Text(q.question), params)
    console.print(grid)
    console.print("* required", markup=False)


def _check_outputs(csv_path: Path | None, json_path: Path | None) -> None:
    """Before querying: one output at most, and files graphflows may write (see graphflows.outputs)."""
    if csv_path is not None and json_path is not None:
        raise click.UsageError("choose one of --csv and --json")
    for path in (csv_path, json_path):
        if path is not None and str(path) != "-":
            OutputFiles().check(path)


def _output(
    columns: list[str],
    rows: list[dict[str, Any]],
    csv_path: Path | None,
    json_path: Path | None,
    raw_csv: bool = False,
    query: str = "",
) -> None:
    """A readable table on the terminal, or exact values in CSV / JSON files (``query``: the Cypher text,
    whose ``AS`` names tell which columns are money)."""
    from graphflows.cli import query_output

    if csv_path is not None:
        cells = ([query_output.exact_cell(row.get(c)) for c in columns] for row in rows)
        frame = rows_frame(columns, cells)
        if str(csv_path) == "-":
            sys.stdout.write((frame if raw_csv else neutralise(frame)).write_csv())
        else:
            write_csv(frame, csv_path, raw=raw_csv)
            err_console.print(f"{len(rows)} row(s) written to {csv_path}", markup=False)
    elif json_path is not None:
        query_output.write_json(json_path, columns, rows)
        if str(json_path) != "-":
            err_console.print(f"{len(rows)} row(s) written to {json_path}", markup=False)
    else:
        fitted = query_output.fit_table(columns, rows, console.width, query)
        console.print(fitted.table)
        console.print(f"{len(rows)} row(s)", markup=False)
        for note in fitted.notes():
            console.print(note, markup=False, soft_wrap=True)


@contextmanager
def _runner(neo4j_uri: str | None) -> Iterator[Any]:
    from graphflows.neo4j import connect

    with connect(uri=neo4j_uri) as runner:
        yield runner
