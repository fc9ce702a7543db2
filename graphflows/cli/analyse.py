"""``graphflows analyse`` and ``graphflows demo``: from funding files to convergence points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import polars as pl

from graphflows.analysis import Attribution, attribute
from graphflows.cli.display import console, convergence_table, money, steps
from graphflows.cli.inputs import input_options, input_paths, raw_csv_option, read_inputs, read_paths
from graphflows.demo import demo_path
from graphflows.export import write_analysis
from graphflows.graph import graph_from_ingest
from graphflows.graph.build import financial_year_bounds
from graphflows.ingest import IngestResult
from graphflows.model import GraphflowsError, to_minor


def _check_year(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Validate --financial-year before any file is read."""
    if value is not None:
        try:
            financial_year_bounds(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def analysis_options(command: Any) -> Any:
    """Options shared by analyse and demo."""
    for option in reversed(
        [
            click.option(
                "--by",
                type=click.Choice(["origin", "stream"]),
                default="origin",
                show_default=True,
                help="origin: trace money to its roots. stream: every funding stream is the origin "
                "of what it pays out (which pots paid).",
            ),
            click.option(
                "--financial-year",
                metavar="YYYY/YY",
                default=None,
                callback=_check_year,
                help="Only flows dated in this UK financial year (1 April to 31 March), e.g. 2019/20.",
            ),
            click.option(
                "--min-stovepipes",
                type=click.IntRange(1),
                default=2,
                show_default=True,
                help="Stovepipes a recipient needs to count as a convergence point.",
            ),
            click.option(
                "--min-share",
                type=click.FloatRange(0, 1),
                default=0.0,
                show_default=True,
                help="Ignore stovepipes bringing less than this share of a recipient's income.",
            ),
            click.option(
                "--top",
                type=click.IntRange(0),
                default=15,
                show_default=True,
                help="How many convergence points to print.",
            ),
            raw_csv_option,
        ]
    ):
        command = option(command)
    return command


def run_analysis(
    ingest: IngestResult,
    out: Path,
    *,
    by: str,
    financial_year: str | None,
    min_stovepipes: int,
    min_share: float,
    top: int,
    write_rejects: bool,
    raw_csv: bool = False,
    inputs: tuple[Path, ...] = (),
) -> Attribution:
    """Build, attribute, write the files and print the table; returns the attribution."""
    with steps("Building the graph and attributing money"):
        graph = graph_from_ingest(ingest)
        try:
            result = attribute(graph, by=by, financial_year=financial_year)  # type: ignore[arg-type]
        except ValueError as exc:
            raise GraphflowsError(str(exc)) from None
    with steps(f"Writing results to {out}"):
        info, table = write_analysis(
            out,
            ingest,
            result,
            min_stovepipes=min_stovepipes,
            min_share=min_share,
            write_rejects=write_rejects,
            raw_csv=raw_csv,
            inputs=inputs,
        )
    if top:
        console.print(convergence_table(table, top))
    totals = ", ".join(money(to_minor(v), c) for c, v in info["total_amount"].items()) or "nothing"
    console.print(
        f"Read {info['records_read']} records from {len(info['files'])} file(s): {info['flows']} flows "
        f"({totals}), {info['rejected']} rejected. {info['recipients']} recipients, "
        f"{info['convergence_points']} convergence points.",
        markup=False,
    )
    if info["negative_net_pairs"]:
        console.print(
            f"{info['negative_net_pairs']} payer-payee pair(s) net below zero: listed in negative_net.csv, "
            "not attributed.",
            markup=False,
        )
    for note in info["notes"]:
        console.print(f"Note: {note}", markup=False)
    crumbs = table.filter(pl.col("is_convergence_point") & (pl.col("top_share") > 0.99)).height
    if min_share == 0 and crumbs:
        console.print(
            f"Note: {crumbs} convergence point(s) get less than 1% of their income from all but one "
            "stovepipe (money passed on through transfers between commissioners); "
            "--min-share 0.01 ignores such crumbs.",
            markup=False,
        )
    console.print(f"Results written to {out}/ (attribution.csv, convergence.csv, summary.json)", markup=False)
    return result


def register(group: click.Group) -> None:
    group.add_command(analyse)
    group.add_command(demo)


@click.command()
@input_options
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Folder for the results.")
@analysis_options
def analyse(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, out: Path, **options: Any
) -> None:
    """Find convergence points in funding FILES (flows CSV, 360Giving, OCDS, spend files)."""
    extras = _input_extras(options)
    with steps("Reading input files"):
        ingest = read_inputs(files, format_, skip_invalid, **extras)
    inputs = input_paths(files, extras.get("org_map"), extras.get("sources")) + read_paths(ingest)
    run_analysis(ingest, out, write_rejects=skip_invalid, inputs=inputs, **options)


@click.command()
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("graphflows-demo"),
    show_default=True,
    help="Folder for the results.",
)
@analysis_options
def demo(out: Path, **options: Any) -> None:
    """Run the whole job on the bundled, illustrative Leicester demo data (no server needed)."""
    console.print(
        "graphflows demo: illustrative data modelled on Leicester (see graphflows/data/demo/README.md)"
    )
    ingest = read_inputs((demo_path(),), None, False)
    result = run_analysis(ingest, out, write_rejects=False, **options)
    _demo_views(result, out)


def _demo_views(result: Attribution, out: Path) -> None:
    """The interactive views, when the viz room is installed."""
    try:
        from graphflows import viz
    except ImportError:
        return
    view = viz.write_view(result.graph, out / "view.html", attribution=result)
    sankey = viz.write_sankey(result.graph, out / "sankey.html", attribution=result)
    console.print(
        f"Interactive views: {view} and {sankey} (open in a browser; they work offline)", markup=False
    )


def _input_extras(options: dict[str, Any]) -> dict[str, Any]:
    """Options added by inputs.input_options beyond the basic three (such as an organisation map)."""
    analysis = {"by", "financial_year", "min_stovepipes", "min_share", "top", "raw_csv"}
    return {k: options.pop(k) for k in list(options) if k not in analysis}
