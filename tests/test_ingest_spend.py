"""Spend-over-threshold CSVs: the real NHS CCG files (read from their zips) and every quirk on its own."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from graphflows.ingest import detect_format, read_flows
from graphflows.ingest.reader import read_files
from graphflows.model import InputError
from tests.data import CCG_ZIPS, CHECKSUMS, zip_member, zip_members

HEADER = "Department Family,Entity,Date,Expense Type,Expense Area,Supplier,Transaction Number,Amount"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def oracle(data: bytes) -> list[dict[str, str]]:
    """The file's records by the standard library (an independent reading), keys lower-cased."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    titles = [t.strip().lower() for t in rows[0]]
    return [dict(zip(titles, r, strict=True)) for r in rows[1:] if any(c.strip() for c in r)]


@pytest.fixture(scope="module")
def ccgs():
    return read_flows(list(CCG_ZIPS.values()))


def test_zip_members_are_the_published_files_unchanged():
    sums = dict(line.split("  ./")[::-1] for line in CHECKSUMS.read_text().splitlines())
    for archive in CCG_ZIPS.values():
        for name in zip_members(archive):
            digest = hashlib.sha256(zip_member(archive, name)).hexdigest()
            assert sums[f"nhs-ccg-spend-nel/{name}"] == digest, name


def test_zip_is_read_directly_and_detected_member_by_member():
    assert detect_format(CCG_ZIPS["NEBD"]) == "zip"
    reads = read_files(CCG_ZIPS["NEBD"])
    assert len(reads) == 12 and {r.format for r in reads} == {"spend"}
    assert reads[0].source == f"{CCG_ZIPS['NEBD']}!NEBD/NEBD 01 - April.csv"


def test_every_line_is_one_flow_with_exact_amounts_and_a_transaction_in_two_files_counts_once(ccgs):
    expected_lines, expected_total, negatives = 0, Decimal(0), 0
    seen: Counter[tuple[str, ...]] = Counter()  # lines of earlier files, by entity, supplier, number, amount
    repeated, repeated_total = 0, Decimal(0)
    for archive in CCG_ZIPS.values():
        for name in zip_members(archive):
            here: Counter[tuple[str, ...]] = Counter()
            for row in oracle(zip_member(archive, name)):
                amount = Decimal(row["amount"].replace(",", ""))
                key = (row["entity"], row["supplier"], row["transaction number"], str(amount))
                if seen[key]:  # NHS Havering's September file lists 9 October transactions; 5 more are
                    seen[key] -= 1  # in two months' files, dated at each month's end
                    repeated, repeated_total = repeated + 1, repeated_total + amount
                    continue
                here[key] += 1
                expected_lines += 1
                expected_total += amount
                negatives += amount < 0
            seen += here
    assert repeated == 14 and ccgs.repeated == repeated
    assert ccgs.records_read == ccgs.flows.height + repeated and ccgs.flows.height == expected_lines
    assert ccgs.rejects.height == 0 and ccgs.non_money == 0
    assert ccgs.totals() == {"GBP": int(expected_total * 100)}
    assert ccgs.repeated_amount() == {"GBP": int(repeated_total * 100)}
    assert int((ccgs.flows["amount_minor"] < 0).sum()) == negatives > 0


def test_per_file_counts_reconcile(ccgs):
    for f in ccgs.files:
        assert f.records_read == f.flows.height + f.rejects.height + f.non_money + f.repeated


def test_day_month_order_switches_within_publisher_and_within_a_file(ccgs):
    flows = ccgs.flows
    assert flows["date"].null_count() == 0
    assert flows["date"].min() >= date(2020, 4, 1) and flows["date"].max() <= date(2021, 3, 31)
    april = flows.filter(pl.col("source").str.ends_with("NEBD 01 - April.csv"))
    july = flows.filter(pl.col("source").str.ends_with("NEBD 04 - July.csv"))
    assert set(april["date"]) == {date(2020, 4, 30)} and set(april["date_order"]) == {"day/month"}
    assert set(july["date"]) == {date(2020, 7, 31)} and set(july["date_order"]) == {"month/day"}
    # NERD February mixes 2/28/2021 and 28/02/21 in one file: both are 28 February 2021
    february = flows.filter(pl.col("source").str.ends_with("NERD 11 - February.csv"))
    assert set(february["date"]) == {date(2021, 2, 28)}
    assert set(february["date_order"]) == {"day/month", "month/day"}
    assert any("mix day/month order" in n and "NERD 11" in n for n in ccgs.notes)


def test_header_case_variants_land_in_the_same_columns(ccgs):
    areas = ccgs.flows.group_by("source").agg(pl.col("expense_area").null_count().alias("missing"))
    assert areas["missing"].sum() == 0
    july = ccgs.flows.filter(pl.col("source").str.ends_with("NEBD 04 - July.csv"))
    assert july["supplier_postcode"].null_count() < july.height  # the extra columns of one file are kept
    assert "expense_area" in ccgs.flows.columns and "Expense area" not in ccgs.flows.columns


def test_lines_point_at_the_record_and_transactions_keep_their_lines(ccgs):
    flows = ccgs.flows.filter(pl.col("source").str.ends_with("NEHV 06 - September.csv"))
    archive, name = CCG_ZIPS["NEHV"], "NEHV/NEHV 06 - September.csv"
    lines = zip_member(archive, name).decode("utf-8-sig").splitlines()
    for row in flows.head(50).iter_rows(named=True):
        assert row["reference"] in lines[int(row["line"]) - 1]
    for archive in CCG_ZIPS.values():  # how many lines of its file share the number, repeats included
        for name in zip_members(archive):
            numbers = Counter(row["transaction number"] for row in oracle(zip_member(archive, name)))
            mine = ccgs.flows.filter(pl.col("source") == f"{archive}!{name}")
            assert mine["transaction_lines"].cast(pl.Int64).to_list() == [
                numbers[r] for r in mine["reference"]
            ]
    assert (ccgs.flows["transaction_lines"].cast(pl.Int64) > 1).sum() > 1000


def test_spend_keeps_expense_area_as_an_attribute_not_a_stream(ccgs):
    assert ccgs.flows["stream_id"].null_count() == ccgs.flows.height
    assert ccgs.flows["expense_type"].null_count() == 0


# ------------------------------------------------------------------------------ quirks one at a time


def test_title_lines_quoted_thousands_brackets_and_blank_lines(tmp_path):
    path = write(
        tmp_path / "council.csv",
        "Spend over £500,,,\r\nApril 2020,,,\r\n"
        "Body Name,Payment Date,Supplier Name,Amount (£),Service Area\r\n"
        'Kent County Council,01/04/2020,"Acme, Ltd","1,250.50",Adult Social Care\r\n'
        ",,,,\r\n"
        "Kent County Council,13/04/2020,Acme Ltd,(200.00),Adult Social Care\r\n",
    )
    result = read_flows([path])
    flows = result.flows
    assert flows["amount_minor"].to_list() == [125050, -20000]
    assert flows["line"].to_list() == ["4", "6"]
    assert flows["date"].to_list() == [date(2020, 4, 1), date(2020, 4, 13)]
    assert result.non_money == 1 and result.records_read == 3
    assert flows["payee_id"].n_unique() == 1  # "Acme, Ltd" and "Acme Ltd" are one supplier


def test_quoted_line_breaks_keep_line_numbers_right(tmp_path):
    path = write(
        tmp_path / "s.csv",
        f"{HEADER},Description\n"
        'DH,NHS A CCG,30/04/2020,X,Y,Supplier One,1,100.00,"two\nline"\n'
        "DH,NHS A CCG,30/04/2020,X,Y,Supplier Two,2,oops,plain\n",
    )
    result = read_flows([path], skip_invalid=True)
    assert result.flows["line"].to_list() == ["2"]
    assert result.rejects.select("line", "reason").row(0) == ("4", "amount oops is not a number")


def test_redacted_payees_are_one_node_per_payer_never_merged_across_payers(tmp_path):
    path = write(
        tmp_path / "s.csv",
        f"{HEADER}\n"
        "DH,NHS A CCG,30/04/2020,X,Y,REDACTED,1,30000\n"
        "DH,NHS A CCG,30/04/2020,X,Y,Personal Data,2,40000\n"
        "DH,NHS B CCG,30/04/2020,X,Y,Redacted - personal information,3,50000\n"
        "DH,NHS B CCG,30/04/2020,X,Y,,4,60000\n",
    )
    result = read_flows([path])
    payees = result.flows.select("payer_id", "payee_id").unique().sort("payee_id").rows()
    assert payees == [
        ("name:NHS A CCG", "redacted:name:NHS A CCG"),
        ("name:NHS B CCG", "redacted:name:NHS B CCG"),
    ]
    assert set(result.flows["payee_redacted"]) == {"yes"}
    orgs = result.organisations.filter(pl.col("id").str.starts_with("redacted:"))
    assert set(orgs["match_method"]) == {"redacted"} and orgs["records"].to_list() == [2, 2]


def test_windows_1252_file_is_read_with_a_note(tmp_path):
    path = write(
        tmp_path / "s.csv", f"{HEADER}\nDH,NHS A CCG,30/04/2020,Café fees,Y,Zoë Ltd,1,£25.00\n", "cp1252"
    )
    result = read_flows([path])
    assert result.flows.row(0, named=True)["payee_name"] == "Zoë Ltd"
    assert result.flows["amount_minor"].to_list() == [2500]
    assert any("Windows-1252" in n for n in result.notes)


def test_ambiguous_dates_follow_the_file_then_the_uk_convention(tmp_path):
    mostly_us = write(
        tmp_path / "us.csv",
        f"{HEADER}\nDH,A,12/31/2020,X,Y,S,1,1\nDH,A,03/04/2021,X,Y,S,2,1\n",
    )
    flows = read_flows([mostly_us]).flows
    assert flows["date"].to_list() == [date(2020, 12, 31), date(2021, 3, 4)]
    assert flows["date_order"].to_list()[1].startswith("month/day (assumed")
    unknown = write(tmp_path / "uk.csv", f"{HEADER}\nDH,A,03/04/2021,X,Y,S,1,1\n")
    assert read_flows([unknown]).flows["date"].to_list() == [date(2021, 4, 3)]


def test_bad_records_name_file_and_line_and_nothing_is_half_read(tmp_path):
    path = write(
        tmp_path / "s.csv",
        f"{HEADER}\nDH,A,30/04/2020,X,Y,S,1,12.345\nDH,A,31/02/2020,X,Y,S,2,5\nDH,,30/04/2020,X,Y,S,3,5\n"
        "DH,A,30/04/2020,X,Y,S,4,5\n",
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    shown = [str(p) for p in caught.value.problems]
    assert shown == [
        f"{path}:2: amount 12.345 has more than 2 decimal places",
        f"{path}:3: date 31/02/2020 is not a date (expected e.g. 2020-04-30, 30/04/2020 or 3 Apr 2020)",
        f"{path}:4: missing paying body (Entity)",
    ]
    kept = read_flows([path], skip_invalid=True)
    assert (kept.flows.height, kept.rejects.height, kept.records_read) == (1, 3, 4)
    assert json.loads(kept.rejects["record"][0])["Amount"] == "12.345"


def test_a_csv_without_supplier_or_amount_is_not_a_spend_file(tmp_path):
    path = write(tmp_path / "s.csv", "Entity,Date,Supplier,Total Cost Centre\nA,1/1/2020,S,5\n")
    with pytest.raises(InputError, match="format not recognised"):
        read_flows([path])
    with pytest.raises(InputError, match=r"s\.csv:1: not a spend file"):
        read_flows([path], format="spend")


def test_zip_with_a_readme_and_a_bad_member(tmp_path):
    archive = tmp_path / "spend.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("README.pdf", b"%PDF-1.4")
        z.writestr("april.csv", f"{HEADER}\nDH,A,30/04/2020,X,Y,S,1,5\n")
        z.writestr("may.csv", f"{HEADER}\nDH,A,31/05/2020,X,Y,S,2,five\n")
    with pytest.raises(InputError) as caught:
        read_flows([archive])
    assert str(caught.value.problems[0]) == f"{archive}!may.csv:2: amount five is not a number"
    result = read_flows([archive], skip_invalid=True)
    assert result.flows["source"].to_list() == [f"{archive}!april.csv"]
    assert any("skipped 1 non-data member(s): README.pdf" in n for n in result.notes)


def test_ods_codes_identify_nhs_bodies_across_files(tmp_path):
    with_codes = write(
        tmp_path / "a.csv",
        "Entity,ODS Code,Date,Supplier,Supplier ODS Code,Amount\n"
        "NHS Barking And Dagenham CCG,07l,30/04/2020,Barts Health NHS Trust,R1H,100\n",
    )
    spelled = write(
        tmp_path / "b.csv",
        f"{HEADER}\nDH,NHS BARKING & DAGENHAM CCG,30/04/2020,X,Y,BARTS HEALTH NHS TRUST,1,200\n",
    )
    result = read_flows([with_codes, spelled])
    assert result.flows.select("payer_id", "payee_id").unique().rows() == [("GB-NHS-07L", "GB-NHS-R1H")]
    methods = set(result.organisations.filter(pl.col("id") == "GB-NHS-07L")["match_method"])
    assert methods == {"register"}  # the shipped NHS register and the other file agree


def test_total_lines_are_not_payments(tmp_path):
    path = write(
        tmp_path / "s.csv",
        f"{HEADER}\nDH,NHS A CCG,30/04/2020,X,Y,Supplier,1,30000\nDH,NHS A CCG,30/04/2020,X,Y,,2,40000\n"
        ",,,,Total,,,70000\n",
    )
    result = read_flows([path])
    assert result.flows["amount_minor"].to_list() == [3000000, 4000000]  # the blank payee is redacted
    assert (result.non_money, result.records_read) == (1, 3)
    assert any("1 summary line(s)" in n for n in result.notes)


def test_spend_workbook_with_title_rows_date_cells_and_serials(tmp_path):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Spend"
    sheet.append(["Payments over £500, April 2020"])
    sheet.append([])
    sheet.append(["Body Name", "Payment Date", "Supplier Name", "Amount", "Service Area"])
    sheet.append(["Kent County Council", dt.datetime(2020, 4, 1), "Acme Ltd", 1250.5, "Adults"])
    sheet.append(["Kent County Council", 43934, "Acme Ltd", -200, "Adults"])  # 13/04/2020 as a bare serial
    sheet.append(["Kent County Council", "30/04/2020", "Acme Ltd", "1,000.00", "Adults"])
    path = tmp_path / "spend.xlsx"
    book.save(path)
    archive = tmp_path / "spend.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(path, "april/spend.xlsx")
    for source in (path, archive):
        result = read_flows([source])
        assert {f.format for f in result.files} == {"spend"}
        flows = result.flows
        assert flows["amount_minor"].to_list() == [125050, -20000, 100000]
        assert flows["date"].to_list() == [date(2020, 4, 1), date(2020, 4, 13), date(2020, 4, 30)]
        assert flows["line"].to_list() == ["Spend!4", "Spend!5", "Spend!6"]
        assert flows["expense_area"].to_list() == ["Adults"] * 3


def test_a_workbook_that_is_neither_format(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Name", "Value"])
    path = tmp_path / "other.xlsx"
    book.save(path)
    with pytest.raises(InputError, match=r"other\.xlsx: workbook not recognised"):
        read_flows([path])
    with pytest.raises(InputError, match=r"other\.xlsx: no sheet has a spend header row"):
        read_flows([path], format="spend")


def test_ragged_records_are_rejected_with_their_line_and_an_unclosed_quote_is_located(tmp_path):
    path = write(
        tmp_path / "s.csv",
        'Entity,Date,Supplier,Amount\nA CCG,30/04/2020,S,12\nA CCG,30/04/2020,"Two\nlines",5\n'
        "A CCG,30/04/2020,S,1,2,3\nA CCG,30/04/2020,T,7\n",
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    assert [str(p) for p in caught.value.problems] == [f"{path}:5: 6 fields where the header has 4"]
    result = read_flows([path], skip_invalid=True)
    assert result.flows["line"].to_list() == ["2", "3", "6"]
    assert result.records_read == 4
    unclosed = write(tmp_path / "q.csv", 'Entity,Date,Supplier,Amount\nA,30/04/2020,S,1\nA,"30/04/2020,S,1\n')
    with pytest.raises(InputError, match=r"q\.csv:\d+: not a readable CSV file \(.*unclosed quote"):
        read_flows([unclosed])


def test_every_kind_of_non_money_line_has_a_note_and_the_notes_add_up(tmp_path):
    """Blank lines (bare commas, as PDF conversions leave), summary lines and leftovers each get a note."""
    path = write(
        tmp_path / "NCL 11 - February.pdf.csv",
        f"{HEADER}\nDH,NHS A CCG,30/04/2020,X,Y,Supplier,1,30000\n,,,,,,,\n,,,,,,,\n , ,,,,,,\n"
        ",,,,Total,,,30000\nDH,NHS A CCG,,,Page 2,,,\n,,,,,,,,,\n",
    )
    result = read_flows([path], skip_invalid=True)
    assert (result.flows.height, result.rejects.height, result.non_money) == (1, 1, 5)  # the ragged line
    noted = {
        note.split(": ", 1)[1].split(" ", 1)[1]: int(note.split(": ", 1)[1].split()[0])
        for note in result.notes
    }
    assert noted == {
        "blank line(s) (every field empty, e.g. ',,,,') counted as non-money records": 3,
        "summary line(s) (a 'Total', or an amount alone on its line) counted as non-money records": 1,
        "line(s) with neither a payee nor an amount counted as non-money records": 1,
    }
    assert sum(noted.values()) == result.non_money


def test_digits_of_other_scripts_are_not_amounts(tmp_path):
    """Regex \\d and int() take Arabic-Indic digits; an amount is written in ASCII digits only."""
    from graphflows.ingest.parsing import number_to_minor, parse_amounts
    from graphflows.model import to_minor

    path = write(
        tmp_path / "s.csv",
        f"{HEADER}\nDH,NHS A CCG,30/04/2020,X,Y,S,1,٣٠٠\nDH,NHS A CCG,30/04/2020,X,Y,T,2,12.5\n",
    )
    result = read_flows([path], skip_invalid=True)
    assert result.rejects["reason"].to_list() == ["amount ٣٠٠ is not a number (only the digits 0-9 are read)"]
    assert result.flows["amount_minor"].to_list() == [1250]
    for plain in (True, False):  # the flows CSV's fast path and the careful one
        minor, problem = parse_amounts(pl.Series(["١٢.٥", "1,2,3"]), plain=plain)
        assert minor.to_list() == [None, None]
        assert problem[0] == "amount ١٢.٥ is not a number (only the digits 0-9 are read)"
    for reader in (to_minor, number_to_minor):  # OCDS values and workbook cells given as text
        with pytest.raises(ValueError, match="is not a number"):
            reader("٣٠٠")
