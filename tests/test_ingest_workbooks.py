"""Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks, and spend CSVs separated by semicolons or tabs:
read with the rules the .xlsx and comma CSV paths apply.

The workbooks are written here, with xlwt (.xls) and odfpy (.ods), from Oxford City Council's real
"expenditure over £500" file (October to December 2017, in ``tests/data/real/lgtc-councils/councils.zip``,
OGL; see tests/data/README.md), laid out as councils publish them: a summary sheet of supplier totals, the
payments under title rows (dates as date cells, amounts as numbers), a notes sheet. The same layout saved
as .xlsx by openpyxl is the reference: every kind must give the same flows.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from graphflows.cli.main import main
from graphflows.ingest import SourceRules, read_flows
from graphflows.ingest.parsing import parse_amounts
from graphflows.model import InputError
from tests.test_ingest_odd_inputs import OXFORD, OXFORD_PAYER, oxford_rows, pence

#: Amounts as a spreadsheet holds them after arithmetic: 0.1 + 0.2 and 1234.1 are not exact in binary.
FLOAT_ARTEFACTS = [
    ("WORLD VISION UK", 0.1 + 0.2, Decimal("0.30")),
    ("STOWE SCHOOL", 1234.1, Decimal("1234.10")),
]


def council_sheets(count: int = 40) -> tuple[dict[str, list[list[object]]], int, int]:
    """Oxford's workbook as sheets of cell values, the payments' money in pence (by Decimal, from the CSV
    text) and the summary sheet's money in pence."""
    header, rows = oxford_rows(count)
    at = {title: i for i, title in enumerate(header)}
    payments: list[list[object]] = [[OXFORD], ["Expenditure over £500"], [], list(header)]
    for row in rows:
        cells: list[object] = list(row)
        cells[at["Paid Date"]] = dt.datetime.strptime(row[at["Paid Date"]], "%d/%m/%Y").date()
        cells[at["Amount"]] = float(Decimal(row[at["Amount"]]))
        payments.append(cells)
    for supplier, amount, _ in FLOAT_ARTEFACTS:
        cells = list(rows[0])
        cells[at["Paid Date"]] = dt.date(2017, 12, 29)
        cells[at["Supplier Name"]], cells[at["Amount"]] = supplier, amount
        payments.append(cells)
    totals: dict[str, Decimal] = {}
    for row in rows:
        name = row[at["Supplier Name"]] or "(blank)"
        totals[name] = totals.get(name, Decimal(0)) + Decimal(row[at["Amount"]])
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:5]
    summary: list[list[object]] = [["Supplier Name", "Amount"], *([n, float(t)] for n, t in top)]
    sheets = {
        "Summary by supplier": summary,
        "Oct-Dec 2017": payments,
        "Notes": [["Published under the Open Government Licence"]],
    }
    money = pence(rows, header) + int(sum(d for _, _, d in FLOAT_ARTEFACTS) * 100)
    return sheets, money, int(sum(t for _, t in top) * 100)


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([None if v == "" else v for v in row])
    book.save(path)
    return path


def write_xls(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import xlwt

    book = xlwt.Workbook()
    dated = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value == "":
                    continue
                sheet.write(r, c, value, dated) if isinstance(value, dt.date) else sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    book = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            line = TableRow()
            for value in row:
                if value == "":
                    cell = TableCell()
                elif isinstance(value, dt.date):
                    cell = TableCell(valuetype="date", datevalue=value.isoformat())
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    cell = TableCell(valuetype="float", value=repr(value))
                else:
                    cell = TableCell(valuetype="string")
                if value != "":
                    cell.addElement(P(text=str(value)))
                line.addElement(cell)
            table.addElement(line)
        book.spreadsheet.addElement(table)
    book.save(str(path))
    return path


WRITERS = {"xls": write_xls, "ods": write_ods}


def same_columns(flows: pl.DataFrame) -> pl.DataFrame:
    return flows.drop("source").sort("line")


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_a_council_workbook_reads_like_the_xlsx_to_the_penny_with_the_same_notes(tmp_path, kind):
    sheets, money, summary_money = council_sheets(40)
    path = WRITERS[kind](tmp_path / f"oxford.{kind}", sheets)
    result = read_flows([path], sources=OXFORD_PAYER)
    flows = result.flows
    assert int(flows["amount_minor"].sum()) == money
    assert flows.filter(pl.col("payee_name") == "WORLD VISION UK")["amount_minor"].to_list()[-1] == 30
    assert 123410 in flows.filter(pl.col("payee_name") == "STOWE SCHOOL")["amount_minor"].to_list()
    assert flows.height == 42 and flows["line"][0] == "Oct-Dec 2017!5"
    header, rows = oxford_rows(40)
    paid = [dt.datetime.strptime(r[header.index("Paid Date")], "%d/%m/%Y").date() for r in rows]
    assert flows["date"].to_list() == paid + [dt.date(2017, 12, 29)] * 2
    assert f"{path}: 1 workbook sheet(s) read: Oct-Dec 2017 (42 row(s)); other sheets (not read): Notes" in (
        result.notes
    )
    aside = next(n for n in result.notes if "NOT read" in n)
    assert aside.startswith(f"{path}: sheet(s) NOT read: Summary by supplier (5 row(s), ")
    assert f"GBP {Decimal(summary_money) / 100:,.2f}; columns: Supplier Name, Amount)" in aside
    reference = read_flows([write_xlsx(tmp_path / "oxford.xlsx", sheets)], sources=OXFORD_PAYER)
    assert same_columns(flows).equals(same_columns(reference.flows))
    assert [n.replace(".xlsx", f".{kind}") for n in reference.notes] == result.notes


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_a_workbook_is_known_by_its_content_whatever_its_name(tmp_path, kind):
    sheets, money, _ = council_sheets(10)
    path = WRITERS[kind](tmp_path / f"oxford.{kind}", sheets)
    renamed = tmp_path / "oxford-spend.xlsx"  # a workbook saved under the wrong ending
    renamed.write_bytes(path.read_bytes())
    assert int(read_flows([renamed], sources=OXFORD_PAYER).flows["amount_minor"].sum()) == money


def test_an_xlsx_named_xls_is_read_as_the_xlsx_it_is(tmp_path):
    sheets, money, _ = council_sheets(10)
    path = write_xlsx(tmp_path / "oxford.xlsx", sheets)
    renamed = tmp_path / "oxford.xls"
    renamed.write_bytes(path.read_bytes())
    assert int(read_flows([renamed], sources=OXFORD_PAYER).flows["amount_minor"].sum()) == money


def test_workbooks_in_a_zip_and_given_by_a_glob_follow_the_payer_rule(tmp_path):
    header, rows = oxford_rows(30)
    first, second = council_sheets(30)[0], council_sheets(30)[0]
    first["Oct-Dec 2017"] = first["Oct-Dec 2017"][:4] + first["Oct-Dec 2017"][4:19]  # lines 1-15
    second["Oct-Dec 2017"] = second["Oct-Dec 2017"][:4] + second["Oct-Dec 2017"][19:34]  # lines 16-30
    archive = tmp_path / "oxford.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("q3/oxford-1.xls", write_xls(tmp_path / "a.xls", first).read_bytes())
        z.writestr("q3/oxford-2.ods", write_ods(tmp_path / "b.ods", second).read_bytes())
    rules = SourceRules.from_options(payers=[f"*.xls={OXFORD}", f"*.ods={OXFORD}"])
    result = read_flows([archive], sources=rules)
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    assert set(result.flows["source"]) == {f"{archive}!q3/oxford-1.xls", f"{archive}!q3/oxford-2.ods"}
    given = sorted(tmp_path.glob("*.[xo]*s"))  # what the shell gives for *.xls *.ods: a.xls, b.ods
    assert [p.name for p in given] == ["a.xls", "b.ods"]
    assert read_flows(given, sources=rules).flows["amount_minor"].sum() == pence(rows, header)


def test_a_broken_xls_is_one_line_naming_the_file_and_exits_2(tmp_path, capsys):
    sheets, _, _ = council_sheets(10)
    whole = write_xls(tmp_path / "whole.xls", sheets).read_bytes()
    cut = tmp_path / "oxford.xls"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as caught:
        read_flows([cut], sources=OXFORD_PAYER)
    assert str(caught.value).startswith(f"{cut}: not a readable Excel 97-2003 workbook (.xls) (")
    assert "\n" not in str(caught.value)
    assert main(["orgs", str(cut), "--payer", f"*={OXFORD}"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"graphflows: {caught.value}" and "Traceback" not in err


def test_a_broken_ods_in_a_zip_names_the_member(tmp_path):
    whole = write_ods(tmp_path / "whole.ods", council_sheets(5)[0]).read_bytes()
    archive = tmp_path / "oxford.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("oxford.ods", whole[:300])
    with pytest.raises(InputError) as caught:
        read_flows([archive], sources=OXFORD_PAYER)
    assert str(caught.value).startswith(
        f"{archive}!oxford.ods: not a readable OpenDocument spreadsheet (.ods) ("
    )


def test_a_password_protected_workbook_is_told_to_have_its_password_removed(tmp_path):
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = write_xlsx(tmp_path / "plain.xlsx", council_sheets(5)[0])
    locked = tmp_path / "oxford.xlsx"
    with plain.open("rb") as given, locked.open("wb") as out:
        ooxml.OOXMLFile(given).encrypt("Oxford2017", out)
    with pytest.raises(InputError) as caught:
        read_flows([locked], sources=OXFORD_PAYER)
    assert str(caught.value) == (
        f"{locked}: a password-protected (encrypted) workbook, which graphflows does not read: open it in "
        "Excel, remove the password (File > Info > Protect Workbook) and save it again, or save it as CSV "
        "UTF-8"
    )


# --------------------------------------------------------------------------- CSVs separated by ; or tabs


def separated(tmp_path: Path, name: str, separator: str, count: int = 25) -> tuple[Path, int]:
    """Oxford's lines with ``separator`` between fields, under a title line; their money in pence."""
    header, rows = oxford_rows(count)
    lines = [OXFORD + " spend over £500", *(separator.join(r) for r in [header, *rows])]
    (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / name, pence(rows, header)


@pytest.mark.parametrize(
    ("name", "separator", "called"),
    [("oxford.csv", ";", "semicolon"), ("oxford.tsv", "\t", "tab"), ("oxford.txt", "\t", "tab")],
)
def test_a_csv_separated_by_semicolons_or_tabs_is_read_with_a_note(tmp_path, name, separator, called):
    path, money = separated(tmp_path, name, separator)
    result = read_flows([path], sources=OXFORD_PAYER)
    assert int(result.flows["amount_minor"].sum()) == money and result.flows.height == 25
    assert result.flows["line"][0] == "3"  # the header is on line 2, below the title
    assert f"{path}: columns separated by {called}s, not commas: read as {called}-separated" in result.notes


def test_a_comma_file_with_semicolons_in_its_fields_stays_a_comma_file(tmp_path):
    header, rows = oxford_rows(5)
    rows[0][header.index("Supplier Name")] = "OXFORD; CITY; HOMES"
    text = ",".join(header) + "\n" + "\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\n"
    (tmp_path / "oxford.csv").write_text(text.replace("Service Area", "Service;Area;Name"))
    result = read_flows([tmp_path / "oxford.csv"], sources=OXFORD_PAYER)
    assert result.flows["payee_name"][0] == "OXFORD; CITY; HOMES"
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    assert not any("separated" in n for n in result.notes)


def test_parse_amounts_refuses_a_decimal_comma_rather_than_misreading_it():
    minor, problem = parse_amounts(pl.Series(["1.234,56", "12,50", "1,234.56"]))
    assert minor.to_list() == [None, None, 123456]
    assert problem.to_list()[:2] == ["amount 1.234,56 is not a number", "amount 12,50 is not a number"]


def test_semicolon_amounts_with_decimal_commas_are_read_exactly(tmp_path):
    amounts = ["1.234,56", "834,29", "-12,5", "25.000", "(1.000,01)"]
    expected = sum(Decimal(a.strip("()").replace(".", "").replace(",", ".")) * (-1 if "(" in a else 1)
                   for a in amounts)  # fmt: skip
    lines = ["Paid Date;Supplier Name;Amount"] + [
        f"02/10/2017;{name};{a}"
        for name, a in zip(["STOWE SCHOOL", "UK GAS CONNECTION LTD"] * 3, amounts, strict=False)
    ]
    (tmp_path / "oxford.csv").write_text("\n".join(lines) + "\n")
    result = read_flows([tmp_path / "oxford.csv"], sources=OXFORD_PAYER)
    assert result.flows["amount_minor"].to_list() == [123456, 83429, -1250, 2500000, -100001]
    assert int(result.flows["amount_minor"].sum()) == int(expected * 100)
    path = tmp_path / "oxford.csv"
    assert f"{path}: amounts written with decimal commas (1.234,56): read as such" in result.notes


def test_a_file_mixing_decimal_commas_and_points_is_refused_line_by_line_never_misread(tmp_path):
    lines = ["Paid Date;Supplier Name;Amount", "02/10/2017;STOWE SCHOOL;1.234,56", "02/10/2017;BBC;7.50"]
    (tmp_path / "oxford.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        read_flows([tmp_path / "oxford.csv"], sources=OXFORD_PAYER)
    assert [(p.line, p.reason) for p in caught.value.problems] == [("2", "amount 1.234,56 is not a number")]
    result = read_flows([tmp_path / "oxford.csv"], sources=OXFORD_PAYER, skip_invalid=True)
    assert result.flows["amount_minor"].to_list() == [750]


def test_a_comma_csv_with_quoted_decimal_commas_is_refused_not_misread(tmp_path):
    (tmp_path / "oxford.csv").write_text(
        'Paid Date,Supplier Name,Amount\n02/10/2017,STOWE SCHOOL,"1.234,56"\n'
    )
    with pytest.raises(InputError) as caught:
        read_flows([tmp_path / "oxford.csv"], sources=OXFORD_PAYER)
    assert [p.reason for p in caught.value.problems] == ["amount 1.234,56 is not a number"]


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_a_360giving_workbook_saved_as_xls_or_ods_gives_the_grants_of_the_xlsx(tmp_path, kind):
    from openpyxl import load_workbook
    from openpyxl.utils.escape import unescape

    from tests.data import ALWF_XLSX

    # openpyxl leaves the XML escape of a carriage return (a description reads "Get Into Theatre_x000D_
    # Online Resource"); graphflows (calamine) decodes it, as Excel does. An .ods keeps no bare carriage
    # return (its XML reads one as a line end), so there both sides are compared with line ends.
    line_ends = (lambda text: text.replace("\r", "\n")) if kind == "ods" else (lambda text: text)
    book = load_workbook(ALWF_XLSX, read_only=True, data_only=True)
    sheets = {
        sheet.title: [
            ["" if v is None else line_ends(unescape(v)) if isinstance(v, str) else v for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        for sheet in book.worksheets
    }
    book.close()
    path = WRITERS[kind](tmp_path / f"alwf.{kind}", sheets)
    result, reference = read_flows([path]), read_flows([ALWF_XLSX])
    assert {f.format for f in result.files} == {"360giving"}
    expected = same_columns(reference.flows)
    if kind == "ods":
        expected = expected.with_columns(pl.col(pl.String).str.replace_all("\r", "\n", literal=True))
    assert same_columns(result.flows).equals(expected)
    assert result.totals() == reference.totals()


def test_an_ods_whose_repeated_rows_stand_for_too_many_cells_is_refused_before_it_is_loaded(tmp_path):
    """A few bytes of ``number-rows-repeated`` would have calamine hold every repeated cell in memory."""
    small = write_ods(tmp_path / "small.ods", {"Spend": [["Paid Date", "Supplier Name", "Amount"]]})
    bomb = tmp_path / "oxford.ods"
    row = (
        '<table:table-row table:number-rows-repeated="20000000"><table:table-cell office:value-type="string">'
        '<text:p>STOWE SCHOOL</text:p></table:table-cell><table:table-cell office:value-type="float" '
        'office:value="500"><text:p>500</text:p></table:table-cell></table:table-row>'
    )
    with zipfile.ZipFile(small) as given, zipfile.ZipFile(bomb, "w") as out:
        for info in given.infolist():
            data = given.read(info)
            if info.filename == "content.xml":
                data = data.replace(b"</table:table>", row.encode() + b"</table:table>")
            out.writestr(info, data, compress_type=info.compress_type)
    with pytest.raises(InputError) as caught:
        read_flows([bomb], sources=OXFORD_PAYER)
    assert str(caught.value) == (
        f"{bomb}: too large to read (over 30,000,000 cells with a value); split it or save it as CSV"
    )


def test_xlsx_error_cells_read_as_their_text_and_escaped_carriage_returns_decoded(tmp_path):
    """Calamine gives an error cell blank; graphflows reads its text from the sheet, so a looked-up amount
    that failed (``#N/A``) is rejected as such, not taken for a missing one. ``_x000D_`` is Excel's escape
    of a carriage return in a cell's text."""
    sheets, _, _ = council_sheets(3)
    payments = sheets["Oct-Dec 2017"]
    at = {title: i for i, title in enumerate(payments[3])}
    payments[4][at["Amount"]] = "#N/A"  # openpyxl writes a string like an error code as an error cell
    payments[5][at["Supplier Name"]] = "#REF!"
    payments[6][at["Supplier Name"]] = "Mind_x000D_ Ltd"
    path = write_xlsx(tmp_path / "oxford.xlsx", sheets)
    assert b't="e"><v>#N/A</v>' in zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml")
    result = read_flows([path], sources=OXFORD_PAYER, skip_invalid=True)
    assert result.rejects.select("line", "reason").rows() == [
        ("Oct-Dec 2017!5", "amount #N/A is not a number")
    ]
    names = dict(result.flows.select("line", "payee_name_given").iter_rows())
    assert (names["Oct-Dec 2017!6"], names["Oct-Dec 2017!7"]) == ("#REF!", "Mind\r Ltd")


def test_an_xlsx_whose_cells_reach_too_far_is_refused_before_calamine_holds_its_grid(tmp_path):
    """Calamine holds a sheet as a full grid: two cells, at A1 and XFD1048576, would ask for 550 GB (the
    process was killed). The sheet's extent is checked first; the message names the sheet."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Spend"
    book.active.append(["Paid Date", "Supplier Name", "Amount"])
    book.active["XFD1048576"] = "end"
    book.save(tmp_path / "far.xlsx")
    with pytest.raises(InputError) as caught:
        read_flows([tmp_path / "far.xlsx"], sources=OXFORD_PAYER)
    assert str(caught.value) == (
        f"{tmp_path / 'far.xlsx'}!Spend: too large to read (its cells reach row 1,048,576 and column 16,384: "
        "over 30,000,000 cells); split it or save it as CSV"
    )


@pytest.mark.parametrize(
    ("serial", "number_format", "why"),
    [
        (-1e14, "yyyy-mm-dd hh:mm", "TimeDelta::milliseconds out of bounds"),  # a Rust panic in calamine
        (9.3e12, "[h]:mm:ss", "days=2147483647; must have magnitude <= 999999999"),  # Python's timedelta
    ],
)
def test_a_date_cell_past_any_date_is_one_line_naming_the_file_with_nothing_else_on_stderr(
    tmp_path, capfd, serial, number_format, why
):
    """Calamine cannot turn such a cell into a date or duration: the workbook is refused in one line, and
    the panic's own text (printed by Rust straight to the process's stderr) is not shown."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Paid Date", "Supplier Name", "Amount"])
    book.active.append([dt.date(2017, 10, 2), "Oxford Direct Services", 1200])
    book.active["A2"].value = serial
    book.active["A2"].number_format = number_format
    book.save(tmp_path / "far-date.xlsx")
    code = main(
        [
            "analyse",
            str(tmp_path / "far-date.xlsx"),
            "--payer",
            "*=Oxford City Council",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capfd.readouterr().err
    assert code == 2
    failed = f"cannot read the workbook (calamine failed on a cell: {why})"
    assert err == f"graphflows: {tmp_path / 'far-date.xlsx'}: {failed}\n"
    assert not (tmp_path / "o").exists()
