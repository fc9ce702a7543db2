"""``graphflows analyse`` and ``graphflows demo``: from funding files to convergence points."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import polars as pl

from graphflows.cli.display import (
    console,
    convergence_table,
    minor_amounts,
    plural,
    print_findings,
    reading_line,
    steps,
)
from graphflows.cli.inputs import (
    input_options,
    input_paths,
    out_folder_option,
    raw_csv_option,
    read_input_graph,
    read_paths,
)
from graphflows.demo import demo_path
from graphflows.graph.build import financial_year_bounds
from graphflows.model import GraphflowsError
from graphflows.model.levels import COUNT_LEVELS, DEFAULT_MIN_SHARE, LEVELS, CountBy, ResultsFormat
from graphflows.model.shares import parse_share

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.analysis.attribution import AttributionStream
    from graphflows.graph import FlowGraph
    from graphflows.ingest import IngestResult


def _check_year(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Validate --financial-year before any file is read."""
    if value is not None:
        try:
            financial_year_bounds(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


class Share(click.ParamType):
    """A share of income: ``0.01`` or ``1%`` (:func:`graphflows.model.shares.parse_share`, as the Cypher
    library's share parameters). A number from 1 to 100 is refused with the share it may mean.

    >>> [Share().convert(given, None, None) for given in ("1%", "0.05", "0.5%", "100%")]
    [0.01, 0.05, 0.005, 1.0]
    """

    name = "share"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            return parse_share(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def convergence_options(command: Any) -> Any:
    """What makes a convergence point: shared by analyse, demo and load."""
    for option in reversed(
        [
            click.option(
                "--count-by",
                type=click.Choice(list(COUNT_LEVELS)),
                default="channel",
                show_default=True,
                help="What makes a convergence point: channels of government the money came down (three "
                "CCGs are one channel, nhs), channels of the direct payers (payer_channel: the contracts "
                "held; money one payer passes on counts once) or individual stovepipes (each origin).",
            ),
            click.option(
                "--min-count",
                "--min-stovepipes",
                "min_count",
                type=click.IntRange(1),
                default=2,
                show_default=True,
                help="Channels (or stovepipes, with --count-by stovepipe) a recipient needs to count as a "
                "convergence point.",
            ),
            click.option(
                "--min-share",
                type=Share(),
                metavar="SHARE",
                default=DEFAULT_MIN_SHARE,
                show_default=True,
                help="Materiality: a channel or stovepipe counts when it brings at least this share of a "
                "recipient's income, as a share (0.01) or a percentage (1%); 0 counts every penny.",
            ),
        ]
    ):
        command = option(command)
    return command


def analysis_options(command: Any) -> Any:
    """Options shared by analyse and demo."""
    command = convergence_options(command)
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
                help="Only flows dated in this UK financial year (1 April to 31 March), e.g. 2019/20; "
                "undated flows are left out (and counted).",
            ),
            click.option(
                "--top",
                type=click.IntRange(0),
                default=15,
                show_default=True,
                help="How many convergence points to print.",
            ),
            raw_csv_option,
            click.option(
                "--levels",
                default="origin,channel",
                show_default=True,
                metavar="[origin,channel]",
                callback=_check_levels,
                help="Which result tables to write: origin (attribution, one row per recipient and "
                "stovepipe: large on wide mixes) and channel (income by channel); convergence, "
                "organisations and the summary are always written. --levels channel solves money per "
                "channel only (fast on wide mixes): no origin-level table, and convergence leaves the "
                "stovepipe columns empty.",
            ),
            click.option(
                "--results-format",
                type=click.Choice(["csv", "parquet"]),
                default="csv",
                show_default=True,
                help="csv, or parquet: the same tables with typed columns (amounts as exact decimals), "
                "for pandas, polars, DuckDB or Spark.",
            ),
        ]
    ):
        command = option(command)
    return command


def _check_levels(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    """``origin,channel`` -> ("origin", "channel"), refusing unknown or no levels."""
    levels = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise click.BadParameter(f"give one or both of {', '.join(LEVELS)} (comma-separated), not {value!r}")
    return levels


def run_analysis(
    ingest: IngestResult,
    graph: FlowGraph,
    out: Path,
    *,
    by: str,
    financial_year: str | None,
    count_by: CountBy,
    min_count: int,
    min_share: float,
    top: int,
    write_rejects: bool,
    raw_csv: bool = False,
    inputs: tuple[Path, ...] = (),
    levels: tuple[str, ...] = LEVELS,
    results_format: ResultsFormat = "csv",
    keep_rows: bool = False,
) -> Attribution | AttributionStream:
    """Attribute, write the files and print the table; returns the attribution.

    Unless ``keep_rows``, the attribution rows are solved and written in blocks, never all held.
    """
    _check_count_level(count_by, levels)
    from graphflows.analysis import attribute
    from graphflows.analysis.attribution import attribute_in_blocks
    from graphflows.export import write_analysis

    with steps("Attributing money to its origins"):
        try:
            how = attribute if keep_rows else attribute_in_blocks
            result = how(graph, by=by, financial_year=financial_year)  # type: ignore[arg-type]
        except ValueError as exc:
            raise GraphflowsError(str(exc)) from None
    with steps(f"Attributing and writing results to {out}"):
        info, table = write_analysis(
            out,
            ingest,
            result,
            count_by=count_by,
            min_count=min_count,
            min_share=min_share,
            write_rejects=write_rejects,
            raw_csv=raw_csv,
            inputs=inputs,
            levels=levels,
            results_format=results_format,
        )
    if top:
        console.print(convergence_table(table, top, count_by=count_by))
    read = reading_line(
        info, len(info["files"]), minor_amounts(info["total_amount"]), minor_amounts(info["repeated_amount"])
    )
    console.print(
        f"{read}. {plural(info['recipients'], 'recipient')}, "
        f"{plural(info['convergence_points'], 'convergence point')} "
        f"({_counted(count_by, min_count, min_share)}).",
        markup=False,
    )
    print_findings(info, results_format)
    inherited = table.filter(pl.col("is_convergence_point") & (pl.col("payer_channel_count") < 2)).height
    if count_by == "channel" and inherited:
        points = int(table["is_convergence_point"].sum())
        console.print(
            f"Note: {inherited} of the {points} convergence point(s) hold contracts from one channel only: "
            "their channels meet upstream, in money a single payer passed on. --count-by payer_channel "
            "counts the channels of the contracts each recipient holds.",
            markup=False,
        )
    at_default = info["analysis"].get("convergence_points_at_default_min_share")
    if at_default is not None and at_default < info["convergence_points"]:
        gone = info["convergence_points"] - at_default
        console.print(
            f"Note: {gone} of the {info['convergence_points']} convergence point(s) rest on {count_by}s that "
            f"bring less than 1% of a recipient's income each (often money passed on between "
            f"commissioners): --min-share 0.01 counts only {count_by}s that bring at least 1% each, and "
            f"finds {at_default}.",
            markup=False,
        )
    console.print(f"Results written to {out}/ ({', '.join(info['files_written'])})", markup=False)
    return result


def _check_count_level(count_by: str, levels: tuple[str, ...]) -> None:
    if count_by == "stovepipe" and "origin" not in levels:
        raise click.UsageError(
            "--count-by stovepipe counts single origins: it needs the origin level (drop --levels channel)"
        )


def _counted(count_by: str, min_count: int, min_share: float) -> str:
    """How convergence points were counted, in words: ``2+ channels, each at least 1% of income``."""
    share = f"each at least {min_share * 100:.4g}% of income" if min_share else "any amount"
    return f"{min_count}+ {count_by}s, {share}"


#: ``analyse --help``'s examples (as in the README; ``\b`` keeps click from re-wrapping them).
ANALYSE_EXAMPLES = """\b
Examples:
  graphflows analyse flows.csv --out results --financial-year 2020/21
  graphflows analyse 'WHIT 01 - April.csv' --payer 'WHIT*.csv=Whittington Health NHS Trust' --out results
  graphflows analyse oxford.csv --payer 'oxford*.csv=Oxford City Council|GB-LAE-OXO' \\
      --column 'oxford*.csv=payee:Supplier Name' --out results
  graphflows analyse --sources sources.csv --skip-invalid --channels channels.csv --out results"""


def register(group: click.Group) -> None:
    group.add_command(analyse)
    group.add_command(demo)


@click.command(
    short_help="Find where money from several channels of government converges, in funding FILES.",
    epilog=ANALYSE_EXAMPLES,
)
@input_options
@out_folder_option("Folder for the results.")
@analysis_options
@click.option(
    "--engine",
    type=click.Choice(["memory", "spark"]),
    default="memory",
    show_default=True,
    help="memory: in this process. spark: as Spark jobs (pip install 'graphflows[spark]'), for inputs "
    "larger than memory; reads flows CSV and `graphflows convert` folders.",
)
@click.option("--spark-master", default=None, metavar="URL", help="Spark master (default local[*]).")
@click.option("--spark-remote", default=None, metavar="sc://HOST", help="A Spark Connect server.")
def analyse(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, out: Path, **options: Any
) -> None:
    """Find convergence points in funding FILES (flows CSV, 360Giving, OCDS, spend files)."""
    engine = options.pop("engine")
    spark = {"spark_master": options.pop("spark_master"), "spark_remote": options.pop("spark_remote")}
    _check_count_level(options["count_by"], options["levels"])
    if engine == "spark":
        from graphflows.cli.spark_cmds import run_spark

        channels = options.pop("channels", None)
        run_spark(
            files, out, {**options, **spark, "format_": format_}, skip_invalid=skip_invalid, channels=channels
        )
        return
    if spark["spark_master"] or spark["spark_remote"]:
        raise click.UsageError("--spark-master and --spark-remote need --engine spark")
    extras = _input_extras(options)
    with steps("Reading input files and building the graph"):
        ingest, graph = read_input_graph(files, format_, skip_invalid, **extras)
    named = input_paths(files, extras.get("org_map"), extras.get("sources"), extras.get("channels"))
    run_analysis(ingest, graph, out, write_rejects=skip_invalid, inputs=named + read_paths(ingest), **options)
    from graphflows.cli.main import allow_quick_exit

    allow_quick_exit()  # every file is written and closed: nothing is left for the interpreter to tidy


@click.command(short_help="Run the whole analysis on bundled, illustrative Leicester data.")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    metavar="FOLDER",
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
    ingest, graph = read_input_graph((demo_path(),), None, False)
    result = run_analysis(ingest, graph, out, write_rejects=False, keep_rows=True, **options)
    counting = {k: options[k] for k in ("count_by", "min_share", "min_count")}
    _demo_views(result, out, **counting)  # type: ignore[arg-type]


def _demo_views(result: Attribution, out: Path, **counting: Any) -> None:
    """The interactive views (convergence counted as in the tables), when the viz room is installed."""
    try:
        from graphflows import viz
    except ImportError:
        return
    view = viz.write_view(result.graph, out / "view.html", attribution=result, **counting)
    sankey = viz.write_sankey(result.graph, out / "sankey.html", attribution=result, **counting)
    console.print(
        f"Interactive views: {view} and {sankey} (open in a browser; they work offline)", markup=False
    )


def _input_extras(options: dict[str, Any]) -> dict[str, Any]:
    """Options added by inputs.input_options beyond the basic three (such as an organisation map)."""
    analysis = {
        "by",
        "financial_year",
        "count_by",
        "min_count",
        "min_share",
        "top",
        "raw_csv",
        "levels",
        "results_format",
    }
    return {k: options.pop(k) for k in list(options) if k not in analysis}
