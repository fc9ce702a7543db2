"""Convergence counted by channel of government, materiality, effective numbers and channels.csv."""

from __future__ import annotations

import networkx as nx
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflows.analysis import attribute, channel_mix, convergence
from graphflows.analysis.convergence import gather_facts, points_at_default_share


def channel_graph(*edges: tuple[str, str, int], channels: dict[str, str]) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    for node, channel in channels.items():
        G.add_node(node, channel=channel)
    for payer, payee, amount in edges:
        G.add_edge(payer, payee, amount=str(amount))
    return G


CHANNELS = {
    "ccg-a": "nhs",
    "ccg-b": "nhs",
    "ccg-c": "nhs",
    "phe": "public_health",
    "pcc": "police_justice",
    "council": "local_government",
}


def row(table: pl.DataFrame, recipient: str) -> dict:
    return table.filter(pl.col("recipient_id") == recipient).row(0, named=True)


def test_three_ccgs_are_one_channel_and_three_channels_converge_on_a_mutual():
    G = channel_graph(
        ("ccg-a", "trust", 500), ("ccg-b", "trust", 300), ("ccg-c", "trust", 200),
        ("ccg-a", "mutual", 60), ("phe", "mutual", 25), ("pcc", "mutual", 15),
        channels=CHANNELS,
    )  # fmt: skip
    table = convergence(attribute(G))
    trust, mutual = row(table, "trust"), row(table, "mutual")
    assert (trust["channel_count"], trust["stovepipe_count"], trust["is_convergence_point"]) == (1, 3, False)
    assert (mutual["channel_count"], mutual["is_convergence_point"]) == (3, True)
    assert mutual["channels"] == "nhs;public_health;police_justice"  # largest first
    assert table["recipient_id"].to_list()[0] == "mutual"
    by_stovepipe = convergence(attribute(G), count_by="stovepipe")
    assert row(by_stovepipe, "trust")["is_convergence_point"] is True


def test_channel_amounts_are_exact_sums_of_origin_rows():
    G = channel_graph(
        ("ccg-a", "council", 100), ("phe", "council", 200), ("council", "charity", 100),
        ("ccg-b", "charity", 1), ("pcc", "charity", 33),
        channels=CHANNELS,
    )  # fmt: skip
    result = attribute(G)
    channels = channel_mix(result)
    origin = result.rows.join(
        pl.DataFrame({"stovepipe_id": list(CHANNELS), "channel": list(CHANNELS.values())}), on="stovepipe_id"
    )
    expected = origin.group_by("recipient_id", "channel").agg(pl.col("amount_minor").sum())
    got = channels.select("recipient_id", "channel", "amount_minor")
    assert got.sort("recipient_id", "channel").rows() == expected.sort("recipient_id", "channel").rows()
    totals = channels.group_by("recipient_id").agg(pl.col("amount_minor").sum())
    assert dict(totals.iter_rows()) == dict(
        result.recipients.select("recipient_id", "total_in_minor").iter_rows()
    )
    charity = channels.filter(pl.col("recipient_id") == "charity")
    assert charity["channel"].to_list() == ["public_health", "nhs", "police_justice"]


def test_materiality_drops_thin_channels_but_keeps_their_money_as_a_remainder():
    G = channel_graph(("ccg-a", "p", 9950), ("pcc", "p", 50), channels=CHANNELS)
    default = row(convergence(attribute(G)), "p")  # police bring 0.5%: below the 1% default
    assert (default["channel_count"], default["is_convergence_point"]) == (1, False)
    assert default["below_min_share_minor"] == 5000
    assert default["total_in_minor"] == 1_000_000
    everything = row(convergence(attribute(G), min_share=0), "p")
    assert (everything["channel_count"], everything["below_min_share_minor"]) == (2, 0)
    assert everything["channels"] == "nhs;police_justice"


def test_effective_numbers_are_inverse_hhi_at_each_level():
    G = channel_graph(("ccg-a", "p", 50), ("ccg-b", "p", 25), ("phe", "p", 25), channels=CHANNELS)
    p = row(convergence(attribute(G)), "p")
    assert p["effective_stovepipes"] == pytest.approx(1 / (0.5**2 + 0.25**2 + 0.25**2))
    assert p["effective_channels"] == pytest.approx(1 / (0.75**2 + 0.25**2))
    assert p["top_channel"] == "nhs" and p["top_channel_share"] == pytest.approx(0.75)


def test_payer_channels_are_the_direct_payers_not_the_origins():
    G = channel_graph(
        ("ccg-a", "council", 100), ("phe", "council", 100), ("council", "provider", 150),
        ("pcc", "provider", 20),
        channels=CHANNELS,
    )  # fmt: skip
    provider = row(convergence(attribute(G)), "provider")
    assert provider["payer_channels"] == "local_government;police_justice"
    assert provider["channels"] == "nhs;public_health;police_justice"


def test_ranking_is_counted_number_then_effective_number_then_money():
    G = channel_graph(
        ("ccg-a", "even", 50), ("phe", "even", 50),
        ("ccg-a", "lopsided", 900), ("phe", "lopsided", 100),
        ("ccg-a", "three", 10), ("phe", "three", 10), ("pcc", "three", 10),
        channels=CHANNELS,
    )  # fmt: skip
    table = convergence(attribute(G))
    assert table["recipient_id"].to_list()[:3] == ["three", "even", "lopsided"]


def test_mixes_equal_but_for_penny_rounding_tie_and_money_decides():
    """'small' is paid only by 'big', so its mix is big's; penny rounding lifts its effective number in the
    fifth decimal, which must not rank it above the recipient with twelve times the money."""
    G = channel_graph(
        ("ccg-a", "big", 2774.59), ("phe", "big", 1336.46), ("pcc", "big", 5295.01), ("big", "small", 599.15),
        channels=CHANNELS,
    )  # fmt: skip
    table = convergence(attribute(G))
    big, small = row(table, "big"), row(table, "small")
    assert small["effective_channels"] > big["effective_channels"]  # the rounding noise the rank ignores
    assert round(small["effective_channels"], 3) == round(big["effective_channels"], 3)
    assert table["recipient_id"].to_list()[:2] == ["big", "small"]


def test_unclassified_and_private_money_is_listed_but_never_counted_as_a_channel():
    """Money of unknown origin could be any channel, and a company's own money is no public channel: a
    recipient paid by public health and by them is listed with all three, but meets one channel."""
    G = channel_graph(
        ("x", "p", 50), ("y", "p", 50), ("phe", "p", 50), ("firm", "p", 40),
        ("x", "q", 10), ("firm", "q", 10),
        ("pcc", "r", 10), ("charity", "r", 10), ("firm", "r", 10),
        channels={"phe": "public_health", "firm": "private", "pcc": "police_justice",
                  "charity": "charitable"},
    )  # fmt: skip
    table = convergence(attribute(G))
    p, q, r = row(table, "p"), row(table, "q"), row(table, "r")
    assert p["channels"] == "unclassified;public_health;private"
    assert (p["channel_count"], p["is_convergence_point"]) == (1, False)
    assert (q["channel_count"], q["payer_channel_count"], q["is_convergence_point"]) == (0, 0, False)
    assert p["payer_channels"] == "unclassified;public_health;private"
    assert p["payer_channel_count"] == 1
    assert (r["channel_count"], r["payer_channel_count"], r["is_convergence_point"]) == (2, 2, True)
    assert r["channels"] == "charitable;police_justice;private"  # charitable funders are a channel


def test_bad_options_are_refused():
    result = attribute(channel_graph(("phe", "p", 1), channels=CHANNELS))
    with pytest.raises(ValueError, match="count_by"):
        convergence(result, count_by="payer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_share"):
        convergence(result, min_share=2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ccg-a", "ccg-b", "phe", "pcc", "council"]),
            st.sampled_from(["council", "p1", "p2", "p3"]),
            st.integers(1, 10**9),
        ),
        min_size=1,
        max_size=25,
    ),
    st.floats(0, 0.5),
)
def test_channel_totals_reconcile_and_counts_respect_the_threshold(edges, min_share):
    edges = [(a, b, n) for a, b, n in edges if a != b]
    if not edges:
        return
    result = attribute(channel_graph(*edges, channels=CHANNELS))
    channels = channel_mix(result)
    totals = channels.group_by("recipient_id").agg(pl.col("amount_minor").sum())
    assert dict(totals.iter_rows()) == dict(
        result.recipients.select("recipient_id", "total_in_minor").iter_rows()
    )
    table = convergence(result, min_share=min_share)
    for recipient in table.iter_rows(named=True):
        mine = channels.filter(pl.col("recipient_id") == recipient["recipient_id"])
        material = mine.filter(pl.col("share") >= min_share)
        assert recipient["channel_count"] == material.height
        below = int(mine["amount_minor"].sum()) - int(material["amount_minor"].sum())
        assert recipient["below_min_share_minor"] == below
        assert recipient["is_convergence_point"] == (material.height >= 2)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ccg-a", "ccg-b", "ccg-c", "phe", "pcc", "council"]),
            st.sampled_from(["ccg-b", "council", "p1", "p2"]),
            st.integers(1, 10**7),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["channel", "stovepipe", "payer_channel"]),
    st.integers(1, 3),
)
def test_the_count_at_the_default_share_is_what_min_share_001_finds(edges, count_by, min_count):
    """What a run at --min-share 0 says --min-share 0.01 would find is what that run finds."""
    edges = [(a, b, n) for a, b, n in edges if a != b]
    if not edges:
        return
    result = attribute(channel_graph(*edges, channels=CHANNELS))
    expected = convergence(result, count_by=count_by, min_count=min_count, min_share=0.01)
    facts = gather_facts(result, min_share=0)
    found = points_at_default_share(facts, count_by=count_by, min_count=min_count)
    assert found == int(expected["is_convergence_point"].sum())


def test_payer_channels_come_from_netted_payments_so_a_credit_elsewhere_hides_nothing():
    G = channel_graph(
        ("ccg-a", "q", 50), ("pcc", "q", 10), ("pcc2", "q", 5), ("pcc2", "q", -25),
        channels={**CHANNELS, "pcc2": "police_justice"},
    )  # fmt: skip
    q = row(convergence(attribute(G)), "q")
    assert q["channels"] == "nhs;police_justice"
    assert q["payer_channels"] == "nhs;police_justice"  # pcc2's credit does not cancel pcc's contract
    assert q["payer_channel_count"] == 2


def test_counting_payer_channels_does_not_count_what_one_payer_passes_on():
    """A transport body funded by a council passes a mix of both channels to its suppliers: by origin
    channels every supplier is a convergence point; by the contracts they hold, only the one paid by both."""
    G = channel_graph(
        ("council", "tfl", 500), ("tfl", "supplier", 300), ("tfl", "both", 100), ("council", "both", 100),
        channels={**CHANNELS, "tfl": "transport"},
    )  # fmt: skip
    by_origin = convergence(attribute(G))
    assert row(by_origin, "supplier")["is_convergence_point"] is False  # tfl pays from council money only
    G.add_edge("tfl", "supplier", amount="700")  # tfl now pays beyond what it received: its own money
    result = attribute(G)
    assert row(convergence(result), "supplier")["channels"] == "transport;local_government"
    by_payer = convergence(result, count_by="payer_channel")
    assert row(by_payer, "supplier")["payer_channel_count"] == 1
    assert row(by_payer, "supplier")["is_convergence_point"] is False
    both = row(by_payer, "both")
    assert (both["payer_channel_count"], both["is_convergence_point"]) == (2, True)
    assert by_payer["recipient_id"].to_list()[0] == "both"


def test_money_is_ranked_only_within_a_currency():
    G = nx.MultiDiGraph()
    for node, channel in CHANNELS.items():
        G.add_node(node, channel=channel)
    for recipient, currency, amount in (
        ("euro-big", "EUR", 300),
        ("pound", "GBP", 100),
        ("euro-small", "EUR", 50),
    ):
        G.add_edge("ccg-a", recipient, amount=str(amount), currency=currency)
        G.add_edge("phe", recipient, amount=str(amount), currency=currency)
    table = convergence(attribute(G))
    assert table["recipient_id"].to_list() == ["euro-big", "euro-small", "pound"]


def test_the_funding_mix_of_an_unknown_id_is_refused_and_a_payer_has_an_empty_one():
    from graphflows.analysis import funding_mix

    result = attribute(channel_graph(("phe", "p", 10), ("pcc", "p", 30), channels=CHANNELS))
    assert funding_mix(result, "p")["stovepipe_id"].to_list() == ["pcc", "phe"]
    assert funding_mix(result, "phe").is_empty()  # a node that received nothing
    with pytest.raises(ValueError, match="no organisation or stream with id 'q'"):
        funding_mix(result, "q")
