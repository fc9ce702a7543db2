"""Loading into a real Neo4j: to the penny, idempotent, interrupted loads, write-back replaced, the CLI.

Uses the session server of tests/fixtures/neo4j_server.py (started here unless NEO4J_URI is set).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from graphflows.analysis import attribute
from graphflows.cli.display import console, money
from graphflows.cli.main import main
from graphflows.graph import FlowGraph, read_graph
from graphflows.neo4j import QueryResult, load_graph, write_attribution
from graphflows.neo4j import server as local_server
from graphflows.neo4j.library import load_query
from graphflows.neo4j.loader import (
    CREATE_FLOWS_CALL,
    CREATE_FLOWS_PROCEDURE,
    CREATE_FLOWS_QUERY,
    FLOW_BATCH_COLUMNS,
    FLOWS_QUERY,
    HAS_PROCEDURE_QUERY,
    OtherFlowsInDatabase,
    flow_keys,
    node_batches,
)
from graphflows.neo4j.runner import BoltRunner, CypherError, Neo4jUnavailable
from graphflows.neo4j.writeback import ATTRIBUTIONS_QUERY
from tests.helpers import material as is_material

pytestmark = pytest.mark.neo4j

DEMO = Path(__file__).parents[1] / "graphflows" / "data" / "demo" / "flows.csv"
#: One NHS CCG's year of "spend over £25k" (12 monthly files in a zip; tests/data/real/README.md).
NEBD = Path(__file__).parent / "data" / "real" / "nhs-ccg-spend-nel" / "NEBD.zip"


@pytest.fixture(scope="module")
def demo() -> FlowGraph:
    return read_graph([DEMO])


def snapshot(runner: BoltRunner) -> dict[str, Any]:
    """Everything a load writes, in comparable form."""
    nodes = runner.run(
        "MATCH (n) RETURN n.id AS id, n.name AS name, labels(n) AS labels, properties(n) AS props ORDER BY id"
    ).rows
    flows = runner.run(
        "MATCH (a)-[f:FLOWS_TO]->(b) RETURN a.id AS payer, b.id AS payee, properties(f) AS props "
        "ORDER BY f.flow_id"
    ).rows
    attributions = runner.run(
        "MATCH (r)-[a:ATTRIBUTED_TO]->(s) RETURN r.id AS r, s.id AS s, properties(a) AS props "
        "ORDER BY r, s, a.currency"
    ).rows
    for node in nodes:
        node["labels"] = sorted(node["labels"])
    return {"nodes": nodes, "flows": flows, "attributions": attributions}


def db_totals(runner: BoltRunner) -> dict[str, int]:
    rows = runner.run(
        "MATCH ()-[f:FLOWS_TO]->() RETURN f.currency AS c, sum(f.amount_minor) AS s, count(f) AS n"
    ).rows
    return {row["c"]: row["s"] for row in rows}


def test_demo_loads_to_the_penny(neo4j_runner: BoltRunner, demo: FlowGraph) -> None:
    report = load_graph(neo4j_runner, demo)
    assert db_totals(neo4j_runner) == demo.totals() == report.totals
    counts = neo4j_runner.run(
        "MATCH (n:Entity) WITH count(n) AS nodes MATCH ()-[f:FLOWS_TO]->() RETURN nodes, count(f) AS flows"
    ).rows[0]
    assert counts == {"nodes": demo.node_count, "flows": demo.flow_count}
    # every flow, property by property
    stored = {row["props"]["flow_id"]: row for row in snapshot(neo4j_runner)["flows"]}
    for key, flow in zip(flow_keys(demo.flows), demo.flows.iter_rows(named=True), strict=True):
        got = stored[key]
        assert (got["payer"], got["payee"]) == (flow["payer_id"], flow["payee_id"])
        props = got["props"]
        assert props["amount_minor"] == flow["amount_minor"]
        assert props["currency"] == flow["currency"]
        assert (props.get("date") and props["date"].to_native()) == flow["date"]
        assert props.get("stream_id") == flow["stream_id"]
        assert props["source"] == flow["source"] and props["line"] == flow["line"]
    # labels are the kinds (of the loaded Entity nodes; the write-back adds Channel nodes of its own)
    labels = {
        row["id"]: set(row["labels"]) - {"Entity", "ConvergencePoint"}
        for row in snapshot(neo4j_runner)["nodes"]
        if "Entity" in row["labels"]
    }
    names = {"stream": "FundingStream", "commissioner": "Commissioner", "provider": "Provider"}
    assert labels == {r["id"]: {names[k] for k in r["kinds"]} for r in demo.nodes.iter_rows(named=True)}


def test_convergence_by_channel_counts_origins_and_flags_the_loads_own_points(
    neo4j_runner: BoltRunner, demo: FlowGraph
) -> None:
    """Loaded with --count-by payer_channel, the query still lists recipients by channel of origin (its
    question says so), and convergence_point is the load's own count (8 of the demo's 13)."""
    from graphflows.analysis import convergence
    from graphflows.neo4j import run_named

    load_graph(neo4j_runner, demo, count_by="payer_channel")
    got = run_named(neo4j_runner, "convergence_by_channel", {"limit": 1000}).rows
    table = convergence(attribute(demo, by="origin"), count_by="payer_channel")
    by_origin = table.filter(pl.col("channel_count") >= 2)
    assert sorted(r["recipient_id"] for r in got) == sorted(by_origin["recipient_id"])
    flagged = {r["recipient_id"] for r in got if r["convergence_point"]}
    assert flagged == set(table.filter(pl.col("is_convergence_point"))["recipient_id"])
    assert 0 < len(flagged) < len(got)  # the two counts differ on the demo
    assert "whatever the load's --count-by" in load_query("convergence_by_channel").question


def test_loading_twice_adds_nothing(neo4j_runner: BoltRunner, demo: FlowGraph) -> None:
    load_graph(neo4j_runner, demo)
    first = snapshot(neo4j_runner)
    load_graph(neo4j_runner, demo)
    assert snapshot(neo4j_runner) == first
    assert len(first["flows"]) == demo.flow_count


#: Recipients whose written-back income differs from the flows they receive (the review's check).
WRONG_TOTALS = """
MATCH (r:Entity) WHERE r.total_in_minor IS NOT NULL
MATCH ()-[f:FLOWS_TO {currency: r.currency}]->(r)
WITH r, sum(f.amount_minor) AS inflow WHERE inflow <> r.total_in_minor
RETURN count(r) AS n
"""


def written_back_totals(runner: BoltRunner) -> dict[str, int]:
    """Each recipient's income as the write-back's ATTRIBUTED_TO relationships add it up."""
    rows = runner.run(
        "MATCH (r:Entity)-[a:ATTRIBUTED_TO]->() RETURN r.id AS id, sum(a.amount_minor) AS total"
    ).rows
    return {row["id"]: row["total"] for row in rows}


def analysed_totals(graph: FlowGraph) -> dict[str, int]:
    """Each recipient's income as ``graphflows analyse`` attributes it (attribution.csv)."""
    recipients = attribute(graph, by="origin").recipients
    return dict(zip(recipients["recipient_id"], recipients["total_in_minor"], strict=True))


def test_a_second_dataset_on_top_is_refused_and_leaves_the_database_unchanged(
    neo4j_runner: BoltRunner, demo: FlowGraph
) -> None:
    load_graph(neo4j_runner, demo)
    before = snapshot(neo4j_runner)
    nebd = read_graph([NEBD])
    with pytest.raises(OtherFlowsInDatabase) as refused:
        load_graph(neo4j_runner, nebd)
    message = str(refused.value)
    assert "holds 47 flows that this load does not contain, from flows.csv (47 flows)" in message
    assert "load every file together in one `graphflows load`" in message and "--replace" in message
    assert snapshot(neo4j_runner) == before
    # the same files again are fine, and so are they together with the new ones (one analysis of both)
    load_graph(neo4j_runner, demo)
    assert snapshot(neo4j_runner) == before
    both = read_graph([DEMO, NEBD])
    load_graph(neo4j_runner, both)
    assert db_totals(neo4j_runner) == both.totals()
    assert written_back_totals(neo4j_runner) == analysed_totals(both)
    # a load of a part of what is there is refused too: its analysis would leave the rest out
    with pytest.raises(OtherFlowsInDatabase, match=rf"from NEBD\.zip \({nebd.flows.height:,} flows\)"):
        load_graph(neo4j_runner, demo)


def test_replace_empties_the_database_and_the_write_back_is_the_new_files(
    neo4j_runner: BoltRunner, demo: FlowGraph
) -> None:
    load_graph(neo4j_runner, demo)
    nebd = read_graph([NEBD])
    load_graph(neo4j_runner, nebd, replace=True)
    assert db_totals(neo4j_runner) == nebd.totals()
    entities = neo4j_runner.run("MATCH (n:Entity) RETURN count(n) AS n").rows[0]["n"]
    assert entities == nebd.node_count
    assert written_back_totals(neo4j_runner) == analysed_totals(nebd)
    assert neo4j_runner.run(WRONG_TOTALS).rows[0]["n"] == 0


def test_the_cli_refuses_a_second_dataset_and_replace_loads_it_over_bolt(
    neo4j_server, neo4j_runner: BoltRunner, capsys
) -> None:
    uri = neo4j_server.uri
    assert main(["load", str(DEMO), "--neo4j-uri", uri]) == 0
    capsys.readouterr()
    assert main(["load", str(NEBD), "--neo4j-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "already holds 47 flows that this load does not contain, from flows.csv" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert db_totals(neo4j_runner) == {"GBP": 2_219_700_000}
    assert main(["load", str(NEBD), "--neo4j-uri", uri, "--replace", "--method", "bolt"]) == 0
    out = capsys.readouterr().out
    assert "Method: bolt (asked for with --method bolt; --replace empties the database first)" in out
    assert db_totals(neo4j_runner) == read_graph([NEBD]).totals()


def test_the_servers_procedure_stores_exactly_what_portable_cypher_stores(
    neo4j_runner: BoltRunner, demo: FlowGraph, tmp_path: Path
) -> None:
    from tests.fixtures.neo4j_server import wipe
    from tests.helpers import FLOWS_HEADER, write_flows

    found = neo4j_runner.run(HAS_PROCEDURE_QUERY, {"name": CREATE_FLOWS_PROCEDURE}).rows[0]["found"]
    if not found:
        pytest.skip(
            "the createFlows procedure is only on graphflows' own server (NEO4J_URI points elsewhere)"
        )
    odd = write_flows(
        tmp_path / "odd.csv",
        [
            'x1,"Ünïcode, ""quoted"" payer",commissioner,p1,P 1,provider,-12.34,GBP,,,"ref ""1"", comma",S',
            "x1,X,commissioner,p1,P 1,provider,90071992547409.93,GBP,2024-02-29,,,North",
            "x1,X,commissioner,p2,P 2,provider,0.01,EUR,1999-12-31,x1,<script>alert(1)</script>",
        ],
        FLOWS_HEADER + ",ward",
    )
    graph = read_graph([DEMO, odd])
    seen: list[str] = []

    class Watching:
        def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
            seen.append(query)
            return neo4j_runner.run(query, parameters, write=write)

    def flow_types() -> list[dict[str, Any]]:  # snapshots compare 100 == 100.0; the stored types must agree
        return neo4j_runner.run(
            "MATCH ()-[f:FLOWS_TO]->() UNWIND keys(f) AS k "
            "RETURN f.flow_id AS flow, k, valueType(f[k]) AS type ORDER BY flow, k"
        ).rows

    wipe(neo4j_runner)
    load_graph(Watching(), graph, procedure=False)
    portable, portable_types = snapshot(neo4j_runner), flow_types()
    assert CREATE_FLOWS_QUERY in seen and CREATE_FLOWS_CALL not in seen
    assert len(portable["flows"]) == graph.flow_count
    wipe(neo4j_runner)
    seen.clear()
    load_graph(Watching(), graph)
    assert CREATE_FLOWS_CALL in seen and CREATE_FLOWS_QUERY not in seen
    assert snapshot(neo4j_runner) == portable and flow_types() == portable_types
    assert db_totals(neo4j_runner) == graph.totals()
    # the MERGE that reloads and retried batches use stores the same too (a flow of this load is there)
    wipe(neo4j_runner)
    neo4j_runner.run(
        "CREATE (:Entity {id: 'd1'})-[:FLOWS_TO {flow_id: $id}]->(:Entity {id: 'd2'})",
        {"id": flow_keys(graph.flows)[0]},
        write=True,
    )
    seen.clear()
    load_graph(Watching(), graph)
    assert FLOWS_QUERY in seen and CREATE_FLOWS_CALL not in seen and CREATE_FLOWS_QUERY not in seen
    neo4j_runner.run("MATCH (n:Entity) WHERE n.id IN ['d1', 'd2'] DETACH DELETE n", write=True)
    assert snapshot(neo4j_runner) == portable and flow_types() == portable_types


def test_the_procedure_refuses_a_flow_whose_node_is_missing(neo4j_runner: BoltRunner) -> None:
    found = neo4j_runner.run(HAS_PROCEDURE_QUERY, {"name": CREATE_FLOWS_PROCEDURE}).rows[0]["found"]
    if not found:
        pytest.skip(
            "the createFlows procedure is only on graphflows' own server (NEO4J_URI points elsewhere)"
        )
    batch = {c: [None] for c in FLOW_BATCH_COLUMNS} | {
        "payer": ["nobody"],
        "payee": ["nowhere"],
        "flow_id": ["f"],
        "amount_minor": [1],
    }
    with pytest.raises(CypherError, match="no Entity node with id nobody"):
        neo4j_runner.run(CREATE_FLOWS_CALL, {"batch": batch}, write=True)
    assert neo4j_runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n").rows[0]["n"] == 0


def test_batches_that_committed_before_the_connection_dropped_are_not_doubled(
    neo4j_runner: BoltRunner, demo: FlowGraph
) -> None:
    from tests.fixtures.neo4j_server import wipe

    load_graph(neo4j_runner, demo)
    clean = snapshot(neo4j_runner)
    wipe(neo4j_runner)
    dropped: list[str] = []

    class CommitsThenDrops:
        """The first flow batch and the first attribution batch commit, then the answer is lost."""

        def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
            result = neo4j_runner.run(query, parameters, write=write)
            kind = "flows" if "$batch" in query else "attributions"
            if ("$batch" in query or query == ATTRIBUTIONS_QUERY) and kind not in dropped:
                dropped.append(kind)
                raise Neo4jUnavailable("connection reset after commit")
            return result

    report = load_graph(CommitsThenDrops(), demo, batch_size=10, retry_delays=(0,), workers=1)
    assert dropped == ["flows", "attributions"] and report.retries == 2
    assert snapshot(neo4j_runner) == clean  # each retried batch was MERGEd, not CREATEd again


def test_a_client_crash_midway_then_a_rerun_gives_the_clean_database(
    neo4j_runner: BoltRunner, demo: FlowGraph
) -> None:
    load_graph(neo4j_runner, demo)
    clean = snapshot(neo4j_runner)
    from tests.fixtures.neo4j_server import wipe

    wipe(neo4j_runner)

    class Crash(Exception):
        pass

    class CrashingRunner:
        """Passes queries through, then 'crashes' (as a killed client would) after some batches."""

        def __init__(self, after: int):
            self.left, self.lock = after, threading.Lock()

        def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
            if "UNWIND $rows" in query or "$batch" in query:
                with self.lock:  # two loading threads
                    if self.left <= 0:
                        raise Crash
                    self.left -= 1
            return neo4j_runner.run(query, parameters, write=write)

    with pytest.raises(Crash):
        load_graph(CrashingRunner(after=len(list(node_batches(demo.nodes, 5))) + 3), demo, batch_size=5)
    partial = snapshot(neo4j_runner)
    assert 0 < len(partial["flows"]) < demo.flow_count
    load_graph(neo4j_runner, demo)
    assert snapshot(neo4j_runner) == clean


def generated_flows(n: int, seed: int = 7) -> pl.DataFrame:
    """A seeded flow table of ``n`` flows between a few hundred organisations (for interrupted loads)."""
    import random

    rng = random.Random(seed)
    streams = [f"S{i}" for i in range(5)]
    commissioners = [f"C{i}" for i in range(20)]
    providers = [f"P{i}" for i in range(300)]
    rows = []
    for i in range(n):
        if i % 10 == 0:
            payer, pk, payee, ek = rng.choice(streams), "stream", rng.choice(commissioners), "commissioner"
        else:
            payer, pk, payee, ek = (
                rng.choice(commissioners),
                "commissioner",
                rng.choice(providers),
                "provider",
            )
        rows.append(
            {"payer_id": payer, "payer_name": payer, "payer_kind": pk, "payee_id": payee, "payee_name": payee,
             "payee_kind": ek, "amount_minor": rng.randint(1, 10_000_000), "currency": "GBP", "date": None,
             "stream_id": None, "reference": f"r{i}", "source": "generated.csv", "line": str(i + 2)}
        )  # fmt: skip
    from graphflows.model import FLOW_COLUMNS

    return pl.DataFrame(rows, schema=FLOW_COLUMNS)


def test_a_server_killed_midway_recovers_and_the_load_finishes_the_same(neo4j_server, neo4j_runner) -> None:
    if not neo4j_server.managed:
        pytest.skip("needs the test suite's own server to kill it (NEO4J_URI points elsewhere)")
    from graphflows.graph import build_graph

    graph = build_graph(generated_flows(12_000))
    load_graph(neo4j_runner, graph, write_back=False)
    clean = snapshot(neo4j_runner)
    from tests.fixtures.neo4j_server import wipe

    wipe(neo4j_runner)
    outcome: dict[str, Any] = {}

    def loading() -> None:
        from graphflows.neo4j import connect

        try:
            with connect(neo4j_server.settings()) as runner:
                outcome["report"] = load_graph(
                    runner,
                    graph,
                    batch_size=300,
                    write_back=False,
                    retry_delays=(0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8),
                )
        except Exception as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=loading)
    thread.start()
    deadline = time.monotonic() + 60
    loaded = 0
    while time.monotonic() < deadline:  # wait until some flows are in, then pull the plug
        loaded = neo4j_runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n").rows[0]["n"]
        if loaded >= 1_500:
            break
        time.sleep(0.05)
    assert 0 < loaded < graph.flow_count  # the server dies in the middle of the load
    neo4j_server.kill()
    neo4j_server.start()  # recovery on the same folder and port, while the loader retries
    thread.join(timeout=180)
    assert "error" not in outcome, outcome.get("error")
    # the outage is absorbed either by the loader's own retries or by the driver's transaction retries
    with BoltRunner(neo4j_server.settings()) as runner:
        assert snapshot(runner) == clean
        load_graph(runner, graph, write_back=False)  # and simply running it again changes nothing
        assert snapshot(runner) == clean


def test_write_back_is_replaced_not_doubled(neo4j_runner: BoltRunner, demo: FlowGraph) -> None:
    load_graph(neo4j_runner, demo)
    by_stream = attribute(demo, by="stream")
    write_attribution(neo4j_runner, by_stream)
    stored = neo4j_runner.run(
        "MATCH (r)-[a:ATTRIBUTED_TO]->(s:Entity) RETURN r.id AS recipient_id, s.id AS stovepipe_id, "
        "a.currency AS currency, a.amount_minor AS amount_minor, a.share AS share"
    ).rows
    material = by_stream.rows.filter(is_material())
    expected = material.sort(["recipient_id", "stovepipe_id", "currency"]).to_dicts()
    assert sorted(stored, key=lambda r: (r["recipient_id"], r["stovepipe_id"], r["currency"])) == expected
    # a recipient that is no longer a convergence point loses the label and the figures
    load_graph(neo4j_runner, demo)
    by_origin = attribute(demo, by="origin")
    count = neo4j_runner.run("MATCH ()-[a:ATTRIBUTED_TO]->(:Entity) RETURN count(a) AS n").rows[0]["n"]
    assert count == by_origin.rows.filter(is_material()).height


def test_write_back_clears_stale_labels_and_properties(neo4j_runner: BoltRunner, demo: FlowGraph) -> None:
    load_graph(neo4j_runner, demo)
    root = "nhse-allocation"  # a stovepipe that receives nothing: never a recipient
    assert root not in attribute(demo).recipients["recipient_id"].to_list()
    stale = "MATCH (n:Entity {id: $id}) SET n:ConvergencePoint, n.stovepipe_count = 99, n.hhi = 0.5"
    neo4j_runner.run(stale, {"id": root}, write=True)
    load_graph(neo4j_runner, demo)
    row = neo4j_runner.run(
        "MATCH (n:Entity {id: $id}) "
        "RETURN n:ConvergencePoint AS cp, n.stovepipe_count AS count, n.hhi AS hhi",
        {"id": root},
    ).rows[0]
    assert row == {"cp": False, "count": None, "hhi": None}


def test_cli_start_stop_status_and_load(
    neo4j_server, neo4j_runner, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = neo4j_server.uri
    assert main(["load", str(DEMO), "--neo4j-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "Loaded 25 nodes and 47 flows (all new) worth GBP 22,197,000.00" in out
    assert main(["load", str(DEMO), "--neo4j-uri", uri, "--workers", "3", "--batch-size", "4"]) == 0
    again = "25 nodes (0 new, 25 already in the database) and 47 flows (0 new, 47 already in the database)"
    assert f"Loaded {again} worth GBP 22,197,000.00" in " ".join(capsys.readouterr().out.split())
    assert db_totals(neo4j_runner) == {"GBP": 2_219_700_000}
    assert (
        main(
            [
                "query",
                "convergence_points",
                "--param",
                "limit=3",
                "--neo4j-uri",
                uri,
                "--csv",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0].startswith("rank,recipient_id,recipient_name") and len(lines) == 4
    # --json keeps exact values (integer minor units, full-precision shares); the table reads as money
    expected = neo4j_runner.run(load_query("convergence_points").text, {"limit": 3}).rows
    query_cli = ["query", "convergence_points", "--param", "limit=3", "--neo4j-uri", uri]
    assert main([*query_cli, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == expected
    monkeypatch.setattr(console, "width", 250)  # room for every column
    assert main(query_cli) == 0
    table = capsys.readouterr().out
    assert "Left out" not in table
    for row in expected:
        assert money(row["total_in_minor"], row["currency"]) in table
        assert f"{row['top_share']:.1%}" in table and str(row["total_in_minor"]) not in table
    assert main([*query_cli, "--json", "-", "--csv", str(tmp_path / "both.csv")]) == 2
    assert (
        main(
            [
                "cypher",
                "MATCH (n:Entity {id: $id}) RETURN n.name AS name",
                "--param",
                "id=phe",
                "--neo4j-uri",
                uri,
            ]
        )
        == 0
    )
    assert "Public Health England" in capsys.readouterr().out
    assert (
        main(["cypher", "CREATE (:Entity {id: 'x'})", "--neo4j-uri", uri]) == 2
    )  # read-only without --write
    assert "ran read-only" in capsys.readouterr().err
    # with --write: the changes on one line, no empty table
    assert main(["cypher", "CREATE (:Entity {id: 'x'})", "--write", "--neo4j-uri", uri]) == 0
    written = capsys.readouterr()
    assert (
        written.out == "" and written.err == "Changes: labels added: 1, nodes created: 1, properties set: 1\n"
    )
    assert main(["cypher", "MATCH (n:Entity {id: 'x'}) DELETE n", "--write", "--neo4j-uri", uri]) == 0
    assert capsys.readouterr().err == "Changes: nodes deleted: 1\n"
    assert main(["cypher", "MATCH (n RETURN n", "--neo4j-uri", uri]) == 2
    assert "SyntaxError" in capsys.readouterr().err
    # a Graph Data Science query on a server without GDS says how to get it
    if not local_server.status(neo4j_server.data_dir).gds:
        assert main(["query", "provider_pagerank", "--neo4j-uri", uri]) == 2
        err = capsys.readouterr().err
        assert err.startswith("graphflows: provider_pagerank needs Neo4j Graph Data Science, which")
        assert "`graphflows neo4j start --gds`" in err and "java" not in err.lower()
    if not neo4j_server.managed:
        return
    # a second start on the same folder says it is already running, and prints the same URI last
    assert main(["neo4j", "start", "--data", str(neo4j_server.data_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == uri
    assert "already running" in captured.err
    assert main(["neo4j", "status", "--data", str(neo4j_server.data_dir)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == uri
    # stop, then start again on the same port (the session server lives on)
    assert main(["neo4j", "stop", "--data", str(neo4j_server.data_dir)]) == 0
    assert "Neo4j stopped." in capsys.readouterr().out
    assert main(["neo4j", "stop", "--data", str(neo4j_server.data_dir)]) == 0
    assert capsys.readouterr().out == f"No Neo4j server was running on {neo4j_server.data_dir}.\n"
    assert local_server.status(neo4j_server.data_dir) is None
    with pytest.raises(Neo4jUnavailable):
        BoltRunner(neo4j_server.settings()).verify()
    assert main(["neo4j", "start", "--data", str(neo4j_server.data_dir)]) == 0  # the last start's ports
    restarted = capsys.readouterr()
    assert restarted.out.strip().splitlines()[-1] == uri
    assert f"Neo4j Browser: {neo4j_server.browser_url}?dbms=" in restarted.err
    assert db_totals(neo4j_runner) == {"GBP": 2_219_700_000}  # the data survived the restart


def test_a_load_says_how_many_nodes_are_new_and_how_many_were_there(
    neo4j_server, neo4j_runner: BoltRunner, demo: FlowGraph, capsys
) -> None:
    """Nodes are merged on their id: the output counts those the database held before, as for flows."""
    # Public Health England was already there (an analyst's own node, say), no flow yet
    neo4j_runner.run("CREATE (:Entity {id: 'phe', name: 'Public Health England'})", write=True)
    cli = ["load", str(DEMO), "--neo4j-uri", neo4j_server.uri, "--no-write-back"]
    assert main(cli) == 0
    first = " ".join(capsys.readouterr().out.split())  # as one line, however the terminal wrapped it
    assert "Loaded 25 nodes (24 new, 1 already in the database) and 47 flows (all new) worth GBP " in first
    count = "MATCH (n:Entity) RETURN count(n) AS n"
    assert neo4j_runner.run(count).rows[0]["n"] == demo.node_count == 25  # merged, not doubled
    assert main(cli) == 0
    again = "25 nodes (0 new, 25 already in the database) and 47 flows (0 new, 47 already in the database)"
    assert f"Loaded {again} worth GBP 22,197,000.00" in " ".join(capsys.readouterr().out.split())
    report = load_graph(neo4j_runner, demo, write_back=False)
    assert (report.nodes, report.nodes_already, report.flows, report.already) == (25, 25, 47, 47)
    assert load_graph(neo4j_runner, demo, write_back=False, replace=True).nodes_already == 0
    assert neo4j_runner.run(count).rows[0]["n"] == 25


def test_load_prints_what_reading_gave_as_analyse_does_repeats_and_notes(
    neo4j_server, tmp_path: Path, capsys
) -> None:
    """NEHV's September file repeats 9 lines of October's (GBP 2,003,350.28), its March file one line of
    February's (GBP 53,767.15): load says so, in the words of
    analyse, so that the database's total can be compared with the files'."""
    nehv = Path(__file__).parent / "data" / "real" / "nhs-ccg-spend-nel" / "NEHV.zip"
    assert main(["analyse", str(nehv), "--out", str(tmp_path / "a")]) == 0
    analysed = " ".join(capsys.readouterr().out.split())  # as one line, however the terminal wrapped it
    assert main(["load", str(nehv), "--neo4j-uri", neo4j_server.uri, "--replace"]) == 0
    loaded = " ".join(capsys.readouterr().out.split())
    sentence = (
        "Read 3,217 records from 12 file(s): 3,207 flows (GBP 336,180,228.40), 0 rejected, 10 repeated "
        "(GBP 2,057,117.43 already read in another file, not counted again)."
    )
    assert sentence in analysed and sentence in loaded
    notes = loaded[loaded.index("Note: ") : loaded.index(" Method: ")]  # printed before loading
    assert "NEHV 07 - October.csv: 9 line(s) repeat transactions already read in " in notes
    assert notes in analysed
