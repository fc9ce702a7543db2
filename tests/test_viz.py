"""Views without a browser: what is drawn, what is left out, escaping, offline pages, the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import polars as pl
import pytest

from graphflows.cli.main import main
from graphflows.graph import FlowGraph, build_graph
from graphflows.ingest.base import conform
from graphflows.model import GraphflowsError
from graphflows.viz import prepare_sankey, prepare_view, sankey_html, view_html, write_sankey, write_view
from graphflows.viz.money_text import money_text
from graphflows.viz.notebook import iframe
from graphflows.viz.sankey import plotly_text

HOSTILE = "<img src=x onerror=alert(1)>"
DEMO = Path(__file__).resolve().parents[1] / "graphflows" / "data" / "demo" / "flows.csv"


#: Channels of the small graph's organisations (given as payer_channel / payee_channel columns).
CHANNELS = {"ph": "public_health", "nhse": "nhs", "ccg": "nhs", "council": "local_government",
            "mutual": "charitable", "trust": "nhs", "charity": "charitable"}  # fmt: skip


def graph_of(rows: list[tuple], currency: str = "GBP", channels: dict[str, str] | None = None) -> FlowGraph:
    """Flows from (payer, payer_kind, payee, payee_kind, pounds[, stream_id][, currency]); ``channels``
    gives nodes their channel of government through the payer_channel / payee_channel columns."""
    names = {"mutual": f"Mutual {HOSTILE}", "charity": "Hope Charity"}
    channels = channels or {}
    columns: dict[str, list] = {k: [] for k in (
        "payer_id", "payer_name", "payer_kind", "payee_id", "payee_name", "payee_kind",
        "amount_minor", "currency", "stream_id", "payer_channel", "payee_channel")}  # fmt: skip
    for row in rows:
        payer, payer_kind, payee, payee_kind, pounds = row[:5]
        stream = row[5] if len(row) > 5 else None
        cur = row[6] if len(row) > 6 else currency
        for key, value in (("payer_id", payer), ("payer_name", names.get(payer, payer.title())),
                           ("payer_kind", payer_kind), ("payee_id", payee),
                           ("payee_name", names.get(payee, payee.title())), ("payee_kind", payee_kind),
                           ("amount_minor", pounds * 100), ("currency", cur),
                           ("stream_id", stream), ("payer_channel", channels.get(payer)),
                           ("payee_channel", channels.get(payee))):  # fmt: skip
            columns[key].append(value)
    frame = pl.DataFrame(columns, schema_overrides={"payer_channel": pl.String, "payee_channel": pl.String})
    return build_graph(conform(frame))


def small_graph() -> FlowGraph:
    return graph_of([
        ("ph", "stream", "council", "commissioner", 10_000),
        ("nhse", "stream", "ccg", "commissioner", 20_000),
        ("ccg", "commissioner", "council", "commissioner", 5_000),
        ("council", "commissioner", "mutual", "provider", 6_000),
        ("ccg", "commissioner", "mutual", "provider", 2_000),
        ("ccg", "commissioner", "trust", "provider", 15_000),
        ("council", "commissioner", "charity", "provider", 3_000, "tf"),
    ], channels=CHANNELS)  # fmt: skip


def embedded_data(page: str) -> dict:
    match = re.search(r'<script id="gf-data" type="application/json">(.*?)</script>', page, re.S)
    assert match, "page has no data block"
    return json.loads(match.group(1))


def test_money_is_summed_per_pair_and_node_totals_count_every_flow():
    graph = graph_of([
        ("ccg", "commissioner", "trust", "provider", 100),
        ("ccg", "commissioner", "trust", "provider", 250),
        ("council", "commissioner", "trust", "provider", 50),
    ])  # fmt: skip
    view = prepare_view(graph, attribution=False)
    assert view.edges.filter(pl.col("from") == "ccg").select("amount_minor", "flow_count").row(0) == (
        35_000,
        2,
    )
    trust = view.nodes.filter(pl.col("id") == "trust").row(0, named=True)
    assert (trust["total_in_minor"], trust["total_out_minor"], trust["money_minor"]) == (40_000, 0, 40_000)
    assert view.total_money_minor == 40_000


def test_top_n_keeps_the_largest_and_says_exactly_what_was_left_out():
    view = prepare_view(small_graph(), attribution=False, top_n=4)
    assert sorted(view.nodes["id"]) == ["ccg", "council", "nhse", "trust"]
    note = view.notes[0]
    assert "the 4 largest of 8 organisations" in note and "Left out: 4 nodes and 4 flows" in note
    # hidden: ph->council 10,000 + council->mutual 6,000 + ccg->mutual 2,000 + council->charity 3,000
    assert "£21,000.00" in note
    drawn = int(view.edges.filter(~pl.col("declared"))["amount_minor"].sum())
    assert drawn + 21_000_00 == view.total_money_minor


def test_focus_on_a_provider_shows_everything_upstream_only():
    view = prepare_view(small_graph(), attribution=False, focus="mutual", top_n=None)
    # tf is named on the council's flows: a stream the council spends, so it is upstream too
    assert sorted(view.nodes["id"]) == ["ccg", "council", "mutual", "nhse", "ph", "tf"]
    assert view.title == f"Funding upstream of Mutual {HOSTILE}"


def test_focus_on_a_stream_shows_everything_downstream():
    view = prepare_view(small_graph(), attribution=False, focus="nhse", top_n=None)
    assert sorted(view.nodes["id"]) == ["ccg", "charity", "council", "mutual", "nhse", "trust"]


def test_a_stream_named_only_on_flows_is_linked_to_who_spends_it():
    view = prepare_view(small_graph(), attribution=False, focus="tf", top_n=None)
    assert sorted(view.nodes["id"]) == ["charity", "council", "tf"]
    declared = view.edges.filter(pl.col("declared")).select("from", "to", "amount_minor").rows()
    assert declared == [("tf", "council", 3_000_00)]


def test_focus_on_an_unknown_id_is_a_clear_error():
    with pytest.raises(GraphflowsError, match="--focus nobody: no organisation or stream has this id"):
        prepare_view(small_graph(), attribution=False, focus="nobody")


def test_currencies_are_never_added_and_the_others_are_noted():
    graph = graph_of([
        ("ccg", "commissioner", "trust", "provider", 100),
        ("ccg", "commissioner", "trust", "provider", 100),
        ("ccg", "commissioner", "trust", "provider", 70, None, "EUR"),
    ])  # fmt: skip
    view = prepare_view(graph, attribution=False)
    assert view.currency == "GBP" and view.total_money_minor == 20_000
    assert any("1 in EUR" in n for n in view.notes)
    assert prepare_view(graph, attribution=False, currency="eur").total_money_minor == 7_000
    with pytest.raises(GraphflowsError, match="no flows in USD"):
        prepare_view(graph, attribution=False, currency="USD")


def test_credits_netting_to_nothing_are_not_drawn_but_noted():
    graph = graph_of([
        ("ccg", "commissioner", "trust", "provider", 100),
        ("ccg", "commissioner", "trust", "provider", -100),
        ("ccg", "commissioner", "mutual", "provider", 40),
    ])  # fmt: skip
    view = prepare_view(graph, attribution=False)
    assert view.edges.select("from", "to").rows() == [("ccg", "mutual")]
    assert "2 lines cancelling out to zero between the same payer and payee: not drawn." in view.notes
    assert not any("below zero" in n for n in view.notes)


def test_money_in_is_netted_per_pair_and_stream_as_the_attribution_nets_it():
    from graphflows.analysis import attribute

    # the CCG pays the trust £1,000 from one stream and takes back £400 on another: netted per pair the
    # trust got £600 from it, netted per pair and stream (as attribution does) £1,000, the credit left out
    graph = graph_of([
        ("ccg", "commissioner", "trust", "provider", 1_000, "nhse"),
        ("ccg", "commissioner", "trust", "provider", -400, "ph"),
        ("council", "commissioner", "trust", "provider", 500),
        ("nhse", "stream", "ccg", "commissioner", 2_000),
        ("ph", "stream", "ccg", "commissioner", 300),
    ], channels=CHANNELS)  # fmt: skip
    result = attribute(graph)
    income = result.recipients.filter(pl.col("recipient_id") == "trust")["total_in_minor"].item()
    per_pair = int(graph.flows.filter(pl.col("payee_id") == "trust")["amount_minor"].sum())
    assert per_pair == 1_100_00 != income == 1_500_00  # the two rules differ here
    view = prepare_view(graph, attribution=result, top_n=None)
    trust = view.nodes.filter(pl.col("id") == "trust").row(0, named=True)
    assert trust["total_in_minor"] == income
    assert view.edges.filter(pl.col("to") == "trust")["amount_minor"].sum() == income
    card = next(n for n in embedded_data(view_html(graph, attribution=result))["nodes"] if n["id"] == "trust")
    assert card["in_text"] == money_text(income, "GBP")
    assert any(n.startswith("1 payer-payee pair netting below zero on a stream") and "£400.00" in n
               for n in view.notes)  # fmt: skip
    sankey = prepare_sankey(graph, attribution=result, top_n=None)
    assert sum(link["amount_minor"] for link in sankey.links if link["to_name"] == "Trust") == income
    # a focus on the council, which took no part in the credit: the note says it counts every flow read
    for focused in (prepare_view(graph, attribution=result, focus="council"),
                    prepare_sankey(graph, attribution=result, focus="council")):  # fmt: skip
        said = "Of all the flows read (not only those drawn): 1 payer-payee pair netting below zero"
        assert any(n.startswith(said) for n in focused.notes)


def test_convergence_points_and_mixes_come_from_the_attribution():
    view = prepare_view(small_graph(), top_n=None)
    mutual = view.nodes.filter(pl.col("id") == "mutual").row(0, named=True)
    # Mutual: £6,000 from the council (itself 2/3 public health, 1/3 NHS) and £2,000 from the CCG (NHS)
    assert mutual["is_convergence_point"] and mutual["count"] == mutual["channel_count"] == 2
    assert sorted(mutual["channels"]) == ["nhs", "public_health"]
    assert sorted(m[0] for m in mutual["channel_mix"]) == ["nhs", "public_health"]
    assert sum(float(m[2].rstrip("%")) for m in mutual["channel_mix"]) == pytest.approx(100, abs=0.2)
    assert (mutual["channel"], mutual["form"]) == ("charitable", "unknown")
    shares = [float(m[2].rstrip("%")) for m in mutual["mix"]]
    assert abs(sum(shares) - 100) < 0.2
    # the trust's money is all NHS (two stovepipes, one channel): not a convergence point by channel ...
    trust = view.nodes.filter(pl.col("id") == "trust").row(0, named=True)
    assert not trust["is_convergence_point"] and trust["channel_mix"] == [["nhs", "£15,000.00", "100.0%"]]
    assert trust["stovepipe_count"] == 2
    # ... but one by stovepipe
    by_stovepipe = prepare_view(small_graph(), top_n=None, count_by="stovepipe")
    trust = by_stovepipe.nodes.filter(pl.col("id") == "trust").row(0, named=True)
    assert trust["is_convergence_point"] and trust["count"] == 2
    charity = view.nodes.filter(pl.col("id") == "charity").row(0, named=True)
    assert not charity["is_convergence_point"] and charity["stovepipe_count"] == 1


def test_min_share_decides_what_counts():
    graph = graph_of([
        ("nhse", "stream", "trust", "provider", 995),
        ("pcc", "stream", "trust", "provider", 5),
    ], channels={"nhse": "nhs", "pcc": "police_justice"})  # fmt: skip
    trust = lambda view: view.nodes.filter(pl.col("id") == "trust").row(0, named=True)  # noqa: E731
    assert not trust(prepare_view(graph, top_n=None))["is_convergence_point"]  # 0.5% < 1%
    assert trust(prepare_view(graph, top_n=None, min_share=0.005))["is_convergence_point"]


def test_the_page_is_self_contained_with_no_external_reference(tmp_path: Path):
    page = view_html(small_graph())
    assert "<script src" not in page and "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "vis.Network" in page


def test_hostile_names_never_appear_as_markup_in_the_page():
    page = view_html(small_graph(), focus="mutual")
    assert HOSTILE not in page
    data = embedded_data(page)
    assert any(n["name"] == f"Mutual {HOSTILE}" for n in data["nodes"])
    assert data["title"].endswith(HOSTILE)
    assert "<title>Funding upstream of Mutual &lt;img src=x onerror=alert(1)&gt;</title>" in page


def test_a_name_cannot_close_the_data_script():
    graph = graph_of([("ccg", "commissioner", "trust", "provider", 10)])
    graph = FlowGraph(graph.nodes.with_columns(pl.lit("</script><script>alert(1)</script>").alias("name")),
                      graph.flows)  # fmt: skip
    page = view_html(graph, attribution=False)
    assert "</script><script>alert(1)" not in page
    assert embedded_data(page)["nodes"][0]["name"] == "</script><script>alert(1)</script>"


def test_same_graph_same_file(tmp_path: Path):
    first = write_view(small_graph(), tmp_path / "a.html")
    second = write_view(small_graph(), tmp_path / "b.html")
    assert first.read_bytes() == second.read_bytes()


def test_writing_leaves_no_lib_folder_or_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    write_view(small_graph(), "view.html")
    write_sankey(small_graph(), "sankey.html")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".graphflows-manifest.json", "sankey.html", "view.html"]  # the manifest: see outputs.py


def test_sankey_keeps_every_penny_by_gathering_small_nodes():
    data = prepare_sankey(small_graph(), attribution=False, top_n=4)
    names = [n["name"] for n in data.nodes]
    assert any(name.startswith("Other providers") for name in names)
    drawn = sum(link["amount_minor"] for link in data.links)
    inside_other = 0  # providers pay nobody, so nothing is hidden inside the Other node
    assert drawn + inside_other == 61_000_00


def test_sankey_labels_are_escaped_for_plotly_and_the_page():
    assert plotly_text(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    page = sankey_html(small_graph())
    assert HOSTILE not in page
    assert "<script src" not in page and "cdn.plot.ly" not in page.split("<script>", 1)[0]


def test_notebook_iframe_escapes_the_page():
    frame = iframe("<p onclick='x'>A & B</p>")
    assert frame.startswith('<iframe srcdoc="&lt;p onclick=&#x27;x&#x27;&gt;A &amp; B')
    assert 'sandbox="allow-scripts"' in frame


def test_cli_writes_view_and_sankey_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out, sankey = tmp_path / "v.html", tmp_path / "s.html"
    code = main(["view", str(DEMO), "--out", str(out), "--sankey", str(sankey), "--top", "10"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Showing 10 of 25 organisations and streams: " in text and "top convergence point" in text
    assert "Written:" in text
    assert embedded_data(out.read_text())["nodes"].__len__() == 10
    assert sankey.stat().st_size > 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [".graphflows-manifest.json", "s.html", "v.html"]


def test_cli_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "v.html"
    assert main(["view", str(DEMO), "--out", str(out), "--focus", "nobody"]) == 2
    assert "no organisation or stream has this id" in capsys.readouterr().err
    assert main(["view", str(DEMO), "--out", str(tmp_path / "v.png")]) == 2
    assert "ending in .html" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_skip_invalid_lists_rejects_next_to_the_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "flows.csv"
    bad.write_text("payer_id,payer_kind,payee_id,payee_kind,amount\nccg,commissioner,trust,provider,10\n"
                   "ccg,commissioner,trust,provider,ten\n")  # fmt: skip
    assert main(["view", str(bad), "--out", str(tmp_path / "v.html")]) == 2
    assert not (tmp_path / "v.html").exists()
    assert main(["view", str(bad), "--out", str(tmp_path / "v.html"), "--skip-invalid", "--no-analysis"]) == 0
    rejects = pl.read_csv(tmp_path / "v.rejects.csv")
    assert rejects.height == 1 and rejects["line"].to_list() == [3]
    out = " ".join(capsys.readouterr().out.split())
    assert "Read 2 records from 1 file(s): 1 flows (GBP 10.00), 1 rejected; rejected records in " in out


def test_funding_mix_lists_the_five_largest_stovepipes_and_sums_the_rest():
    frame = pl.DataFrame({
        "payer_id": [f"s{i}" for i in range(8)], "payee_id": ["p"] * 8, "payer_kind": ["stream"] * 8,
        "payee_kind": ["provider"] * 8, "amount_minor": list(range(100, 900, 100)), "currency": ["GBP"] * 8,
    })  # fmt: skip
    view = prepare_view(build_graph(conform(frame)))
    mix = view.nodes.filter(pl.col("id") == "p")["mix"].to_list()[0]
    assert [m[0] for m in mix] == ["s7", "s6", "s5", "s4", "s3", "3 more stovepipes"]
    assert mix[0][1:] == ["£8.00", "22.2%"] and mix[-1] == ["3 more stovepipes", "£6.00", ""]


def test_too_many_nodes_for_one_page_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    from graphflows.viz import prepare

    monkeypatch.setattr(prepare, "MAX_NODES", 5)
    with pytest.raises(GraphflowsError, match=r"8 organisations and streams are too many .* \(at most 5\)"):
        prepare_view(small_graph(), attribution=False, top_n=None)
    assert prepare_view(small_graph(), attribution=False, top_n=5).nodes.height == 5


def test_cli_png_failure_leaves_no_output_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]):  # fmt: skip
    monkeypatch.setenv("GRAPHFLOWS_CHROMIUM", str(tmp_path / "no-chromium-here"))
    code = main(["view", str(DEMO), "--out", str(tmp_path / "v.html"), "--png", str(tmp_path / "v.png"),
                 "--sankey", str(tmp_path / "s.html")])  # fmt: skip
    assert code == 2
    assert "GRAPHFLOWS_CHROMIUM" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_notebook_display_is_an_html_object_holding_the_whole_page(recwarn: pytest.WarningsRecorder):
    from graphflows.viz import show_sankey, show_view

    shown = show_view(small_graph(), attribution=False, height=400)
    assert shown.data.startswith('<div class="graphflows-view"><iframe srcdoc="&lt;!DOCTYPE html&gt;')
    assert "height:400px" in shown.data and "vis.Network" in html_unescape(shown.data)
    assert "Plotly.newPlot" in html_unescape(show_sankey(small_graph(), attribution=False).data)
    assert not [w for w in recwarn if "IFrame" in str(w.message)]


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_nodes_are_coloured_by_channel_and_the_legend_lists_the_channels_shown():
    from graphflows.viz.colours import CHANNEL_STYLE

    data = embedded_data(view_html(small_graph()))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["ccg"]["color"] == nodes["nhse"]["color"] == CHANNEL_STYLE["nhs"][0]
    assert nodes["council"]["color"] == CHANNEL_STYLE["local_government"][0]
    assert nodes["tf"]["color"] == CHANNEL_STYLE["unclassified"][0]  # no channel given or found: grey
    assert (nodes["tf"]["channel_label"], nodes["tf"]["form"]) == ("Unclassified", "form unknown")
    assert nodes["charity"]["form"] == "charity"  # the classifier's form, from the name
    # shape still by kind
    assert data["style"][nodes["ccg"]["kind"]]["shape"] == "square"
    assert data["style"][nodes["nhse"]["kind"]]["shape"] == "diamond"
    # the legend: each channel present once, in the fixed order, with its colour and node count
    assert data["channels_shown"] == [
        ["NHS", CHANNEL_STYLE["nhs"][0], 3],
        ["Public health", CHANNEL_STYLE["public_health"][0], 1],
        ["Local government", CHANNEL_STYLE["local_government"][0], 1],
        ["Charitable funders", CHANNEL_STYLE["charitable"][0], 2],
        ["Unclassified", CHANNEL_STYLE["unclassified"][0], 1],
    ]
    # links take the payer's channel colour (a shade of it)
    edge = next(e for e in data["edges"] if (e["from"], e["to"]) == ("council", "mutual"))
    other = next(e for e in data["edges"] if (e["from"], e["to"]) == ("ccg", "trust"))
    assert edge["color"] != other["color"]
    mutual = nodes["mutual"]
    assert mutual["conv"] and mutual["count"] == 2 and sorted(mutual["channels"]) == ["NHS", "Public health"]
    assert {m[0]: m[3] for m in mutual["channel_mix"]} == {
        "NHS": CHANNEL_STYLE["nhs"][0],
        "Public health": CHANNEL_STYLE["public_health"][0],
    }
    assert data["counted"] == "channels" and "at least 1%" in data["convergence_rule"]


def test_a_channel_given_as_a_networkx_attribute_colours_the_node():
    import networkx as nx

    from graphflows.viz.colours import CHANNEL_STYLE

    G = nx.MultiDiGraph()
    G.add_node("PCC", channel="police_justice", kind="stream")
    G.add_node("Fire", channel="fire_rescue", kind="stream")
    G.add_edge("PCC", "Refuge", amount="30")
    G.add_edge("Fire", "Refuge", amount="20")
    from graphflows.graph import from_networkx

    data = embedded_data(view_html(from_networkx(G)))
    colours = {n["id"]: n["color"] for n in data["nodes"]}
    assert colours["PCC"] == CHANNEL_STYLE["police_justice"][0]
    assert colours["Fire"] == CHANNEL_STYLE["fire_rescue"][0]
    refuge = next(n for n in data["nodes"] if n["id"] == "Refuge")
    assert refuge["conv"] and refuge["channels"] == ["Police and justice", "Fire and rescue"]


def sankey_money(data, source: str, target: str) -> dict[str, int]:
    ids = [n["id"] for n in data.nodes]
    return {
        link["channel"]: link["amount_minor"]
        for link in data.links
        if (ids[link["source"]], ids[link["target"]]) == (source, target)
    }


def test_sankey_links_are_coloured_by_the_origin_channel_of_the_money():
    from graphflows.viz.colours import CHANNEL_STYLE
    from graphflows.viz.sankey import sankey_figure

    data = prepare_sankey(small_graph(), top_n=None)
    # the council's money is 2/3 public health (£10,000 of £15,000), 1/3 NHS: its £6,000 to Mutual splits so
    assert sankey_money(data, "council", "mutual") == {"public_health": 4_000_00, "nhs": 2_000_00}
    assert sankey_money(data, "ccg", "trust") == {"nhs": 15_000_00}
    assert sankey_money(data, "ph", "council") == {"public_health": 10_000_00}
    # every penny still drawn: per pair, and in all
    assert sum(link["amount_minor"] for link in data.links) == 61_000_00
    assert [c for c, _, _ in data.channels][:2] == ["nhs", "public_health"]  # most money first
    figure = sankey_figure(data)["data"][0]["link"]
    colours = dict(zip([link["channel"] for link in data.links], figure["color"], strict=True))
    assert colours["nhs"] == "rgba(0,114,178,0.7)" and CHANNEL_STYLE["nhs"][0] == "#0072B2"
    assert "Origin channel: %{customdata[3]}" in figure["hovertemplate"]
    page = embedded_data(sankey_html(small_graph()))
    assert ["NHS", CHANNEL_STYLE["nhs"][0]] in page["key"]
    # without an attribution, a link takes its payer's own channel
    plain = prepare_sankey(small_graph(), attribution=False, top_n=None)
    assert sankey_money(plain, "council", "mutual") == {"local_government": 6_000_00}
    assert not plain.by_origin


def test_sankey_split_keeps_exact_pennies_when_shares_do_not_divide():
    graph = graph_of([
        ("a", "stream", "pool", "commissioner", 1), ("b", "stream", "pool", "commissioner", 1),
        ("c", "stream", "pool", "commissioner", 1), ("pool", "commissioner", "p", "provider", 1),
    ], channels={"a": "nhs", "b": "education", "c": "transport"})  # fmt: skip
    data = prepare_sankey(graph, top_n=None)
    assert sankey_money(data, "pool", "p") == {"education": 34, "nhs": 33, "transport": 33}


def large_graph(extra: tuple[tuple, ...] = ()) -> FlowGraph:
    """Big single-channel money (streams, commissioners, big providers) and three small convergence points
    (and the ``extra`` rows)."""
    rows = [("nhse", "stream", f"ccg{i}", "commissioner", 1_000_000) for i in range(6)]
    rows += [(f"ccg{i}", "commissioner", f"trust{i}", "provider", 900_000) for i in range(6)]
    rows += [
        ("moj", "stream", "pcc", "commissioner", 50_000),
        ("dluhc", "stream", "council", "commissioner", 40_000),
    ]
    for j, payers in enumerate([("ccg0", "pcc", "council"), ("ccg1", "pcc"), ("ccg2", "council")]):
        rows += [(payer, "commissioner", f"refuge{j}", "provider", 1_000) for payer in payers]
    rows += [("pcc", "commissioner", "trust0", "provider", 10_000)]
    # a pooled budget mixing two channels: a convergence point, but not a provider
    rows += [
        ("nhse", "stream", "pool", "commissioner", 500_000),
        ("moj", "stream", "pool", "commissioner", 500_000),
        *extra,
    ]
    channels = {"nhse": "nhs", "moj": "police_justice", "pcc": "police_justice", "dluhc": "local_government",
                "council": "local_government"} | {f"ccg{i}": "nhs" for i in range(6)}  # fmt: skip
    return graph_of(rows, channels=channels)


def test_a_large_graph_shows_its_convergence_points_with_their_payers_and_origins():
    from graphflows.analysis import attribute, convergence

    graph = large_graph()
    table = convergence(attribute(graph))
    assert table.filter("is_convergence_point")["recipient_id"].to_list()[:3] == [
        "refuge0",
        "pool",
        "refuge1",
    ]
    view = prepare_view(graph, top_n=12)
    kept = set(view.nodes["id"])
    assert len(kept) == 12
    # the points in convergence order (refuge0 has three channels), each with its payers and origins
    assert {"refuge0", "refuge1", "refuge2"} <= kept
    assert {"ccg0", "ccg1", "ccg2", "pcc", "council"} <= kept  # every direct payer
    assert {"nhse", "moj", "dluhc"} <= kept  # every origin
    assert view.selection == "convergence"
    # providers first, in table order: the pool comes after them and no longer fits
    assert view.nodes.filter(pl.col("is_convergence_point"))["id"].sort().to_list() == [
        "refuge0", "refuge1", "refuge2", "trust0"]  # fmt: skip
    assert "pool" in set(prepare_view(graph, top_n=13).nodes["id"])
    # by money alone none of the refuges would be drawn
    by_money = prepare_view(graph, attribution=False, top_n=12)
    assert not {"refuge0", "refuge1", "refuge2"} & set(by_money.nodes["id"]) and by_money.selection == "money"
    # the note counts exactly what was left out
    flows = graph.flows
    hidden = flows.filter(~(pl.col("payer_id").is_in(sorted(kept)) & pl.col("payee_id").is_in(sorted(kept))))
    total = graph.node_count
    note = view.notes[0]
    points = table.filter("is_convergence_point").height
    assert points > 4
    assert note.startswith(
        f"Showing 12 of {total} organisations and streams: 4 top convergence points of {points} "
    )
    assert f"Left out: {total - 12} nodes and {hidden.height} flows carrying " in note
    assert money_text(int(hidden["amount_minor"].sum()), "GBP") in note


def test_a_large_graph_without_convergence_points_falls_back_to_money_and_says_so():
    graph = graph_of([("nhse", "stream", f"ccg{i}", "commissioner", 100 * (i + 1)) for i in range(5)])
    view = prepare_view(graph, top_n=3)
    assert sorted(view.nodes["id"]) == ["ccg3", "ccg4", "nhse"] and view.selection == "money"
    assert view.notes[0].startswith(
        "No convergence points (channels meeting) among them. Showing the 3 largest"
    )


def test_focus_keeps_working_in_a_large_graph():
    view = prepare_view(large_graph(), top_n=5, focus="trust5")
    assert "trust5" in set(view.nodes["id"]) and view.title == "Funding upstream of Trust5"
    assert sorted(view.nodes["id"]) == ["ccg5", "nhse", "trust5"]  # all upstream fits: no cut
    # upstream of refuge0 are 7 nodes: cut to 4 around the convergence point in focus, its largest payer
    # and origin first (all £1,000: by id), then its next payer
    view = prepare_view(large_graph(), top_n=4, focus="refuge0")
    assert view.nodes["id"].to_list() == ["ccg0", "council", "dluhc", "refuge0"]
    assert view.notes[0].startswith("Showing 4 of 7 organisations and streams: 1 top convergence point")
    view = prepare_view(large_graph(), top_n=3, focus="ccg0")
    assert "ccg0" in view.nodes["id"].to_list() and view.nodes.height == 3


def test_cli_view_takes_count_by_min_share_and_min_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    flows = tmp_path / "flows.csv"
    flows.write_text("payer_id,payer_kind,payer_channel,payee_id,payee_kind,amount\n"
                     "nhse,stream,nhs,trust,provider,995\npcc,stream,police_justice,trust,provider,5\n"
                     "ccg,stream,nhs,trust,provider,300\n")  # fmt: skip
    out = tmp_path / "v.html"
    assert main(["view", str(flows), "--out", str(out)]) == 0
    trust = next(n for n in embedded_data(out.read_text())["nodes"] if n["id"] == "trust")
    assert not trust["conv"]
    assert main(["view", str(flows), "--out", str(out), "--min-share", "0.001"]) == 0
    trust = next(n for n in embedded_data(out.read_text())["nodes"] if n["id"] == "trust")
    assert trust["conv"] and trust["count"] == 2
    assert main(["view", str(flows), "--out", str(out), "--count-by", "stovepipe"]) == 0
    trust = next(n for n in embedded_data(out.read_text())["nodes"] if n["id"] == "trust")
    assert trust["conv"] and trust["count"] == 2  # nhse and ccg (pcc's 0.4% is below 1%)
    assert main(["view", str(flows), "--out", str(out), "--min-share", "0.001", "--min-count", "3"]) == 0
    data = embedded_data(out.read_text())
    assert not next(n for n in data["nodes"] if n["id"] == "trust")["conv"]
    assert "money from 3 or more channels, each bringing at least 0.1%" in data["convergence_rule"]


def test_top_points_follow_the_whole_convergence_table_providers_first(monkeypatch: pytest.MonkeyPatch):
    """The view ranks candidates by the table's keys, then orders them by convergence() of the few."""
    import numpy as np

    from graphflows.analysis import attribute, convergence
    from graphflows.viz import prepare

    rng = np.random.default_rng(3)
    channels = ["nhs", "public_health", "police_justice", "local_government", "education", "charitable"]
    rows = [(f"s{i}", "stream", f"c{j}", "commissioner", int(rng.integers(1_000, 9_000)))
            for j in range(30) for i in rng.choice(6, 2, replace=False)]  # fmt: skip
    rows += [(f"c{j}", "commissioner", f"p{k}", "provider", int(rng.integers(1, 400)))
             for k in range(300) for j in rng.choice(30, int(rng.integers(1, 5)), replace=False)]  # fmt: skip
    graph = graph_of(rows, channels={f"s{i}": c for i, c in enumerate(channels)})
    result = attribute(graph)
    # the view's fast sums by channel are channel_mix's
    from graphflows.analysis import channel_mix

    columns = ["recipient_id", "channel", "amount_minor"]
    assert (
        prepare.channel_amounts(result)
        .select(columns)
        .sort(columns)
        .equals(channel_mix(result).select(columns).sort(columns))
    )
    kinds = prepare.node_totals(graph.nodes, prepare.money_pairs(graph.flows)[0]).select("id", "kind")
    monkeypatch.setattr(prepare, "CANDIDATE_MARGIN", 0)
    for count_by in ("channel", "stovepipe"):
        table = convergence(result, count_by=count_by).filter("is_convergence_point")
        ordered = table.join(kinds.rename({"id": "recipient_id"}), on="recipient_id", maintain_order="left")
        expected = ordered.sort(pl.col("kind") != "provider", maintain_order=True)["recipient_id"].to_list()
        analysis = prepare.ViewAnalysis.of(result, "GBP", count_by=count_by, min_share=0.01)
        assert len(expected) > 60
        assert analysis.top_points(kinds, 40) == expected[:40]
        assert (
            analysis.top_points(kinds.filter(pl.col("kind") != "provider"), 5)
            == [r for r in expected if not r.startswith("p")][:5]
        )


def test_large_view_counts_a_channel_at_exactly_the_threshold_like_the_table():
    """17 origins of one penny each in one channel bring exactly 1% of 1,700 pence: the table counts it,
    and so must the view's candidate ranking (float shares summed would fall just below 1%)."""
    import networkx as nx

    from graphflows.analysis import attribute, convergence
    from graphflows.viz.prepare import convergence_keys

    G = nx.MultiDiGraph()
    G.add_node("ccg", channel="nhs")
    G.add_edge("ccg", "r", amount="16.83")
    for i in range(17):
        G.add_node(f"pcc-{i}", channel="police_justice")
        G.add_edge(f"pcc-{i}", "r", amount="0.01")
    result = attribute(G)
    table = convergence(result)
    assert table.filter(pl.col("recipient_id") == "r")["channel_count"].item() == 2
    keys = convergence_keys(result, "channel", 0.01)
    assert keys.filter(pl.col("recipient_id") == "r")["count"].item() == 2


def test_a_self_payment_is_left_out_of_money_in_as_in_the_convergence_table():
    """The trust pays itself £840 (an internal transfer): its card's money in, its channel mix and
    convergence.csv all give what the CCG and the council paid; the card and the notes say what is left out
    """
    from graphflows.analysis import attribute, convergence

    graph = graph_of([
        ("ccg", "commissioner", "trust", "provider", 15_000),
        ("council", "commissioner", "trust", "provider", 5_000),
        ("trust", "provider", "trust", "provider", 840),
        ("trust", "provider", "mutual", "provider", 1_000),
    ], channels=CHANNELS)  # fmt: skip
    result = attribute(graph)
    data = embedded_data(view_html(graph, attribution=result))
    trust = next(n for n in data["nodes"] if n["id"] == "trust")
    total_in = convergence(result).filter(pl.col("recipient_id") == "trust")["total_in_minor"].item()
    assert trust["in_text"] == money_text(total_in, "GBP") == "£20,000.00"
    assert (
        sum(int(m[1].strip("£").replace(",", "").replace(".", "")) for m in trust["channel_mix"]) == total_in
    )
    assert trust["self_text"] == "£840.00" and trust["out_text"] == "£1,000.00"
    assert not any(n["self_text"] for n in data["nodes"] if n["id"] != "trust")
    assert any("1 self-payment (1 organisation paying itself: £840.00)" in t for t in data["notes"])
    assert not any("below zero" in t or "cancelling" in t for t in data["notes"])  # not counted as a credit
    assert not any(e["from"] == e["to"] for e in data["edges"])


def test_view_help_and_readme_state_the_cap_of_top_0(capsys: pytest.CaptureFixture[str]):
    from graphflows.viz.prepare import MAX_NODES

    assert main(["view", "--help"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"0 keeps all of a graph of up to {MAX_NODES:,}" in said
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert f"`--top 0` keeps all of a graph of up to {MAX_NODES:,} nodes" in readme


def test_a_large_view_counts_every_convergence_point_shown_in_its_header_and_note():
    """A body paid from two channels (like the GLA) is kept as a refuge's payer: it is a convergence point
    too, so the header, the note and the marked nodes all count it, out of every point in the graph."""
    from graphflows.analysis import attribute, convergence

    gla = (
        ("nhse", "stream", "gla", "commissioner", 300_000),
        ("moj", "stream", "gla", "commissioner", 300_000),
        ("gla", "commissioner", "refuge0", "provider", 5_000),
    )
    graph = large_graph(gla)
    result = attribute(graph)
    points = convergence(result).filter("is_convergence_point")["recipient_id"].to_list()
    assert "gla" in points
    data = embedded_data(view_html(graph, attribution=result, top_n=12))
    shown = [n["id"] for n in data["nodes"] if n["conv"]]
    assert "gla" in shown and set(shown) <= set(points)
    assert data["subtitle"].endswith(f"; {len(shown)} of {len(points)} convergence points shown")
    note = data["notes"][0]
    assert f"{len(shown) - 1} top convergence points of {len(points)} " in note
    assert (
        f"1 more convergence point among the payers, origins and others: {len(shown)} of {len(points)} "
        in note
    )
    small = embedded_data(view_html(small_graph()))  # nothing cut: every point is shown
    marked = sum(n["conv"] for n in small["nodes"])
    assert small["subtitle"].endswith(f"; {marked} of {marked} convergence points shown") and marked > 0


def test_labels_are_capped_on_screen_and_the_ring_leaves_the_fill_visible():
    from graphflows.viz import network

    data = embedded_data(view_html(large_graph(), top_n=12))
    assert data["label_max_px"] <= network.FONT_MAX and data["headline_max_px"] < network.HEADLINE_FONT / 2
    points = [n for n in data["nodes"] if n["conv"]]
    assert points and all(n["ring"] <= network.SIZE_MIN / 4 for n in points)
    assert all(n["halo"] > 0 for n in points) and not any(n["halo"] for n in data["nodes"] if not n["conv"])


def test_a_large_view_names_its_hubs_in_the_overview_as_well_as_its_top_points():
    """As in London (TfL, the GLA, the CCG paying hundreds of suppliers): with more convergence points than
    headline names, the nodes with most money still get theirs, so one can tell which hub is which."""
    from graphflows.viz import network

    rows = [("nhse", "stream", "ccg", "commissioner", 9_000_000),
            ("dluhc", "stream", "council", "commissioner", 8_000_000)]  # fmt: skip
    for i in range(70):
        rows += [("ccg", "commissioner", f"p{i}", "provider", 1_000 + i),
                 ("council", "commissioner", f"p{i}", "provider", 900 + i)]  # fmt: skip
    graph = graph_of(rows, channels={"nhse": "nhs", "ccg": "nhs", "dluhc": "local_government",
                                     "council": "local_government"})  # fmt: skip
    data = embedded_data(view_html(graph, top_n=None))
    assert len(data["nodes"]) > network.HEADLINE_FROM
    headlines = {n["id"] for n in data["nodes"] if n["headline"]}
    points = [n for n in data["nodes"] if n["conv"]]
    assert len(points) > network.HEADLINES == len(headlines)
    by_money = sorted(data["nodes"], key=lambda n: (-n["value"], n["id"]))[: network.HUB_HEADLINES]
    assert {n["id"] for n in by_money} == {"nhse", "ccg", "dluhc", "council"} <= headlines
    richest_points = sorted(points, key=lambda n: -n["value"])[: network.HEADLINES - network.HUB_HEADLINES]
    assert headlines - {n["id"] for n in by_money} == {n["id"] for n in richest_points}


def loop_graph() -> FlowGraph:
    """The GLA funds TfL, which pays some back; a CCG funds a trust, which pays some back (two loops)."""
    return graph_of([
        ("gla", "commissioner", "tfl", "commissioner", 900_000),
        ("tfl", "commissioner", "gla", "commissioner", 2_603),
        ("tfl", "commissioner", "bus", "provider", 500_000),
        ("ccg", "commissioner", "trust", "provider", 40_000),
        ("trust", "provider", "ccg", "commissioner", 8_100),
        ("trust", "provider", "lab", "provider", 1_000),
    ], channels={"gla": "local_government", "tfl": "transport", "ccg": "nhs", "trust": "nhs"})  # fmt: skip


def test_sankey_leaves_out_money_going_back_round_a_loop_and_names_it():
    import networkx as nx

    from graphflows.viz.sankey import LABEL_HALO, sankey_figure

    data = prepare_sankey(loop_graph(), top_n=None)
    ids = [n["id"] for n in data.nodes]
    drawn = nx.DiGraph([(ids[link["source"]], ids[link["target"]]) for link in data.links])
    assert nx.is_directed_acyclic_graph(drawn)  # plotly draws no empty loops
    assert ("tfl", "gla") not in drawn.edges and ("trust", "ccg") not in drawn.edges
    assert ("gla", "tfl") in drawn.edges and ("ccg", "trust") in drawn.edges  # the larger way is drawn
    note = next(t for t in data.notes if t.startswith("Money going back round a loop"))
    assert "Trust \u2192 Ccg £8,100.00; Tfl \u2192 Gla £2,603.00; £10,703.00 in all" in note
    every_pair = 900_000_00 + 2_603_00 + 500_000_00 + 40_000_00 + 8_100_00 + 1_000_00
    assert data.total_minor + 10_703_00 == every_pair  # every penny is drawn or in the note
    figure = sankey_figure(data)["data"][0]
    assert figure["textfont"]["shadow"] == LABEL_HALO and "#fff" in LABEL_HALO
    assert not any(t.startswith("Money going back") for t in prepare_sankey(small_graph()).notes)


def test_a_selected_nodes_links_keep_their_channel_colour():
    """A --focus view opens with the focus selected: its links are drawn in their highlight colour, the
    payer's channel at full strength (they were all near-black, #111, the channel lost)."""
    from graphflows.viz.colours import channel_colour, darker, faded

    data = embedded_data(view_html(small_graph(), focus="mutual"))
    channel = {n["id"]: n["channel"] for n in data["nodes"]}
    into = [e for e in data["edges"] if e["to"] == "mutual"]
    assert {channel[e["from"]] for e in into} == {"nhs", "local_government"}
    for e in into:
        strong = darker(channel_colour(channel[e["from"]]), 0.85)
        assert e["highlight"] == strong and e["color"] == faded(strong)


def test_every_two_channel_colours_are_clearly_apart():
    """CIE76 distance in CIELAB between every two channel colours is at least 20 (transport's teal was 18.6
    from local government's green: London's GLA and TfL money looked alike)."""
    from itertools import combinations

    from graphflows.viz.colours import CHANNEL_STYLE

    def lab(hex_colour: str) -> tuple[float, float, float]:  # sRGB (D65) -> CIELAB
        srgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in srgb)
        xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)  # fmt: skip
        fx, fy, fz = (t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in xyz)
        return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)

    assert lab("#ffffff") == pytest.approx((100, 0, 0), abs=0.1)
    distance = {
        (a, b): math.dist(lab(CHANNEL_STYLE[a][0]), lab(CHANNEL_STYLE[b][0]))
        for a, b in combinations(CHANNEL_STYLE, 2)
    }
    assert min(distance.values()) >= 20, min(distance.items(), key=lambda item: item[1])


def test_no_two_names_overlap_in_the_london_view():
    """The real London set (NHS, GLA, TfL; tests/data/real/london-2020-21): its boroughs and suppliers paid
    by all three sit in a dense band between the hubs, where names used to be drawn over one another. The
    box of every node and its name (as the layout reserves it) overlaps no other."""
    import graphflows
    from graphflows.graph import read_graph
    from graphflows.viz import network
    from tests.data import LONDON_SOURCES

    graph = read_graph([], sources=graphflows.read_manifest(LONDON_SOURCES), skip_invalid=True)
    nodes = embedded_data(view_html(graph))["nodes"]
    assert len(nodes) == 250 and sum(n["headline"] for n in nodes) == network.HEADLINES
    values = {n["id"]: n["value"] for n in nodes}
    boxes = network.drawn_boxes(
        values, {n["id"]: n["label"] for n in nodes}, {n["id"] for n in nodes if n["headline"]}
    )
    placed = [(n["x"], n["y"] + boxes[n["id"]][2], *boxes[n["id"]][:2], n["name"]) for n in nodes]
    overlapping = [
        (a[4], b[4])
        for k, a in enumerate(placed)
        for b in placed[k + 1 :]
        if abs(a[0] - b[0]) < (a[2] + b[2]) / 2 and abs(a[1] - b[1]) < (a[3] + b[3]) / 2
    ]
    assert overlapping == []


def test_the_legend_names_the_shape_a_pooled_budget_is_drawn_with():
    """The demo's Better Care Fund pool is a stream (as the README's graph table defines pooled budgets):
    the legend entry of the shape it is drawn with must say so, and no other shape may claim pools."""
    from graphflows.graph import graph_from_ingest
    from graphflows.ingest import read_flows

    data = embedded_data(view_html(graph_from_ingest(read_flows([str(DEMO)]))))
    pool = next(n for n in data["nodes"] if n["id"] == "bcf-leicester")
    claims = [k for k, style in data["style"].items() if "pooled budget" in style["label"].lower()]
    assert claims == [pool["kind"]]
