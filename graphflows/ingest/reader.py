"""Format detection and reading many files into one :class:`IngestResult`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import polars as pl

from graphflows.ingest import native
from graphflows.ingest.base import FileRead, check_readable, empty_rejects
from graphflows.model import InputError, RowProblem
from graphflows.model.schema import empty_flows

#: Importers by format name. Each module has ``FORMAT``, ``sniff(path, head) -> bool`` and ``read(path)``.
#: Order matters for detection: the first module whose ``sniff`` says yes reads the file.
FORMATS: dict[str, ModuleType] = {native.FORMAT: native}

#: How many bad records an error message shows before it just counts the rest.
SHOWN_PROBLEMS = 20


@dataclass
class IngestResult:
    """Flows from every file read, the records rejected, and counts that reconcile.

    ``records_read == flows.height + rejects.height + non_money``.
    """

    flows: pl.DataFrame
    rejects: pl.DataFrame
    records_read: int
    non_money: int
    files: list[FileRead] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [note for f in self.files for note in f.notes]

    def totals(self) -> dict[str, int]:
        """Sum of accepted amounts per currency, in minor units (never adds two currencies)."""
        if self.flows.is_empty():
            return {}
        grouped = self.flows.group_by("currency").agg(pl.col("amount_minor").sum()).sort("currency")
        return dict(grouped.iter_rows())


def detect_format(path: Path) -> str:
    """The name of the format that reads ``path``; InputError if none recognises it."""
    check_readable(path)
    with path.open("rb") as handle:
        head = handle.read(65536)
    for name, module in FORMATS.items():
        if module.sniff(path, head):
            return name
    raise InputError(
        f"{path}: format not recognised (known formats: {', '.join(FORMATS)}); "
        "check the header row, or force one with --format"
    )


def read_file(path: str | Path, format: str | None = None) -> FileRead:
    """Read one file in the given (or detected) format."""
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r} (known formats: {', '.join(FORMATS)})")
    name = format or detect_format(path)
    return FORMATS[name].read(path)


def read_flows(
    paths: Iterable[str | Path],
    *,
    format: str | None = None,
    skip_invalid: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> IngestResult:
    """Read every file; by default any rejected record raises :class:`InputError` naming file and line.

    With ``skip_invalid=True`` rejected records are returned in ``rejects`` instead.
    """
    reads: list[FileRead] = []
    for path in _expand(paths):
        if progress is not None:
            progress(path)
        reads.append(read_file(path, format))
    if not reads:
        raise InputError("no input files given")
    rejects = pl.concat([r.rejects for r in reads] or [empty_rejects()], how="vertical")
    if rejects.height and not skip_invalid:
        problems = [RowProblem(s, ln, why) for s, ln, why in rejects.head(SHOWN_PROBLEMS).select(
            "source", "line", "reason").iter_rows()]  # fmt: skip
        raise InputError(
            f"{rejects.height} invalid record(s); nothing was written "
            "(fix them, or use --skip-invalid to write them to rejects.csv and go on)",
            problems,
            rejects.height,
        )
    flows = pl.concat([r.flows for r in reads if r.flows.height] or [empty_flows()], how="diagonal_relaxed")
    return IngestResult(
        flows=flows,
        rejects=rejects,
        records_read=sum(r.records_read for r in reads),
        non_money=sum(r.non_money for r in reads),
        files=reads,
    )


def _expand(paths: Iterable[str | Path]) -> Sequence[Path]:
    return [Path(p) for p in paths]
