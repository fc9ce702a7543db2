"""Fast tests without a server: query text, parameters, batching, retries, the library's headers.

A recording fake runner stands in for Neo4j here; everything it checks is also exercised against a real
server in tests/test_neo4j_load.py and tests/test_neo4j_truth.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphflows.cli.main import cli
from graphflows.cli.neo4j_cmds import parse_params
from graphflows.graph import read_graph
from graphflows.neo4j import QueryResult, load_graph
from graphflows.neo4j import server as local_server
from graphflows.neo4j.library import LibraryError, cypher_dir, list_queries, load_query, used_parameters
from graphflows.neo4j.loader import (
    CREATE_FLOWS_CALL,
    CREATE_FLOWS_QUERY,
    FLOW_BATCH_COLUMNS,
    FLOWS_QUERY,
    HAS_PROCEDURE_QUERY,
    HELD_NODES_QUERY,
    STORED_FLOWS_QUERY,
    flow_batch,
    flow_keys,
    nodes_query,
)
from graphflows.neo4j.runner import CypherError, Neo4jSettings, Neo4jUnavailable
from graphflows.neo4j.schema import EXISTING_SCHEMA, SCHEMA_STATEMENTS, apply_schema
from tests.helpers import FLOWS_HEADER, write_flows
from tests.helpers import material as is_material

DEMO = Path(__file__).parents[1] / "graphflows" / "data" / "demo" / "flows.csv"


class RecordingRunner:
    """Records every (query, parameters, write); answers write-back clean-ups with zero rows."""

    def __init__(self, fail_first: int = 0, has_flows: bool = False, has_procedure: bool = False):
        self.calls: list[tuple[str, dict[str, Any], bool]] = []
        self.fail_first = fail_first
        self.has_flows = has_flows
        self.has_procedure = has_procedure

    def run(
        self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        if self.fail_first:
            self.fail_first -= 1
            raise Neo4jUnavailable("server restarting")
        self.calls.append((query, dict(parameters or {}), write))
        if "RETURN count(*) AS deleted" in query:
            return QueryResult(["deleted"], [{"deleted": 0}])
        if "RETURN count(*) AS cleared" in query:
            return QueryResult(["cleared"], [{"cleared": 0}])
        if "AS any" in query:
            return QueryResult(["any"], [{"any": self.has_flows}])
        if query == HAS_PROCEDURE_QUERY:
            return QueryResult(["found"], [{"found": self.has_procedure}])
        if "$batch" in query:  # as Neo4j would: every flow of the batch found its two nodes
            return QueryResult(["flows"], [{"flows": len(parameters["batch"]["flow_id"])}])
        return QueryResult([], [])


def flows_sent(runner: RecordingRunner, *queries: str) -> list[dict[str, Any]]:
    """Every flow sent with one of ``queries``, as a dict per flow (from the column batches)."""
    return [
        dict(zip(FLOW_BATCH_COLUMNS, values, strict=True))
        for query, params, _ in runner.calls
        if query in queries
        for values in zip(*(params["batch"][c] for c in FLOW_BATCH_COLUMNS), strict=True)
    ]


@pytest.fixture(scope="module")
def demo_graph():
    return read_graph([DEMO])


def test_loader_sends_values_only_as_parameters(demo_graph) -> None:
    runner = RecordingRunner()
    load_graph(runner, demo_graph, batch_size=7)
    texts = "\n".join(query for query, _, _ in runner.calls)
    for value in demo_graph.nodes["id"].to_list() + demo_graph.nodes["name"].to_list():
        assert value not in texts, f"{value!r} spliced into query text"
    for query, params, write in runner.calls:
        if "UNWIND $rows" in query:
            assert write and params["rows"] and all(isinstance(row, list) for row in params["rows"])
            assert len(params["rows"]) <= 7
        if "$batch" in query:
            assert write and set(params["batch"]) == set(FLOW_BATCH_COLUMNS)
            assert 0 < len(params["batch"]["flow_id"]) <= 7
            assert {len(column) for column in params["batch"].values()} == {len(params["batch"]["flow_id"])}


def test_loader_creates_schema_first_then_nodes_then_flows(demo_graph) -> None:
    runner = RecordingRunner()
    report = load_graph(runner, demo_graph, batch_size=10, write_back=False)
    queries = [q for q, _, _ in runner.calls]
    assert queries[0] == STORED_FLOWS_QUERY  # before anything is written: no flows from other files
    assert queries[1] == EXISTING_SCHEMA  # an empty database: every statement is needed
    assert queries[2 : len(SCHEMA_STATEMENTS) + 2] == list(SCHEMA_STATEMENTS)
    assert queries[len(SCHEMA_STATEMENTS) + 3] == HELD_NODES_QUERY  # once its index is there
    first_flow = queries.index(CREATE_FLOWS_QUERY)
    between = queries[len(SCHEMA_STATEMENTS) + 4 : first_flow]  # after counting nodes, before the flows
    assert all("MERGE (n:Entity" in q for q in between[:-2])
    assert "AS any" in between[-2] and between[-1] == HAS_PROCEDURE_QUERY
    sent_nodes = sum(len(p["rows"]) for q, p, _ in runner.calls if "MERGE (n:Entity" in q)
    sent_flows = flows_sent(runner, CREATE_FLOWS_QUERY)
    assert sent_nodes == demo_graph.node_count == report.nodes
    assert len(sent_flows) == demo_graph.flow_count == report.flows
    assert len({f["flow_id"] for f in sent_flows}) == demo_graph.flow_count  # each flow once, two workers
    assert sum(f["amount_minor"] for f in sent_flows) == sum(demo_graph.totals().values())


def test_a_first_load_uses_the_servers_procedure_when_it_has_one(demo_graph) -> None:
    runner = RecordingRunner(has_procedure=True)
    load_graph(runner, demo_graph, batch_size=10, write_back=False)
    assert CREATE_FLOWS_QUERY not in {q for q, _, _ in runner.calls}
    assert len(flows_sent(runner, CREATE_FLOWS_CALL)) == demo_graph.flow_count
    portable = RecordingRunner(has_procedure=True)
    load_graph(portable, demo_graph, batch_size=10, write_back=False, procedure=False)
    assert flows_sent(portable, CREATE_FLOWS_QUERY)
    assert CREATE_FLOWS_CALL not in {q for q, _, _ in portable.calls}
    reload = RecordingRunner(has_flows=True, has_procedure=True)  # never CREATE into a database with flows
    load_graph(reload, demo_graph, batch_size=10, write_back=False)
    assert len(flows_sent(reload, FLOWS_QUERY)) == demo_graph.flow_count
    assert not flows_sent(reload, CREATE_FLOWS_CALL, CREATE_FLOWS_QUERY)


def test_node_labels_come_from_the_fixed_list_only() -> None:
    assert "SET n:Commissioner:Provider" in nodes_query(["Commissioner", "Provider"], extras=False)
    with pytest.raises(ValueError, match="not a graphflows label"):
        nodes_query(["Provider`) DETACH DELETE n //"], extras=False)


def test_node_batches_give_every_node_its_kind_labels(demo_graph) -> None:
    runner = RecordingRunner()
    load_graph(runner, demo_graph, write_back=False)
    labels_of: dict[str, set[str]] = {}
    for query, params, _ in runner.calls:
        if "MERGE (n:Entity" in query:
            match = re.search(r"SET n((?::\w+)+)", query)
            labels = set(match.group(1).strip(":").split(":")) if match else set()
            for row in params["rows"]:
                labels_of[row[0]] = labels
    expected = {
        row["id"]: {{"stream": "FundingStream", "commissioner": "Commissioner", "provider": "Provider"}[k]
                    for k in row["kinds"]}
        for row in demo_graph.nodes.iter_rows(named=True)
    }  # fmt: skip
    assert labels_of == expected


def test_transient_unavailability_is_retried(demo_graph) -> None:
    runner = RecordingRunner(fail_first=3)
    report = load_graph(runner, demo_graph, write_back=False, retry_delays=(0, 0, 0, 0))
    assert report.retries == 3
    assert len(flows_sent(runner, CREATE_FLOWS_QUERY, FLOWS_QUERY)) == demo_graph.flow_count


class FailingOnce(RecordingRunner):
    """Fails the first flow batch as a dropped connection would (it may or may not have committed)."""

    def run(
        self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        if query == CREATE_FLOWS_QUERY and not getattr(self, "failed", False):
            self.failed = True
            raise Neo4jUnavailable("connection lost")
        return super().run(query, parameters, write=write)


def test_flows_are_created_into_an_empty_database_and_merged_on_retry(demo_graph) -> None:
    runner = FailingOnce()
    load_graph(runner, demo_graph, batch_size=10, write_back=False, retry_delays=(0,), workers=1)
    flow_queries = [q for q, _, _ in runner.calls if q in (CREATE_FLOWS_QUERY, FLOWS_QUERY)]
    assert flow_queries[0] == FLOWS_QUERY  # the retried first batch is idempotent
    assert set(flow_queries[1:]) == {CREATE_FLOWS_QUERY}
    again = RecordingRunner(has_flows=True)  # a database that already holds flows: MERGE throughout
    load_graph(again, demo_graph, batch_size=10, write_back=False)
    assert CREATE_FLOWS_QUERY not in {q for q, _, _ in again.calls}
    assert FLOWS_QUERY in {q for q, _, _ in again.calls}


def test_schema_statements_run_only_for_what_is_missing() -> None:
    class WithSchema(RecordingRunner):
        def run(self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False):
            if query == EXISTING_SCHEMA:
                self.calls.append((query, {}, write))
                return QueryResult(["names"], [{"names": ["entity_id", "provider_id", "index_343aff4e"]}])
            return super().run(query, parameters, write=write)

    runner = WithSchema()
    apply_schema(runner)
    sent = [q for q, _, _ in runner.calls]
    assert sent[0] == EXISTING_SCHEMA and sent[-1] == "CALL db.awaitIndexes(300)"
    assert sent[1:-1] == [s for s in SCHEMA_STATEMENTS if " entity_id " not in s and " provider_id " not in s]
    every = [s.split(" IF NOT EXISTS")[0].rsplit(" ", 1)[1] for s in SCHEMA_STATEMENTS]
    complete = RecordingRunner()
    complete.run = lambda q, p=None, *, write=False: (  # type: ignore[method-assign]
        complete.calls.append((q, {}, write)) or QueryResult(["names"], [{"names": every}])
    )
    apply_schema(complete)
    assert [q for q, _, _ in complete.calls] == [EXISTING_SCHEMA]  # all there: one round trip, nothing else


def test_persistent_unavailability_gives_up_with_the_error(demo_graph) -> None:
    runner = RecordingRunner(fail_first=100)
    with pytest.raises(Neo4jUnavailable):
        load_graph(runner, demo_graph, write_back=False, retry_delays=(0, 0))
    assert runner.calls == []


def test_the_same_file_from_two_folders_keeps_every_flow(tmp_path: Path) -> None:
    (tmp_path / "y2019").mkdir()
    (tmp_path / "y2020").mkdir()
    row = "a,A,commissioner,p,P,provider,10.00,GBP,2020-01-01,,r"
    first = write_flows(tmp_path / "y2019" / "spend.csv", [row])
    second = write_flows(tmp_path / "y2020" / "spend.csv", [row, row.replace("10.00", "7.00")])  # not a copy
    graph = read_graph([first, second])  # one name, one line, one payment: two flows all the same
    keys = flow_keys(graph.flows)[:2]
    assert graph.flows.height == 3 and len(set(keys)) == 2 and keys[1] == keys[0] + "#2"


def test_flow_keys_are_unique_and_ignore_the_folder(tmp_path: Path) -> None:
    rows = ["a,A,commissioner,p,P,provider,10.00,GBP,2020-01-01,,r"] * 3  # identical lines: 3 distinct flows
    one = read_graph([write_flows(tmp_path / "spend.csv", rows)])
    (tmp_path / "copy").mkdir()
    other = read_graph([write_flows(tmp_path / "copy" / "spend.csv", rows)])
    keys = flow_keys(one.flows)
    assert len(set(keys)) == 3
    assert keys == flow_keys(other.flows)
    renamed = read_graph([write_flows(tmp_path / "other.csv", rows)])
    assert set(keys).isdisjoint(flow_keys(renamed.flows))


def test_flow_batches_keep_exact_amounts_and_dates(demo_graph) -> None:
    batch = flow_batch(demo_graph.flows)
    assert batch["amount_minor"] == demo_graph.flows["amount_minor"].to_list()
    assert all(isinstance(a, int) for a in batch["amount_minor"])
    dates = [None if d is None else d.isoformat() for d in demo_graph.flows["date"].to_list()]
    assert batch["date"] == dates
    assert batch["payer"] == demo_graph.flows["payer_id"].to_list()


def test_a_failing_batch_stops_the_other_workers(demo_graph) -> None:
    class FailsAfterTwo(RecordingRunner):
        lock, attempted = threading.Lock(), set()

        def run(self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False):
            if "$batch" in query:
                with self.lock:
                    self.attempted.add(parameters["batch"]["flow_id"][0])
                    if len(self.attempted) > 2:
                        raise Neo4jUnavailable("gone for good")
            return super().run(query, parameters, write=write)

    runner = FailsAfterTwo()
    with pytest.raises(Neo4jUnavailable):
        load_graph(runner, demo_graph, batch_size=2, write_back=False, retry_delays=(0,), workers=2)
    batches = -(-demo_graph.flow_count // 2)
    assert len(flows_sent(runner, CREATE_FLOWS_QUERY)) == 4  # two batches of two went in
    assert len(runner.attempted) <= 2 + 2 * 2 + 2 < batches  # the rest were dropped, not tried


class Overlapping(RecordingRunner):
    """Records the most batches (flows, or those matching ``watch``) that were in the server at once."""

    def __init__(self, watch: str = "$batch", **kwargs: Any):
        super().__init__(**kwargs)
        self.lock, self.inside, self.most, self.watch = threading.Lock(), 0, 0, watch

    def run(self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False):
        if self.watch not in query:
            return super().run(query, parameters, write=write)
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.02)
        with self.lock:
            self.inside -= 1
        return super().run(query, parameters, write=write)


def test_creates_run_two_at_a_time_and_merges_one_at_a_time(demo_graph) -> None:
    fresh = Overlapping()
    load_graph(fresh, demo_graph, batch_size=4, write_back=False)
    assert fresh.most == 2
    reload = Overlapping(has_flows=True)  # MERGEs would wait on each other's node locks
    load_graph(reload, demo_graph, batch_size=4, write_back=False)
    assert reload.most == 1 and len(flows_sent(reload, FLOWS_QUERY)) == demo_graph.flow_count


def test_the_write_back_creates_attributions_two_at_a_time(demo_graph) -> None:
    from graphflows.analysis import attribute
    from graphflows.neo4j.writeback import ATTRIBUTIONS_QUERY, write_attribution

    result = attribute(demo_graph)
    runner = Overlapping(watch="ATTRIBUTED_TO")
    write_attribution(runner, result, batch_size=5, workers=2)
    assert runner.most == 2
    sent = [tuple(row) for q, p, _ in runner.calls if q == ATTRIBUTIONS_QUERY for row in p["rows"]]
    material = result.rows.filter(is_material())
    expected = material.select("recipient_id", "stovepipe_id", "currency", "amount_minor", "share")
    assert sorted(sent) == sorted(expected.iter_rows())  # every material row once
    assert material.height < result.rows.height  # the demo has thin shares, folded into remainders


def test_the_write_back_folds_thin_shares_into_one_remainder_per_recipient(demo_graph) -> None:
    from graphflows.analysis import attribute
    from graphflows.neo4j.writeback import ATTRIBUTIONS_QUERY, REMAINDERS_QUERY, write_attribution

    result = attribute(demo_graph)
    runner = RecordingRunner()
    report = write_attribution(runner, result, min_share=0.05)
    written: dict[tuple[str, str], int] = {}
    for query, params, _ in runner.calls:
        if query == ATTRIBUTIONS_QUERY:
            for recipient, _stovepipe, currency, minor, share in params["rows"]:
                assert share >= 0.05
                written[recipient, currency] = written.get((recipient, currency), 0) + minor
        if query == REMAINDERS_QUERY:
            assert params["min_share"] == 0.05
            for recipient, currency, minor, _share, stovepipes in params["rows"]:
                assert minor > 0 and stovepipes >= 1
                written[recipient, currency] = written.get((recipient, currency), 0) + minor
    totals = {
        (r, c): t for r, c, t in result.recipients.select("recipient_id", "currency", "total_in_minor").rows()
    }
    assert written == totals  # per recipient: material ATTRIBUTED_TO + remainder = total_in_minor
    assert report.remainders > 0


def test_a_failure_ends_the_other_workers_retries_at_once(demo_graph) -> None:
    class OneDeadOneFlaky(RecordingRunner):
        def run(self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False):
            if "$batch" in query:
                first = parameters["batch"]["flow_id"][0]
                if first == flow_keys(demo_graph.flows)[0]:
                    time.sleep(0.2)  # let the other worker start waiting to retry
                    raise CypherError("a real error in batch 1")
                raise Neo4jUnavailable("restarting")  # every other batch: retry, after a long pause
            return super().run(query, parameters, write=write)

    started = time.monotonic()
    with pytest.raises(CypherError, match="batch 1"):
        load_graph(
            OneDeadOneFlaky(), demo_graph, batch_size=5, write_back=False, retry_delays=(60, 60), workers=2
        )
    assert time.monotonic() - started < 30  # not the 60 s pause of the waiting worker


def test_schema_cypher_matches_the_loader() -> None:
    text = (cypher_dir() / "schema.cypher").read_text()
    statements = [line.rstrip(";") for line in text.splitlines() if line.startswith("CREATE ")]
    assert statements == list(SCHEMA_STATEMENTS)


LIBRARY = list_queries()
REQUIRED = {
    "convergence_points", "provider_funding_mix", "stovepipe_paths", "co_funding_commissioners",
    "pooled_funds", "flows_by_financial_year", "provider_dependency", "stovepipe_reach",
}  # fmt: skip


def test_library_has_the_queries_analysts_need() -> None:
    assert {q.name for q in LIBRARY} >= REQUIRED


@pytest.mark.parametrize("query", LIBRARY, ids=lambda q: q.name)
def test_library_headers_declare_exactly_the_parameters_used(query) -> None:
    assert query.question.endswith("?")
    assert query.example.startswith(f"graphflows query {query.name}")
    assert {p.name for p in query.parameters} == used_parameters(query.text)
    example_params = dict(item.split("=", 1) for item in re.findall(r"--param (\S+)", query.example))
    assert query.bind(example_params).keys() == {p.name for p in query.parameters}


def test_library_converts_and_checks_parameters() -> None:
    q = load_query("stovepipe_paths")
    bound = q.bind({"stovepipe_id": "123", "provider_id": "P", "limit": "5"})
    assert bound == {"stovepipe_id": "123", "provider_id": "P", "limit": 5}
    with pytest.raises(LibraryError, match="missing parameter provider_id"):
        q.bind({"stovepipe_id": "S"})
    with pytest.raises(LibraryError, match="unknown parameter colour"):
        q.bind({"stovepipe_id": "S", "provider_id": "P", "colour": "red"})
    with pytest.raises(LibraryError, match="limit: 'ten' is not a whole number, 0 or more"):
        q.bind({"stovepipe_id": "S", "provider_id": "P", "limit": "ten"})
    with pytest.raises(LibraryError, match="no query called 'nope'"):
        load_query("nope")


def test_query_list_and_errors_on_the_command_line() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["query", "--list"], catch_exceptions=False)
    assert listed.exit_code == 0
    for name in REQUIRED:
        assert name in listed.output
    from graphflows.cli.main import main

    assert main(["query", "no_such_query"]) == 2
    assert main(["query", "provider_funding_mix"]) == 2


def test_cli_params() -> None:
    assert parse_params(("limit=10", "id=P1", "x=a=b"), typed=False) == {
        "limit": "10",
        "id": "P1",
        "x": "a=b",
    }
    assert parse_params(("limit=10", "id=P1", 'q="7"'), typed=True) == {"limit": 10, "id": "P1", "q": "7"}
    with pytest.raises(Exception, match="expected KEY=VALUE"):
        parse_params(("novalue",), typed=False)


def test_password_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("NEO4J_USER", "analyst")
    settings = Neo4jSettings.from_env(uri="neo4j+s://example.databases.neo4j.io")
    assert "s3cret-pw" not in repr(settings)
    assert settings.auth() == ("analyst", "s3cret-pw")
    monkeypatch.delenv("NEO4J_PASSWORD")
    assert Neo4jSettings.from_env().auth() is None


def test_missing_java_or_maven_is_one_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(
        local_server.shutil, "which", lambda name: None if name == "mvn" else f"/usr/bin/{name}"
    )
    with pytest.raises(local_server.Neo4jServerError, match="mvn not found; install a JDK 17 and Maven"):
        local_server.ensure_runtime()


def test_status_ignores_a_stale_state_file(tmp_path: Path) -> None:
    (tmp_path / local_server.STATE_FILE).write_text(
        '{"pid": 999999999, "bolt_uri": "bolt://127.0.0.1:1", "browser_url": null, "data_dir": "x"}'
    )
    assert local_server.status(tmp_path) is None
    assert local_server.stop(tmp_path) is False
    assert not (tmp_path / local_server.STATE_FILE).exists()


def test_a_start_takes_the_last_starts_ports_again_when_they_are_free(tmp_path: Path) -> None:
    """So NEO4J_URI from `neo4j env` and an open Browser tab stay valid across a restart."""
    import socket

    port = local_server.free_port()
    assert local_server.reuse_port(port) == port
    assert local_server.reuse_port(port, avoid={port}) != port  # the Browser never takes Bolt's port
    with socket.socket() as busy:  # taken by another program meanwhile: a free one instead
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert not local_server.port_is_free(port) and local_server.reuse_port(port) != port
    assert local_server.reuse_port(None) > 0
    ports = tmp_path / local_server.PORTS_FILE
    assert local_server.last_ports(tmp_path) == {}  # never started here
    ports.write_text('{"bolt": 43117, "http": null}')  # started with --no-browser
    assert local_server.last_ports(tmp_path) == {"bolt": 43117}
    for broken in ("not json", "[43117]", '{"bolt": "43117", "http": 70000}', '{"bolt": true}'):
        ports.write_text(broken)
        assert local_server.last_ports(tmp_path) == {}, broken


def test_unreachable_server_is_a_one_line_error() -> None:
    from graphflows.cli.main import main

    port = local_server.free_port()
    assert main(["cypher", "RETURN 1", "--neo4j-uri", f"bolt://127.0.0.1:{port}"]) == 2


def test_extra_columns_travel_as_a_parameter_map(tmp_path: Path) -> None:
    header = FLOWS_HEADER + ",ward"
    graph = read_graph(
        [write_flows(tmp_path / "f.csv", ["a,A,commissioner,p,P,provider,1.00,GBP,,,,North"], header)]
    )
    assert "ward" in graph.flows.columns
    runner = RecordingRunner()
    load_graph(runner, graph, write_back=False)
    batches = [p["batch"] for q, p, _ in runner.calls if "batch" in (p or {})]
    # in the flow batch itself (no second pass that looks each flow up again), as a map per flow
    assert len(batches) == 1 and batches[0]["extras"] == [{"ward": "North"}]
    assert "SET f += coalesce($batch.extras[i], {})" in FLOWS_QUERY


def test_the_local_password_goes_only_to_the_local_servers_port() -> None:
    from graphflows.neo4j.runner import same_server

    local = "bolt://127.0.0.1:43117"
    assert same_server("neo4j://localhost:43117", local) and same_server(local, local)
    assert not same_server("bolt://127.0.0.1:7687", local)
    assert not same_server("bolt://db.example.org:43117", local)
    assert not same_server("neo4j+s://xxxxxxxx.databases.neo4j.io", local)


def test_import_files_carry_exact_values_types_and_hostile_names(tmp_path: Path) -> None:
    import csv

    from graphflows.neo4j.bulk import analysis_tables, write_import_files

    hostile = ['"Quoted", Trust', "Line\nbreak", "=cmd|' /C calc'!A0", "semi;colon"]
    quoted = ['"' + name.replace('"', '""') + '"' for name in hostile]
    rows = [
        f"c{i},{name},commissioner,p{i},P{i},provider,{i}0.0{i},GBP,2024-04-01,,r"
        for i, name in enumerate(quoted)
    ]
    graph = read_graph([write_flows(tmp_path / "f.csv", rows, pad=False)])
    folder = tmp_path / "files"
    folder.mkdir()
    files = write_import_files(graph, folder, analysis_tables(graph, "channel", 0.01, 2))
    assert files.multiline == [
        folder / "nodes.csv"
    ]  # only the file with a line break is parsed as multi-line
    with (folder / "nodes.csv").open(newline="", encoding="utf-8") as handle:
        nodes = list(csv.DictReader(handle))
    assert {n["name:string"] for n in nodes} >= set(hostile)
    assert [int(n[":ID"]) for n in nodes] == list(range(len(nodes)))  # numbered: --id-type=actual
    by_id = {n["id:string"]: n for n in nodes}
    assert by_id["c0"][":LABEL"] == "Entity;Commissioner" and by_id["p0"][":LABEL"].startswith(
        "Entity;Provider"
    )
    assert by_id["p3"]["total_in_minor:long"] == "3003" and by_id["p3"]["total_in:double"] == "30.03"
    assert (
        by_id["p3"]["channels:string[]"] != "" and by_id["c0"]["total_in_minor:long"] == ""
    )  # null: no property
    with (folder / "flows.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        flows = list(reader)
    assert header[:8] == [
        ":START_ID", ":END_ID", "flow_id:string", "amount_minor:long", "amount:double",
        "currency:string", "date:date", "stream_id:string",
    ]  # fmt: skip
    assert sorted(int(f[3]) for f in flows) == sorted(graph.flows["amount_minor"].to_list())
    text_id = {n[":ID"]: n["id:string"] for n in nodes}
    ends = {(text_id[f[0]], text_id[f[1]], int(f[3])) for f in flows}
    assert ends == set(graph.flows.select("payer_id", "payee_id", "amount_minor").iter_rows())
    assert {f[6] for f in flows} == {"2024-04-01"}


def test_with_no_server_running_the_error_says_so_and_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPHFLOWS_NEO4J_DATA", str(tmp_path / "neo4j"))  # no server was started here
    from graphflows.cli.main import main

    assert main(["query", "convergence_points"]) == 2
    err = capsys.readouterr().err
    assert f"no Neo4j server is running on {tmp_path / 'neo4j'}" in err
    assert "`graphflows neo4j start`" in err and "7687" not in err and len(err.strip().splitlines()) == 1
    # a load says so before it reads the files (which takes minutes for large ones)
    assert main(["load", str(DEMO)]) == 2
    captured = capsys.readouterr()
    assert f"no Neo4j server is running on {tmp_path / 'neo4j'}" in captured.err and captured.out == ""
    # a server named by the user is reported as unreachable at its address
    assert main(["query", "convergence_points", "--neo4j-uri", "bolt://127.0.0.1:1"]) == 2
    assert "cannot reach Neo4j at bolt://127.0.0.1:1" in capsys.readouterr().err


class HoldingRunner(RecordingRunner):
    """A database that already holds the flows ``held`` (their flow_ids, from one file) and the nodes
    ``nodes`` (their ids)."""

    def __init__(self, held: list[str], nodes: Iterable[str] = (), **kwargs: Any):
        super().__init__(has_flows=bool(held), **kwargs)
        self.held, self.nodes = held, set(nodes)

    def run(self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False):
        if query == STORED_FLOWS_QUERY:
            self.calls.append((query, {}, write))
            rows = [{"source": str(DEMO), "flow_ids": self.held}] if self.held else []
            return QueryResult(["source", "flow_ids"], rows)
        if query == HELD_NODES_QUERY:
            self.calls.append((query, dict(parameters or {}), write))
            return QueryResult(["held"], [{"held": len(self.nodes & set(parameters["ids"]))}])
        return super().run(query, parameters, write=write)


def test_a_reload_says_how_many_flows_are_new_and_how_many_were_there(
    demo_graph, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from contextlib import contextmanager

    from graphflows.cli import neo4j_cmds

    keys = flow_keys(demo_graph.flows)
    ends = demo_graph.flows.select("payer_id", "payee_id")
    first_20 = set(ends.head(20).to_series(0)) | set(ends.head(20).to_series(1))  # those flows' nodes
    loaded = load_graph(HoldingRunner(keys[:20], first_20), demo_graph, write_back=False)
    assert (loaded.already, loaded.nodes_already) == (20, len(first_20))
    assert load_graph(HoldingRunner([]), demo_graph, write_back=False).already == 0
    replaced = HoldingRunner(keys, demo_graph.nodes["id"])
    assert load_graph(replaced, demo_graph, write_back=False, replace=True).nodes_already == 0
    assert not {STORED_FLOWS_QUERY, HELD_NODES_QUERY} & {q for q, _, _ in replaced.calls}
    # through the CLI, with counts as people read them
    monkeypatch.setenv("GRAPHFLOWS_NEO4J_DATA", str(tmp_path))  # no local server: the Bolt loader
    monkeypatch.setattr(neo4j_cmds.console, "width", 300)
    outputs = {}
    for held, nodes in (([], ()), (keys[:20], first_20), (keys, demo_graph.nodes["id"])):

        @contextmanager
        def connected(_uri, held=held, nodes=nodes):
            yield HoldingRunner(held, nodes)

        monkeypatch.setattr(neo4j_cmds, "_runner", connected)
        result = CliRunner().invoke(cli, ["load", str(DEMO), "--no-write-back"], catch_exceptions=False)
        assert result.exit_code == 0
        outputs[len(held)] = next(line for line in result.output.splitlines() if line.startswith("Loaded"))
    assert outputs[0].startswith("Loaded 25 nodes and 47 flows (all new) worth GBP 22,197,000.00 in ")
    part = f"25 nodes ({25 - len(first_20)} new, {len(first_20)} already in the database)"
    assert outputs[20].startswith(f"Loaded {part} and 47 flows (27 new, 20 already in the database) worth")
    again = "25 nodes (0 new, 25 already in the database) and 47 flows (0 new, 47 already in the database)"
    assert outputs[47].startswith(f"Loaded {again} worth")
    assert "((" not in result.output and "))" not in result.output


def test_counts_in_the_load_output_have_thousands_separators() -> None:
    from graphflows.cli.neo4j_cmds import _loaded
    from graphflows.neo4j.loader import LoadReport

    again = LoadReport(nodes=1245, nodes_already=1245, flows=9411, already=9411)
    assert _loaded(again) == (
        "1,245 nodes (0 new, 1,245 already in the database) and "
        "9,411 flows (0 new, 9,411 already in the database)"
    )
    assert _loaded(LoadReport(nodes=1245, flows=29923)) == "1,245 nodes and 29,923 flows (all new)"
    some = LoadReport(nodes=1245, nodes_already=1000, flows=29923)
    assert _loaded(some) == "1,245 nodes (245 new, 1,000 already in the database) and 29,923 flows (all new)"
