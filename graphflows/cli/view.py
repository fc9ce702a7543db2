"""``graphflows view``: the interactive network (and optionally a PNG and a Sankey) of funding files.

Every output goes through :mod:`graphflows.outputs`: staged beside its target and moved into place only
when all of them are ready (a failure leaves nothing half-finished); a file graphflows did not write, or
an input file, is never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from graphflows.analysis.convergence import CountBy
from graphflows.cli.analyse import convergence_options
from graphflows.cli.display import console, print_notes, reading_line, steps
from graphflows.cli.inputs import input_options, input_paths, raw_csv_option, read_input_graph, read_paths
from graphflows.export import reading_counts
from graphflows.model import GraphflowsError
from graphflows.outputs import OutputFiles, write_csv_to
from graphflows.viz import (
    DEFAULT_TOP_N,
    SANKEY_TOP_N,
    prepare_sankey,
    prepare_view,
    render_sankey,
    render_view,
)
from graphflows.viz.chromium import screenshot
from graphflows.viz.prepare import MAX_NODES


def register(group: click.Group) -> None:
    group.add_command(view)


@click.command(
    short_help="Draw the funding network of FILES as an interactive, offline HTML page.",
    epilog="""\b
Examples:
  graphflows view flows.csv --out view.html --sankey sankey.html
  graphflows view flows.csv --focus inclusion-healthcare --out ih.html
  graphflows view a.csv b.json --top 500 --currency GBP --out view.html""",
)
@input_options(
    skip_invalid_help="Go on past bad records: write them with their reason to NAME.rejects.csv beside the "
    "page (--out NAME.html) instead of stopping."
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("view.html"),
    show_default=True,
    help="The interactive network page (one self-contained HTML file that works offline).",
)
@click.option(
    "--focus",
    default=None,
    metavar="ID",
    help="Show one provider with everything upstream of it, or one stream with everything downstream.",
)
@click.option(
    "--png",
    "png",
    type=click.Path(path_type=Path),
    default=None,
    help="Also save a still picture of the view (needs Chromium and Playwright).",
)
@click.option(
    "--sankey",
    "sankey",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the flow diagram: streams -> commissioners and pools -> providers.",
)
@click.option(
    "--top",
    "top",
    type=click.IntRange(min=0),
    default=DEFAULT_TOP_N,
    show_default=True,
    help=f"Draw at most N organisations and streams (0 keeps all of a graph of up to {MAX_NODES:,}; a larger "
    "one needs N or --focus): in a larger graph, the top "
    "convergence points with their payers and origins, then the most money; the page says what was left out. "
    f"The Sankey keeps the min(N, {SANKEY_TOP_N}) with most money.",
)
@click.option("--currency", default=None, help="Currency to draw (default: the one with most flows).")
@convergence_options
@click.option(
    "--no-analysis",
    is_flag=True,
    help="Skip the stovepipe attribution (no funding mix or convergence points; a large graph keeps the "
    "nodes with most money; faster).",
)
@raw_csv_option
def view(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, out: Path, focus: str | None,
    png: Path | None, sankey: Path | None, top: int, currency: str | None, count_by: CountBy,
    min_count: int, min_share: float, no_analysis: bool, raw_csv: bool, **extras: Any,
) -> None:  # fmt: skip
    """Draw the funding network of FILES as an interactive page (flows CSV, 360Giving, OCDS, spend files)."""
    outputs = OutputFiles(
        inputs=input_paths(files, extras.get("org_map"), extras.get("sources"), extras.get("channels"))
    )
    rejects_name = out.with_name(out.stem + ".rejects.csv")
    outputs.check_all(out, png, sankey, rejects_name if skip_invalid else None)
    if out.suffix.lower() not in (".html", ".htm"):
        raise GraphflowsError(f"--out {out}: the view is an HTML page; give a name ending in .html")
    with steps("Reading input files and building the graph"):
        ingest, graph = read_input_graph(files, format_, skip_invalid, **extras)
    outputs.inputs.extend(read_paths(ingest))
    attribution: Any = False
    if not no_analysis:
        from graphflows.analysis import attribute

        with steps("Attributing money to stovepipes"):
            try:
                attribution = attribute(graph)
            except ValueError as exc:
                raise GraphflowsError(str(exc)) from None
    top_n = top or None
    with steps("Drawing the network"):
        prepared = prepare_view(
            graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency, count_by=count_by,
            min_share=min_share, min_count=min_count,
        )  # fmt: skip
        pages = {out: render_view(prepared)}
        if sankey is not None:
            sankey_data = prepare_sankey(
                graph, attribution=attribution, focus=focus, currency=prepared.currency,
                top_n=min(top_n, SANKEY_TOP_N) if top_n else None, count_by=count_by, min_share=min_share,
                min_count=min_count,
            )  # fmt: skip
            pages[sankey] = render_sankey(sankey_data)
    rejects = out.with_name(out.stem + ".rejects.csv") if skip_invalid and ingest.rejects.height else None
    with outputs:
        staged = {target: outputs.stage(target) for target in pages}
        for target, text in pages.items():
            staged[target].write_text(text, encoding="utf-8")
        if png is not None:
            with steps("Taking the picture in headless Chromium"):
                screenshot(staged[out], outputs.stage(png))
        if rejects is not None:
            write_csv_to(outputs.stage(rejects), ingest.rejects, raw=raw_csv)
    _report(ingest, prepared, out, png, sankey, rejects)


def _report(ingest: Any, prepared: Any, out: Path, png: Path | None, sankey: Path | None,
            rejects: Path | None) -> None:  # fmt: skip
    read = reading_line(reading_counts(ingest), len(ingest.files), ingest.totals(), ingest.repeated_amount())
    console.print(read + (f"; rejected records in {rejects}." if rejects else "."), markup=False)
    console.print(
        f"{prepared.title}: {prepared.nodes.height:,} of {prepared.total_nodes:,} nodes, "
        f"{prepared.edges.height:,} links ({prepared.currency}).",
        markup=False,
    )
    print_notes(prepared.notes)
    written = [str(p) for p in (out, png, sankey) if p is not None]
    console.print(
        f"Written: {', '.join(written)} (open the HTML in any browser; it works offline)", markup=False
    )
