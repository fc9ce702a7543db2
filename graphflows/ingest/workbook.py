"""Spreadsheets as text tables: Excel ``.xlsx``, Excel 97-2003 ``.xls`` and OpenDocument ``.ods``, all read
by python-calamine. Which kind a workbook is is decided by its content (an OLE2 compound file is ``.xls``, a
zip with ``content.xml`` is ``.ods``), so a workbook with the wrong ending is still read; every kind gives
the same text, so the importers apply one set of rules.

Cells become text the way a CSV export would show them: dates as ISO ``2020-11-03``, whole numbers
without ``.0``, amounts exact to the penny (``41133.770000000004`` -> ``41133.77``). Positions are
``Sheet!row`` so errors point at the cell row.

>>> cell_text(41133.770000000004), cell_text(44138, serial_date=True), cell_text(None)
('41133.77', '2020-11-03', '')
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.etree.ElementTree import ParseError

import polars as pl

from graphflows.ingest.base import check_member_size
from graphflows.ingest.parsing import number_to_minor
from graphflows.model import InputError
from graphflows.model.money import format_minor
from graphflows.model.notes import FileNote

#: The first bytes of an Excel 97-2003 workbook (an OLE2 compound file).
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What each kind of workbook is called in messages.
KINDS = {
    "xlsx": "XLSX workbook",
    "xls": "Excel 97-2003 workbook (.xls)",
    "ods": "OpenDocument spreadsheet (.ods)",
}
#: Why a password-protected workbook is not read, and what to do.
PASSWORD = (
    "a password-protected (encrypted) workbook, which graphflows does not read: open it in Excel, remove the "
    "password (File > Info > Protect Workbook) and save it again, or save it as CSV UTF-8"
)
#: How many rows at the top of a sheet are searched for the header row.
HEADER_SEARCH = 20
#: A sheet with more cells than this (rows x header columns) is refused rather than read into memory.
MAX_CELLS = 30_000_000
#: What reading a broken workbook raises (bad zip, bad XML, corrupt deflate data, missing parts).
BROKEN = (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, EOFError, ParseError, zlib.error,
          IndexError, AttributeError)  # fmt: skip


def is_ods(name: str, head: bytes) -> bool:
    """An OpenDocument spreadsheet (its first member, ``mimetype``, says so; or its name)."""
    return name.lower().endswith(".ods") or (head[:2] == b"PK" and b"opendocument.spreadsheet" in head[:200])


def looks_like_workbook(name: str, head: bytes) -> bool:
    """A workbook the importers read: an OLE2 file (``.xls``), or a zip named ``.xlsx``/``.xlsm``/``.xls``
    or that is an OpenDocument spreadsheet (a zip of CSVs named ``.zip`` is an archive, not a workbook).

    >>> [looks_like_workbook(name, head) for name, head in (("a", OLE2), ("b.xls", b"PK"), ("c.csv", b"x"))]
    [True, True, False]
    """
    if head.startswith(OLE2):
        return True
    return head[:2] == b"PK" and (name.lower().endswith((".xlsx", ".xlsm", ".xls")) or is_ods(name, head))


def is_workbook_data(data: bytes) -> bool:
    """Bytes a workbook reader takes (a zip or an OLE2 file), not CSV or JSON text."""
    return data[:2] == b"PK" or data.startswith(OLE2)


def cell_text(value: object, serial_date: bool = False) -> str:
    """A spreadsheet cell as text (``serial_date``: a number is an Excel date serial)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and serial_date:
        return serial_date_text(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        try:
            return format_minor(number_to_minor(value))
        except ValueError:
            return repr(value)
    return str(value)


#: Day 0 of Excel's (1900) date system: serial 1 is 1900-01-01 (Excel counts a 29 February 1900).
EXCEL_EPOCH = datetime(1899, 12, 30)


def serial_date_text(value: float) -> str:
    """An Excel date serial as an ISO date (a number under 1 is a time of day, not a date: kept as the
    number; serials under 60 shifted a day, as Excel's imaginary 1900-02-29 comes after them).

    >>> serial_date_text(44138), serial_date_text(44138.75), serial_date_text(1), serial_date_text(0.5)
    ('2020-11-03', '2020-11-03', '1900-01-01', '0.5')
    """
    try:
        day, fraction = divmod(value, 1)
        time = timedelta(milliseconds=round(fraction * 86_400_000))
        if 0 <= value < 1 and time.days == 0:
            return str(value)
        if 0 < value < 60:
            day += 1
        return (EXCEL_EPOCH + timedelta(days=day) + time).date().isoformat()
    except (ValueError, OverflowError):
        return str(value)


def unique_titles(titles: list[str]) -> list[str]:
    """Blank titles named ``column N``; repeated titles numbered ``Title (1)``."""
    seen: dict[str, int] = {}
    out = []
    for i, title in enumerate(titles):
        title = title or f"column {i + 1}"
        if title in seen:
            seen[title] += 1
            title = f"{title} ({seen[title]})"
        else:
            seen[title] = 0
        out.append(title)
    return out


@dataclass(frozen=True)
class _Book:
    """An open workbook, whichever library reads it: its sheets' names, each sheet's rows of cell values
    (``rows(name, min_row, max_row, max_col)``, 1-based as in Excel, blank cells None) and ``close``."""

    names: list[str]
    rows: Callable[[str, int, int | None, int | None], Iterator[tuple]]
    close: Callable[[], None]


def _open(data: bytes, source: str) -> _Book:
    """The workbook in ``data``, read by calamine as ``.xls``, ``.ods`` or ``.xlsx`` (by content)."""
    if data.startswith(OLE2):
        if "EncryptedPackage".encode("utf-16-le") in data:  # an encrypted .xlsx is an OLE2 container
            raise InputError(f"{source}: {PASSWORD}")
        return _calamine_book(data, source, "xls")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                check_member_size(info, f"{source}!{info.filename}")
            names = set(archive.namelist())
            ods = "content.xml" in names and "xl/workbook.xml" not in names
            if ods:
                _check_ods_size(archive, source)
    except zipfile.BadZipFile as exc:
        kind = "ods" if is_ods(source, data[:200]) else "xlsx"
        raise InputError(f"{source}: not a readable {KINDS[kind]} ({exc})") from None
    return _calamine_book(data, source, "ods" if ods else "xlsx")


_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
_VALUE_TYPE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 value-type"


def _check_ods_size(archive: zipfile.ZipFile, source: str) -> None:
    """Refuse an OpenDocument spreadsheet with more than MAX_CELLS cells holding a value, counting repeats
    (``number-rows-repeated``: a few bytes of XML can stand for millions of cells, all of which calamine
    would hold in memory). Blank repeated cells, which LibreOffice writes to the sheet's end, are free."""
    from xml.parsers import expat

    state = {"cells": 0, "row_repeat": 1}

    def start(tag: str, attributes: dict[str, str]) -> None:
        if tag == f"{_TABLE}table-row":
            state["row_repeat"] = int(attributes.get(f"{_TABLE}number-rows-repeated", "1"))
        elif tag == f"{_TABLE}table-cell" and _VALUE_TYPE in attributes:
            state["cells"] += state["row_repeat"] * int(
                attributes.get(f"{_TABLE}number-columns-repeated", "1")
            )
            if state["cells"] > MAX_CELLS:
                raise InputError(
                    f"{source}: too large to read (over {MAX_CELLS:,} cells with a value); split it or "
                    "save it as CSV"
                )

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    try:
        with archive.open("content.xml") as content:
            parser.ParseFile(content)
    except (expat.ExpatError, ValueError, zlib.error, OSError, EOFError) as exc:
        raise InputError(f"{source}: not a readable {KINDS['ods']} ({_why(exc)})") from None


def _calamine_book(data: bytes, source: str, kind: str) -> _Book:
    """A workbook read by calamine: cells as Python values (numbers as int or float, dates as
    date/datetime, booleans, error cells as their text ``#N/A``), blank cells None, rows and columns
    numbered from A1 as Excel numbers them.

    Calamine is given a temporary copy named ``.xlsx``/``.xls``/``.ods``: so it reads the file as that kind
    and says what is wrong with a broken one (from bytes alone it only says it cannot detect the format).
    An ``.xlsx`` sheet's XML is scanned first (see :func:`_scan_xlsx_sheet`)."""
    import tempfile

    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

    # closed with the book (or at once when it cannot be read)
    copy = tempfile.NamedTemporaryFile(prefix="graphflows-", suffix=f".{kind}")  # noqa: SIM115
    try:
        copy.write(data)
        copy.flush()
        with _stderr_silenced():
            book = CalamineWorkbook.from_path(copy.name)
        names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        parts = _xlsx_sheet_parts(data) if kind == "xlsx" else {}
    except BaseException as exc:
        if not isinstance(exc, (CalamineError, *BROKEN)) and not _panicked(exc):
            raise
        copy.close()
        if isinstance(exc, PasswordError) or "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise InputError(f"{source}: {PASSWORD}") from None
        raise InputError(f"{source}: not a readable {KINDS[kind]} ({_why(exc)})") from None
    loaded: dict[str, tuple[object, dict[tuple[int, int], str]]] = {}

    def rows(name: str, min_row: int = 1, max_row: int | None = None, max_col: int | None = None) -> Iterator:
        if name not in loaded:
            errors = _scanned(data, parts[name], f"{source}!{name}") if name in parts else {}
            try:
                with _stderr_silenced():
                    loaded[name] = book.get_sheet_by_name(name), errors
            except BaseException as exc:
                if not isinstance(exc, CalamineError) and not _panicked(exc):
                    raise
                raise InputError(f"{source}: cannot read the workbook ({_why(exc)})") from None
        return _calamine_rows(*loaded[name], min_row, max_row, max_col, source)

    def close() -> None:
        book.close()
        copy.close()

    return _Book(names, rows, close)


def _calamine_rows(
    sheet,
    errors: dict[tuple[int, int], str],
    min_row: int,
    max_row: int | None,
    max_col: int | None,
    source: str,
) -> Iterator[tuple]:
    """A calamine sheet's rows from ``min_row`` (1-based; calamine yields rows from the first row but
    columns from the first used one, so blank columns before it are put back). ``errors``: the text of
    error cells by (row, column), 1-based (calamine gives them blank)."""
    before = (None,) * (sheet.start[1] if sheet.height else 0)
    errors_by_row: dict[int, dict[int, str]] = {}
    for (row, column), text in errors.items():
        errors_by_row.setdefault(row, {})[column] = text
    try:
        yield from _numbered_rows(sheet, errors_by_row, min_row, max_row, max_col, before)
    except BaseException as exc:
        if not (isinstance(exc, OverflowError) or _panicked(exc)):
            raise
        # a date or duration cell holding a number past any date: calamine stops ("TimeDelta out of
        # bounds", or Python's timedelta overflows)
        raise InputError(f"{source}: cannot read the workbook (calamine failed on a cell: {exc})") from None


def _numbered_rows(sheet, errors_by_row, min_row, max_row, max_col, before) -> Iterator[tuple]:
    for number, row in enumerate(_quietly(sheet.iter_rows()), start=1):
        if max_row is not None and number > max_row:
            return
        if number >= min_row:
            cells = before + tuple(None if value == "" else value for value in row)
            if number in errors_by_row:
                cells = _with_errors(cells, errors_by_row[number])
            yield cells[:max_col] if max_col is not None else cells


#: Rows fetched from calamine at a time with stderr silenced (see :func:`_quietly`).
QUIET_BLOCK = 2_000


def _quietly(rows: Iterator) -> Iterator:
    """``rows`` fetched in blocks with the process's stderr silenced: a Rust panic inside calamine (raised
    here as an exception and reported in one line) prints its own text to stderr first, which no user
    should see."""
    while True:
        with _stderr_silenced():
            block = list(itertools.islice(rows, QUIET_BLOCK))
        if not block:
            return
        yield from block


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at the null device for the block (restored however the block ends)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _with_errors(cells: tuple, at: dict[int, str]) -> tuple:
    """``cells`` with the text of the row's error cells (``{column: text}``, 1-based) put back."""
    out = list(cells) + [None] * (max(at) - len(cells))
    for column, text in at.items():
        out[column - 1] = text
    return tuple(out)


_WORKBOOK_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONS_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _xlsx_sheet_parts(data: bytes) -> dict[str, str]:
    """Each worksheet's name -> its XML part in the zip (``Sheet1`` -> ``xl/worksheets/sheet1.xml``), from
    ``xl/workbook.xml`` and its relationships."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "xl/_rels/workbook.xml.rels" not in names:
            return {}
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in relations.iter(f"{_PACKAGE_NS}Relationship")}
    parts = {}
    for sheet in book.iter(f"{_WORKBOOK_NS}sheet"):
        target = targets.get(sheet.get(f"{_RELATIONS_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            parts[sheet.get("name", "")] = part
    return parts


#: Every cell's tag, and a cell reference in a tag (attributes in any order, either quote).
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_REF = re.compile(rb"""<(?:\w+:)?c\s[^>]*?\br\s*=\s*["']([A-Za-z]+)([0-9]+)""")
#: The row numbers of cells written ``<c r="B12"``, and the columns of those past Z.
_QUICK_ROW = re.compile(rb'<c r="[A-Z]+([0-9]+)"')
_QUICK_WIDE = re.compile(rb'<c r="([A-Z]{2,})[0-9]')
#: Every row's tag, and a row number in a tag.
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s/>]")
_ROW_REF = re.compile(rb"""<(?:\w+:)?row\s[^>]*?\br\s*=\s*["']([0-9]+)""")
#: An error cell's tag (``<c r="D6" t="e">``), its reference, and its value after it (``<v>#N/A</v>``).
_ERROR_TAG = re.compile(rb"""<(?:\w+:)?c\s[^>]*?\bt\s*=\s*["']e["'][^>]*>""")
_TAG_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]+)([0-9]+)""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
#: How much of a sheet's XML is scanned at a time.
_CHUNK = 16 * 1024 * 1024


#: The last sheets scanned: a workbook is opened twice (to know its format, then to read it).
_SCANS: dict[tuple[bytes, str, str], dict[tuple[int, int], str]] = {}


def _scanned(data: bytes, part: str, where: str) -> dict[tuple[int, int], str]:
    """:func:`_scan_xlsx_sheet`, once per workbook's bytes."""
    import hashlib

    key = (hashlib.blake2b(data, digest_size=16).digest(), part, where)
    if key not in _SCANS:
        errors = _scan_xlsx_sheet(data, part, where)
        if len(_SCANS) >= 16:
            _SCANS.clear()
        _SCANS[key] = errors
    return _SCANS[key]


def _scan_xlsx_sheet(data: bytes, part: str, where: str) -> dict[tuple[int, int], str]:
    """The error cells of an ``.xlsx`` sheet (``#N/A``, ``#DIV/0!`` by (row, column), 1-based), after
    checking the sheet's extent: calamine holds a sheet as a full grid up to its last row and column, so a
    cell at ``XFD1048576`` in a few hundred bytes would ask for gigabytes (refused as too large). Cells and
    rows without a reference (calamine numbers them in order) count as one more row or column each."""
    errors: dict[tuple[int, int], str] = {}
    extent = _Extent()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(part) as xml:
        rest = b""
        while True:
            piece = xml.read(_CHUNK)
            text = rest + piece
            cut = text.rfind(b"row>") + 4 if piece else len(text)  # whole rows at a time
            text, rest = text[:cut], text[cut:]
            extent.add(text)
            if extent.rows * extent.columns > MAX_CELLS:
                raise InputError(
                    f"{where}: too large to read (its cells reach row {extent.rows:,} and column "
                    f"{extent.columns:,}: over {MAX_CELLS:,} cells); split it or save it as CSV"
                )
            if b'"e"' in text or b"'e'" in text:  # t="e": an error cell
                errors.update(_error_cells(text))
            if not piece:
                return errors


class _Extent:
    """The last row and column a sheet's cells reach, from its XML read in whole rows."""

    def __init__(self) -> None:
        self.rows = self.columns = self.unnumbered_rows = 0

    def add(self, text: bytes) -> None:
        if not self._add_numbered(text):
            self._add_any(text)

    def _add_numbered(self, text: bytes) -> bool:
        """The common case, fast: every cell written ``<c r="B12"``, as Excel writes them (calamine places a
        numbered cell by its number, whatever its row says). False when some cell is written otherwise."""
        rows = _QUICK_ROW.findall(text)
        if len(rows) != text.count(b"<c ") + text.count(b"<c>") or b":c " in text or b":c>" in text:
            return False
        if rows:
            self.rows = max(self.rows, max(map(int, rows)))
            wide = _QUICK_WIDE.findall(text)
            single = next((c for c in range(26, 0, -1) if b'<c r="%c' % (64 + c) in text), 0)
            self.columns = max(self.columns, single, *(_column(letters) for letters in set(wide)))
        return True

    def _add_any(self, text: bytes) -> None:
        refs = _CELL_REF.findall(text)
        if refs:
            self.rows = max(self.rows, max(map(int, (row for _, row in refs))))
            self.columns = max(self.columns, max(_column(letters) for letters in {c for c, _ in refs}))
        if len(_CELL_TAG.findall(text)) > len(refs):  # cells without a reference: at most all of a row's
            widest = max(len(_CELL_TAG.findall(row)) for row in text.split(b"row>"))
            self.columns = max(self.columns, widest)
        numbered = _ROW_REF.findall(text)
        self.unnumbered_rows += len(_ROW_TAG.findall(text)) - len(numbered)
        last = max(map(int, numbered)) if numbered else 0
        self.rows = max(self.rows, last + self.unnumbered_rows, self.unnumbered_rows)


def _error_cells(text: bytes) -> dict[tuple[int, int], str]:
    errors = {}
    for tag in _ERROR_TAG.finditer(text):
        cell_end = text.find(b"c>", tag.end())  # </c>: the value is before it, after any <f>formula</f>
        ref, value = _TAG_REF.search(tag.group()), _VALUE.search(text, tag.end(), cell_end)
        if ref and value:
            errors[int(ref[2]), _column(ref[1])] = value[1].decode("utf-8", "replace")
    return errors


def _column(letters: bytes) -> int:
    """``b"A"`` -> 1, ``b"AB"`` -> 28, ``b"XFD"`` -> 16384."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _panicked(exc: BaseException) -> bool:
    """Calamine failed on a hostile file (a Rust panic, raised as pyo3's PanicException, a BaseException
    that cannot be imported by name)."""
    return type(exc).__name__ == "PanicException"


def _why(exc: BaseException) -> str:
    if isinstance(exc, ParseError) or type(exc).__name__ == "XmlError":  # ElementTree's, calamine's
        return f"malformed XML: {exc}"
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data: {exc}"
    if str(exc) == "Cannot detect file format":  # calamine, on a damaged or cut-short file
        return "damaged or incomplete: its parts cannot be found"
    return str(exc) or type(exc).__name__


def header_rows(data: bytes, source: str) -> list[set[str]]:
    """The titles (as printed) of each of the first rows of every sheet (for format detection)."""
    book = _open(data, source)
    try:
        found = []
        for name in book.names:
            for row in book.rows(name, 1, HEADER_SEARCH, None):
                found.append({cell_text(v).strip() for v in row or () if v is not None})
        return found
    except BROKEN as exc:
        raise InputError(f"{source}: cannot read the workbook ({_why(exc)})") from None
    finally:
        book.close()


@dataclass(frozen=True)
class Sheet:
    """One sheet read as a table: its name, its header's titles, its rows as text columns and each row's
    position (``Sheet1!5``)."""

    name: str
    titles: set[str]
    frame: pl.DataFrame
    positions: pl.Series


@dataclass(frozen=True)
class Sheets:
    """The sheets of a workbook with a header row, in order, and the names of the others."""

    read: list[Sheet]
    others: list[str]


def read_sheets(
    data: bytes,
    source: str,
    is_header: Callable[[set[str]], bool],
    *,
    date_titles: Callable[[str], bool] = lambda title: False,
    what: str = "a header row",
    every_sheet: bool = False,
) -> Sheets:
    """The first sheet with a header row ``is_header`` accepts (among its first rows), as text columns;
    ``every_sheet``: every sheet with such a header (a workbook with one sheet per month).

    Titles are given to ``is_header`` and ``date_titles`` as printed. Columns whose title ``date_titles``
    accepts read bare numbers as Excel date serials. InputError when no sheet has such a header.
    """
    book = _open(data, source)
    tables: list[Sheet] = []
    others: list[str] = []
    try:
        for name in book.names:
            if tables and not every_sheet:
                others.append(name)
                continue
            for number, header in enumerate(book.rows(name, 1, HEADER_SEARCH, None), 1):
                titles_seen = {cell_text(v).strip() for v in header or () if v is not None}
                if is_header(titles_seen):
                    frame, positions = _table(book, name, number, header, source, date_titles)
                    tables.append(Sheet(name, titles_seen, frame, positions))
                    break
            else:
                others.append(name)
    except BROKEN as exc:
        raise InputError(f"{source}: cannot read the workbook ({_why(exc)})") from None
    finally:
        book.close()
    if not tables:
        raise InputError(f"{source}: no sheet has {what} in its first {HEADER_SEARCH} rows")
    return Sheets(tables, others)


#: What the note naming the sheets read counts (the same words for every file, so notes combine).
SHEETS_READ = "workbook sheet(s) read"


def sheets_note(source: str, read: list[Sheet], others: list[str]) -> FileNote:
    """``book.xlsx: 1 workbook sheet(s) read: Oct-Dec 2017 (3,855 rows); other sheets (not read): Notes``."""
    shown = ", ".join(f"{s.name} ({s.frame.height:,} row(s))" for s in read)
    rest = f"; other sheets (not read): {', '.join(others)}" if others else ""
    return FileNote(f"{source}: {len(read)} {SHEETS_READ}: {shown}{rest}", source, SHEETS_READ, len(read))


def stacked(sheets: list[Sheet]) -> tuple[pl.DataFrame, pl.Series]:
    """Sheets as one table (columns matched by title) and each row's position."""
    if len(sheets) == 1:
        return sheets[0].frame, sheets[0].positions
    return pl.concat([s.frame for s in sheets], how="diagonal"), pl.concat([s.positions for s in sheets])


def _table(
    book: _Book, name: str, number: int, header: tuple, source: str, date_titles: Callable[[str], bool]
) -> tuple[pl.DataFrame, pl.Series]:
    """The rows below the header row ``number``, as text columns (trailing blank rows are not records)."""
    cells_in_header = [cell_text(h).strip() for h in header]
    while cells_in_header and not cells_in_header[-1]:
        cells_in_header.pop()
    titles = unique_titles(cells_in_header)
    width = len(titles)
    dated = {i for i, t in enumerate(titles) if date_titles(t)}
    columns: list[list[str]] = [[] for _ in titles]
    positions: list[str] = []
    blank_run: list[int] = []  # blank rows kept only when a row with data follows them
    for row_number, row in enumerate(book.rows(name, number + 1, None, max(width, 1)), start=number + 1):
        cells = row or ()
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            blank_run.append(row_number)
            continue
        for blank in blank_run:
            _append(columns, positions, (), dated, f"{name}!{blank}")
        blank_run.clear()
        _append(columns, positions, cells, dated, f"{name}!{row_number}")
        if len(positions) * width > MAX_CELLS:
            raise InputError(
                f"{source}: sheet {name} is too large to read ({len(positions):,} rows x {width:,} "
                f"columns is over {MAX_CELLS:,} cells); split it or save it as CSV"
            )
    frame = pl.DataFrame({t: pl.Series(t, c, dtype=pl.String) for t, c in zip(titles, columns, strict=True)})
    return frame, pl.Series("line", positions, dtype=pl.String)


def _append(
    columns: list[list[str]], positions: list[str], cells: tuple, dated: set[int], where: str
) -> None:
    for i, column in enumerate(columns):
        value = cells[i] if i < len(cells) else None
        column.append(cell_text(value, serial_date=i in dated))
    positions.append(where)
