"""``graphflows convert``: the normalised flows of any supported input as partitioned Parquet.

The formats parsed in Python (360Giving, OCDS, spend files, native CSV) become one folder that Spark, or
any engine reading Parquet, takes directly::

    OUT/flows/part-00000.parquet     one part per input file: the standard flow columns, provenance
                                     (source, line) and the order columns _file and _seq
    OUT/organisations.parquet        how records were matched into organisations (when any were)
    OUT/graphflows-flows.json        counts that reconcile (records_read = flows + rejected + non_money)
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
    info: dict[str, Any] = {
        "records_read": ingest.records_read,
        "flows": ingest.flows.height,
        "rejected": ingest.rejects.height,
        "non_money": ingest.non_money,
        "files": [
            {"path": f.source, "format": f.format, "records_read": f.records_read, "flows": f.flows.height}
            for f in ingest.files
        ],
        "parts": len(parts),
        "notes": ingest.notes,
    }
    with OutputFiles(inputs=inputs, create_folders=True) as files:
        for number, part in enumerate(parts):
            part.write_parquet(files.stage(out / "flows" / f"part-{number:05d}.parquet"))
        if ingest.organisations is not None and ingest.organisations.height:
            ingest.organisations.write_parquet(files.stage(out / "organisations.parquet"))
        if write_rejects and ingest.rejects.height:
            write_csv_to(files.stage(out / "rejects.csv"), ingest.rejects)
        files.stage(out / CONVERTED_MARK).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        files.remove_stale(out / "flows", [f"part-{n:05d}.parquet" for n in range(len(parts), 100_000)])
        files.remove_stale(out, ["organisations.parquet", "rejects.csv"])
    return info
