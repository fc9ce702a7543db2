"""Graphs given as networkx objects or flow tables are read as strictly as flows files, with errors that
name the edge, node or row (the analyst's findings in review-api.md, each checked by hand)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pytest

import graphflows as gf
from graphflows.analysis import attribute, channel_mix, convergence, funding_mix
from graphflows.graph import build_graph, from_networkx, to_networkx
from graphflows.model import FLOW_COLUMNS, InputError


def one_edge(**data) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    G.add_edge("CCG", "P", **data)
    return G


def amount_of(G: nx.Graph) -> int:
    return from_networkx(G).flows["amount_minor"].item()


def refused(G: nx.Graph) -> str:
    with pytest.raises(InputError) as caught:
        from_networkx(G)
    return str(caught.value)


# ---------------------------------------------------------------------------- amount and amount_minor


def test_editing_amount_of_a_to_networkx_graph_is_refused_not_ignored():
    graph = gf.read_graph([gf.demo_path()])
    G = graph.to_networkx()
    G.edges["nhse-allocation", "leicester-city-ccg", 0]["amount"] = Decimal("1.00")
    with pytest.raises(InputError) as caught:
        attribute(G)
    message = str(caught.value)
    assert "'nhse-allocation' -> 'leicester-city-ccg', key 0" in message
    assert "Decimal('1.00') (100 pence) and amount_minor 420000000 disagree" in message
    del G.edges["nhse-allocation", "leicester-city-ccg", 0]["amount_minor"]  # the edit, as the error says
    assert attribute(G).totals() == {"GBP": 2_220_900_000 - 420_000_000 + 100}


def test_round_trip_is_exact():
    graph = gf.read_graph([gf.demo_path()])
    back = from_networkx(to_networkx(graph))
    in_line_order = pl.col("line").cast(pl.Int64)  # networkx gives the edges payer by payer
    assert back.flows.sort(in_line_order).equals(graph.flows.sort(in_line_order))
    node = ["id", "name", "kinds", "channel"]
    assert back.nodes.select(node).sort("id").equals(graph.nodes.select(node).sort("id"))


def test_amount_and_amount_minor_that_agree_are_read_and_that_disagree_are_refused():
    assert amount_of(one_edge(amount="1.50", amount_minor=150)) == 150
    assert amount_of(one_edge(amount=3, amount_minor=300)) == 300
    assert "amount '2.00' (200 pence) and amount_minor 150 disagree" in refused(
        one_edge(amount="2.00", amount_minor=150)
    )


@pytest.mark.parametrize("given", [1.99, True, "150", 150.0])
def test_amount_minor_must_be_whole_pence(given):
    message = refused(one_edge(amount_minor=given))
    assert message.startswith("edge ('CCG' -> 'P', key 0): amount_minor ")
    assert "is not a whole number of pence" in message


# ------------------------------------------------------------------------------------------- direction


@pytest.mark.parametrize("kind", [nx.Graph, nx.MultiGraph])
def test_undirected_graphs_are_refused(kind):
    G = kind()
    G.add_edge("CCG", "P", amount="100")
    message = refused(G)
    assert kind.__name__ in message and "give an nx.DiGraph or nx.MultiDiGraph" in message


def test_a_digraph_names_edges_without_a_key():
    G = nx.DiGraph()
    G.add_edge("CCG", "P", amount="n/a")
    assert refused(G) == "edge ('CCG' -> 'P'): amount n/a is not a number"


# ------------------------------------------------------------------------------------------ currencies


def test_currencies_are_upper_cased_and_defaulted_as_in_a_flows_file():
    G = nx.MultiDiGraph()
    G.add_edge("S", "P", amount="50", currency="EUR")
    G.add_edge("T", "P", amount="5", currency=" eur ")
    G.add_edge("U", "P", amount="1")
    G.add_edge("V", "P", amount="2", currency="")
    assert attribute(G).recipients.select("currency", "total_in_minor").rows() == [
        ("EUR", 5500),
        ("GBP", 300),
    ]


@pytest.mark.parametrize("currency", ["£", 1, "EURO"])
def test_a_currency_that_is_not_an_iso_code_is_refused(currency):
    assert refused(one_edge(amount="1", currency=currency)) == (
        f"edge ('CCG' -> 'P', key 0): currency {currency!r} is not a three-letter ISO 4217 code"
    )


# -------------------------------------------------------------------------------------------- channels


def test_node_channels_are_read_in_any_case_and_count_towards_convergence():
    G = nx.MultiDiGraph()
    G.add_node("CCG", channel="NHS")
    G.add_node("PCC", channel="Police Justice")
    G.add_edge("CCG", "P", amount="60")
    G.add_edge("PCC", "P", amount="40")
    result = attribute(G)
    channels = dict(result.graph.nodes.select("id", "channel").rows())
    assert channels["CCG"] == "nhs" and channels["PCC"] == "police_justice"
    row = convergence(result).row(0, named=True)
    assert (row["channel_count"], row["is_convergence_point"]) == (2, True)


def test_an_unknown_channel_is_refused_naming_the_node_and_the_channels():
    G = one_edge(amount="60")
    G.add_node("CCG", channel="police")
    message = refused(G)
    assert message.startswith("node 'CCG': unknown channel 'police' (expected one of ")
    assert "police_justice" in message and "nhs" in message


def test_a_channel_on_an_isolated_node_is_read_too():
    G = one_edge(amount="1")
    G.add_node("Idle", channel="Local Government")
    nodes = from_networkx(G).nodes
    assert nodes.filter(pl.col("id") == "Idle")["channel"].item() == "local_government"


# ------------------------------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("£1,234.50", 123450),
        ("(5.00)", -500),
        (0.1 + 0.2, 30),  # float noise is read as the spreadsheet readers read it
        (41133.770000000004, 4113377),
        (12, 1200),
        (Decimal("7.25"), 725),
        (10**16 - 1, (10**16 - 1) * 100),
    ],
)
def test_amounts_are_read_as_the_file_readers_read_them(amount, minor):
    assert amount_of(one_edge(amount=amount)) == minor


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (True, "amount True is not a number"),
        (float("inf"), "amount inf is not a number"),
        (float("nan"), "amount nan is not a number"),
        (0.125, "amount 0.125 has more than 2 decimal places"),
        ("1.234", "amount 1.234 has more than 2 decimal places"),
        ("n/a", "amount n/a is not a number"),
        ("", "missing amount"),
        (10**18, "amount 1000000000000000000 is too large"),
        ("1" + "0" * 18, "amount 1000000000000000000 is too large (at most 16 digits before the point)"),
        (Decimal("NaN"), "amount NaN is not a number or is too large"),
        ([1], "amount [1] is not a number"),
    ],
)
def test_bad_amounts_are_refused_naming_the_edge_and_the_value(amount, why):
    G = nx.MultiDiGraph()
    for i in range(3):
        G.add_edge(f"S{i}", "P", amount="1")
    G.add_edge("CCG", "Q", amount=amount)
    assert refused(G) == f"edge ('CCG' -> 'Q', key 0): {why}"


@pytest.mark.parametrize("data", [{}, {"amount": None}, {"weight": 5}])
def test_an_edge_without_an_amount_is_refused(data):
    assert refused(one_edge(**data)).startswith("edge ('CCG' -> 'P', key 0): no amount")


# --------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "given", ["2020-05-01", dt.date(2020, 5, 1), dt.datetime(2020, 5, 1, 12), "2020-05-01T09:30:00"]
)
def test_dates_as_text_or_python_dates_are_read(given):
    G = one_edge(amount="1", date=given)
    assert from_networkx(G).flows["date"].item() == dt.date(2020, 5, 1)
    assert attribute(G, financial_year="2020/21").recipients["total_in_minor"].to_list() == [100]


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("01/05/2020", "date 01/05/2020 is not an ISO 8601 date (YYYY-MM-DD)"),
        ("2020-13-01", "date 2020-13-01 is not an ISO 8601 date (YYYY-MM-DD)"),
        (20200501, "date 20200501 is not a date (give a datetime.date or ISO text such as 2020-05-01)"),
    ],
)
def test_a_bad_date_is_refused_naming_the_edge(given, why):
    assert refused(one_edge(amount="1", date=given)) == f"edge ('CCG' -> 'P', key 0): {why}"


def test_blank_dates_as_pandas_writes_them_are_undated():
    G = one_edge(amount="1", date=float("nan"))
    assert from_networkx(G).flows["date"].to_list() == [None]


# --------------------------------------------------------------------------------------- nodes and ids


def test_kinds_as_one_text_is_one_kind():
    G = one_edge(amount="1")
    G.add_node("CCG", kinds="stream")
    assert from_networkx(G).nodes.filter(pl.col("id") == "CCG")["kinds"].item().to_list() == ["stream"]


def test_an_unknown_kind_is_refused_naming_the_node():
    G = one_edge(amount="1")
    G.add_node("P", kinds=["provider", "charity"])
    assert refused(G).startswith("node 'P': kinds ['provider', 'charity']: unknown kind 'charity'")


def test_ids_that_collide_as_text_are_refused():
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, amount="10")
    G.add_edge("1", 3, amount="5")
    assert (
        refused(G)
        == "nodes 1 and '1' both become id '1': give every node a distinct id (all text, or all numbers)"
    )


def test_integer_ids_are_text_and_the_mixes_accept_either():
    G = nx.MultiDiGraph()
    G.add_node(1, channel="nhs")
    G.add_edge(1, 2, amount="10")
    result = attribute(G)
    assert funding_mix(result, 2).select("stovepipe_id", "amount_minor").rows() == [("1", 1000)]
    assert funding_mix(result, "2").equals(funding_mix(result, 2))
    assert channel_mix(result, 2).select("channel", "amount_minor").rows() == [("nhs", 1000)]


# ------------------------------------------------------------------------------------------ build_graph


def flow_table(**columns) -> pl.DataFrame:
    base = pl.DataFrame({"payer_id": ["S", "T"], "payee_id": ["P", "P"], "amount_minor": [10000, 500]})
    return base.with_columns(**columns)


def test_a_null_currency_is_gbp_and_keeps_its_attribution_rows():
    flows = flow_table().with_columns(
        pl.lit(None, dtype=t).alias(c) for c, t in FLOW_COLUMNS.items() if c not in flow_table().columns
    )
    result = attribute(build_graph(flows))
    assert result.recipients.rows() == [("P", "GBP", 10500, 2)]
    assert result.rows.select("stovepipe_id", "amount_minor").sort("stovepipe_id").rows() == [
        ("S", 10000),
        ("T", 500),
    ]
    assert build_graph(flows).kind_counts() == {"stream": 0, "commissioner": 2, "provider": 1}


def test_a_flow_table_is_checked_naming_the_missing_columns_or_the_bad_row():
    with pytest.raises(InputError, match=r"missing column\(s\) payee_id, amount_minor"):
        build_graph(pl.DataFrame({"payer_id": ["S"]}))
    with pytest.raises(InputError, match=r"^flow table row 1 \(counting from 0\): missing payee_id$"):
        build_graph(flow_table(payee_id=pl.Series(["P", None])))
    with pytest.raises(InputError, match=r"^flow table row 0 \(counting from 0\): currency '£' is not"):
        build_graph(flow_table(currency=pl.lit("£")))
    with pytest.raises(InputError, match=r"amount_minor 1000000000000000000 is too large"):
        build_graph(flow_table(amount_minor=pl.Series([10**18, 1])))
    assert build_graph(flow_table(currency=pl.lit("eur"))).totals() == {"EUR": 10500}


# ------------------------------------------------------------------------------------------ public API


def test_one_path_is_read_as_one_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("flows.csv").write_bytes(gf.demo_path().read_bytes())
    whole = gf.read_graph([gf.demo_path()]).totals()
    assert gf.read_graph("flows.csv").totals() == whole
    assert gf.read_graph(Path("flows.csv")).totals() == whole
    assert gf.read_flows("flows.csv").flows.height == gf.read_flows([gf.demo_path()]).flows.height


def test_from_networkx_is_public():
    assert "from_networkx" in gf.__all__
    assert gf.from_networkx(one_edge(amount="1")).totals() == {"GBP": 100}


def test_attribute_of_something_that_is_not_a_graph_says_what_it_expects():
    with pytest.raises(
        TypeError,
        match=r"^expected a FlowGraph \(from gf.read_graph\) or a networkx graph, not str "
        r"\(read a file first: gf.read_graph\('flows.csv'\)\)$",
    ):
        attribute("flows.csv")
    with pytest.raises(TypeError, match=r"^expected a FlowGraph .* not DataFrame$"):
        attribute(gf.read_graph(gf.demo_path()).flows)


@pytest.mark.parametrize("function", ["convergence", "channel_mix", "funding_mix"])
def test_the_analysis_functions_of_an_attribution_say_what_they_expect(function):
    graph = gf.read_graph(gf.demo_path())
    call = getattr(gf, function)
    arguments = ("inclusion-healthcare",) if function == "funding_mix" else ()
    for wrong in (graph, "flows.csv"):
        with pytest.raises(TypeError) as caught:
            call(wrong, *arguments)
        assert str(caught.value) == (
            f"{function} expects an Attribution (from gf.attribute(graph)), not {type(wrong).__name__}"
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_share": "0.01"}, "min_share must be a number from 0 to 1 (0.01 is 1%), not '0.01'"),
        ({"min_share": None}, "min_share must be a number from 0 to 1 (0.01 is 1%), not None"),
        ({"min_share": True}, "min_share must be a number from 0 to 1 (0.01 is 1%), not True"),
        ({"min_share": 1.5}, "min_share must be a number from 0 to 1 (0.01 is 1%), not 1.5"),
        ({"min_count": 0}, "min_count must be a whole number of at least 1, not 0"),
        ({"min_count": -1}, "min_count must be a whole number of at least 1, not -1"),
        ({"min_count": 1.5}, "min_count must be a whole number of at least 1, not 1.5"),
        ({"min_stovepipes": "2"}, "min_stovepipes must be a whole number of at least 1, not '2'"),
    ],
)
def test_convergence_checks_its_thresholds_and_names_the_argument(options, message):
    result = attribute(gf.read_graph(gf.demo_path()))
    with pytest.raises(ValueError) as caught:
        gf.convergence(result, **options)
    assert str(caught.value) == message
    assert gf.convergence(result, min_share=np.float32(0.5), min_count=np.int64(1)).height > 0


def test_a_mix_of_an_id_the_graph_does_not_have_is_refused_and_a_number_id_is_taken_as_given():
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, amount="10")
    G.add_edge(3, 2, amount="5")
    result = gf.attribute(G)
    assert gf.funding_mix(result, 2)["amount_minor"].to_list() == [1000, 500]
    assert gf.channel_mix(result, 2)["amount_minor"].sum() == 1500
    assert gf.channel_mix(result, "2").equals(gf.channel_mix(result, 2))
    for function in (gf.funding_mix, gf.channel_mix):
        with pytest.raises(ValueError, match=r"^no organisation or stream with id '7' in this graph$"):
            function(result, 7)
