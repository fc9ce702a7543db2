"""Options shared by every command that reads funding files (analyse, load, view, orgs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from graphflows.classify import read_channel_map
from graphflows.graph import FlowGraph, graph_from_ingest
from graphflows.ingest import FORMATS, IngestResult, SourceRules, read_flows
from graphflows.ingest.base import as_location
from graphflows.ingest.importer import OVERRIDE_FIELDS
from graphflows.model import InputError
from graphflows.registers.tables import lookup_id

#: ``--channels``' help when a command's own words are not given.
CHANNELS_HELP = (
    "CSV (match,channel) giving the channel of government of ids or name patterns, before the built-in "
    "rules; a line matching nothing gets a note (README section 'Channel mapping file')."
)
#: ``--skip-invalid``'s help when a command's own words are not given: where analyse puts the rejects.
REJECTS_IN_OUT = (
    "Go on past bad records: write them with their reason to rejects.csv in --out (rejects.parquet with "
    "--results-format parquet) instead of stopping."
)


#: The input options every command words alike (``--format``, ``--org-map``, ``--payer``, ``--column``,
#: ``--sources``): each use adds a new click parameter.
_FORMAT_OPTION = click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="Read every file in this format instead of detecting each one.",
)
_ORG_MAP_OPTION = click.option(
    "--org-map",
    "org_map",
    type=click.Path(path_type=Path),
    metavar="FILE",
    default=None,
    help="CSV (action,key,other,name) forcing ('same') or forbidding ('different') organisation "
    "merges across files. See `graphflows orgs --help`.",
)
_PAYER_OPTION = click.option(
    "--payer",
    "payers",
    multiple=True,
    metavar="GLOB=NAME[|ID]",
    help="The paying body of the files GLOB matches (by file name, inside a zip too), for files that "
    "leave it implied, e.g. 'WHIT*.csv=Whittington Health NHS Trust'. Repeatable.",
)
_COLUMN_OPTION = click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="GLOB=FIELD:TITLE",
    help="Which header of the files GLOB matches holds FIELD (one of "
    f"{', '.join(OVERRIDE_FIELDS)}), e.g. 'oxford*.csv=payee:Supplier Name'. Repeatable.",
)
_SOURCES_OPTION = click.option(
    "--sources",
    "sources",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="A sources manifest: a CSV with the column path (a file or glob) and, as needed, format, "
    "payer_name, payer_id and FIELD_column for a --column FIELD (payee_column, amount_column, "
    "date_column...); reads the files it lists with those settings (README section 'Files that name "
    "no paying body').",
)


def input_options(
    command: Callable[..., Any] | None = None,
    *,
    skip_invalid_help: str = REJECTS_IN_OUT,
    channels_help: str = CHANNELS_HELP,
) -> Callable[..., Any]:
    """Add ``FILE...``, ``--format``, ``--skip-invalid``, ``--org-map``, ``--payer``, ``--column``,
    ``--sources`` and ``--channels`` to a click command; ``skip_invalid_help`` says what that command
    does with the records ``--skip-invalid`` passes over, ``channels_help`` what it does with the mapping.
    Used as ``@input_options`` or ``@input_options(skip_invalid_help=...)``."""
    if command is None:
        return lambda given: input_options(
            given, skip_invalid_help=skip_invalid_help, channels_help=channels_help
        )
    in_help_order = [
        click.argument("files", nargs=-1, type=InputLocation()),
        _FORMAT_OPTION,
        click.option("--skip-invalid", is_flag=True, help=skip_invalid_help),
        _ORG_MAP_OPTION,
        _PAYER_OPTION,
        _COLUMN_OPTION,
        _SOURCES_OPTION,
        click.option(
            "--channels",
            "channels",
            type=click.Path(path_type=Path),
            metavar="FILE",
            default=None,
            help=channels_help,
        ),
    ]
    for add in reversed(in_help_order):  # a decorator applied last comes first in --help
        command = add(command)
    return command


class InputLocation(click.ParamType):
    """A local path, or a URL kept as text for the Spark engine (see ``ingest.base.as_location``)."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path | str:
        return as_location(value)


def local_files(files: tuple[Path | str, ...]) -> tuple[Path, ...]:
    """``files`` when all are local paths; a URL is read only by ``--engine spark``."""
    for given in files:
        if isinstance(given, str):
            raise InputError(
                f"{given}: URLs are read by the Spark engine only (add --engine spark, or copy the file here)"
            )
    return files  # type: ignore[return-value]


#: ``--raw-csv`` for every command that writes CSV files.
raw_csv_option = click.option(
    "--raw-csv",
    "raw_csv",
    is_flag=True,
    help="Write CSV cells exactly as read. By default a text cell starting with = + - @, a tab or a carriage "
    "return (a formula to a spreadsheet) gets a leading ' so it cannot run when the file is opened; numbers "
    "are never changed.",
)


def out_folder_option(help_text: str) -> Callable[..., Any]:
    """A required ``--out FOLDER``: where a command writes its files."""
    return click.option(
        "--out", "out", type=click.Path(path_type=Path), metavar="FOLDER", required=True, help=help_text
    )


def input_paths(files: tuple[Path, ...], *others: Path | None) -> tuple[Path, ...]:
    """Every file named on the command line (``others``: --org-map, --sources, --channels...); outputs may
    never be one of them. See :func:`read_paths`."""
    local = (f for f in files if not isinstance(f, str))  # a URL is never an output's path
    return (*local, *(p for p in others if p is not None))


def read_paths(ingest: IngestResult) -> tuple[Path, ...]:
    """Every file a run read (a zip member's archive), including those a sources manifest listed."""
    return tuple(dict.fromkeys(Path(f.source.split("!", 1)[0]) for f in ingest.files))


def read_inputs(
    files: tuple[Path, ...],
    format_: str | None,
    skip_invalid: bool,
    org_map: Path | None = None,
    payers: tuple[str, ...] = (),
    columns: tuple[str, ...] = (),
    sources: Path | None = None,
) -> IngestResult:
    """Read the files given on the command line (errors propagate to the CLI's error mapping)."""
    files = local_files(files)
    rules = SourceRules.from_options(payers, columns, sources, formats=list(FORMATS))
    if not files and not rules.files:
        if sources is None:
            raise click.UsageError("Missing argument 'FILES...' (or give --sources MANIFEST).")
        raise InputError(f"{sources}: the manifest's paths match no files")
    ingest = read_flows(files, format=format_, skip_invalid=skip_invalid, org_map=org_map, sources=rules)
    ingest.setting_notes.extend(payer_id_hints(rules))
    return ingest


def payer_id_hints(rules: SourceRules) -> list[str]:
    """A note for each ``--payer``/manifest payer id that is a bare NHS ODS code of a registered body
    (``RKE``): as an id it gets no channel, as an org-id (``GB-NHS-RKE``) it does.

    >>> payer_id_hints(SourceRules.from_options(["WHIT*=Whittington Health|RKE"]))[0][:70]
    "--payer 'WHIT*': payer id 'RKE' looks like an NHS ODS code: its org-id"
    """
    notes = []
    for rule in rules.rules:
        given = (rule.settings.payer_id or "").strip()
        if not given or re.match(r"^[A-Za-z]{2}-", given) or lookup_id(given) is not None:
            continue
        body = lookup_id(f"GB-NHS-{given}")
        if body is not None:
            where = rule.origin if rule.folder is not None else f"{rule.origin} {rule.pattern!r}"
            notes.append(
                f"{where}: payer id {given!r} looks like an NHS ODS code: its org-id {body.org_id} is "
                f"{body.name}; as given it is an id of its own and no register gives it a channel "
                f"(write {body.org_id})"
            )
    return notes


def read_input_graph(
    files: tuple[Path, ...],
    format_: str | None,
    skip_invalid: bool,
    channels: Path | None = None,
    **extras: Any,
) -> tuple[IngestResult, FlowGraph]:
    """Read the files and build their graph, classified with the ``--channels`` mapping file if given (a
    line that matches no node gets a note, as an unused ``--payer`` does)."""
    channel_map = read_channel_map(channels) if channels is not None else None
    ingest = read_inputs(files, format_, skip_invalid, **extras)
    graph = graph_from_ingest(ingest, channel_map)
    if channel_map is not None:
        ingest.setting_notes.extend(channel_map.unused_notes(graph.nodes))
    return ingest, graph
