"""Truth across engines: the Cypher library and the write-back in a real Neo4j give the same answers as
the analysis in Python (polars/networkx), on the demo, a seeded generated graph (pooled funds, declared
streams, cycles, two currencies, credit notes) and real NHS spend data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl
import pytest

from graphflows.analysis import Attribution, attribute, convergence
from graphflows.analysis.convergence import as_ranked
from graphflows.graph import FlowGraph, read_graph
from graphflows.neo4j import BoltRunner, connect, load_graph, run_named
from graphflows.neo4j.library import LibraryError
from graphflows.neo4j.parameters import CHECK_QUERY, KNOWN_LIMIT
from tests.helpers import material as is_material
from tests.helpers import write_flows

pytestmark = pytest.mark.neo4j

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "graphflows" / "data" / "demo" / "flows.csv"
REAL = ROOT / "tests" / "data" / "real" / "nhs-ccg-spend-nel"
ALL = 1_000_000  # "limit" large enough for every row


def generated_csv(path: Path, seed: int = 20) -> Path:
    """A seeded flows CSV with pooled funds, declared streams, cycles, credit notes and a second currency."""
    rng = random.Random(seed)
    streams = [f"stream-{i}" for i in range(5)]
    comms = [f"ccg-{i}" for i in range(8)]
    pools = ["pool-bcf", "pool-tf"]
    provs = [f"prov-{i}" for i in range(30)]
    kinds = {**{s: "stream" for s in streams + pools}, **{c: "commissioner" for c in comms}}
    kinds.update({p: "provider" for p in provs})
    lines: list[str] = []

    def flow(
        payer: str, payee: str, pounds: float, stream: str = "", currency: str = "GBP", undated: bool = False
    ):
        day = "" if undated else (date(2018, 4, 1) + timedelta(days=rng.randrange(3 * 365))).isoformat()
        lines.append(
            f"{payer},Name of {payer},{kinds[payer]},{payee},Name of {payee},{kinds[payee]},"
            f"{pounds:.2f},{currency},{day},{stream},ref-{len(lines)}"
        )

    for s in streams:  # national streams pay commissioners
        for c in rng.sample(comms, 3):
            flow(s, c, rng.randrange(100_000, 900_000) + rng.randrange(100) / 100)
    flow("ccg-0", "ccg-1", 50_000.25)  # a cycle between commissioners
    flow("ccg-1", "ccg-0", 20_000.10)
    for pool in pools:  # pooled funds, one paying back into a commissioner (another cycle)
        for c in rng.sample(comms, 3):
            flow(c, pool, rng.randrange(50_000, 200_000) + 0.5)
    flow("pool-bcf", "ccg-2", 30_000.00)
    flow("ccg-2", "pool-bcf", 10_000.00)
    for _ in range(120):  # commissioners and pools pay providers, often declaring the stream
        payer = rng.choice(comms + pools)
        stream = rng.choice(streams) if payer in comms and rng.random() < 0.3 else ""
        flow(payer, rng.choice(provs), rng.randrange(1_000, 40_000) + rng.randrange(100) / 100, stream,
             undated=rng.random() < 0.05)  # fmt: skip
    for _ in range(10):  # subcontracts
        a, b = rng.sample(provs, 2)
        flow(a, b, rng.randrange(500, 5_000) + 0.99)
    flow("ccg-3", "prov-1", -1_234.56)  # a credit note
    flow("stream-4", "ccg-5", 70_000.00, currency="EUR")  # a second currency, never added to pounds
    flow("ccg-5", "prov-2", 25_000.00, currency="EUR")
    flow("ccg-5", "prov-3", 15_000.00, currency="EUR")
    flow("ccg-6", "prov-2", 1_500.00, currency="EUR")
    return write_flows(path, lines)


def real_files() -> list[Path]:
    return sorted(REAL.glob("*.zip")) + sorted(REAL.rglob("*.csv"))


DATASETS = ["demo", "generated", "real-nhs-spend"]


@pytest.fixture(scope="module")
def module_runner(neo4j_server) -> Iterator[BoltRunner]:
    runner = connect(neo4j_server.settings())
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="module", params=DATASETS)
def loaded(request, module_runner: BoltRunner, tmp_path_factory) -> tuple[BoltRunner, FlowGraph, Attribution]:
    """One dataset loaded (with write-back) into the emptied database; the tests here only read."""
    from tests.fixtures.neo4j_server import wipe

    if request.param == "demo":
        graph = read_graph([DEMO])
    elif request.param == "generated":
        graph = read_graph([generated_csv(tmp_path_factory.mktemp("gen") / "generated.csv")])
    else:
        files = real_files()
        assert files, f"real data expected in {REAL}"
        graph = read_graph(files)
    wipe(module_runner)
    load_graph(module_runner, graph)
    return module_runner, graph, attribute(graph, by="origin")


def test_money_reconciles_to_the_penny(loaded) -> None:
    runner, graph, result = loaded
    rows = runner.run(
        "MATCH ()-[f:FLOWS_TO]->() RETURN f.currency AS currency, sum(f.amount_minor) AS total, count(f) AS n"
    ).rows
    assert {r["currency"]: r["total"] for r in rows} == graph.totals()
    assert sum(r["n"] for r in rows) == graph.flow_count
    attributed = runner.run(  # material ATTRIBUTED_TO plus the remainders
        "MATCH ()-[a:ATTRIBUTED_TO]->() RETURN a.currency AS currency, sum(a.amount_minor) AS total"
    ).rows
    expected = result.rows.group_by("currency").agg(pl.col("amount_minor").sum())
    assert {r["currency"]: r["total"] for r in attributed} == dict(expected.iter_rows())


def material(result: Attribution) -> pl.DataFrame:
    """The attribution rows the write-back stores one by one: share at least the default min_share."""
    return result.rows.filter(is_material())


def test_attributed_to_equals_the_networkx_analysis(loaded) -> None:
    runner, graph, result = loaded
    stored = runner.run(
        "MATCH (r)-[a:ATTRIBUTED_TO]->(s:Entity) RETURN r.id AS recipient_id, s.id AS stovepipe_id, "
        "a.currency AS currency, a.amount_minor AS amount_minor, a.share AS share"
    ).rows
    key = ["recipient_id", "stovepipe_id", "currency"]
    assert sorted(stored, key=lambda r: tuple(r[k] for k in key)) == material(result).sort(key).to_dicts()
    via_networkx = attribute(graph.to_networkx(), by="origin").rows
    via_networkx = via_networkx.filter(is_material()).sort(key)
    assert via_networkx.select(*key, "amount_minor").rows() == [
        (r["recipient_id"], r["stovepipe_id"], r["currency"], r["amount_minor"])
        for r in sorted(stored, key=lambda r: tuple(r[k] for k in key))
    ]


def test_attributed_to_plus_remainder_is_each_recipients_income(loaded) -> None:
    runner, _graph, result = loaded
    stored = runner.run(
        "MATCH (r)-[a:ATTRIBUTED_TO]->(s) RETURN r.id AS recipient_id, a.currency AS currency, "
        "sum(a.amount_minor) AS total, sum(CASE WHEN s:OtherStovepipes THEN 1 ELSE 0 END) AS remainders, "
        "sum(CASE WHEN s:OtherStovepipes THEN a.stovepipes ELSE 1 END) AS stovepipes"
    ).rows
    income = result.recipients.select("recipient_id", "currency", "total_in_minor").rows()
    assert {(r["recipient_id"], r["currency"], r["total"]) for r in stored} == set(income)
    assert all(r["remainders"] <= 1 for r in stored)
    per_recipient = result.rows.group_by("recipient_id", "currency").len()
    assert {(r["recipient_id"], r["currency"], r["stovepipes"]) for r in stored} == set(per_recipient.rows())
    # the recipient's own figure (first currency) agrees: material ATTRIBUTED_TO + remainder = total_in_minor
    nodes = runner.run(
        "MATCH (r:Entity) WHERE r.total_in_minor IS NOT NULL "
        "OPTIONAL MATCH (r)-[a:ATTRIBUTED_TO {currency: r.currency}]->() "
        "RETURN r.total_in_minor AS total, sum(a.amount_minor) AS attributed"
    ).rows
    assert nodes and all(r["total"] == r["attributed"] for r in nodes)


def expected_recipients(result: Attribution) -> pl.DataFrame:
    """One row per recipient: its first currency in convergence order (what the write-back stores)."""
    return convergence(result, min_stovepipes=2).unique("recipient_id", keep="first", maintain_order=True)


def test_convergence_points_query_and_labels(loaded) -> None:
    """The query returns the convergence points of convergence.csv, in its order (rank = its row there)."""
    runner, _graph, result = loaded
    got = run_named(runner, "convergence_points", {"limit": ALL}).rows
    table = convergence(result).with_row_index("rank", offset=1)
    points = table.filter(pl.col("is_convergence_point"))
    points = points.unique("recipient_id", keep="first", maintain_order=True)
    columns = ["rank", "recipient_id", "channel_count", "stovepipe_count", "currency", "total_in_minor",
               "top_stovepipe_id", "top_share", "hhi", "payer_count"]  # fmt: skip
    assert [tuple(r[c] for c in columns) for r in got] == points.select(columns).rows()
    assert [r["channels"] for r in got] == [c.split(";") for c in points["channels"]]
    labelled = {r["id"] for r in runner.run("MATCH (n:ConvergencePoint) RETURN n.id AS id").rows}
    assert labelled == set(points["recipient_id"].to_list())


def test_provider_funding_mix(loaded) -> None:
    runner, _graph, result = loaded
    recipients = expected_recipients(result)["recipient_id"].head(8).to_list()
    assert recipients
    for recipient in recipients:
        got = run_named(runner, "provider_funding_mix", {"provider_id": recipient}).rows
        expected = material(result).filter(pl.col("recipient_id") == recipient)
        rest = result.rows.filter((pl.col("recipient_id") == recipient) & (~is_material()))
        rows = expected.select("stovepipe_id", "currency", "amount_minor", "share").rows()
        for (currency,), group in rest.group_by("currency"):
            rows.append(
                ("below_min_share", currency, group["amount_minor"].sum(), group["share"].sort().sum())
            )
        assert sorted(
            (r["stovepipe_id"], r["currency"], r["amount_minor"], r["share"]) for r in got
        ) == sorted(rows)


def providers(graph: FlowGraph) -> set[str]:
    return set(graph.nodes.filter(pl.col("kinds").list.contains("provider"))["id"].to_list())


def test_provider_dependency(loaded) -> None:
    runner, graph, result = loaded
    got = run_named(runner, "provider_dependency", {"min_share": 0.5, "limit": ALL}).rows
    expected = expected_recipients(result).filter(
        pl.col("recipient_id").is_in(sorted(providers(graph))) & (pl.col("top_share") >= 0.5)
    )
    assert {(r["provider_id"], r["top_stovepipe_id"], r["top_share"]) for r in got} == set(
        expected.select("recipient_id", "top_stovepipe_id", "top_share").rows()
    )
    shares = [r["top_share"] for r in got]
    assert shares == sorted(shares, reverse=True)


def test_stovepipe_reach(loaded) -> None:
    runner, graph, result = loaded
    got = run_named(runner, "stovepipe_reach", {"limit": ALL}).rows
    expected = (
        material(result)
        .filter(pl.col("recipient_id").is_in(sorted(providers(graph))))
        .group_by("stovepipe_id", "currency")
        .agg(pl.col("recipient_id").n_unique().alias("n"), pl.col("amount_minor").sum().alias("minor"))
    )
    assert {
        (r["stovepipe_id"], r["currency"], r["providers_reached"], r["reached_minor"]) for r in got
    } == set(expected.select("stovepipe_id", "currency", "n", "minor").rows())


def financial_year(day: date | None) -> str | None:
    if day is None:
        return None
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def test_flows_by_financial_year(loaded) -> None:
    runner, graph, _result = loaded
    got = run_named(runner, "flows_by_financial_year").rows
    expected: dict[tuple[Any, str], list[int]] = {}
    for flow in graph.flows.select("date", "currency", "amount_minor").iter_rows(named=True):
        cell = expected.setdefault((financial_year(flow["date"]), flow["currency"]), [0, 0])
        cell[0] += 1
        cell[1] += flow["amount_minor"]
    assert {(r["financial_year"], r["currency"]): [r["flows"], r["total_minor"]] for r in got} == expected
    payer = graph.flows["payer_id"][0]
    one = run_named(runner, "flows_by_financial_year", {"payer_id": payer}).rows
    assert sum(r["flows"] for r in one) == graph.flows.filter(pl.col("payer_id") == payer).height


def test_pooled_funds(loaded) -> None:
    runner, graph, _result = loaded
    got = run_named(runner, "pooled_funds", {"min_payers": 2, "limit": ALL}).rows
    flows = graph.flows
    payers_out = set(flows["payer_id"].to_list())
    paid_in = (
        flows.filter(pl.col("payee_id").is_in(sorted(payers_out)))
        .group_by("payee_id", "currency", "payer_id")
        .agg(pl.col("amount_minor").sum())
    )
    funds = (
        paid_in.group_by("payee_id", "currency")
        .agg(pl.len().alias("payer_count"), pl.col("amount_minor").sum().alias("total_in"))
        .filter(pl.col("payer_count") >= 2)
    )
    out = flows.group_by("payer_id", "currency").agg(pl.col("amount_minor").sum().alias("total_out"))
    expected = funds.join(
        out, left_on=["payee_id", "currency"], right_on=["payer_id", "currency"], how="left"
    )
    columns = ["fund_id", "currency", "payer_count", "total_in_minor", "total_out_minor"]
    wanted = expected.select(
        "payee_id", "currency", "payer_count", "total_in", pl.col("total_out").fill_null(0)
    )
    assert {tuple(r[c] for c in columns) for r in got} == set(wanted.rows())
    for row in got:  # each payer's contribution adds up to the fund's total in
        assert sum(p["paid_in_minor"] for p in row["payers"]) == row["total_in_minor"]


def test_co_funding_commissioners(loaded) -> None:
    runner, graph, _result = loaded
    got = run_named(runner, "co_funding_commissioners", {"min_shared": 1, "limit": ALL}).rows
    kinds = {r["id"]: set(r["kinds"]) for r in graph.nodes.iter_rows(named=True)}
    G = nx.DiGraph()
    G.add_edges_from(graph.flows.select("payer_id", "payee_id").rows())
    shared: dict[tuple[str, str], int] = {}
    for p in G.nodes:
        if "provider" not in kinds[p]:
            continue
        payers = sorted(c for c in G.predecessors(p) if "commissioner" in kinds[c])
        for i, a in enumerate(payers):
            for b in payers[i + 1 :]:
                shared[(a, b)] = shared.get((a, b), 0) + 1
    assert {(r["commissioner_1_id"], r["commissioner_2_id"]): r["shared_providers"] for r in got} == shared


def test_stovepipe_paths_are_shortest_routes(loaded) -> None:
    runner, graph, result = loaded
    G = nx.DiGraph()
    G.add_edges_from(graph.flows.select("payer_id", "payee_id").rows())
    pairs = (
        result.rows.filter(pl.col("recipient_id").is_in(sorted(providers(graph))))
        .select("stovepipe_id", "recipient_id")
        .unique()
        .sort("stovepipe_id", "recipient_id")
        .rows()
    )
    assert pairs
    for stovepipe, provider in random.Random(3).sample(pairs, min(6, len(pairs))):
        got = run_named(
            runner, "stovepipe_paths", {"stovepipe_id": stovepipe, "provider_id": provider, "limit": ALL}
        )
        lengths = nx.single_source_shortest_path_length(G, stovepipe, cutoff=5)
        expected_last = {m for m in G.predecessors(provider) if m in lengths}
        assert {r["last_payer_id"] for r in got.rows} == expected_last
        for row in got.rows:
            route = row["route_ids"]
            assert route[0] == stovepipe and route[-1] == provider
            assert all(G.has_edge(a, b) for a, b in pairwise(route))
            assert row["hops"] == lengths[row["last_payer_id"]] + 1 == len(route) - 1


def test_channel_write_back_matches_channels_csv(loaded) -> None:
    from graphflows.analysis import channel_mix

    runner, graph, result = loaded
    stored = runner.run(
        "MATCH (r:Entity)-[a:ATTRIBUTED_TO_CHANNEL]->(c:Channel) RETURN r.id AS recipient_id, "
        "c.id AS channel, a.currency AS currency, a.amount_minor AS amount_minor, a.share AS share"
    ).rows
    key = ["recipient_id", "channel", "currency"]
    expected = channel_mix(result).sort(key)
    assert sorted(stored, key=lambda r: tuple(r[k] for k in key)) == expected.to_dicts()
    nodes = runner.run("MATCH (n:Entity) RETURN n.id AS id, n.channel AS channel, n.form AS form").rows
    assert {(r["id"], r["channel"], r["form"]) for r in nodes} == set(
        graph.nodes.select("id", "channel", "form").rows()
    )


def test_convergence_by_channel_query(loaded) -> None:
    runner, _graph, result = loaded
    got = run_named(runner, "convergence_by_channel", {"min_channels": 2, "limit": ALL}).rows
    table = expected_recipients(result).filter(pl.col("channel_count") >= 2)
    assert [r["recipient_id"] for r in got] == table.sort(
        ["channel_count", as_ranked(pl.col("effective_channels")), "total_in_minor", "recipient_id"],
        descending=[True, True, True, False],
    )["recipient_id"].to_list()
    for row in got:
        assert row["channel_count"] >= 2 and len(row["channel_mix"]) >= row["channel_count"]
    by_id = {r["recipient_id"]: r for r in got}
    for expected in table.iter_rows(named=True):
        assert by_id[expected["recipient_id"]]["channels"] == expected["channels"].split(";")
        assert by_id[expected["recipient_id"]]["convergence_point"] == expected["is_convergence_point"]


def test_providers_by_form_query(loaded) -> None:
    runner, _graph, result = loaded
    table = expected_recipients(result)
    providers_ = table.filter(pl.col("kinds").str.contains("provider") & (pl.col("currency") == "GBP"))
    got = {r["form"]: r for r in run_named(runner, "providers_by_form", {"currency": "GBP"}).rows}
    for (form,), part in providers_.group_by("form"):
        assert got[form]["providers"] == part.height
        assert got[form]["convergence_points"] == int(part["is_convergence_point"].sum())
        assert got[form]["total_in_minor"] == int(part["total_in_minor"].sum())


def test_the_parameter_check_finds_every_node_and_currency_and_only_those(loaded) -> None:
    runner, graph, _result = loaded
    ids = graph.nodes["id"].to_list()
    currencies = sorted(graph.totals())
    asked = {"ids": [*ids, "no-such-org"], "currencies": [*currencies, "XYZ"], "known_limit": KNOWN_LIMIT}
    row = runner.run(CHECK_QUERY, asked).rows[0]
    assert row["missing_ids"] == ["no-such-org"] and row["missing_currencies"] == ["XYZ"]
    assert sorted(row["held"]) == currencies
    assert sorted(map(tuple, row["known"])) == sorted(graph.nodes.select("id", "name").rows())
    # nothing missing: nothing else is fetched
    row = runner.run(CHECK_QUERY, {**asked, "ids": ids, "currencies": currencies}).rows[0]
    assert row == {"missing_ids": [], "missing_currencies": [], "known": [], "held": []}
    # an id with a typo is refused, naming the node it resembles; a known id runs
    longest = max(ids, key=len)
    with pytest.raises(LibraryError, match=f"no organisation with id '{longest}x' in the database") as caught:
        run_named(runner, "provider_funding_mix", {"provider_id": longest + "x"})
    assert f"did you mean {longest!r}" in str(caught.value)
    run_named(runner, "flows_by_financial_year", {"payer_id": longest})
    with pytest.raises(LibraryError, match="no flows in XYZ in the database"):
        run_named(runner, "providers_by_form", {"currency": "xyz"})
