"""``graphflows convert``: the normalised flows of any supported input as partitioned Parquet.

The formats parsed in Python (360Giving, OCDS, spend files, native CSV) become one folder that Spark, or
any engine reading Parquet, takes directly::

    OUT/flows/part-00000.parquet     one part per input file: the standard flow columns, provenance
                                     (source, line) and the order columns _file and _seq
    OUT/organisations.parquet        how records were matched into organisations (when any were)
    OUT/graphflows-flows.json        counts that reconcile (records_read = flows + rejected + non_money
                                     + repeated), the parts with their rows, whether
                                     organisations.parquet was written, and the reading notes (repeated
                                     lines, date order...)
    OUT/rejects.csv                  rejected records, with --skip-invalid

``_seq`` is each flow's position in the in-memory engine's flow table, so both engines see "the first
name of an organisation" the same way. Written all or nothing through :mod:`graphflows.outputs`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from graphflows.ingest import IngestResult
from graphflows.ingest.base import CONVERTED_MARK  # the file marking a converted folder
from graphflows.model.notes import FileNote
from graphflows.outputs import OutputFiles, PathLike, write_csv_to


def converted_flows(ingest: IngestResult) -> pl.DataFrame:
    """The flow table with the order columns ``_file`` (0) and ``_seq`` (row position)."""
    return ingest.flows.with_columns(
        pl.lit(0, pl.Int64).alias("_file"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_seq")
    )


def write_converted(
    out_dir: PathLike, ingest: IngestResult, *, write_rejects: bool = False, inputs: Iterable[PathLike] = ()
) -> dict[str, Any]:
    """Write ``ingest`` as a converted folder; returns the description written."""
    out = Path(out_dir)
    flows = converted_flows(ingest)
    parts = flows.partition_by("source", maintain_order=True) if flows.height else [flows]
    names = [part_name(number) for number in range(len(parts))]
    organisations = ingest.organisations is not None and ingest.organisations.height > 0
    info: dict[str, Any] = {
        "records_read": ingest.records_read,
        "flows": ingest.flows.height,
        "rejected": ingest.rejects.height,
        "non_money": ingest.non_money,
        "repeated": ingest.repeated,
        "repeated_amount": ingest.repeated_amount(),
        "files": ingest.file_counts(),
        "parts": len(parts),
        "part_rows": {name: part.height for name, part in zip(names, parts, strict=True)},
        "organisations": organisations,
        "notes": list(ingest.notes),
        "note_details": [note_detail(note) for note in ingest.notes],
    }
    with OutputFiles(inputs=inputs, create_folders=True) as files:
        for name, part in zip(names, parts, strict=True):
            part.write_parquet(files.stage(out / "flows" / name))
        if organisations and ingest.organisations is not None:
            ingest.organisations.write_parquet(files.stage(out / "organisations.parquet"))
        if write_rejects and ingest.rejects.height:
            write_csv_to(files.stage(out / "rejects.csv"), ingest.rejects)
        files.stage(out / CONVERTED_MARK).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        files.remove_stale(out / "flows", [part_name(n) for n in range(len(parts), 100_000)])
        files.remove_stale(out, ["organisations.parquet", "rejects.csv"])
    return info


def part_name(number: int) -> str:
    """``3`` -> ``part-00003.parquet``."""
    return f"part-{number:05d}.parquet"


def note_detail(note: str) -> dict[str, Any] | None:
    """What a :class:`FileNote` counts (None for a plain note), so a converted folder's notes are combined
    on the terminal as ``analyse`` combines them."""
    if not isinstance(note, FileNote):
        return None
    return {"source": note.source, "kind": note.kind, "count": note.count, "amounts": note.amounts,
            "detail": note.detail}  # fmt: skip


def converted_notes(info: dict[str, Any]) -> list[str]:
    """The notes of a converted folder's description, as :class:`FileNote` where they were."""
    details = info.get("note_details") or [None] * len(info.get("notes", []))
    return [
        FileNote(text, **detail) if detail else text
        for text, detail in zip(info.get("notes", []), details, strict=False)
    ]
