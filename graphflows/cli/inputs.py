"""Options shared by every command that reads funding files (analyse, load, view, orgs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from graphflows.ingest import FORMATS, IngestResult, read_flows


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``FILE...``, ``--format``, ``--skip-invalid`` and ``--org-map`` to a click command."""
    command = click.option(
        "--org-map",
        "org_map",
        type=click.Path(path_type=Path),
        default=None,
        help="CSV (action,key,other,name) forcing ('same') or forbidding ('different') organisation "
        "merges across files. See `graphflows orgs --help`.",
    )(command)
    command = click.option(
        "--skip-invalid",
        is_flag=True,
        help="Go on past bad records: write them to rejects.csv with their reason instead of stopping.",
    )(command)
    command = click.option(
        "--format",
        "format_",
        type=click.Choice(sorted(FORMATS)),
        default=None,
        help="Read every file in this format instead of detecting each one.",
    )(command)
    return click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))(command)


#: ``--raw-csv`` for every command that writes CSV files.
raw_csv_option = click.option(
    "--raw-csv",
    "raw_csv",
    is_flag=True,
    help="Write CSV cells exactly as read. By default a text cell starting with = + - @ (a formula to a "
    "spreadsheet) gets a leading ' so it cannot run when the file is opened; numbers are never changed.",
)


def input_paths(files: tuple[Path, ...], org_map: Path | None = None) -> tuple[Path, ...]:
    """Every file a run reads (outputs may never be one of them)."""
    return (*files, *([org_map] if org_map is not None else []))


def read_inputs(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, org_map: Path | None = None
) -> IngestResult:
    """Read the files given on the command line (errors propagate to the CLI's error mapping)."""
    return read_flows(files, format=format_, skip_invalid=skip_invalid, org_map=org_map)
