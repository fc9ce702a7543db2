"""Options shared by every command that reads funding files (analyse, load, view, orgs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from graphflows.classify import read_channel_map
from graphflows.graph import FlowGraph, graph_from_ingest
from graphflows.ingest import FORMATS, IngestResult, read_flows


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``FILE...``, ``--format``, ``--skip-invalid``, ``--org-map`` and ``--channels`` to a command."""
    command = click.option(
        "--channels",
        "channels",
        type=click.Path(path_type=Path),
        default=None,
        help="CSV (match,channel) giving the channel of government of ids or name patterns, before the "
        "built-in rules. See README, 'Channels and provider forms'.",
    )(command)
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


def read_inputs(
    files: tuple[Path, ...], format_: str | None, skip_invalid: bool, org_map: Path | None = None
) -> IngestResult:
    """Read the files given on the command line (errors propagate to the CLI's error mapping)."""
    return read_flows(files, format=format_, skip_invalid=skip_invalid, org_map=org_map)


def read_input_graph(
    files: tuple[Path, ...],
    format_: str | None,
    skip_invalid: bool,
    channels: Path | None = None,
    **extras: Any,
) -> tuple[IngestResult, FlowGraph]:
    """Read the files and build their graph, classified with the ``--channels`` mapping file if given."""
    channel_map = read_channel_map(channels) if channels is not None else None
    ingest = read_inputs(files, format_, skip_invalid, **extras)
    return ingest, graph_from_ingest(ingest, channel_map)
