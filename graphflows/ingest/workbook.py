"""Excel workbooks (XLSX, read with openpyxl in read-only mode) as text tables.

Cells become text the way a CSV export would show them: dates as ISO ``2020-11-03``, whole numbers
without ``.0``, amounts exact to the penny (``41133.770000000004`` -> ``41133.77``). Positions are
``Sheet!row`` so errors point at the cell row.

>>> cell_text(41133.770000000004), cell_text(44138, serial_date=True), cell_text(None)
('41133.77', '2020-11-03', '')
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import ParseError

import polars as pl

from graphflows.ingest.base import check_member_size
from graphflows.ingest.parsing import number_to_minor
from graphflows.model import InputError
from graphflows.model.money import format_minor
from graphflows.model.notes import FileNote

#: How many rows at the top of a sheet are searched for the header row.
HEADER_SEARCH = 20
#: A sheet with more cells than this (rows x header columns) is refused rather than read into memory.
MAX_CELLS = 30_000_000
#: What openpyxl raises on a broken workbook (bad zip, bad XML, corrupt deflate data, missing parts).
BROKEN = (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, EOFError, ParseError, zlib.error,
          IndexError, AttributeError)  # fmt: skip


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
        from openpyxl.utils.datetime import from_excel

        try:
            return from_excel(value).date().isoformat()
        except (ValueError, OverflowError, TypeError, AttributeError):
            return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        try:
            return format_minor(number_to_minor(value))
        except ValueError:
            return repr(value)
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


def _open(data: bytes, source: str):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                check_member_size(info, f"{source}!{info.filename}")
    except zipfile.BadZipFile as exc:
        raise InputError(f"{source}: not a readable XLSX workbook ({exc})") from None
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except BROKEN as exc:
        raise InputError(f"{source}: not a readable XLSX workbook ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, ParseError):
        return f"malformed XML: {exc}"
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data: {exc}"
    return str(exc) or type(exc).__name__


def _sheets(book) -> Iterator:
    """Every worksheet, its stated size ignored: the ``<dimension>`` element may understate the data
    (rows and columns past it would be lost) or claim ``A1:XFD1048576`` (memory for the whole range)."""
    for sheet in book.worksheets:
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        yield sheet


def header_rows(data: bytes, source: str) -> list[set[str]]:
    """The titles (as printed) of each of the first rows of every sheet (for format detection)."""
    book = _open(data, source)
    try:
        found = []
        for sheet in _sheets(book):
            for row in sheet.iter_rows(values_only=True, max_row=HEADER_SEARCH):
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
        for sheet in _sheets(book):
            if tables and not every_sheet:
                others.append(sheet.title)
                continue
            for number, header in enumerate(sheet.iter_rows(values_only=True, max_row=HEADER_SEARCH), 1):
                titles_seen = {cell_text(v).strip() for v in header or () if v is not None}
                if is_header(titles_seen):
                    frame, positions = _table(sheet, number, header, source, date_titles)
                    tables.append(Sheet(sheet.title, titles_seen, frame, positions))
                    break
            else:
                others.append(sheet.title)
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
    sheet, number: int, header: tuple, source: str, date_titles: Callable[[str], bool]
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
    for row_number, row in enumerate(
        sheet.iter_rows(min_row=number + 1, max_col=max(width, 1), values_only=True), start=number + 1
    ):
        cells = row or ()
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            blank_run.append(row_number)
            continue
        for blank in blank_run:
            _append(columns, positions, (), dated, f"{sheet.title}!{blank}")
        blank_run.clear()
        _append(columns, positions, cells, dated, f"{sheet.title}!{row_number}")
        if len(positions) * width > MAX_CELLS:
            raise InputError(
                f"{source}: sheet {sheet.title} is too large to read ({len(positions):,} rows x {width:,} "
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
