"""The one writer of every file graphflows gives a user: all or nothing, never touching the user's files.

* **All or nothing.** Every file is first written in a staging folder beside its target
  (``.graphflows-<pid>-…``) and renamed into place only when all of them are complete.
* **Only its own files.** Each folder graphflows writes in keeps a manifest,
  ``.graphflows-manifest.json``, of the names it wrote there. A file that exists but is not in the
  manifest is never overwritten or deleted (:class:`~graphflows.model.GraphflowsError` naming it), and
  stale results are removed only when the manifest lists them.
* **Never an input.** An output path that is one of the run's input files is refused.
* **Leftovers cleaned.** Staging folders of a killed run (its process gone) are removed by the next run.
* **CSV cells that cannot run.** :func:`write_csv` prefixes a text cell that a spreadsheet would run as a
  formula (``=``, ``+``, ``-``, ``@``, tab or carriage return first) with ``'``, as OWASP recommends
  for "CSV injection"; numbers (``-300.00`` too) are never changed. ``raw=True`` writes cells as they are.

>>> with OutputFiles(inputs=["grants.csv"]) as out:                      # doctest: +SKIP
...     out.stage("results/view.html").write_text(page)
...     write_csv_to(out.stage("results/orgs.csv"), frame)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import polars as pl

from graphflows.model import GraphflowsError

if TYPE_CHECKING:
    import pyarrow as pa

#: The manifest kept in every folder graphflows writes results in.
MANIFEST = ".graphflows-manifest.json"
#: Staging folders and files start with this (the manifest too, which is never cleaned).
STAGING_PREFIX = ".graphflows-"
#: A staging leftover whose process id cannot be read is removed once it is this old (seconds).
ORPHAN_AGE_S = 3600
#: The first characters that make a spreadsheet run a cell (OWASP CSV injection).
FORMULA_START = r"^[=+\-@\t\r]"
#: A plain number, which a spreadsheet reads as a number even when it starts with a sign.
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"

PathLike = str | os.PathLike[str]


# ------------------------------------------------------------------------------------------- CSV cells


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading ``'``; numbers stay as they are.

    >>> names = pl.DataFrame({"name": ["=HYPERLINK(1)", "-300.00", "@SUM(A1)", "Shelter"]})
    >>> neutralise(names)["name"].to_list()
    ["'=HYPERLINK(1)", '-300.00', "'@SUM(A1)", 'Shelter']
    """
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START) & ~pl.col(c).str.contains(PLAIN_NUMBER))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_csv_to(path: Path, frame: pl.DataFrame, *, raw: bool = False) -> None:
    """Write ``frame`` as CSV to ``path`` (a staged path), formula cells neutralised unless ``raw``."""
    (frame if raw else neutralise(frame)).write_csv(path)


def write_table_to(
    path: Path,
    frames: Iterable[pl.DataFrame | pa.Table],
    *,
    results_format: str = "csv",
    raw: bool = False,
) -> None:
    """Write a table given in blocks of rows (same columns) to ``path`` (a staged path), block by block.

    ``results_format`` ``csv`` (formula cells neutralised unless ``raw``) or ``parquet`` (typed columns, one
    row group per block; no cell can run, so nothing is changed; blocks may be pyarrow tables, such as
    dictionary-encoded ids, read back as plain text). At least one block is needed (it may be empty: its
    columns make the header).
    """
    if results_format == "parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for frame in frames:
                table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
                if writer is None:  # the first block (maybe empty) gives the schema
                    # without the Arrow schema, readers see text, not dictionaries
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd", store_schema=False)
                if table.num_rows:
                    writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        return
    if results_format != "csv":
        raise ValueError(f"results format must be 'csv' or 'parquet', not {results_format!r}")
    with path.open("wb") as handle:
        for number, frame in enumerate(frames):
            if not isinstance(frame, pl.DataFrame):
                frame = pl.from_arrow(frame)  # type: ignore[assignment]
            (frame if raw else neutralise(frame)).write_csv(handle, include_header=number == 0)


def rows_frame(columns: list[str], rows: Iterable[Iterable[str]]) -> pl.DataFrame:
    """Rows of text as a frame of text columns (for tables that are not frames, such as query results)."""
    data = list(rows)
    return pl.DataFrame(
        {c: pl.Series(c, [r[i] for r in data], dtype=pl.String) for i, c in enumerate(columns)},
        schema={c: pl.String for c in columns},
    )


# -------------------------------------------------------------------------------------------- manifest


def read_manifest(folder: Path) -> set[str]:
    """Names graphflows wrote in ``folder`` (empty when it has no manifest)."""
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {str(n) for n in doc.get("files", []) if isinstance(n, str)}
    except (OSError, ValueError, AttributeError):
        return set()


def _write_manifest(folder: Path, names: set[str]) -> None:
    doc = {"written_by": "graphflows", "format": 1, "files": sorted(names)}
    fd, tmp = tempfile.mkstemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, folder / MANIFEST)


# --------------------------------------------------------------------------------------------- staging


def clean_leftovers(folder: Path) -> None:
    """Remove staging folders and files left in ``folder`` by graphflows runs that were killed."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX) or entry.name == MANIFEST:
            continue
        found = re.match(rf"{re.escape(STAGING_PREFIX)}(\d+)-", entry.name)
        if found:
            if _running(int(found.group(1))):
                continue
        else:
            try:
                if time.time() - entry.lstat().st_mtime < ORPHAN_AGE_S:
                    continue
            except OSError:
                continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


class OutputFiles:
    """Stage output files, then move them all into place when the ``with`` block ends without error.

    ``inputs``: paths read by the run (an output equal to one is refused). ``create_folders``: make missing
    target folders (otherwise a missing folder is an error). On an error in the block nothing is moved.
    """

    def __init__(self, *, inputs: Iterable[PathLike] = (), create_folders: bool = False):
        self.inputs = [Path(p) for p in inputs]
        self.create_folders = create_folders
        self._staged: dict[Path, Path] = {}  # absolute target -> staged file
        self._shown: dict[Path, Path] = {}  # absolute target -> the path as the user gave it
        self._staging: dict[Path, Path] = {}  # folder -> its staging folder
        self._stale: dict[Path, set[str]] = {}  # folder -> names to remove if graphflows wrote them

    def check(self, target: PathLike) -> Path:
        """Refuse a target graphflows must not write; returns its absolute path (nothing is written)."""
        shown = Path(target)
        path = Path(os.path.abspath(shown))
        folder = path.parent
        if path in self._staged:
            raise GraphflowsError(f"{shown}: given twice as an output")
        for source in self.inputs:
            if Path(os.path.abspath(source)) == path or _same_file(source, path):
                raise GraphflowsError(f"{shown}: is an input file of this run; choose another output name")
        if not folder.is_dir():
            if folder.exists():
                raise GraphflowsError(f"{shown}: {folder} is not a folder")
            if not self.create_folders:
                raise GraphflowsError(f"{shown}: folder {shown.parent} does not exist")
        if path.is_dir():
            raise GraphflowsError(f"{shown}: is a folder; give a file name")
        if (path.exists() or path.is_symlink()) and path.name not in read_manifest(folder):
            raise GraphflowsError(
                f"{shown}: exists and was not written by graphflows; it is left as it is "
                "(move it away or choose another output name)"
            )
        return path

    def check_all(self, *targets: PathLike | None) -> None:
        """Check every target before any work (``None`` skipped); the same path twice is refused."""
        seen: set[Path] = set()
        for target in targets:
            if target is None:
                continue
            path = self.check(target)
            if path in seen:
                raise GraphflowsError(f"{target}: given twice as an output")
            seen.add(path)

    def stage(self, target: PathLike) -> Path:
        """A path to write ``target``'s content to; it is moved to ``target`` when the block ends."""
        path = self.check(target)
        folder = path.parent
        if folder not in self._staging:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                clean_leftovers(folder)
                self._staging[folder] = Path(
                    tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder)
                )
            except OSError as exc:
                raise GraphflowsError(f"{folder}: cannot write there ({exc.strerror or exc})") from None
        staged = self._staging[folder] / f"{len(self._staged)}-{path.name}"
        self._staged[path] = staged
        self._shown[path] = Path(target)
        return staged

    def remove_stale(self, folder: PathLike, names: Iterable[str]) -> None:
        """After the move, remove these names from ``folder`` if graphflows wrote them (and not this run)."""
        self._stale.setdefault(Path(os.path.abspath(folder)), set()).update(names)

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self._commit()
        finally:
            for staging in self._staging.values():
                shutil.rmtree(staging, ignore_errors=True)

    def _commit(self) -> None:
        by_folder: dict[Path, list[Path]] = {}
        for target in self._staged:
            by_folder.setdefault(target.parent, []).append(target)
        try:
            for target, staged in self._staged.items():
                if not staged.is_file():
                    raise GraphflowsError(f"{self._shown[target]}: was not written")
            for folder, targets in by_folder.items():  # the manifest first: a killed run never orphans a file
                _write_manifest(folder, read_manifest(folder) | {t.name for t in targets})
            for target, staged in self._staged.items():
                os.replace(staged, target)
            for folder, names in self._stale.items():
                written = {t.name for t in by_folder.get(folder, [])}
                known = read_manifest(folder)
                gone = {n for n in names if n in known and n not in written}
                for name in gone:
                    (folder / name).unlink(missing_ok=True)
                if gone:
                    _write_manifest(folder, known - gone)
        except OSError as exc:
            raise GraphflowsError(f"cannot write the output files ({exc.strerror or exc})") from None


# ------------------------------------------------------------------------------------ one-call helpers


def write_text(path: PathLike, text: str, *, inputs: Iterable[PathLike] = ()) -> Path:
    """Write one text file (UTF-8) all or nothing; returns its path."""
    with OutputFiles(inputs=inputs) as out:
        out.stage(path).write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(
    frame: pl.DataFrame,
    path: PathLike,
    *,
    raw: bool = False,
    inputs: Iterable[PathLike] = (),
    create_folders: bool = False,
) -> Path:
    """Write one CSV file all or nothing, formula cells neutralised unless ``raw``; returns its path."""
    with OutputFiles(inputs=inputs, create_folders=create_folders) as out:
        write_csv_to(out.stage(path), frame, raw=raw)
    return Path(path)


def write_folder(
    folder: PathLike,
    writers: Mapping[str, Callable[[Path], None]],
    *,
    stale: Iterable[str] = (),
    inputs: Iterable[PathLike] = (),
) -> list[str]:
    """Write each named file of ``writers`` (a function writing to the path it is given) into ``folder``.

    The folder is created if needed; files named in ``stale`` that this run does not write are removed
    when graphflows wrote them. Returns the names moved into ``folder`` (all of them, or an error).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GraphflowsError(f"{folder}: exists and is not a folder")
    with OutputFiles(inputs=inputs, create_folders=True) as out:
        for name in writers:
            out.check(folder / name)
        for name, write in writers.items():
            staged = out.stage(folder / name)
            try:
                write(staged)
            except OSError as exc:
                raise GraphflowsError(f"{folder / name}: cannot write ({exc.strerror or exc})") from None
        out.remove_stale(folder, stale)
    return list(writers)
