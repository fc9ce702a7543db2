"""Why no format reads a file, in one sentence the analyst can act on.

A file no importer recognises is usually one of a few things: a spreadsheet in a format graphflows does
not read (Excel 97-2003 ``.xls``, OpenDocument ``.ods``), a CSV separated by semicolons or tabs, a header
further down than the first 20 lines, a sources manifest given as a data file, or a README. Each gets its
own message; anything else the general one.
"""

from __future__ import annotations

from collections.abc import Callable

from graphflows.ingest.base import is_documentation
from graphflows.ingest.importer import Sample, SourceSettings
from graphflows.ingest.parsing import split_csv_line
from graphflows.ingest.sources import MANIFEST_COLUMNS

#: The first bytes of an Excel 97-2003 workbook (an OLE2 compound file).
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Lines below the first 20 searched for a header that a title block pushed down.
DEEP_SEARCH = 200
SAVE_AS = "save it as .xlsx (Excel Workbook) or CSV UTF-8 and try again"


def is_ods(name: str, head: bytes) -> bool:
    """An OpenDocument spreadsheet (its first member, ``mimetype``, says so; or its name)."""
    return name.lower().endswith(".ods") or (head[:2] == b"PK" and b"opendocument.spreadsheet" in head[:200])


def why_not_recognised(
    name: str, head: bytes, source: str, settings: SourceSettings, detect: Callable[[Sample], str | None]
) -> str:
    """The reason no importer reads the file ``name`` starting with ``head`` (``detect``: the registry's)."""
    lower = name.lower()
    if head.startswith(OLE2) or lower.endswith(".xls"):
        if head[:2] == b"PK":
            return f"{source}: an Excel .xlsx workbook named .xls: rename it to .xlsx and try again"
        return f"{source}: an Excel 97-2003 workbook (.xls), which graphflows does not read: {SAVE_AS}"
    if is_ods(name, head):
        return f"{source}: an OpenDocument spreadsheet (.ods), which graphflows does not read: {SAVE_AS}"
    if is_documentation(name):
        return f"{source}: a documentation file (README, notes, licence...), not data: leave it out"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    titles = [t.strip() for t in split_csv_line(lines[0])] if lines else []
    if titles[:1] == ["path"] or ("path" in titles and all(t in MANIFEST_COLUMNS for t in titles if t)):
        return f"{source}: a sources manifest (path, format, payer_name...): give it with --sources {source}"
    for separator, called in ((";", "semicolons (;)"), ("\t", "tabs")):
        commas = "\n".join(lines[:20]).replace(separator, ",").encode()
        if separator in text and detect(Sample(name, commas, None, source, settings)):
            return (
                f"{source}: columns are separated by {called}, not commas: save it as comma-separated CSV "
                "('CSV UTF-8' in Excel) and try again"
            )
    for number, line in enumerate(lines[1:DEEP_SEARCH], start=2):
        if detect(Sample(name, (line + "\n").encode(), None, source, settings)):
            where = ", below the first 20 lines where graphflows looks for it" if number > 20 else ""
            return header_below(source, number, where=where)
    return ""


def header_below(source: str, number: int, what: str = "the header row", where: str = "") -> str:
    """Why a file whose header row is on line ``number`` (below title lines) is not read.

    >>> header_below("q1.csv", 3)
    'q1.csv:3: the header row is on line 3: remove the 2 line(s) above it and try again'
    """
    above = f"remove the {number - 1} line(s) above it and try again"
    return f"{source}:{number}: {what} is on line {number}{where}: {above}"
