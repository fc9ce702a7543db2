"""Views without a browser: what is drawn, what is left out, escaping, offline pages, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from graphflows.cli.main import main
from graphflows.graph import FlowGraph, build_graph
from graphflows.ingest.base import conform
from graphflows.model import GraphflowsError
from graphflows.viz import prepare_sankey, prepare_view, sankey_html, view_html, write_sankey, write_view
from graphflows.viz.notebook import iframe
from graphflows.viz.sankey import plotly_text

HOSTILE = "<img src=x onerror=alert(1)>"
DEMO = Path(__file__).resolve().parents[1] / "graphflows" / "data" / "demo" / "flows.csv"


def graph_of(rows: list[tuple], currency: str = "GBP") -> FlowGraph:
    """Flows from (payer, payer_kind, payee, payee_kind, pounds[, stream_id][, name overrides])."""
    names = {"mutual": f"Mutual {HOSTILE}"}
    columns: dict[str, list] = {k: [] for k in (
        "payer_id", "payer_name", "payer_kind", "payee_id", "payee_name", "payee_kind",
        "amount_minor", "currency", "stream_id")}  # fmt: skip
    for row in rows:
        payer, payer_kind, payee, payee_kind, pounds = row[:5]
        stream = row[5] if len(row) > 5 else None
        cur = row[6] if len(row) > 6 else currency
        for key, value in (("payer_id", payer), ("payer_name", names.get(payer, payer.title())),
                           ("payer_kind", payer_kind), ("payee_id", payee),
                           ("payee_name", names.get(payee, payee.title())), ("payee_kind", payee_kind),
                           ("amount_minor", pounds * 100), ("currency", cur),
                           ("stream_id", stream)):  # fmt: skip
            columns[key].append(value)
    return build_graph(conform(pl.DataFrame(columns)))


def small_graph() -> FlowGraph:
    return graph_of([
        ("ph", "stream", "council", "commissioner", 10_000),
        ("nhse", "stream", "ccg", "commissioner", 20_000),
        ("ccg", "commissioner", "council", "commissioner", 5_000),
        ("council", "commissioner", "mutual", "provider", 6_000),
        ("ccg", "commissioner", "mutual", "provider", 2_000),
        ("ccg", "commissioner", "trust", "provider", 15_000),
        ("council", "commissioner", "charity", "provider", 3_000, "tf"),
    ])  # fmt: skip


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
    assert "1 payer-payee pair netting to zero or less (credits, refunds): not drawn." in view.notes


def test_convergence_points_and_mix_come_from_the_attribution():
    view = prepare_view(small_graph(), top_n=None)
    mutual = view.nodes.filter(pl.col("id") == "mutual").row(0, named=True)
    assert mutual["is_convergence_point"] and mutual["stovepipe_count"] >= 2
    shares = [float(m[2].rstrip("%")) for m in mutual["mix"]]
    assert abs(sum(shares) - 100) < 0.2
    charity = view.nodes.filter(pl.col("id") == "charity").row(0, named=True)
    assert not charity["is_convergence_point"] and charity["stovepipe_count"] == 1


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
    assert "Showing the 10 largest" in text and "Written:" in text
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
    assert "2 records: 1 flows, 1 rejected" in capsys.readouterr().out


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
