"""Read ``.xlsx`` workbooks with calamine (what graphflows uses) and with openpyxl (what it used before) and
report every difference: each cell as text, and each file's FileRead (flows, every column; rejects; notes;
counts).

``python tools/compare_xlsx_readers.py [PATH ...]`` (folders are searched for ``*.xlsx``; default: the real
workbooks in /work/shared/data/real and tests/data, the council and hostile workbooks the tests write, and
workbooks of edge cases written here). Needs openpyxl (the ``test`` extra). Exit 1 when anything differs
other than Excel's ``_xHHHH_`` escapes, which openpyxl leaves in the text and calamine decodes (the
differences are printed; the file is then compared again with openpyxl's text decoded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphflows.ingest import workbook  # noqa: E402
from graphflows.ingest.reader import read_files  # noqa: E402
from graphflows.ingest.sources import SourceRules  # noqa: E402
from graphflows.model import InputError  # noqa: E402
from graphflows.model.errors import NoPayerError  # noqa: E402
from tests.hostile.build import rewrite_member  # noqa: E402

REAL = [Path("/work/shared/data/real"), ROOT / "tests" / "data"]
#: A payer for spend files that name none (the same for both readers).
ANY_PAYER = SourceRules.from_options(payers=["*=Comparison Payer"])
SHOWN = 12


def openpyxl_book(data: bytes, source: str, decode: bool = False) -> workbook._Book:
    """An ``.xlsx`` read by openpyxl (read-only, cached values), as graphflows read it before calamine;
    ``decode``: with Excel's ``_xHHHH_`` escapes in text decoded (``_x000D_`` is a carriage return), which
    openpyxl leaves as they are and calamine decodes."""
    from openpyxl import load_workbook
    from openpyxl.utils.escape import unescape

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # the <dimension> element is not trusted
            sheets[sheet.title] = sheet
    except workbook.BROKEN as exc:
        raise InputError(f"{source}: not a readable XLSX workbook ({workbook._why(exc)})") from None

    def rows(name, min_row=1, max_row=None, max_col=None):
        found = sheets[name].iter_rows(min_row=min_row, max_row=max_row, max_col=max_col, values_only=True)
        if not decode:
            return found
        return (tuple(unescape(v) if isinstance(v, str) else v for v in row) for row in found)

    return workbook._Book(list(sheets), rows, book.close)


@contextlib.contextmanager
def reading_with(reader: str) -> Iterator[None]:
    """``.xlsx`` read by ``"openpyxl"`` (``"openpyxl, decoded"``: its ``_xHHHH_`` escapes decoded) or
    ``"calamine"`` (graphflows' own) while the block runs."""
    own = workbook._open
    if reader.startswith("openpyxl"):

        def patched(data: bytes, source: str) -> workbook._Book:
            if data[:2] == b"PK" and not workbook.is_ods(source, data[:200]):
                return openpyxl_book(data, source, decode=reader.endswith("decoded"))
            return own(data, source)

        workbook._open = patched
    try:
        yield
    finally:
        workbook._open = own


def cells(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet's rows, every cell as graphflows' text (trailing blanks dropped)."""
    book = workbook._open(path.read_bytes(), str(path))
    try:
        out = {}
        for name in book.names:
            rows = []
            for row in book.rows(name, 1, None, None):
                text = [workbook.cell_text(v) for v in row or ()]
                while text and not text[-1]:
                    text.pop()
                rows.append(text)
            while rows and not rows[-1]:
                rows.pop()
            out[name] = rows
        return out
    finally:
        book.close()


def file_reads(path: Path) -> list[dict[str, object]] | str:
    """Each FileRead of the file as comparable values, or the error message."""
    try:
        try:
            reads = read_files(path, None, SourceRules(), None)
        except NoPayerError:
            reads = read_files(path, None, ANY_PAYER, None)
    except InputError as exc:
        return f"error: {exc}"
    return [
        {
            "format": r.format,
            "records_read": r.records_read,
            "non_money": r.non_money,
            "notes": [str(n) for n in r.notes],
            "flows": r.flows,
            "rejects": r.rejects,
        }
        for r in reads
    ]


def compare(path: Path, old_reader: str = "openpyxl") -> list[str]:
    """The differences between ``old_reader`` and calamine on one workbook (empty when none)."""
    found: list[str] = []
    results = {}
    for reader in (old_reader, "calamine"):
        with reading_with(reader):
            try:
                sheet_cells = cells(path)
            except InputError as exc:
                sheet_cells = {"(error)": [[str(exc)]]}
            results[reader] = sheet_cells, file_reads(path)
    (old_cells, old_reads), (new_cells, new_reads) = results[old_reader], results["calamine"]
    if list(old_cells) != list(new_cells):
        found.append(f"sheets: openpyxl {list(old_cells)}, calamine {list(new_cells)}")
    for name in old_cells.keys() & new_cells.keys():
        old, new = old_cells[name], new_cells[name]
        for number in range(max(len(old), len(new))):
            a = old[number] if number < len(old) else []
            b = new[number] if number < len(new) else []
            for column in range(max(len(a), len(b))):
                x = a[column] if column < len(a) else ""
                y = b[column] if column < len(b) else ""
                if x != y:
                    found.append(
                        f"cell {name}!{_letters(column + 1)}{number + 1}: openpyxl {x!r}, calamine {y!r}"
                    )
    found += _compare_reads(old_reads, new_reads)
    return found


def _compare_reads(old: list[dict[str, object]] | str, new: list[dict[str, object]] | str) -> list[str]:
    if isinstance(old, str) or isinstance(new, str):
        return [] if old == new else [f"read: openpyxl {_short(old)}, calamine {_short(new)}"]
    if len(old) != len(new):
        return [f"read: openpyxl {len(old)} file read(s), calamine {len(new)}"]
    found = []
    for a, b in zip(old, new, strict=True):
        for key in ("format", "records_read", "non_money", "notes"):
            if a[key] != b[key]:
                found.append(f"{key}: openpyxl {a[key]!r}, calamine {b[key]!r}")
        for key in ("flows", "rejects"):
            found += _compare_frames(key, a[key], b[key])
    return found


def _compare_frames(what: str, old: pl.DataFrame, new: pl.DataFrame) -> list[str]:
    if old.columns != new.columns or old.height != new.height:
        return [f"{what}: openpyxl {old.shape} {old.columns}, calamine {new.shape} {new.columns}"]
    found = []
    for column in old.columns:
        a, b = old[column].to_list(), new[column].to_list()
        found += [
            f"{what}.{column} row {i + 1}: openpyxl {x!r}, calamine {y!r}"
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            if x != y
        ]
    return found


def _short(value: object) -> str:
    return value if isinstance(value, str) else f"{len(value)} file read(s)"


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def written_by_tests(folder: Path) -> list[Path]:
    """The council workbook and the hostile grants workbook the tests write, saved in ``folder``."""
    from tests.hostile.build import GRANT_HEADER, grant_row
    from tests.hostile.build import workbook as grants_workbook
    from tests.test_ingest_workbooks import council_sheets, write_xlsx

    sheets, _, _ = council_sheets(40)
    council = write_xlsx(folder / "oxford-council.xlsx", sheets)
    grants = folder / "hostile-grants.xlsx"
    grants.write_bytes(grants_workbook([grant_row(i) for i in range(20)] + [[None] * 9], GRANT_HEADER))
    return [council, grants]


def edge_cases(folder: Path) -> list[Path]:
    """Workbooks of the cases a reader may get wrong, written by openpyxl (cached values as openpyxl writes
    them: a formula has none), in the 1900 and the 1904 date system."""
    from openpyxl import Workbook

    written = []
    for system in ("1900", "1904"):
        book = Workbook()
        if system == "1904":
            book.epoch = dt.datetime(1904, 1, 1)
        sheet = book.active
        sheet.title = "Spend"
        sheet.append(["Council spend over £500"])
        sheet.merge_cells("A1:F1")
        sheet.append([])
        sheet.append(["Date", "Supplier Name", "Company Number", "Amount", "Share", "Paid"])
        rows = [
            [dt.date(2020, 11, 3), "Shelter", "01234567", 41133.770000000004, 0.15, True],
            [dt.datetime(2020, 11, 4, 9, 30), "Age UK", "00012345", 1234.1, 1, False],
            ["03/11/2020", "Crisis", "SC012345", 0.1 + 0.2, "15%", "yes"],
            ["2020-11-05", "Barnardo's", 12345678901234567890, "=SUM(D4:D6)", "#N/A", None],
            [44140, "Mind_x000D_ Ltd", "GB-COH-01234567", -300, "#DIV/0!", True],
            [dt.date(1904, 1, 2), "  Spaces  ", "'0123", 99999999999.99, 0.125, None],
        ]
        for row in rows:
            sheet.append(row)
        for row in sheet.iter_rows(min_row=4, min_col=5, max_col=5):
            row[0].number_format = "0%"
        sheet["D10"].number_format = "£#,##0.00"
        sheet["A10"].number_format = "dd/mm/yyyy"
        hidden = book.create_sheet("Lookup")
        hidden.sheet_state = "hidden"
        hidden.append(["Supplier Name", "Amount"])
        hidden.append(["Shelter", 1])
        book.create_sheet("Notes").append(["Published under the Open Government Licence"])
        path = folder / f"edge-cases-{system}.xlsx"
        book.save(path)
        written.append(path)
    cached = folder / "edge-cases-cached-formulas.xlsx"  # as Excel saves formulas: each with its value
    sheet = "xl/worksheets/sheet1.xml"
    cached.write_bytes(rewrite_member(written[0].read_bytes(), sheet, with_cached_values))
    return [*written, cached]


def with_cached_values(xml: bytes) -> bytes:
    """The edge-case sheet with formulas and their values as Excel saves them: a sum, a failed lookup
    (``#N/A``), a text result."""
    for old, new in (
        (b"<f>SUM(D4:D6)</f><v />", b"<f>SUM(D4:D6)</f><v>42367.87</v>"),
        (b"<v>#N/A</v>", b"<f>VLOOKUP(B7,Lookup!A:B,2,FALSE)</f><v>#N/A</v>"),
        (
            b'<c r="F8" t="b"><v>1</v></c>',
            b'<c r="F8" t="str"><f>IF(D8&lt;0,"credit","")</f><v>credit</v></c>',
        ),
    ):
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml


def workbooks(given: list[str], folder: Path) -> list[Path]:
    paths = [Path(p) for p in given] if given else REAL + written_by_tests(folder) + edge_cases(folder)
    found = []
    for path in paths:
        found += sorted(path.rglob("*.xlsx")) if path.is_dir() else [path]
    return found


def main(given: list[str]) -> int:
    differing = escapes = 0
    with tempfile.TemporaryDirectory() as folder:
        paths = workbooks(given, Path(folder))
        for path in paths:
            found = compare(path)
            if found and not compare(path, "openpyxl, decoded"):
                print(f"same once openpyxl's _xHHHH_ escapes are decoded: {path.name}")
                escapes += 1
            else:
                differing += bool(found)
                print(f"{'DIFFERS' if found else 'same'}: {path.name} ({len(found)} difference(s))")
            for line in found[:SHOWN]:
                print(f"    {line}")
            if len(found) > SHOWN:
                print(f"    ... and {len(found) - SHOWN} more")
    print(
        f"{len(paths)} workbook(s) compared; {differing} differ; {escapes} differ only as openpyxl leaves "
        "Excel's _xHHHH_ escapes (_x000D_, a carriage return) undecoded"
    )
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
