"""Wide mixes: the sparse cycle solve, the block-by-block attribution and its rounding equal the reference
(dense solve, whole-table rounding, :func:`attribute` and :func:`convergence`) to the penny."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from graphflows.analysis import attribute, convergence, mixing
from graphflows.analysis import attribution as attribution_module
from graphflows.analysis.attribution import _ranked, attribute_in_blocks, round_to_pennies
from graphflows.analysis.convergence import FactGatherer, convergence_of
from graphflows.graph import from_networkx
from tests.helpers import graph_of


def ring_graph(seed: int, members: int, extra: int, declared: float) -> list[tuple]:
    """Streams -> a ring of commissioners (each paying the next few: one big cycle) -> providers."""
    rng = np.random.default_rng(seed)
    edges: list[tuple] = []
    for c in range(members):
        for s in rng.choice(6, size=2, replace=False):
            edges.append((f"S{s}", f"C{c}", int(rng.integers(10_000, 90_000))))
        for step in range(1, int(rng.integers(2, 4))):
            stream = f"S{rng.integers(6)}" if rng.random() < declared else None
            edges.append((f"C{c}", f"C{(c + step) % members}", int(rng.integers(1, 30_000)), stream))
    for _ in range(extra):
        c, p = int(rng.integers(members)), int(rng.integers(members * 2))
        edges.append((f"C{c}", f"P{p}", int(rng.integers(1, 5_000))))
        if rng.random() < 0.2:
            edges.append((f"P{p}", f"P{int(rng.integers(members * 2))}", int(rng.integers(1, 2_000))))
    return [(a, b, f"{amount / 100:.2f}", *rest) for a, b, amount, *rest in edges]


def pennies(graph, cycle_solver: str) -> pl.DataFrame:
    """Origin-level rows with every cycle solved one way (``sparse`` or ``dense``)."""
    attribution_module.MixSolver = lambda *args, **_: mixing.MixSolver(*args, cycle_solver=cycle_solver)
    try:
        return attribute(graph).rows
    finally:
        attribution_module.MixSolver = mixing.MixSolver


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(20, 160),
    st.integers(0, 300),
    st.sampled_from([0.0, 0.1, 0.4]),
)
def test_sparse_cycle_solve_equals_the_dense_one_to_the_penny(seed, members, extra, declared):
    graph = from_networkx(graph_of(*ring_graph(seed, members, extra, declared)))
    sparse = pennies(graph, "sparse")
    dense = pennies(graph, "dense")
    assert sparse.height > members
    assert_frame_equal(sparse.drop("share"), dense.drop("share"))
    assert np.allclose(sparse["share"].to_numpy(), dense["share"].to_numpy(), rtol=1e-12, atol=0)


def test_a_big_cycle_with_carve_outs_beyond_holdings_falls_back_to_iteration(monkeypatch):
    # C0 declares more from S0 than it ever holds: the rule is not linear, the sparse solve steps aside
    edges = ring_graph(3, 120, 50, 0.0)
    edges.append(("C0", "P0", "100000.00", "S0"))
    graph = from_networkx(graph_of(*edges))
    iterated = []
    iterate = mixing.DenseCycle.iterate
    monkeypatch.setattr(mixing.DenseCycle, "iterate", lambda self: iterated.append(1) or iterate(self))
    sparse, dense = pennies(graph, "sparse"), pennies(graph, "dense")
    assert len(iterated) == 2  # once for each solver
    assert_frame_equal(sparse.drop("share"), dense.drop("share"))


def old_round_to_pennies(node, origin, value, total_of):
    """The rounding before blocks (sort everything, rank every remainder): the reference."""
    width = np.int64(max(int(origin.max(initial=0)) + 1, 1))
    order = np.argsort(node.astype(np.int64) * width + origin)
    node, origin, value = node[order], origin[order], value[order]
    if node.size == 0:
        return node, origin, value.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
    group = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.r_[starts, node.size]))
    total = total_of[node[starts]]
    exact = value * (total / np.add.reduceat(value, starts))[group]
    floor = np.floor(exact).astype(np.int64)
    missing = total - np.add.reduceat(floor, starts)
    remainder = np.minimum(((exact - floor) * 2**30).astype(np.int64), 2**30 - 1)
    by_remainder = np.argsort((group << 31) | (2**30 - 1 - remainder), kind="stable")
    rank = np.empty(node.size, dtype=np.int64)
    rank[by_remainder] = np.arange(node.size) - starts[group[by_remainder]]
    amount = floor + (rank < missing[group])
    kept = amount > 0
    return node[kept], origin[kept], amount[kept]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["thin", "even", "ties", "mixed"]),
    st.sampled_from([0, 2**40]),  # origin numbers too wide for one 64-bit sort key: the lexsort path
)
def test_rounding_ranks_only_what_can_win_a_penny_and_equals_the_full_ranking(seed, shape, offset):
    rng = np.random.default_rng(seed)
    nodes = int(rng.integers(1, 30))
    size = int(rng.integers(1, 400))
    node = rng.integers(0, nodes, size)
    origin = rng.permutation(size * 3)[:size] + offset  # distinct (node, origin) pairs
    value = {
        "thin": rng.random(size) ** 8,  # most shares far below a penny
        "even": np.ones(size),  # every remainder equal: origin order decides
        "ties": rng.integers(1, 4, size).astype(float),
        "mixed": np.where(rng.random(size) < 0.5, rng.random(size) * 1e-9, rng.random(size) * 1e3),
    }[shape]
    total_of = rng.integers(1, 10 ** int(rng.integers(1, 9)), nodes)
    old = old_round_to_pennies(node, origin, value, total_of)
    new = round_to_pennies(node, origin, value, total_of)
    by_node = np.lexsort((rng.random(size), node))  # node by node, origins in any order (as pots come)
    grouped = round_to_pennies(node[by_node], origin[by_node], value[by_node], total_of, grouped=True)
    ordered = np.lexsort((origin, node))  # node by node, origins ascending (as sorted pots come)
    presorted = round_to_pennies(
        node[ordered], origin[ordered], value[ordered], total_of, grouped=True, origins_sorted=True
    )
    for a, b, c, d in zip(new, old, grouped, presorted, strict=True):
        assert np.array_equal(a, b)
        assert np.array_equal(c, b)
        assert np.array_equal(d, b)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_remainders_are_ranked_alike_with_one_sort_key_or_a_lexsort(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 300))
    group = np.sort(rng.integers(0, 20, size))
    middle = rng.integers(0, 2**30, size) * rng.integers(0, 2, size)  # equal remainders are common
    position = rng.permutation(size)
    one_key = _ranked(group, middle, position)  # fits in 64 bits
    lexsorted = _ranked(group, middle + 2**61, position)  # same order, too wide for one key
    for a, b in zip(one_key, lexsorted, strict=True):
        assert np.array_equal(a, b)
    order = np.lexsort((position, middle, group))
    assert np.array_equal(one_key[1], position[order])


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so recipients are spread over many blocks."""
    monkeypatch.setattr(mixing, "BLOCK_ENTRIES", 50)
    monkeypatch.setattr(attribution_module, "MIN_BLOCK_ROWS", 1)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10_000), st.sampled_from(["origin", "stream"]), st.sampled_from([0.0, 0.02, 0.2]))
def test_blocks_hold_the_rows_of_attribute_and_give_the_same_convergence(small_blocks, seed, by, min_share):
    edges = ring_graph(seed, 40, 200, 0.1)
    edges += [("S1", "P3", "12.34", None, "EUR"), ("P3", "P4", "5.00", None, "EUR")]
    graph = from_networkx(graph_of(*edges, streams=("S0", "S1")))
    whole = attribute(graph, by=by)
    stream = attribute_in_blocks(graph, by=by)
    gatherer = FactGatherer(stream.graph, stream.recipients, min_share=min_share)
    frames = []
    for block in stream.coded_blocks():
        assert np.unique(block.node).size == np.flatnonzero(np.diff(block.node)).size + 1  # grouped
        gatherer.add(block)
        frames.append(block)
    assert len(frames) > 3
    ids = stream.graph.nodes["id"].sort()
    rows = pl.concat(
        attribution_module._frame(b.currency, ids, b.node, b.origin, b.amount, b.total) for b in frames
    )
    keys = ["currency", "recipient_id", "stovepipe_id"]
    assert_frame_equal(rows.sort(keys), whole.rows.sort(keys))
    assert_frame_equal(stream.recipients, whole.recipients)
    facts = gatherer.finish()
    for count_by in ("channel", "stovepipe"):
        expected = convergence(whole, count_by=count_by, min_share=min_share)
        got = convergence_of(facts, count_by=count_by)
        assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12)
    below = got["below_min_share_minor"]
    assert (below <= got["total_in_minor"]).all()
    if min_share == 0:
        assert (below == 0).all()


def test_materiality_is_decided_in_integers_at_both_levels():
    # Other: PH brings 10^16 of 10^18 + 1 pennies, a hair under 1%, which floats round to exactly 0.01
    G = graph_of(("PH", "Mutual", "0.17"), ("CCG", "Mutual", "16.83"),
                 ("PH", "Other", "100000000000000.00"), ("CCG", "Other", "9900000000000000.01"))  # fmt: skip
    G.add_node("PH", channel="public_health")
    G.add_node("CCG", channel="nhs")
    result = attribute(from_networkx(G))
    for count_by in ("channel", "stovepipe"):
        table = convergence(result, count_by=count_by, min_share=0.01).sort("recipient_id")
        assert table[f"{count_by}_count"].to_list() == [2, 1]  # Mutual: exactly 1% counts
        assert table["below_min_share_minor"].to_list() == [0, 10**16]
        assert table["is_convergence_point"].to_list() == [True, False]


def reference_channel_rounding(node, origin, value, total_of, channel_of):
    """Channels first, then origins within each channel, by largest remainder, entry by entry in Python."""

    def largest_remainder(exact: dict, target: int) -> dict:
        floor = {key: int(v // 1) for key, v in exact.items()}
        missing = target - sum(floor.values())
        # remainders compared as the production code quantises them (to 2**-30 of a penny)
        ranked = sorted(exact, key=lambda key: (-min(int((exact[key] - floor[key]) * 2**30), 2**30 - 1), key))
        for key in ranked[:missing]:
            floor[key] += 1
        return floor

    result = {}
    for v in sorted(set(node.tolist())):
        mine = node == v
        scale = float(total_of[v]) / value[mine].sum()
        exact = {int(o): float(x) * scale for o, x in zip(origin[mine], value[mine], strict=True)}
        by_channel: dict[int, float] = {}
        for o, x in sorted(exact.items()):
            by_channel[int(channel_of[o])] = by_channel.get(int(channel_of[o]), 0.0) + x
        channel_amount = largest_remainder(by_channel, int(total_of[v]))
        for c, amount in channel_amount.items():
            inside = {o: x for o, x in exact.items() if channel_of[o] == c}
            for o, a in largest_remainder(inside, amount).items():
                if a:
                    result[(v, o)] = a
    return result


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["thin", "even", "ties", "mixed"]), st.integers(1, 5))
@example(seed=209237935, shape="even", channels=3)  # equal money in every channel: ties everywhere
def test_rounding_by_channel_first_keeps_every_amount_within_a_penny_of_its_exact_value(
    seed, shape, channels
):
    rng = np.random.default_rng(seed)
    nodes = int(rng.integers(1, 20))
    size = int(rng.integers(1, 300))
    node = rng.integers(0, nodes, size)
    origin = rng.permutation(size * 3)[:size]
    value = {
        "thin": rng.random(size) ** 8,
        "even": np.ones(size),
        "ties": rng.integers(1, 4, size).astype(float),
        "mixed": np.where(rng.random(size) < 0.5, rng.random(size) * 1e-9, rng.random(size) * 1e3),
    }[shape]
    total_of = rng.integers(1, 10 ** int(rng.integers(1, 9)), nodes)
    channel_of = rng.integers(0, channels, size * 3) * 3  # codes with gaps
    got_node, got_origin, got = round_to_pennies(node, origin, value, total_of, channel_of=channel_of)
    assert np.array_equal(np.bincount(got_node, weights=got, minlength=nodes)[np.unique(node)],
                          total_of[np.unique(node)])  # fmt: skip
    # every amount within a penny of its exact value
    scale = total_of / np.maximum(np.bincount(node, weights=value, minlength=nodes), 1e-300)
    exact = {(int(v), int(o)): x * scale[v] for v, o, x in zip(node, origin, value, strict=True)}
    for v, o, a in zip(got_node, got_origin, got, strict=True):
        assert abs(a - exact[(int(v), int(o))]) < 1 + 1e-9
    # channel amounts are within a penny of the channel's exact money too
    channel_exact: dict[tuple[int, int], float] = {}
    for (v, o), x in exact.items():
        channel_exact[(v, int(channel_of[o]))] = channel_exact.get((v, int(channel_of[o])), 0.0) + x
    channel_got: dict[tuple[int, int], int] = {}
    for v, o, a in zip(got_node.tolist(), got_origin.tolist(), got.tolist(), strict=True):
        channel_got[(v, int(channel_of[o]))] = channel_got.get((v, int(channel_of[o])), 0) + a
    assert all(abs(channel_got.get(key, 0) - x) < 1 + 1e-9 for key, x in channel_exact.items())
    reference = reference_channel_rounding(node, origin, value, total_of, channel_of)
    assert (
        dict(zip(zip(got_node.tolist(), got_origin.tolist(), strict=True), got.tolist(), strict=True))
        == reference
    )


def channel_sums(blocks, channel_of=None) -> dict[tuple[str, int, int], int]:
    """(currency, recipient, channel) -> minor units, from coded blocks (origins mapped by ``channel_of``)."""
    sums: dict[tuple[str, int, int], int] = {}
    for block in blocks:
        channel = block.origin if channel_of is None else channel_of[block.origin]
        for key in zip(block.node.tolist(), channel.tolist(), block.amount.tolist(), strict=True):
            sums[(block.currency, key[0], key[1])] = sums.get((block.currency, key[0], key[1]), 0) + key[2]
    return sums


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(3, 120),
    st.integers(0, 200),
    st.sampled_from([0.0, 0.3]),
    st.sampled_from(["origin", "stream"]),
    st.booleans(),
)
def test_the_channel_level_solve_gives_the_channel_sums_of_the_origin_rows(
    seed, members, extra, declared, by, stream_with_a_mix
):
    """Solved with one column per channel, or per origin and summed: the same pennies per channel."""
    edges = ring_graph(seed, members, extra, declared)
    if stream_with_a_mix:  # a declared stream that receives money: the channel columns step aside
        edges += [("C0", "S1", "50000.00"), ("C1", "P0", "3000.00", "S1")]
    G = graph_of(*edges, streams=tuple(f"S{i}" for i in range(6)))
    rng = np.random.default_rng(seed)
    for node in G.nodes:
        G.nodes[node]["channel"] = ["nhs", "police_justice", "public_health", None][int(rng.integers(4))]
    stream = attribute_in_blocks(G, by=by)
    by_origin = channel_sums(stream.coded_blocks(), stream._channel_of)
    by_channel = channel_sums(attribute_in_blocks(G, by=by).channel_blocks())
    assert by_origin == by_channel
    assert sum(by_channel.values()) == sum(stream.totals().values())


def test_the_channel_level_solve_uses_a_few_columns_and_steps_aside_for_a_stream_with_a_mix(monkeypatch):
    widths = []
    solver = attribution_module.MixSolver

    def recording(*args, **kwargs):
        made = solver(*args, **kwargs)
        widths.append(made.width)
        return made

    monkeypatch.setattr(attribution_module, "MixSolver", recording)
    edges = ring_graph(1, 30, 40, 0.3)
    G = graph_of(*edges, streams=tuple(f"S{i}" for i in range(6)))
    list(attribute_in_blocks(G).channel_blocks())
    assert widths == [1 + 6]  # one channel ('unclassified') and a column for each declared stream
    G.add_edge("C0", "S1", amount="12.34")
    list(attribute_in_blocks(G).channel_blocks())
    assert widths[1] == G.number_of_nodes()


def test_a_carve_out_beyond_what_a_payer_holds_of_a_mixed_stream_is_traced_origin_by_origin():
    # S1's money came from A; P holds only B's (the same channel) yet declares 50 from S1. Origin by origin
    # nothing of A can be carved, so R's 80 is all B's; one column for the channel would carve 50 of it
    # and call 30 of R's money P's own.
    G = graph_of(("A", "S1", "100"), ("B", "P", "100"), ("P", "Q", "50", "S1"), ("P", "R", "80"),
                 streams=("S1",))  # fmt: skip
    for node, channel in (("A", "nhs"), ("B", "nhs"), ("S1", "nhs")):
        G.nodes[node]["channel"] = channel
    stream = attribute_in_blocks(G)
    by_origin = channel_sums(stream.coded_blocks(), stream._channel_of)
    by_channel = channel_sums(attribute_in_blocks(G).channel_blocks())
    r = sorted(G.nodes).index("R")
    assert by_channel == by_origin
    assert [v for (_, node, _), v in by_channel.items() if node == r] == [8000]


def test_equal_money_from_several_channels_through_a_pool_splits_the_same_at_both_levels():
    # three channels put 100.00 each into a pool that pays all of it on: Mutual's 100.06 is a third of it
    # from each channel, 3335.33 pennies each, and the odd penny goes to the channel first by name (nhs),
    # whichever level is solved
    edges = [(f"{c}-{i}", "Pool", "50.00") for c in ("nhs", "police", "public") for i in (1, 2)]
    edges += [("Pool", "Mutual", "100.01"), ("Pool", "Trust", "199.99"), ("Trust", "Mutual", "0.05")]
    G = graph_of(*edges)
    for node in G.nodes:
        if "-" in node:
            G.nodes[node]["channel"] = {"nhs": "nhs", "police": "police_justice", "public": "public_health"}[
                node.split("-")[0]
            ]
    stream = attribute_in_blocks(G)
    by_origin = channel_sums(stream.coded_blocks(), stream._channel_of)
    by_channel = channel_sums(attribute_in_blocks(G).channel_blocks())
    assert by_origin == by_channel
    mutual = sorted(G.nodes).index("Mutual")
    names = attribute_in_blocks(G).channel_names.to_list()
    got = {names[channel]: v for (_, node, channel), v in by_channel.items() if node == mutual}
    assert got == {"nhs": 3336, "police_justice": 3335, "public_health": 3335}


@pytest.mark.parametrize("channel_of", [None, np.array([0, 1, 0, 1, 1])])
@pytest.mark.parametrize("total", [2**50 - 3, 2**50 + 7, 2**55 + 12345, 2**62 - 1])
def test_rounding_stays_exact_past_what_a_double_holds(total, channel_of):
    """Past 2**53 minor units doubles are coarser than a penny: the split is made in extended precision, so
    the rows still add up to the total exactly and each is within a penny of its share."""
    from fractions import Fraction

    value = np.array([1.0, 2.0, 3.0, 4.0, 7.0])
    _, got_origin, got = round_to_pennies(
        np.zeros(5, dtype=np.int64), np.arange(5), value, np.array([total]), channel_of=channel_of
    )
    assert sum(int(a) for a in got) == total
    for origin, amount in zip(got_origin, got, strict=True):
        share = Fraction(total) * Fraction(value[origin]) / Fraction(value.sum())
        assert abs(Fraction(int(amount)) - share) < Fraction(11, 10)
