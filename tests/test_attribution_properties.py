"""Property tests: on random graphs, money is conserved and totals reconcile to the penny."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflows.analysis import attribute, convergence
from graphflows.analysis.netting import net_pairs
from graphflows.graph import from_networkx
from tests.helpers import graph_of

NODES = [f"n{i}" for i in range(7)]

edge = st.tuples(
    st.sampled_from(NODES),
    st.sampled_from(NODES),
    st.integers(min_value=-5_000, max_value=2_000_000).map(lambda minor: f"{minor / 100:.2f}"),
    st.one_of(st.none(), st.sampled_from(NODES), st.sampled_from(["X1", "X2"])),
    st.sampled_from(["GBP", "GBP", "GBP", "EUR"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edge, min_size=1, max_size=25), st.sampled_from(["origin", "stream"]))
def test_money_is_conserved_for_every_recipient(edges, by):
    graph = from_networkx(graph_of(*edges, streams=("n0", "X1")))
    result = attribute(graph, by=by)
    positive, _ = net_pairs(graph.flows)
    expected = positive.group_by("payee_id", "currency").agg(pl.col("net_minor").sum().alias("total"))
    attributed = result.rows.group_by("recipient_id", "currency").agg(
        pl.col("amount_minor").sum().alias("sum")
    )
    joined = expected.join(
        attributed, left_on=["payee_id", "currency"], right_on=["recipient_id", "currency"], how="full"
    )
    assert joined.filter(pl.col("total") != pl.col("sum")).height == 0
    assert joined.filter(pl.col("total").is_null() | pl.col("sum").is_null()).height == 0
    assert (result.rows["amount_minor"] > 0).all()
    assert (
        result.rows.group_by("recipient_id", "currency")
        .agg(pl.col("share").sum())["share"]
        .is_between(0.999999, 1.000001)
        .all()
    )
    # totals reconcile: everything read = attributed + what netted below zero + what organisations paid
    # themselves (left out of income and payer counts)
    own = dict(result.self_payments.select("currency", "amount_minor").iter_rows())
    for currency, total in graph.totals().items():
        negative = result.negative_pairs.filter(pl.col("currency") == currency)["net_minor"].sum()
        assert result.totals().get(currency, 0) + negative + own.get(currency, 0) == total
    lines = graph.flows.filter(pl.col("payer_id") == pl.col("payee_id"))
    assert int(result.self_payments["lines"].sum()) == lines.height
    assert positive.filter(pl.col("payer_id") == pl.col("payee_id")).is_empty()  # never its own payer
    table = convergence(result)
    assert table.height == result.recipients.height
    assert (table["top_share"] <= 1.0000001).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(edge, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_the_order_of_lines_or_how_a_payment_is_split(edges, rng):
    first = attribute(from_networkx(graph_of(*edges))).rows.sort("recipient_id", "currency", "stovepipe_id")
    shuffled = list(edges)
    rng.shuffle(shuffled)
    payer, payee, amount, stream, currency = shuffled[0]
    minor = round(float(amount) * 100)
    halves = [
        (payer, payee, f"{(minor // 2) / 100:.2f}", stream, currency),
        (payer, payee, f"{(minor - minor // 2) / 100:.2f}", stream, currency),
    ]
    second = attribute(from_networkx(graph_of(*halves, *shuffled[1:]))).rows
    assert second.sort("recipient_id", "currency", "stovepipe_id").equals(first)
