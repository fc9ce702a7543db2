"""Inputs a newcomer brings that are not quite what graphflows expects: a workbook with a summary sheet,
a file without dates, columns named like graphflows' own, title lines above a flows header.

The spend files are built from Oxford City Council's real "expenditure over £500" file (October to
December 2017, in ``tests/data/real/lgtc-councils/councils.zip``, OGL; see tests/data/README.md): its
first lines, re-laid out as publishers do.
"""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from graphflows.ingest import SourceRules, read_flows
from graphflows.model import InputError
from tests.data import COUNCILS_ZIP, zip_member
from tests.helpers import FLOWS_HEADER

OXFORD = "Oxford City Council"
OXFORD_PAYER = SourceRules.from_options(payers=[f"*={OXFORD}"])


def oxford_rows(count: int = 40) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``count`` payment lines of Oxford's real file (read by the csv module)."""
    data = zip_member(COUNCILS_ZIP, "oxford_city/expenditure-over-500-oct-dec-2017.csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1 : count + 1]


def pence(rows: list[list[str]], header: list[str]) -> int:
    """The rows' money in pence, by Decimal (an independent reading)."""
    at = header.index("Amount")
    return int(sum(Decimal(r[at].replace(",", "")) for r in rows) * 100)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


# ------------------------------------------------------------------------------- summary sheets, no dates


def summary_workbook(
    path: Path, header: list[str], rows: list[list[str]], total_row: bool = False
) -> tuple[Path, int]:
    """A council workbook: a 'Summary by supplier' sheet of supplier totals first (ending in a Total line
    with ``total_row``), then the payments under title rows, then a notes sheet. Returns the path and the
    summary's money in pence (its Total line not counted)."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary by supplier"
    summary.append(["Supplier Name", "Amount"])
    totals: dict[str, Decimal] = {}
    for row in rows:
        name = row[header.index("Supplier Name")] or "(blank)"
        totals[name] = totals.get(name, Decimal(0)) + Decimal(row[header.index("Amount")])
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1])[:5]:
        summary.append([name, float(total)])
    if total_row:
        summary.append([None, float(sum(sorted(totals.values(), reverse=True)[:5]))])
    data = book.create_sheet("Oct-Dec 2017")
    data.append([OXFORD])
    data.append(["Expenditure over £500"])
    data.append([])
    data.append(header)
    for row in rows:
        data.append(row)
    book.create_sheet("Notes").append(["Published under the Open Government Licence"])
    book.save(path)
    return path, int(sum(sorted(totals.values(), reverse=True)[:5]) * 100)


def test_a_summary_sheet_beside_the_payments_is_not_read_as_more_payments(tmp_path):
    header, rows = oxford_rows(40)
    path, summary_money = summary_workbook(tmp_path / "oxford.xlsx", header, rows)
    result = read_flows([path], sources=OXFORD_PAYER)
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    assert result.flows.height == 40 and set(result.flows["line"].str.split("!").list.first()) == {
        "Oct-Dec 2017"
    }
    assert f"{path}: 1 workbook sheet(s) read: Oct-Dec 2017 (40 row(s)); other sheets (not read): Notes" in (
        result.notes
    )
    aside = next(n for n in result.notes if "NOT read" in n)
    assert aside.startswith(f"{path}: sheet(s) NOT read: Summary by supplier (5 row(s), ")
    assert f"GBP {Decimal(summary_money) / 100:,.2f}; columns: Supplier Name, Amount)" in aside


def test_the_note_on_a_summary_sheet_leaves_out_its_total_line(tmp_path):
    header, rows = oxford_rows(40)
    path, summary_money = summary_workbook(tmp_path / "oxford.xlsx", header, rows, total_row=True)
    result = read_flows([path], sources=OXFORD_PAYER)
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    aside = next(n for n in result.notes if "NOT read" in n)
    assert aside.startswith(f"{path}: sheet(s) NOT read: Summary by supplier (6 row(s), ")
    assert f"GBP {Decimal(summary_money) / 100:,.2f}; columns: Supplier Name, Amount)" in aside


def test_a_workbook_whose_only_spend_sheet_has_no_dates_is_read_with_notes(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Totals"
    sheet.append(["Supplier Name", "Amount"])
    sheet.append(["UK GAS CONNECTION LTD", 834.29])
    book.save(tmp_path / "totals.xlsx")
    result = read_flows([tmp_path / "totals.xlsx"], sources=OXFORD_PAYER)
    assert result.flows["amount_minor"].to_list() == [83429]
    source = str(tmp_path / "totals.xlsx")
    assert f"{source}: 1 workbook sheet(s) read: Totals (1 row(s))" in result.notes
    assert any(
        n.startswith(f"{source}: 1 flow(s) undated: the file has no date column") for n in result.notes
    )


def test_a_spend_file_without_a_date_column_says_its_flows_are_undated(tmp_path):
    header, rows = oxford_rows(12)
    at = header.index("Paid Date")
    path = write_csv(
        tmp_path / "nodate.csv", header[:at] + header[at + 1 :], [r[:at] + r[at + 1 :] for r in rows]
    )
    result = read_flows([path], sources=OXFORD_PAYER)
    assert result.flows["date"].null_count() == 12
    assert f"{path}: 12 flow(s) undated: the file has no date column" in " ".join(result.notes)
    dated = read_flows([write_csv(tmp_path / "dated.csv", header, rows)], sources=OXFORD_PAYER)
    assert not any("undated" in n for n in dated.notes)


def test_a_360giving_workbook_says_which_sheet_it_read():
    from tests.data import ALWF_XLSX

    result = read_flows([ALWF_XLSX])
    assert any(n.startswith(f"{ALWF_XLSX}: 1 workbook sheet(s) read: ") for n in result.notes)


# ------------------------------------------------------------------------ columns named like graphflows'


@pytest.mark.parametrize(
    ("title", "kept_as"),
    [
        ("Payee Name", "payee_name_in_file"),
        ("Payer Name", "payer_name_in_file"),
        ("Payer ID", "payer_id_in_file"),
        ("Payee ID", "payee_id_in_file"),
        ("payer_kind", "payer_kind_in_file"),
        ("amount_minor", "amount_minor_in_file"),
        ("line", "line_in_file"),
        ("payee_name_given", "payee_name_given_in_file"),
    ],
)
def test_a_column_titled_like_one_of_graphflows_own_is_kept_under_another_name(tmp_path, title, kept_as):
    path = tmp_path / "hu.csv"
    path.write_text(
        f"Date,Supplier Name,Amount,Entity,{title}\n2020-04-01,ACME LTD,100.00,Whittington Health,X1\n"
    )
    result = read_flows([path])
    row = result.flows.row(0, named=True)
    assert (row["payee_name"], row["payer_name"], row["amount_minor"], row["line"]) == (
        "ACME LTD",
        "Whittington Health",
        10000,
        "2",
    )
    assert row[kept_as] == "X1"
    assert f"{path}: column(s) {title!r} kept as {kept_as}: graphflows uses these names" in " ".join(
        result.notes
    )


def test_a_paying_body_column_named_like_ours_is_kept_when_payer_is_given(tmp_path):
    path = tmp_path / "pid.csv"
    path.write_text("Date,Supplier,Amount,Payer Name\n2020-04-01,ACME LTD,5.00,WHITTINGTON\n")
    rules = SourceRules.from_options(payers=["pid.csv=Whittington Health NHS Trust|GB-NHS-RKE"])
    row = read_flows([path], sources=rules).flows.row(0, named=True)
    assert (row["payer_id"], row["payer_name"], row["payer_name_in_file"]) == (
        "GB-NHS-RKE",
        "Whittington Health NHS Trust",
        "WHITTINGTON",
    )


@pytest.mark.parametrize("payer", [False, True])
def test_a_flows_header_below_title_lines_is_recognised_and_named(tmp_path, payer):
    path = tmp_path / "flows-title.csv"
    path.write_text(f"Leicester demo flows\n\n{FLOWS_HEADER}\nccg,CCG,,p1,P1,,10.00,GBP,2020-04-01,,\n")
    rules = SourceRules.from_options(payers=["*=Leicester"]) if payer else None
    with pytest.raises(InputError) as caught:
        read_flows([path], sources=rules)
    assert str(caught.value) == (
        f"{path}:3: a flows header (payer_id, payee_id, amount...) is on line 3: remove the 2 line(s) above "
        "it and try again"
    )


# ------------------------------------------------------------------ documentation beside the data files


@pytest.mark.parametrize(
    "member", ["README.txt", "notes.txt", "Licence.txt", "LICENSE.md", "docs/read-me.txt"]
)
def test_a_readme_or_licence_in_a_zip_is_skipped_with_a_note(tmp_path, member):
    header, rows = oxford_rows(5)
    data = write_csv(tmp_path / "oxford.csv", header, rows).read_bytes()
    archive = tmp_path / "oxford.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("oxford.csv", data)
        z.writestr(member, "Expenditure over 500, October to December 2017.\n")
    result = read_flows([archive], sources=OXFORD_PAYER)
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    assert f"{archive}: skipped 1 non-data member(s): {member}" in result.notes


def test_a_readme_a_sources_glob_catches_on_disk_is_skipped_with_a_note(tmp_path):
    header, rows = oxford_rows(5)
    (tmp_path / "rf").mkdir()
    write_csv(tmp_path / "rf" / "oxford.csv", header, rows)
    for name in ("README.md", "notes.txt"):
        (tmp_path / "rf" / name).write_text("About these files.\n")
    manifest = tmp_path / "sources.csv"
    manifest.write_text(f"path,payer_name\nrf/*,{OXFORD}\n")
    result = read_flows([], sources=SourceRules.from_options(manifest=manifest))
    assert int(result.flows["amount_minor"].sum()) == pence(rows, header)
    assert (
        f"{manifest}:2: skipped 2 file(s) path 'rf/*' matches that document data rather than hold it: "
        "README.md, notes.txt"
    ) in result.notes


def test_a_data_file_with_a_txt_ending_is_still_read(tmp_path):
    header, rows = oxford_rows(5)
    path = write_csv(tmp_path / "oxford.txt", header, rows)
    assert read_flows([path], sources=OXFORD_PAYER).flows.height == 5


# ------------------------------------------------------------------------ why a file is not recognised


def _oxford_text(tmp_path: Path) -> str:
    header, rows = oxford_rows(5)
    return write_csv(tmp_path / "oxford.csv", header, rows).read_text()


def _flows_semicolons(tmp_path: Path) -> Path:
    """graphflows' own flows CSV saved with semicolons (only spend files are read so separated)."""
    line = "E38000001;NHS Oxfordshire;;GB-COH-01;Oxford Health;;10.00;GBP;2020-04-01;;"
    (tmp_path / "flows.csv").write_text(FLOWS_HEADER.replace(",", ";") + "\n" + line + "\n")
    return tmp_path / "flows.csv"


def _flows_tabs(tmp_path: Path) -> Path:
    (tmp_path / "flows.tsv").write_text(_flows_semicolons(tmp_path).read_text().replace(";", "\t"))
    return tmp_path / "flows.tsv"


def _header_on_line_21(tmp_path: Path) -> Path:
    (tmp_path / "pre20.csv").write_text("Oxford City Council\n" * 20 + _oxford_text(tmp_path))
    return tmp_path / "pre20.csv"


def _web_page_named_xls(tmp_path: Path) -> Path:
    """What some publishers' "Excel" download is: an HTML table named .xls."""
    (tmp_path / "spend.xls").write_text("<html><body><table><tr><td>Supplier</td></tr></table></body></html>")
    return tmp_path / "spend.xls"


def _manifest(tmp_path: Path) -> Path:
    (tmp_path / "sources.csv").write_text("path,format,payer_name\ndata/*.csv,spend,X\n")
    return tmp_path / "sources.csv"


def _manifest_written_from_the_help(tmp_path: Path) -> Path:
    (tmp_path / "sources.csv").write_text(
        "path,payer,payee,amount\noxford.csv,Oxford City Council,Trader,Value\n"
    )
    return tmp_path / "sources.csv"


def _readme(tmp_path: Path) -> Path:
    (tmp_path / "README.txt").write_text("Spend over 500 for 2017.\n")
    return tmp_path / "README.txt"


SAVE_AS = "save it as .xlsx (Excel Workbook) or CSV UTF-8 and try again"
COMMAS = "not commas: save it as comma-separated CSV ('CSV UTF-8' in Excel) and try again"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_flows_semicolons, "{path}: columns are separated by semicolons (;), " + COMMAS),
        (_flows_tabs, "{path}: columns are separated by tabs, " + COMMAS),
        (
            _header_on_line_21,
            "{path}:21: the header row is on line 21, below the first 20 lines where graphflows looks for "
            "it: remove the 20 line(s) above it and try again",
        ),
        (
            _web_page_named_xls,
            "{path}: a web page or XML file named .xls, not a workbook: open it in Excel and " + SAVE_AS,
        ),
        (
            _manifest,
            "{path}: a sources manifest (path, format, payer_name...): give it with --sources {path}",
        ),
        (
            _manifest_written_from_the_help,
            "{path}: a sources manifest (path, format, payer_name...): give it with --sources {path}",
        ),
        (_readme, "{path}: a documentation file (README, notes, licence...), not data: leave it out"),
    ],
)
def test_a_file_no_format_reads_is_told_why(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        read_flows([path])
    assert str(caught.value) == message.format(path=path)


# ------------------------------------------------------------------------------------- a folder as input


def _folder(tmp_path: Path, names: list[str]) -> Path:
    (tmp_path / "data").mkdir()
    for number, name in enumerate(names):
        header, rows = oxford_rows(40)
        (tmp_path / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        write_csv(tmp_path / "data" / name, header, rows[3 * number : 3 * number + 3])
    (tmp_path / "data" / "README.md").write_text("About these files.\n")
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("names", "hint"),
    [
        (
            ["nhs/april.csv", "nhs/may.csv", "gla/p01.csv"],
            "give the files in it, e.g. {folder}/*/*.csv (3 file(s)), or a --sources manifest saved in it "
            "with the path '*/*.csv'",
        ),
        (
            ["april.csv", "2020/may.csv"],
            "its 2 file(s) are in several levels of subfolders: give a --sources manifest saved in it with "
            "the path '**/*.csv', or the files themselves",
        ),
        (
            [],
            "it holds no data files (.csv, .tsv, .json, .jsonl, .xlsx, .xlsm, .xls, .ods, .txt, .zip); give "
            "the files themselves",
        ),
    ],
)
def test_a_folder_given_as_a_file_is_told_what_to_give(tmp_path, names, hint):
    folder = _folder(tmp_path, names)
    with pytest.raises(InputError) as caught:
        read_flows([folder])
    assert str(caught.value) == f"{folder}: is a folder, not a file: " + hint.format(folder=folder)


def test_the_hints_glob_reads_the_files_and_a_readme_it_catches_is_skipped(tmp_path):
    folder = _folder(tmp_path, ["nhs/april.csv", "nhs/may.csv"])
    (folder / "nhs" / "notes.txt").write_text("Spend over 500.\n")
    given = sorted(folder.glob("*/*"))  # what the shell gives for DIR/*/*
    result = read_flows(given, sources=OXFORD_PAYER)
    assert result.flows.height == 6
    assert (
        f"skipped 1 file(s) given that document data rather than hold it: {folder}/nhs/notes.txt"
        in result.notes
    )


def test_a_360giving_csv_under_a_title_line_names_its_header_line(tmp_path):
    path = tmp_path / "grants.csv"
    path.write_text(
        "Trafford Council grants 2019\nIdentifier,Title,Amount Awarded,Funding Org:Identifier\n"
        "360G-TRF-1,Grant,500,GB-LAE-TRF\n"
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    assert (
        str(caught.value)
        == f"{path}:2: the header row is on line 2: remove the 1 line(s) above it and try again"
    )


def test_a_broken_xls_member_of_a_zip_is_named_and_nothing_is_read(tmp_path):
    header, rows = oxford_rows(3)
    archive = tmp_path / "oxford.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("oxford.csv", write_csv(tmp_path / "o.csv", header, rows).read_bytes())
        z.writestr("oxford.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(InputError) as caught:
        read_flows([archive], sources=OXFORD_PAYER)
    assert str(caught.value).startswith(
        f"{archive}!oxford.xls: not a readable Excel 97-2003 workbook (.xls) ("
    )
