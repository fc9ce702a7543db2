"""The bulk first load (Neo4j's offline importer) against the session's real local server.

The same graph loaded by the Bolt loader and by the bulk import must give the same database (a full dump:
labels, properties and value types), a Bolt load on top of a bulk load adds nothing, names from the data
cannot break the import files, and the server's password survives. Uses the session server (bulk needs
graphflows' own local server: skipped when NEO4J_URI names another one).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from graphflows.cli.main import main
from graphflows.graph import FlowGraph, read_graph
from graphflows.neo4j import BoltRunner, Neo4jError, Neo4jSettings, connect, load_graph
from graphflows.neo4j.bulk import bulk_load
from tests.helpers import write_flows

REAL = Path(__file__).parent / "data" / "real" / "nhs-ccg-spend-nel"
#: Names and references a CSV writer or a spreadsheet could choke on.
HOSTILE = [
    '"Quoted" Trust',
    "Comma, Ltd",
    "Line\nbreak CIC",
    "=cmd|' /C calc'!A0",
    "  spaces  ",
    'Back\\slash \\" trust',
    "Semi;colon",
    "Ünïcødé – “curly” ‘quotes’",
]

NODES = "MATCH (n) RETURN labels(n) AS labels, [k IN keys(n) | [k, n[k], valueType(n[k])]] AS props"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN a.id AS a, labels(a) AS a_labels, type(r) AS type, b.id AS b, "
    "labels(b) AS b_labels, [k IN keys(r) | [k, r[k], valueType(r[k])]] AS props"
)


def dump(runner: BoltRunner) -> dict[str, list[str]]:
    """Every node and relationship with its labels, properties and their Neo4j value types, sorted."""

    def canonical(row: dict[str, Any]) -> str:
        row = dict(row)
        for key in ("labels", "a_labels", "b_labels"):
            if key in row:
                row[key] = sorted(row[key])
        row["props"] = sorted(repr(p) for p in row["props"])
        return repr(sorted(row.items()))

    return {
        "nodes": sorted(canonical(r) for r in runner.run(NODES).rows),
        "relationships": sorted(canonical(r) for r in runner.run(RELATIONSHIPS).rows),
    }


@pytest.fixture
def local(neo4j_server):
    if not neo4j_server.managed:
        pytest.skip("the bulk import needs graphflows' own local server (NEO4J_URI names another)")
    return neo4j_server


def hostile_graph(tmp_path: Path) -> FlowGraph:
    """A small graph whose names, ids and references hold quotes, commas, line breaks and formulas, plus one
    real spend file (extra text columns, thousands of flows)."""
    rows = []
    for i, name in enumerate(HOSTILE):
        quoted = '"' + name.replace('"', '""') + '"'
        day = f"2024-04-0{i + 1}"
        payer = f"hostile-{i},{quoted},commissioner"
        rows.append(f"{payer},p-{i},Provider {i},provider,{1000 + i}.0{i},GBP,{day},,{quoted}")
        rows.append(f"s-{i},Stream {i},stream,hostile-{i},{quoted},commissioner,{5000 + i}.50,GBP,,,r{i}")
        rows.append(f"{payer},{quoted},{quoted},provider,7.00,GBP,,,")  # hostile ids too
    hostile = write_flows(tmp_path / "hostile.csv", rows, pad=False)
    real = sorted(REAL.glob("*.zip"))[:1]
    assert real, f"real data expected in {REAL}"
    return read_graph([hostile, *real])


def test_bulk_and_bolt_give_the_same_database(local, neo4j_runner: BoltRunner, tmp_path: Path) -> None:
    graph = hostile_graph(tmp_path)
    assert graph.flows.width > 9  # the spend file's extra columns travel too
    load_graph(neo4j_runner, graph)
    by_bolt = dump(neo4j_runner)
    report = bulk_load(graph, local.data_dir)
    assert report.method == "bulk" and set(report.steps) >= {"import files", "import", "schema"}
    with connect(local.settings()) as runner:
        by_bulk = dump(runner)
        assert by_bulk == by_bolt
        names = {r["name"] for r in runner.run("MATCH (n:Entity) RETURN n.name AS name").rows}
        assert {name.strip() for name in HOSTILE} <= names  # (ingest trims names)
        totals = runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN f.currency AS c, sum(f.amount_minor) AS s").rows
        assert {r["c"]: r["s"] for r in totals} == graph.totals()
        constraints = {r["name"] for r in runner.run("SHOW CONSTRAINTS YIELD name").rows}
        assert {"entity_id", "provider_id", "channel_id"} <= constraints
        # a Bolt load on top of the bulk-loaded database adds nothing (idempotency across methods)
        load_graph(runner, graph)
        assert dump(runner) == by_bulk


def test_after_a_bulk_load_the_password_is_still_required(local, neo4j_runner: BoltRunner, tmp_path) -> None:
    flows = write_flows(tmp_path / "f.csv", ["a,A,commissioner,b,B,provider,1.00,GBP,,,r"])
    graph = read_graph([flows])
    bulk_load(graph, local.data_dir, write_back=False)
    with pytest.raises(Neo4jError, match="refused the credentials"):
        connect(Neo4jSettings(uri=local.uri, user="neo4j", password="not-the-password"))
    with pytest.raises(Neo4jError):
        connect(Neo4jSettings(uri=local.uri))  # no authentication at all
    with connect(local.settings()) as runner:
        assert runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n").rows[0]["n"] == 1


def test_the_cli_says_which_method_ran_and_why(local, neo4j_runner: BoltRunner, capsys, tmp_path) -> None:
    demo = Path(__file__).parents[1] / "graphflows" / "data" / "demo" / "flows.csv"
    assert main(["load", str(demo), "--method", "bulk"]) == 0  # the empty database, found by itself
    out = capsys.readouterr().out
    assert "Method: bulk" in out and "the database is empty" in out and "steps: analysis" in out
    assert "Loaded 25 nodes and 47 flows (all new) worth GBP 22,197,000.00" in out
    assert main(["load", str(demo), "--method", "bulk", "--replace"]) == 0
    assert "Method: bulk (asked for with --method bulk; asked to replace" in capsys.readouterr().out
    assert main(["load", str(demo)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # as one line, however the terminal wrapped it
    assert "Method: bolt (the database already holds data" in out and "((" not in out
    assert (
        "25 nodes (0 new, 25 already in the database) and 47 flows (0 new, 47 already in the database)" in out
    )
    assert "The database now holds flows worth GBP 22,197,000.00" in out
    assert main(["load", str(demo), "--method", "bulk"]) == 2  # would replace data: needs --replace
    assert "--replace" in capsys.readouterr().err
    assert main(["load", str(demo), "--replace", "--neo4j-uri", local.uri]) == 0  # named by its URI
    out = capsys.readouterr().out
    assert "Method: bulk (asked to replace the database" in out
    flows = neo4j_runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n").rows[0]["n"]
    assert flows == 47


def test_a_separate_importer_jvm_gives_the_same_database(local, tmp_path: Path) -> None:
    """Servers started before graphflows.v1.importStore existed get the importer in a JVM of its own, then
    graphflows.v1.swapStore: the same database as the in-server import."""
    from graphflows.neo4j import bulk
    from graphflows.neo4j.schema import apply_schema

    graph = hostile_graph(tmp_path)
    bulk_load(graph, local.data_dir)
    with connect(local.settings()) as runner:
        in_server = dump(runner)
    stage = local.data_dir / bulk.STAGE
    (stage / "files").mkdir(parents=True)
    try:
        tables = bulk.analysis_tables(graph, "channel", 0.01, 2)
        files = bulk.write_import_files(graph, stage / "files", tables)
        bulk.run_importer(files, stage)
        with connect(local.settings()) as runner:
            bulk.swap_in_place(runner, stage)
            apply_schema(runner)
            assert dump(runner) == in_server
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def test_a_failed_in_server_import_says_why_and_keeps_the_database(local, tmp_path: Path) -> None:
    from graphflows.neo4j import bulk

    flows = write_flows(tmp_path / "f.csv", ["a,A,commissioner,b,B,provider,1.00,GBP,,,r"])
    bulk_load(read_graph([flows]), local.data_dir, write_back=False)
    stage = local.data_dir / bulk.STAGE
    (stage / "files").mkdir(parents=True)
    try:
        missing = bulk.ImportFiles(nodes=[stage / "files" / "no-such-nodes.csv"])
        with connect(local.settings()) as runner:
            bulk.start_import_in_place(runner, missing, stage)
            failure = r"Neo4j's importer failed: .*no-such-nodes"
            with pytest.raises(bulk.server.Neo4jServerError, match=failure):
                bulk.wait_for(stage, "import", timeout=120)
            assert not (stage / "swap.done").exists()
            assert runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n").rows[0]["n"] == 1
    finally:
        shutil.rmtree(stage, ignore_errors=True)
