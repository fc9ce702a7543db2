"""``graphflows convert`` and ``analyse --engine spark`` (Spark is imported only when asked for)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from graphflows.cli.display import (
    console,
    convergence_table,
    minor_amounts,
    plural,
    print_findings,
    print_notes,
    reading_line,
    steps,
)
from graphflows.cli.inputs import input_options, input_paths, out_folder_option, read_inputs, read_paths
from graphflows.model import InputError

#: Options that shape how files are read in Python: give them to ``convert`` instead.
PYTHON_READING = ("org_map", "payers", "columns", "sources", "format_")


def register(group: click.Group) -> None:
    group.add_command(convert)


@click.command(
    short_help="Write the flows of any supported files as Parquet for --engine spark.",
    epilog="""\b
Examples:
  graphflows convert grants/*.json spend/*.csv --out flows-parquet
  graphflows convert --sources sources.csv --skip-invalid --channels channels.csv --out flows-parquet
  graphflows analyse flows-parquet --engine spark --out results""",
)
@input_options(
    skip_invalid_help="Go on past bad records: write them with their reason to rejects.csv in --out "
    "instead of stopping.",
    channels_help="CSV (match,channel) giving the channel of government of ids or name patterns, checked "
    "now and kept in the folder: `analyse --engine spark` classifies with it (a --channels given there "
    "replaces it).",
)
@out_folder_option("Folder for the Parquet.")
def convert(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, out: Path, **extras: Any
) -> None:
    """Write the normalised flows of FILES (any supported format) as partitioned Parquet with provenance,
    a folder for `graphflows analyse FOLDER --engine spark` (the Spark engine: pip install
    'graphflows[spark]', and Java 17). The in-memory engine reads FILES themselves: analyse them directly."""
    from graphflows.classify import read_channel_map
    from graphflows.convert import write_converted
    from graphflows.graph import graph_from_ingest

    channels = extras.pop("channels", None)
    channel_map = read_channel_map(channels) if channels is not None else None  # checked before reading
    with steps("Reading input files"):
        ingest = read_inputs(files, format_, skip_invalid, **extras)
    named = input_paths(files, extras.get("org_map"), extras.get("sources"), channels)
    with steps(f"Writing Parquet to {out}"):
        info = write_converted(
            out,
            ingest,
            write_rejects=skip_invalid,
            inputs=named + read_paths(ingest),
            channel_map=channel_map,
        )
    read = reading_line(info, len(info["files"]), info["totals"], info.get("repeated_amount", {}))
    console.print(
        f"{read}. Parquet written to "
        f"{out}/flows/ ({info['parts']} part(s)); analyse it with: graphflows analyse {out} --engine spark "
        "--out RESULTS",
        markup=False,
    )
    if channel_map is not None:
        console.print(
            f"Channel mapping {channels} ({len(channel_map.lines())} line(s)) kept in {out}: the Spark "
            "engine classifies with it",
            markup=False,
        )
        nodes = graph_from_ingest(ingest, channel_map).nodes  # the graph `analyse` builds
        print_notes(channel_map.unused_notes(nodes))  # the Spark run notes them again
    if skip_invalid and info["rejected"]:
        console.print(f"Rejected records, with their reason: {out}/rejects.csv", markup=False)
    print_notes(ingest.notes)


def check_spark_inputs(files: tuple[Path, ...], options: dict[str, Any]) -> None:
    """Refuse what the Spark engine does not read: formats parsed in Python (convert them first)."""
    from graphflows.ingest.reader import detect_format
    from graphflows.spark.read import check_converted

    given = [name for name in PYTHON_READING if options.get(name)]
    if given:
        flags = ", ".join("--" + name.rstrip("_").replace("_", "-").rstrip("s") for name in given)
        raise click.UsageError(
            f"{flags}: reading options apply to `graphflows convert`; convert first, then analyse the folder "
            "with --engine spark"
        )
    if not files:
        raise click.UsageError("Missing argument 'FILES...'.")
    for path in files:
        if isinstance(path, str):  # a URL: Spark reads it and checks it (header, converted folder's mark)
            continue
        if path.is_dir():
            check_converted(path)  # every part convert wrote, before Spark starts
        elif detect_format(path) != "flows":
            raise InputError(
                f"{path}: the Spark engine reads graphflows' flows CSV and `graphflows convert` folders; "
                f"convert it first: graphflows convert {path} --out FOLDER"
            )


def run_spark(
    files: tuple[Path, ...], out: Path, options: dict[str, Any], *, skip_invalid: bool, channels: Path | None
) -> None:
    """``analyse --engine spark``: the whole analysis as Spark jobs, then the same files as ever."""
    import warnings

    from graphflows.classify import read_channel_map
    from graphflows.spark import analyse_spark, spark_session
    from graphflows.spark.errors import spark_errors
    from graphflows.spark.export import top_points, write_spark_analysis
    from graphflows.spark.session import PANDAS_3_MESSAGE

    warnings.filterwarnings("ignore", message=PANDAS_3_MESSAGE, category=FutureWarning)
    check_spark_inputs(files, options)
    channel_map = read_channel_map(channels) if channels is not None else None
    count_by = options["count_by"]
    with spark_session(options.get("spark_master"), options.get("spark_remote")) as spark:
        if not options.get("spark_remote"):  # failures become one line (spark_errors); the executors' too
            spark.sparkContext.setLogLevel("ERROR" if os.environ.get("GRAPHFLOWS_DEBUG") else "FATAL")
        with spark_errors(files):
            with steps("Analysing with Spark"):
                try:
                    analysis = analyse_spark(
                        spark,
                        list(files),
                        by=options["by"],
                        financial_year=options["financial_year"],
                        count_by=count_by,
                        min_count=options["min_count"],
                        min_share=options["min_share"],
                        skip_invalid=skip_invalid,
                        channel_map=channel_map,
                    )
                except ValueError as exc:
                    raise InputError(str(exc)) from None
            with steps(f"Writing results to {out}"):
                info = write_spark_analysis(
                    out,
                    analysis,
                    raw_csv=options["raw_csv"],
                    inputs=input_paths(files, channels),
                    levels=options["levels"],
                    results_format=options["results_format"],
                )
            shown = top_points(analysis, options["top"]) if options["top"] else None
    points = info["convergence_points"]
    if shown is not None:
        console.print(convergence_table(shown, options["top"], count_by=count_by, points=points))
    read = reading_line(
        info,
        len(files),
        minor_amounts(info["total_amount"]),
        minor_amounts(info.get("repeated_amount", {})),
        lead="Spark: read",
        inputs="input(s)",
    )
    console.print(
        f"{read}; "
        f"{plural(info['recipients'], 'recipient')}, {plural(points, 'convergence point')}. "
        f"Results written to {out}/ ({', '.join(info['files_written'])})",
        markup=False,
    )
    print_findings(info, options["results_format"])
    for entry in info["files"]:  # a convert folder keeps the records it set aside
        if entry["format"] == "parquet" and entry["rejected"]:
            console.print(
                f"{entry['rejected']} record(s) set aside by `graphflows convert`: "
                f"{entry['path']}/rejects.csv",
                markup=False,
            )
