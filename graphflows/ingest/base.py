"""What every importer returns, and helpers they share.

An importer reads one file and returns a :class:`FileRead`: accepted flows in the standard flow table
(:data:`graphflows.model.FLOW_COLUMNS` plus extra columns as text), rejected records with reasons, and counts
that reconcile: ``records_read == len(flows) + len(rejects) + non_money + repeated``.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import polars as pl

from graphflows.model import FLOW_COLUMNS, InputError

REJECT_COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(),
    "line": pl.String(),
    "reason": pl.String(),
    "record": pl.String(),  # the rejected record as JSON text, so nothing is lost
}


@dataclass
class FileRead:
    """The result of reading one file."""

    source: str
    format: str
    flows: pl.DataFrame
    rejects: pl.DataFrame
    records_read: int
    non_money: int = 0
    notes: list[str] = field(default_factory=list)
    #: Records of transactions already read in another file (not counted; see
    #: :mod:`graphflows.ingest.repeats`), and their money per currency in minor units.
    repeated: int = 0
    repeated_amount: dict[str, int] = field(default_factory=dict)
    #: Which version of each record the file holds, so that one found in several files is counted once.
    versions: Versions = field(default_factory=lambda: Versions())


@dataclass
class Versions:
    """The versions of records other files may hold again (OCDS; see :mod:`graphflows.ingest.repeats`)."""

    #: ``(ocid, release id)`` -> (release date, digest of its content).
    releases: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    #: ``(ocid, award id)`` -> (date, id) of the release the award was counted from (its latest in the file).
    awards: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)


#: A zip member (or workbook part) larger than this uncompressed is refused rather than read into memory.
MAX_MEMBER_BYTES = 1024**3
#: A member expanding more than this many times (once past MIN_RATIO_BYTES) is refused as a zip bomb;
#: real data files compress 5 to 30 times.
MAX_RATIO = 200
MIN_RATIO_BYTES = 16 * 1024**2


def check_member_size(info: zipfile.ZipInfo, source: str) -> None:
    """Refuse a zip member too large, or expanding too much (a zip bomb), before anything reads it."""
    size, packed = info.file_size, max(info.compress_size, 1)
    if size > MAX_MEMBER_BYTES:
        raise InputError(f"{source}: member too large to read ({size:,} bytes; at most {MAX_MEMBER_BYTES:,})")
    if size > MIN_RATIO_BYTES and size / packed > MAX_RATIO:
        raise InputError(
            f"{source}: member expands {size / packed:,.0f} times ({packed:,} -> {size:,} bytes; at most "
            f"{MAX_RATIO} times): refused as a possible zip bomb; unzip it yourself if you trust it"
        )


#: ``s3a://bucket/key``, ``hdfs://host/path``, ``gs://``, ``abfss://``, ``file:///path``, ``dbfs:/path``
#: (a scheme of two letters or more, so ``C:/data`` stays a path).
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def as_location(given: str | Path) -> str | Path:
    """A URL stays text (only the Spark engine reads it); anything else is a local :class:`Path`.

    >>> as_location("s3a://bucket/flows.csv"), as_location("grants.json")
    ('s3a://bucket/flows.csv', PosixPath('grants.json'))
    """
    if isinstance(given, Path):
        return given
    return given if URL.match(given) else Path(given)


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_COLUMNS)


#: The description file that marks a folder written by ``graphflows convert`` (read by the Spark engine).
CONVERTED_MARK = "graphflows-flows.json"


#: Files that document data rather than hold it: skipped in a zip or a --sources glob, with a note.
DOC_SUFFIXES = (".md", ".pdf", ".doc", ".docx", ".rtf", ".htm", ".html", ".odt")
#: ``.txt`` files named like these are documentation too (``README.txt``, ``Licence.txt``, ``notes.txt``).
_DOC_NAME = re.compile(
    r"^(read[ _.-]?me|licen[cs]e|notes?|about|change[ _.-]?log|changes|metadata|copying|terms|guidance)\b",
    re.IGNORECASE,
)


def is_documentation(name: str) -> bool:
    """A README, licence, notes or PDF file (by its name; inside a zip, the member's name).

    >>> is_documentation("spend.zip!Readme.txt"), is_documentation("LICENCE.md"), is_documentation("oxf.txt")
    (True, True, False)
    """
    base = PurePosixPath(name.rpartition("!")[2]).name
    lower = base.lower()
    return lower.endswith(DOC_SUFFIXES) or (lower.endswith(".txt") and bool(_DOC_NAME.match(base)))


def check_readable(path: Path) -> None:
    """Raise InputError with one clear line if ``path`` is not a readable, non-empty file."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        if (path / CONVERTED_MARK).is_file():
            raise InputError(f"{path} is a `graphflows convert` folder: analyse it with `--engine spark`")
        raise InputError(f"{path}: is a folder, not a file: {folder_hint(path)}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")


#: Zip members with these endings are data; others, and documentation (README.md, Licence.txt, a PDF:
#: see :func:`is_documentation`), are skipped with a note.
DATA_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".xlsm", ".xls", ".ods", ".txt")
#: File endings a folder's data files have (for the hint on a folder given as a file).
DATA_ENDINGS = (*DATA_SUFFIXES, ".zip")
#: A folder's entries looked at for the hint (a huge tree is not walked to the end).
FOLDER_LOOK = 10_000


def folder_hint(folder: Path) -> str:
    """What to give instead of a folder: a glob matching its data files (as deep as they are), or a
    sources manifest.

    ``give the files in it, e.g. DIR/*/*.csv (36 file(s)), or a --sources manifest saved in it with the
    path '*/*.csv'``.
    """
    found: list[Path] = []
    for number, entry in enumerate(folder.rglob("*")):
        if number >= FOLDER_LOOK:
            break
        if entry.suffix.lower() in DATA_ENDINGS and not is_documentation(entry.name) and entry.is_file():
            found.append(entry.relative_to(folder))
    if not found:
        return f"it holds no data files ({', '.join(DATA_ENDINGS)}); give the files themselves"
    depths = {len(f.parts) for f in found}
    endings = {f.suffix.lower() for f in found}
    name = f"*{endings.pop()}" if len(endings) == 1 else "*"
    count = f"{len(found):,}{'+' if number >= FOLDER_LOOK else ''} file(s)"
    if len(depths) > 1:
        return (
            f"its {count} are in several levels of subfolders: give a --sources manifest saved in it with "
            f"the path '**/{name}', or the files themselves"
        )
    pattern = "/".join(["*"] * (depths.pop() - 1) + [name])
    return (
        f"give the files in it, e.g. {folder}/{pattern} ({count}), or a --sources manifest saved in it with "
        f"the path '{pattern}'"
    )


def refuse_utf16(data: bytes, source: str | Path) -> None:
    """Raise InputError if ``data`` is UTF-16 text (Excel's "Unicode text" save): a byte-order mark
    ``FF FE`` / ``FE FF``, or a NUL byte in every other position of the first line's worth of bytes.

    >>> refuse_utf16("Supplier,Amount".encode("utf-16-le"), "s.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    graphflows.model.errors.InputError: s.csv: UTF-16 text; save the file as UTF-8 ...
    """
    head = data[:512]
    pairs = len(head) // 2
    odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
    no_bom = (
        pairs >= 4 and max(odd_nuls, even_nuls) >= 0.9 * pairs and min(odd_nuls, even_nuls) <= 0.1 * pairs
    )
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or no_bom:
        raise InputError(f"{source}: UTF-16 text; save the file as UTF-8 (CSV UTF-8 in Excel) and try again")


def decode_utf8(path: Path, data: bytes) -> str:
    """Decode UTF-8 (a byte-order mark is dropped); a bad byte is reported with its line number."""
    refuse_utf16(data, path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8 and try again"
        ) from None


def records_as_json(frame: pl.DataFrame) -> pl.Series:
    """Each row of ``frame`` as a JSON object string (column -> text), for the rejects file."""
    columns = frame.columns
    return pl.Series(
        "record",
        [
            json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str)
            for row in frame.rows()
        ],
        dtype=pl.String,
    )


def conform(flows: pl.DataFrame) -> pl.DataFrame:
    """Give a flow table the standard columns in order and types, extra columns after them as text."""
    for name, dtype in FLOW_COLUMNS.items():
        if name not in flows.columns:
            flows = flows.with_columns(pl.lit(None, dtype=dtype).alias(name))
    extras = [c for c in flows.columns if c not in FLOW_COLUMNS]
    return flows.select(
        [pl.col(n).cast(t) for n, t in FLOW_COLUMNS.items()] + [pl.col(c).cast(pl.String) for c in extras]
    )
