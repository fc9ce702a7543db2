"""Graph Data Science on the local server (`graphflows neo4j start --gds`) and the library queries using it.

The session server is restarted with GDS for this module (same folder and port; never two servers at once),
then restarted without it. Skipped when NEO4J_URI names another server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from graphflows.cli.main import main
from graphflows.graph import read_graph
from graphflows.neo4j import BoltRunner, load_graph, run_named
from graphflows.neo4j import server as local_server
from graphflows.neo4j.library import LibraryError, load_query
from tests.helpers import write_flows

ALL = 1000


@pytest.fixture(scope="module")
def gds_server(neo4j_server) -> Iterator[object]:
    if not neo4j_server.managed:
        pytest.skip("GDS is added to graphflows' own local server only (NEO4J_URI names another)")
    neo4j_server.stop()
    try:
        local_server.start(neo4j_server.data_dir, port=neo4j_server.port, browser=False, gds=True)
        yield neo4j_server
    finally:
        neo4j_server.stop()
        neo4j_server.start()


def load(runner: BoltRunner, tmp_path: Path, rows: list[str]) -> None:
    load_graph(runner, read_graph([write_flows(tmp_path / "flows.csv", rows)]), write_back=False)


def test_the_server_runs_gds_community(gds_server, neo4j_runner: BoltRunner) -> None:
    assert neo4j_runner.run("RETURN gds.version() AS v").rows[0]["v"].startswith("2.13.")
    assert local_server.status(gds_server.data_dir).gds


def test_provider_pagerank_follows_the_money(gds_server, neo4j_runner: BoltRunner, tmp_path) -> None:
    rows = [
        "s1,National grant,stream,c1,North CCG,commissioner,9000.00,GBP,,,",
        "s1,National grant,stream,c2,South CCG,commissioner,5000.00,GBP,,,",
        "c1,North CCG,commissioner,p1,Big Trust,provider,6000.00,GBP,,,",
        "c1,North CCG,commissioner,p2,Mid Charity,provider,3000.00,GBP,,,",
        "c2,South CCG,commissioner,p1,Big Trust,provider,4500.00,GBP,,,",
        "c2,South CCG,commissioner,p3,Small CIC,provider,500.00,GBP,,,",
        "c2,South CCG,commissioner,p3,Small CIC,provider,99999.00,EUR,,,",  # never mixed into GBP
    ]
    load(neo4j_runner, tmp_path, rows)
    got = run_named(neo4j_runner, "provider_pagerank", {"limit": ALL}).rows
    assert [r["provider_id"] for r in got] == ["p1", "p2", "p3"]
    # the same order as networkx's weighted PageRank on the same money (GBP, pence)
    G = nx.DiGraph()
    links = [
        ("s1", "c1", 9000),
        ("s1", "c2", 5000),
        ("c1", "p1", 6000),
        ("c1", "p2", 3000),
        ("c2", "p1", 4500),
    ]
    for payer, payee, pounds in [*links, ("c2", "p3", 500)]:
        G.add_edge(payer, payee, weight=pounds * 100)
    reference = nx.pagerank(G, weight="weight")
    assert sorted(["p1", "p2", "p3"], key=lambda p: -reference[p]) == [r["provider_id"] for r in got]
    in_euros = run_named(neo4j_runner, "provider_pagerank", {"currency": "EUR", "limit": ALL}).rows
    assert [r["provider_id"] for r in in_euros] == ["p3"]
    assert neo4j_runner.run("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n").rows[0]["n"] == 0


def test_commissioner_communities_find_the_co_funding_groups(
    gds_server, neo4j_runner, tmp_path, capsys
) -> None:
    rows = [
        f"a{i},North {i},commissioner,pa{j},North provider {j},provider,100.00,GBP,,,"
        for i in range(3)
        for j in range(2)
    ]
    rows += [f"b{i},South {i},commissioner,pb,South provider,provider,100.00,GBP,,," for i in range(2)]
    rows += [
        "x,Loner,commissioner,px,Own provider,provider,100.00,GBP,,,"
    ]  # co-funds nothing: in no community
    load(neo4j_runner, tmp_path, rows)
    got = run_named(neo4j_runner, "commissioner_communities", {"min_size": 2, "limit": ALL}).rows
    assert [(r["commissioners"], r["commissioner_ids"]) for r in got] == [
        (3, ["a0", "a1", "a2"]),
        (2, ["b0", "b1"]),
    ]
    assert neo4j_runner.run("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n").rows[0]["n"] == 0
    assert main(["query", "commissioner_communities", "--json", "-"]) == 0  # the CLI finds the server itself
    assert json.loads(capsys.readouterr().out)["rows"][0]["commissioner_names"] == [
        "North 0",
        "North 1",
        "North 2",
    ]


def test_nothing_to_project_gives_no_rows_not_a_java_error(gds_server, neo4j_runner, tmp_path) -> None:
    load(neo4j_runner, tmp_path, ["c1,North CCG,commissioner,p1,Big Trust,provider,6000.00,GBP,,,"])
    # no flows in EUR, no provider paid by two commissioners: nothing to project, so no rows
    pagerank = load_query("provider_pagerank").text
    assert neo4j_runner.run(pagerank, {"currency": "EUR", "limit": ALL}).rows == []
    communities = load_query("commissioner_communities").text
    assert neo4j_runner.run(communities, {"min_size": 2, "limit": ALL}).rows == []
    assert run_named(neo4j_runner, "commissioner_communities").rows == []
    # through the library, a currency without flows is one line naming the currencies there are
    with pytest.raises(LibraryError, match=r"no flows in EUR in the database \(its currencies: GBP\)"):
        run_named(neo4j_runner, "provider_pagerank", {"currency": "eur"})
