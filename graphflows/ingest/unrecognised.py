"""Why no format reads a file, in one sentence the analyst can act on.

A file no importer recognises is usually one of a few things: a web page or XML file named like a
workbook (``.xls``), a flows or 360Giving CSV separated by semicolons or tabs (spend files so separated
are read), a header further down than the first 20 lines, a sources manifest given as a data file, or a
README. Each gets its own message; anything else the general one. (Workbooks, ``.xlsx``, ``.xls`` and
``.ods``, are read: :mod:`graphflows.ingest.workbook` says why one cannot be.)
"""

from __future__ import annotations

from collections.abc import Callable

from graphflows.ingest.base import is_documentation
from graphflows.ingest.importer import Sample, SourceSettings
from graphflows.ingest.parsing import split_csv_line
from graphflows.ingest.sources import MANIFEST_COLUMNS
from graphflows.ingest.workbook import looks_like_workbook

#: Lines below the first 20 searched for a header that a title block pushed down.
DEEP_SEARCH = 200
SAVE_AS = "save it as .xlsx (Excel Workbook) or CSV UTF-8 and try again"


def why_not_recognised(
    name: str, head: bytes, source: str, settings: SourceSettings, detect: Callable[[Sample], str | None]
) -> str:
    """The reason no importer reads the file ``name`` starting with ``head`` (``detect``: the registry's)."""
    suffix = name.lower().rpartition(".")[2]
    if suffix in ("xls", "xlsx", "ods") and not looks_like_workbook(name, head):
        markup = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"
        if markup or b"\0" in head[:512]:  # a CSV named .xls is told what else is wrong with it, below
            what = "a web page or XML file" if markup else "a file"
            return f"{source}: {what} named .{suffix}, not a workbook: open it in Excel and {SAVE_AS}"
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
