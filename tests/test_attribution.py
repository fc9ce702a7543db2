"""Attribution by hand-computed examples: pooled funds, declared streams, own money, cycles, credits."""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from graphflows.analysis import attribute, convergence, funding_mix
from tests.helpers import graph_of


def mix(result, recipient: str) -> dict[str, int]:
    rows = result.rows.filter(pl.col("recipient_id") == recipient)
    return dict(rows.select("stovepipe_id", "amount_minor").iter_rows())


def test_pooled_fund_passes_on_the_mix_of_what_it_received():
    result = attribute(graph_of(("A", "Pool", 60), ("B", "Pool", 40), ("Pool", "P", 50), ("Pool", "Q", 25)))
    assert mix(result, "Pool") == {"A": 6000, "B": 4000}
    assert mix(result, "P") == {"A": 3000, "B": 2000}
    assert mix(result, "Q") == {"A": 1500, "B": 1000}


def test_declared_stream_is_carved_out_and_the_rest_shares_what_is_left():
    G = graph_of(("PH", "C", 50), ("TF", "C", 50), ("C", "X", 50, "PH"), ("C", "Y", 30), streams=("PH", "TF"))
    result = attribute(G)
    assert mix(result, "X") == {"PH": 5000}
    assert mix(result, "Y") == {"TF": 3000}


def test_declared_stream_that_is_funded_carries_the_mix_of_what_it_pays_out():
    G = graph_of(
        ("G", "Fund", 100),
        ("H", "Fund", 100),
        ("Fund", "C", 100),
        ("Other", "C", 100),
        ("C", "X", 40, "Fund"),
        streams=("Fund",),
    )
    assert mix(attribute(G), "X") == {"G": 2000, "H": 2000}


def test_declared_stream_not_in_the_data_is_a_stovepipe_of_its_own():
    result = attribute(graph_of(("A", "C", 100), ("C", "X", 10, "Lottery"), ("C", "Y", 90)))
    assert mix(result, "X") == {"Lottery": 1000}
    assert mix(result, "Y") == {"A": 9000}
    assert "stream" in result.graph.nodes.filter(pl.col("id") == "Lottery")["kinds"][0].to_list()


def test_paying_out_more_than_received_makes_the_payer_an_origin():
    result = attribute(graph_of(("A", "C", 100), ("C", "P", 150)))
    assert mix(result, "P") == {"A": 10000, "C": 5000}


def test_cycle_is_solved_exactly():
    # S -> A 100, T -> B 20, A -> B 80, B -> A 40, A -> P 60.  Solving by hand:
    # a_S = (100 + 40 b_S) / 140 and b_S = 80 a_S / 100, so a_S = 25/27.
    result = attribute(
        graph_of(("S", "A", 100), ("T", "B", 20), ("A", "B", 80), ("B", "A", 40), ("A", "P", 60))
    )
    exact_s = Fraction(6000 * 25, 27)
    p = mix(result, "P")
    assert abs(p["S"] - exact_s) < 1 and p["S"] + p["T"] == 6000
    b_s = Fraction(8000 * 25, 27)  # B received 80 of A's mix, plus 20 from T
    b = mix(result, "B")
    assert abs(b["S"] - b_s) < 1 and b["T"] == 10000 - b["S"]


def test_closed_loop_with_no_source_is_attributed_to_its_members():
    result = attribute(graph_of(("A", "B", 100), ("B", "A", 100)))
    assert sum(mix(result, "A").values()) == 10000 == sum(mix(result, "B").values())


def test_credits_net_against_the_same_pair_and_negative_pairs_are_reported():
    result = attribute(graph_of(("A", "B", 100), ("A", "B", -30), ("A", "C", -10), ("A", "D", 5)))
    assert mix(result, "B") == {"A": 7000}
    assert "C" not in set(result.rows["recipient_id"])
    assert result.negative_pairs.select("payee_id", "net_minor").rows() == [("C", -1000)]


def test_currencies_are_attributed_separately():
    result = attribute(graph_of(("A", "P", 10, None, "GBP"), ("B", "P", 20, None, "EUR")))
    rows = result.rows.sort("currency").select("currency", "stovepipe_id", "amount_minor").rows()
    assert rows == [("EUR", "B", 2000), ("GBP", "A", 1000)]
    assert result.totals() == {"EUR": 2000, "GBP": 1000}


def test_stream_view_makes_every_stream_the_origin_of_what_it_pays():
    G = graph_of(
        ("CCG", "BCF", 60), ("Council", "BCF", 40), ("BCF", "P", 50), ("CCG", "P", 10), streams=("BCF",)
    )
    assert mix(attribute(G, by="origin"), "P") == {"CCG": 4000, "Council": 2000}
    assert mix(attribute(G, by="stream"), "P") == {"BCF": 5000, "CCG": 1000}


def test_financial_year_keeps_only_flows_dated_in_that_year(tmp_path):
    from graphflows.graph import read_graph
    from tests.helpers import write_flows

    path = write_flows(
        tmp_path / "f.csv",
        ["A,P,10,2020-03-31", "B,P,20,2020-04-01", "C,P,5,"],
        header="payer_id,payee_id,amount,date",
    )
    result = attribute(read_graph([path]), financial_year="2020/21")
    assert mix(result, "P") == {"B": 2000}
    assert result.undated_excluded == 1
    with pytest.raises(ValueError, match="2014/15"):
        attribute(read_graph([path]), financial_year="2020/22")


def test_convergence_ranks_by_stovepipes_then_money_and_counts_payers():
    G = graph_of(
        ("A", "P", 10), ("B", "P", 10), ("C", "Q", 50), ("D", "Q", 50), ("E", "Q", 1), ("A", "R", 99)
    )
    table = convergence(attribute(G), count_by="stovepipe", min_share=0)
    assert table["recipient_id"].to_list() == ["Q", "P", "R"]
    q = table.row(0, named=True)
    assert (q["stovepipe_count"], q["payer_count"], q["total_in_minor"], q["is_convergence_point"]) == (
        3,
        3,
        10100,
        True,
    )
    assert q["hhi"] == pytest.approx((50 / 101) ** 2 * 2 + (1 / 101) ** 2, abs=1e-6)
    assert table.row(2, named=True)["is_convergence_point"] is False
    crumbs_ignored = convergence(attribute(G), count_by="stovepipe", min_share=0.05)
    assert crumbs_ignored.filter(pl.col("recipient_id") == "Q")["stovepipe_count"][0] == 2


def test_funding_mix_lists_one_recipients_stovepipes_largest_first():
    result = attribute(graph_of(("A", "P", 10), ("B", "P", 30)))
    assert funding_mix(result, "P").select("stovepipe_id", "share").rows() == [("B", 0.75), ("A", 0.25)]


def test_demo_shows_inclusion_healthcare_fed_by_several_stovepipes():
    from graphflows.demo import demo_path
    from graphflows.graph import read_graph

    result = attribute(read_graph([demo_path()]))
    stovepipes = set(mix(result, "inclusion-healthcare"))
    assert {"phe", "home-office-police-grant", "nhse-allocation", "mhclg-rough-sleeping"} <= stovepipes


def test_a_contribution_naming_the_pool_it_pays_into_is_not_drawn_from_that_pool():
    G = graph_of(("CCG", "BCF", 100, "BCF"), ("Council", "BCF", 50), ("BCF", "P", 150), streams=("BCF",))
    assert mix(attribute(G), "P") == {"CCG": 10000, "Council": 5000}


def test_pennies_stay_exact_on_pots_of_a_trillion_pounds():
    G = graph_of(
        ("A", "Pool", "1000000000000.01"),
        ("B", "Pool", "1000000000000.02"),
        ("C", "Pool", "0.03"),
        ("Pool", "Mid", "2000000000000.06"),
        ("Mid", "P", "2000000000000.06"),
    )
    assert mix(attribute(G), "P") == {"A": 100000000000001, "B": 100000000000002, "C": 3}


def test_totals_too_large_for_exact_integers_are_refused_not_wrapped():
    from graphflows.model import GraphflowsError

    G = graph_of(*[(f"A{i}", "B", "999999999999999") for i in range(100)])
    with pytest.raises(GraphflowsError, match="wrong units"):
        attribute(G)


def test_a_self_payment_is_left_out_of_income_and_payers_and_said_in_the_notes():
    """S pays A £100, A pays itself £50 and P £100: A's income is £100, all from S, from one payer."""
    from graphflows.analysis import channel_mix

    result = attribute(graph_of(("S", "A", 100), ("A", "A", 50), ("A", "P", 100), ("A", "A", -20)))
    assert mix(result, "A") == {"S": 10000} and mix(result, "P") == {"S": 10000}
    assert result.recipients.select("recipient_id", "total_in_minor", "payer_count").rows() == [
        ("A", 10000, 1),
        ("P", 10000, 1),
    ]
    assert result.self_payments.rows() == [("GBP", 2, 3000)]
    assert result.notes == [
        "2 self-payment(s) (an organisation paying itself: GBP 30.00) left out of income and payer counts"
    ]
    table = convergence(result, min_count=1).filter(pl.col("recipient_id") == "A")
    assert table.select("total_in_minor", "payer_count").row(0) == (10000, 1)
    assert channel_mix(result, "A")["amount_minor"].sum() == 10000
    only_itself = attribute(graph_of(("A", "A", 50)))  # an organisation paying only itself receives nothing
    assert only_itself.recipients.is_empty() and only_itself.rows.is_empty()
    assert attribute(graph_of(("S", "A", 100))).notes == []


def test_by_stream_without_funding_streams_says_it_gives_the_origin_answer():
    """Spend files declare no streams: --by stream then gives --by origin's rows, and a note says why."""
    G = graph_of(("CCG", "Trust", 70), ("Council", "Trust", 30), ("Trust", "GP", 10))
    by_stream, by_origin = attribute(G, by="stream"), attribute(G, by="origin")
    assert by_stream.rows.sort("recipient_id", "stovepipe_id").equals(
        by_origin.rows.sort("recipient_id", "stovepipe_id")
    )
    assert any(
        note.startswith("--by stream: the files declare no funding streams") for note in by_stream.notes
    )
    assert not any("funding streams" in note for note in by_origin.notes)
    streams = graph_of(("BCF", "Council", 50), ("Council", "P", 40, "BCF"), streams=("BCF",))
    assert not any("funding streams" in note for note in attribute(streams, by="stream").notes)
