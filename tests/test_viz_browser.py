"""The views in real headless Chromium: they render, hold what they should, fetch nothing, run no names."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from graphflows.graph import FlowGraph, build_graph
from graphflows.ingest.base import conform
from graphflows.viz import prepare_sankey, write_png, write_sankey, write_view
from tests.test_viz import DEMO, HOSTILE, embedded_data, small_graph

pytestmark = pytest.mark.browser


#: Channels of the layered graph's six streams.
STREAM_CHANNELS = ("nhs", "public_health", "local_government", "police_justice", "education", "charitable")


def layered_graph(providers: int, seed: int = 5, channels: bool = False) -> FlowGraph:
    """Streams -> commissioners -> many providers, seeded, for views that must cut to the top N
    (``channels``: each stream in its own channel of government)."""
    rng = np.random.default_rng(seed)
    streams = [f"s{i}" for i in range(6)]
    commissioners = [f"c{i}" for i in range(40)]
    rows = [(s, "stream", c, "commissioner", int(rng.integers(10**6, 10**8)))
            for c in commissioners for s in rng.choice(streams, 2, replace=False)]  # fmt: skip
    for p in range(providers):
        for c in rng.choice(commissioners, int(rng.integers(1, 4)), replace=False):
            rows.append((str(c), "commissioner", f"p{p}", "provider", int(rng.pareto(1.2) * 10**5) + 100))
    frame = pl.DataFrame(rows, schema=["payer_id", "payer_kind", "payee_id", "payee_kind", "amount_minor"],
                         orient="row").with_columns(pl.lit("GBP").alias("currency"))  # fmt: skip
    if channels:
        of_stream = {f"s{i}": c for i, c in enumerate(STREAM_CHANNELS)}
        frame = frame.with_columns(
            pl.col("payer_id").replace_strict(of_stream, default=None).alias("payer_channel")
        )
    return build_graph(conform(frame))


def counts(page) -> tuple[int, int]:
    return tuple(page.page.evaluate("[network.body.data.nodes.length, network.body.data.edges.length]"))


def test_network_view_renders_offline_with_the_expected_counts(tmp_path: Path, open_offline):
    path = write_view(small_graph(), tmp_path / "view.html")
    expected = embedded_data(path.read_text())
    page = open_offline(path)
    page.wait_ready()
    page.screenshot("network-small.png")
    assert counts(page) == (len(expected["nodes"]), len(expected["edges"])) == (8, 8)
    assert page.requests == [page.url], "the page requested something besides itself"
    assert page.problems() == []
    assert page.page.evaluate("network.physics.physicsEnabled") is False
    assert (
        page.page.evaluate("network.body.edges[Object.keys(network.body.edges)[0]].options.smooth.enabled")
        is False
    )


def test_demo_view_and_picture(tmp_path: Path, open_offline):
    from graphflows.graph import read_graph

    path = write_view(read_graph([DEMO]), tmp_path / "demo.html")
    page = open_offline(path, width=1600, height=1000)
    page.wait_ready()
    page.screenshot("network-demo.png")
    n_nodes, n_edges = counts(page)
    data = embedded_data(path.read_text())
    assert (n_nodes, n_edges) == (len(data["nodes"]), len(data["edges"]))
    conv = page.page.locator("#gf-convergence li").count()
    assert conv == min(15, sum(1 for n in data["nodes"] if n["conv"])) > 0
    assert page.problems() == []


def test_every_name_of_a_small_view_is_readable_when_the_whole_view_is_shown(tmp_path: Path, open_offline):
    """The demo (25 nodes) as it opens at 1400 x 1000: every name is drawn, at 10 pixels or more on screen
    (measured on the canvas), never faded (vis-network fades a name below its drawThreshold of 7 pixels),
    and none is cut at the edges."""
    from graphflows.graph import read_graph

    path = write_view(read_graph([DEMO]), tmp_path / "demo.html")
    page = open_offline(path, width=1400, height=1000)
    page.wait_ready()
    drawn = page.page.evaluate(
        """() => {
        const drawn = {};
        const proto = CanvasRenderingContext2D.prototype, fillText = proto.fillText;
        proto.fillText = function (text) {
          const px = /([0-9.]+)px/.exec(this.font);
          if (px) drawn[text] = parseFloat(px[1]) * this.getTransform().a / window.devicePixelRatio;
          return fillText.apply(this, arguments);
        };
        network.redraw();
        proto.fillText = fillText;
        return drawn;
      }"""
    )
    names = [n["label"].split("\n")[0] for n in embedded_data(path.read_text())["nodes"]]
    assert all(name in drawn for name in names), sorted(set(names) - set(drawn))
    assert min(drawn[name] for name in names) >= 10, sorted((drawn[n], n) for n in names)[:3]
    # and nothing is cut at the edges: every node's box with its name lies inside the canvas
    outside = page.page.evaluate(
        """() => {
        const frame = document.getElementById("gf-network"), w = frame.clientWidth, h = frame.clientHeight;
        return Object.values(network.body.nodes).filter(n => {
          const b = n.shape.boundingBox;
          const low = network.canvasToDOM({ x: b.left, y: b.top });
          const high = network.canvasToDOM({ x: b.right, y: b.bottom });
          return low.x < 0 || low.y < 0 || high.x > w || high.y > h;
        }).map(n => n.id);
      }"""
    )
    assert outside == []
    page.screenshot("network-demo-overview.png")
    assert page.problems() == []


def test_hostile_name_is_text_everywhere_and_never_runs(tmp_path: Path, open_offline):
    path = write_view(small_graph(), tmp_path / "hostile.html", focus="mutual")
    page = open_offline(path)
    page.wait_ready()
    p = page.page
    name = f"Mutual {HOSTILE}"
    # node label on the canvas and in the data set
    assert p.evaluate("nodes.get('mutual').label").startswith("Mutual <img src=x onerror=alert")  # cut at 32
    # title (focus), details panel (the focus is selected), legend list of convergence points
    assert p.locator("#gf-title").inner_text().endswith(HOSTILE)
    assert name in p.locator("#gf-details").inner_text()
    assert name in p.locator("#gf-convergence").inner_text()
    # tooltip: hover the node
    xy = p.evaluate(
        "(() => { const q = network.getPositions(['mutual']).mutual; return network.canvasToDOM(q); })()"
    )
    box = p.locator("#gf-network").bounding_box()
    p.mouse.move(box["x"] + xy["x"], box["y"] + xy["y"])
    p.wait_for_selector("div.vis-tooltip", state="visible", timeout=5_000)
    assert name in p.locator("div.vis-tooltip").inner_text()
    # search
    p.fill("#gf-search", "onerror")
    assert p.locator("#gf-results button").first.inner_text().startswith(name)
    p.press("#gf-search", "Enter")
    assert p.evaluate("network.getSelectedNodes()") == ["mutual"]
    page.screenshot("network-hostile.png")
    assert p.locator("img").count() == 0
    assert page.dialogs == [] and page.problems() == []


def test_search_finds_by_part_of_a_name_and_selects_it(tmp_path: Path, open_offline):
    page = open_offline(write_view(small_graph(), tmp_path / "v.html"))
    page.wait_ready()
    page.page.fill("#gf-search", "TRU")
    page.page.press("#gf-search", "Enter")
    assert page.page.evaluate("network.getSelectedNodes()") == ["trust"]
    assert "£15,000.00" in page.page.locator("#gf-details").inner_text()
    page.page.fill("#gf-search", "no such thing")
    assert page.page.locator("#gf-results").inner_text() == "Not in this view"


def test_layout_is_the_same_from_one_run_to_the_next(tmp_path: Path, open_offline):
    positions = []
    for name in ("one.html", "two.html"):
        page = open_offline(write_view(small_graph(), tmp_path / name))
        page.wait_ready()
        positions.append(page.page.evaluate("network.getPositions()"))
    assert positions[0] == positions[1]


def test_large_graph_is_cut_to_top_n_and_says_so(tmp_path: Path, open_offline):
    graph = layered_graph(providers=1_500)
    path = write_view(graph, tmp_path / "large.html", attribution=False, top_n=200)
    page = open_offline(path, width=1600, height=1000)
    page.wait_ready(timeout_ms=30_000)
    page.screenshot("network-large.png")
    n_nodes, _ = counts(page)
    assert n_nodes == 200
    assert "Showing the 200 largest of 1,546" in page.page.locator("#gf-notes").inner_text()
    assert page.problems() == []


def test_legend_shows_the_channels_and_tooltips_their_mix(tmp_path: Path, open_offline):
    path = write_view(small_graph(), tmp_path / "channels.html")
    data = embedded_data(path.read_text())
    page = open_offline(path, width=1400, height=900)
    page.wait_ready()
    p = page.page
    legend = p.locator("#gf-legend")
    # the node's own channel, not where its money came from (a provider paid by the NHS is often grey)
    assert "Colour: the organisation's own channel of government" in legend.inner_text()
    for label, colour, count in data["channels_shown"]:
        row = legend.locator(".gf-legend-row", has_text=f"{label} ({count})")
        assert row.count() == 1
        assert row.locator("circle").get_attribute("fill") == colour
    assert (
        "Convergence point (money from 2 or more channels, each bringing at least 1%" in legend.inner_text()
    )
    # nodes are drawn in their channel's colour
    assert p.evaluate("nodes.get('ccg').color.background") == next(
        n["color"] for n in data["nodes"] if n["id"] == "ccg"
    )
    # the side panel lists the convergence point with the channels meeting there
    assert "2 channels: NHS, Public health" in p.locator("#gf-convergence").inner_text()
    # the tooltip: channel and form, channel mix, stovepipe mix
    xy = p.evaluate("(() => network.canvasToDOM(network.getPositions(['mutual']).mutual))()")
    box = p.locator("#gf-network").bounding_box()
    p.mouse.move(box["x"] + xy["x"], box["y"] + xy["y"])
    p.wait_for_selector("div.vis-tooltip", state="visible", timeout=5_000)
    tip = p.locator("div.vis-tooltip").inner_text()
    assert "Charitable funders \u00b7 form unknown" in tip
    assert "Channel mix of money in" in tip and "Public health" in tip and "£4,000.00" in tip
    assert "Stovepipe mix of money in" in tip
    page.screenshot("network-channels.png")
    assert page.problems() == []


def test_large_graph_shows_convergence_points_with_their_payers(tmp_path: Path, open_offline):
    graph = layered_graph(providers=1_500, channels=True)
    path = write_view(graph, tmp_path / "large.html", top_n=200)
    data = embedded_data(path.read_text())
    page = open_offline(path, width=1600, height=1000)
    page.wait_ready(timeout_ms=30_000)
    page.screenshot("network-large-convergence.png")
    assert counts(page)[0] == len(data["nodes"]) == 200
    notes = page.page.locator("#gf-notes").inner_text()
    assert "Showing 200 of 1,546 organisations and streams: " in notes and "top convergence points" in notes
    providers = [n for n in data["nodes"] if n["kind"] == "provider"]
    assert sum(n["conv"] for n in providers) > 100  # not a hairball of streams and commissioners
    assert page.page.locator("#gf-convergence li").count() == 15
    assert page.problems() == []


def test_sankey_renders_offline_and_shows_names_as_text(tmp_path: Path, open_offline):
    path = write_sankey(small_graph(), tmp_path / "sankey.html")
    expected = prepare_sankey(small_graph())
    page = open_offline(path, width=1400, height=900)
    page.wait_ready()
    page.screenshot("sankey-small.png")
    p = page.page
    assert p.locator("g.sankey-node").count() == len(expected.nodes)
    assert p.locator("path.sankey-link").count() == len(expected.links)
    labels = p.locator("text.node-label").all_text_contents()
    assert f"Mutual {HOSTILE}" in labels
    assert p.locator("img").count() == 0
    assert page.requests == [page.url]
    assert page.problems() == []


def test_sankey_of_a_focus_gathers_others_and_keys_streams(tmp_path: Path, open_offline):
    from graphflows.graph import read_graph

    graph = read_graph([DEMO])
    path = write_sankey(graph, tmp_path / "focus.html", focus="inclusion-healthcare", top_n=10)
    page = open_offline(path, width=1600, height=1000)
    page.wait_ready()
    page.screenshot("sankey-demo-focus.png")
    labels = page.page.locator("text.node-label").all_text_contents()
    assert "Inclusion Healthcare" in labels and any(t.startswith("Other ") for t in labels)
    assert "NHS" in page.page.locator("#gf-key").inner_text()  # channels found by the classifier
    assert page.problems() == []


def test_png_is_a_picture_of_the_view(tmp_path: Path, browser):  # browser: skip/fail like the others
    html = write_view(small_graph(), tmp_path / "v.html")
    png = write_png(html, tmp_path / "v.png", width=1200, height=800)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 800)
    assert len(data) > 20_000  # a drawn network, not a blank page
    assert sorted(p.name for p in tmp_path.iterdir()) == [".graphflows-manifest.json", "v.html", "v.png"]


def test_cli_png_and_sankey_from_the_demo(tmp_path: Path, browser):
    from graphflows.cli.main import main

    out = tmp_path / "v.html"
    code = main(["view", str(DEMO), "--out", str(out), "--png", str(tmp_path / "v.png"),
                 "--sankey", str(tmp_path / "s.html")])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".graphflows-manifest.json",
        "s.html",
        "v.html",
        "v.png",
    ]


def test_hostile_stream_name_is_text_in_the_sankey_labels_and_hover(tmp_path: Path, open_offline):
    evil = "<b>PH</b><script>alert(2)</script>"
    graph = small_graph()
    graph = FlowGraph(
        graph.nodes.with_columns(
            pl.when(pl.col("id") == "ph").then(pl.lit(evil)).otherwise("name").alias("name")
        ),
        graph.flows,
    )
    page = open_offline(write_sankey(graph, tmp_path / "s.html"))
    page.wait_ready()
    p = page.page
    assert p.locator("#gf-key").inner_text().split("\n") == ["NHS", "Public health"]  # origin channels
    assert evil in p.locator("text.node-label").all_text_contents()
    node = p.locator("g.sankey-node").filter(has=p.locator("text.node-label", has_text="PH</b>")).first
    node.locator("rect").first.hover()
    p.wait_for_selector("g.hovertext", timeout=5_000)
    assert evil in p.locator("g.hovertext").first.text_content()
    page.screenshot("sankey-hostile-hover.png")
    assert p.locator("b").count() == 0  # the name's <b> never became an element
    assert page.dialogs == [] and page.problems() == []


def test_view_inside_a_notebook_iframe_renders_offline(tmp_path: Path, open_offline):
    from graphflows.viz import iframe, view_html

    host = tmp_path / "notebook.html"
    host.write_text(
        f"<!DOCTYPE html><html><body>{iframe(view_html(small_graph()), height=600)}</body></html>"
    )
    page = open_offline(host)
    frame = page.page.frames[1]
    frame.wait_for_function("window.graphflowsReady === true", timeout=60_000)
    assert frame.evaluate("network.body.data.nodes.length") == 8
    page.screenshot("network-in-iframe.png")
    assert page.requests == [page.url] and page.problems() == []


def test_focus_on_a_commissioner_shows_both_directions(tmp_path: Path, open_offline):
    page = open_offline(write_view(small_graph(), tmp_path / "c.html", focus="council"))
    page.wait_ready()
    ids = sorted(page.page.evaluate("nodes.getIds()"))
    assert ids == ["ccg", "charity", "council", "mutual", "nhse", "ph", "tf"]
    assert page.page.evaluate("network.getSelectedNodes()") == ["council"]


def test_the_harness_catches_requests_errors_and_dialogs(tmp_path: Path, open_offline):
    """Without this, 'no request, no error, no dialog' above could pass by not looking."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        "<!DOCTYPE html><html><body><img src='https://cdn.example.invalid/x.png'>"
        "<script>console.error('boom'); alert('hi'); window.graphflowsReady = true;</script></body></html>"
    )
    page = open_offline(leaky)
    page.wait_ready()
    page.page.wait_for_timeout(200)
    assert page.refused == ["https://cdn.example.invalid/x.png"]
    assert page.requests[0] == page.url and "https://cdn.example.invalid/x.png" in page.requests
    assert "boom" in page.console_errors
    assert page.dialogs == ["alert: hi"]


def test_png_of_a_broken_page_fails_fast_and_writes_nothing(tmp_path: Path, browser):
    from graphflows.model import GraphflowsError
    from graphflows.viz.page import page

    broken = tmp_path / "broken.html"
    broken.write_text(page("broken", "<p>x</p>", styles=[], scripts=["throw new Error('no vis here')"]))
    with pytest.raises(GraphflowsError, match=r"cannot take the picture: .*no vis here"):
        write_png(broken, tmp_path / "b.png", timeout_s=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.html"]


def test_labels_stay_small_on_screen_when_zooming_in_and_rings_are_thin(tmp_path: Path, open_offline):
    """Measured on the canvas: every name drawn (ordinary and headline) at several zooms is at most the
    view's cap in screen pixels; convergence points keep a thin ring; the header counts points of all."""
    graph = layered_graph(providers=150, channels=True)
    path = write_view(graph, tmp_path / "zoom.html", top_n=100)
    data = embedded_data(path.read_text())
    headline = next(n["id"] for n in data["nodes"] if n["headline"])
    page = open_offline(path, width=1400, height=900)
    page.wait_ready(timeout_ms=30_000)
    largest = page.page.evaluate(
        """(id) => {
        const sizes = [];
        const proto = CanvasRenderingContext2D.prototype, fillText = proto.fillText;
        proto.fillText = function (text) {
          const px = /([0-9.]+)px/.exec(this.font);
          if (px) sizes.push(parseFloat(px[1]) * this.getTransform().a / window.devicePixelRatio);
          return fillText.apply(this, arguments);
        };
        const largest = {};
        for (const scale of [0.25, 1, 3, 8]) {
          network.moveTo({ position: network.getPositions([id])[id], scale: scale, animation: false });
          network.redraw();
          largest[scale] = Math.max(0, ...sizes);
          sizes.length = 0;
        }
        // then pan, at the same zoom, to the node farthest away: styled as it comes into view
        const at = network.getPositions(), here = at[id];
        const far = Object.keys(at).sort((a, b) =>
          Math.hypot(at[b].x - here.x, at[b].y - here.y) - Math.hypot(at[a].x - here.x, at[a].y - here.y))[0];
        network.moveTo({ position: at[far], scale: 8, animation: false });
        network.redraw();
        largest["panned"] = Math.max(0, ...sizes);
        proto.fillText = fillText;
        return largest;
      }""",
        headline,
    )
    assert all(0 < px <= data["headline_max_px"] + 0.01 for px in largest.values()), largest
    # the whole view: every convergence point's ring is at most a quarter of its radius on screen
    page.page.evaluate("network.fit({ animation: false }); network.redraw()")
    points = [n for n in data["nodes"] if n["conv"]]
    scale, rings = page.page.evaluate(
        "ids => [network.getScale(), ids.map(id => network.body.nodes[id].options.borderWidth)]",
        [n["id"] for n in points],
    )
    assert scale < 0.5 and points
    assert all(
        ring <= max(0.5, n["radius"] * scale / 4) + 0.01 for n, ring in zip(points, rings, strict=True)
    )
    sizes = page.page.evaluate(
        "ids => ids.map(id => network.body.nodes[id].options.size)", [n["id"] for n in points]
    )
    assert sizes == pytest.approx([n["radius"] for n in points], abs=0.01)  # restyling keeps each node's size
    page.page.evaluate("network.moveTo({ scale: 4, animation: false }); network.redraw()")
    zoomed = page.page.evaluate("id => network.body.nodes[id].options.borderWidth", points[0]["id"])
    assert zoomed == points[0]["ring"] == 2  # zoomed in, the full ring
    assert f"{len(points)} of " in page.page.locator("#gf-subtitle").inner_text()
    page.screenshot("network-zoomed.png")
    assert page.problems() == []


def test_sankey_names_sit_on_a_pale_box_and_no_loop_is_drawn(tmp_path: Path, open_offline):
    from tests.test_viz import loop_graph

    path = write_sankey(loop_graph(), tmp_path / "loops.html", top_n=None)
    expected = prepare_sankey(loop_graph(), top_n=None)
    page = open_offline(path, width=1200, height=700)
    page.wait_ready()
    p = page.page
    assert p.locator("path.sankey-link").count() == len(expected.links)
    covered = p.evaluate(
        """() => Array.from(document.querySelectorAll("text.node-label")).map(text => {
          const box = text.getBoundingClientRect(), rect = text.previousElementSibling;
          if (!rect || rect.getAttribute("class") !== "gf-label-bg") return false;
          const back = rect.getBoundingClientRect();
          return back.left <= box.left && back.right >= box.right && back.top <= box.top + 1 &&
            back.bottom >= box.bottom - 1 && getComputedStyle(rect).fill === "rgb(255, 255, 255)";
        })"""
    )
    assert len(covered) == len(expected.nodes) and all(covered)
    assert "Money going back round a loop is not drawn" in p.locator("#gf-notes").inner_text()
    page.screenshot("sankey-loops.png")
    assert page.problems() == []


def test_the_sankey_toolbar_never_covers_a_name(tmp_path: Path, open_offline):
    """plotly's toolbar appears on hover at the top right, where the demo's first provider has its name
    ("Action Homeless" was under it): it sits above the nodes."""
    from graphflows.graph import read_graph

    path = write_sankey(read_graph([DEMO]), tmp_path / "demo-sankey.html")
    page = open_offline(path, width=1400, height=1000)
    page.wait_ready()
    p = page.page
    p.hover("#gf-sankey")
    toolbar = p.locator(".modebar").bounding_box()
    names = p.evaluate(
        """() => Array.from(document.querySelectorAll("text.node-label")).map(t => {
          const b = t.getBoundingClientRect();
          return [t.textContent, b.left, b.top, b.right, b.bottom];
        })"""
    )
    assert toolbar and toolbar["height"] > 0 and len(names) > 20
    right, bottom = toolbar["x"] + toolbar["width"], toolbar["y"] + toolbar["height"]
    covered = [
        n[0] for n in names if n[1] < right and n[3] > toolbar["x"] and n[2] < bottom and n[4] > toolbar["y"]
    ]
    assert covered == []
    page.screenshot("sankey-demo-toolbar.png")
    assert page.problems() == []


def test_the_focus_is_selected_and_its_links_keep_their_channel_colour(tmp_path: Path, open_offline):
    path = write_view(small_graph(), tmp_path / "focus.html", focus="mutual")
    data = embedded_data(path.read_text())
    page = open_offline(path)
    page.wait_ready()
    p = page.page
    assert p.evaluate("network.getSelectedNodes()") == ["mutual"]
    drawn = p.evaluate(
        """() => Object.values(network.body.edges).filter(e => e.toId === "mutual")
          .map(e => [e.fromId, e.options.color.highlight])"""
    )
    wanted = {e["from"]: e["highlight"] for e in data["edges"] if e["to"] == "mutual"}
    assert len(drawn) == len(wanted) == 2 and dict(drawn) == wanted
    assert "#111" not in wanted.values()
    page.screenshot("network-focus-links.png")
    assert page.problems() == []
