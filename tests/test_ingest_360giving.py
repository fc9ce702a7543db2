"""360Giving CSV, XLSX and JSON: real files, and each rule of the importer on a small file."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from graphflows.graph import read_graph
from graphflows.ingest import detect_format, read_flows
from graphflows.model import InputError
from tests.data import ALWF_XLSX, CHECKSUMS, TRAFFORD_CSV, TRAFFORD_JSON

MINIMAL = (
    "Identifier,Amount Awarded,Currency,Award Date,Funding Org:Identifier,Funding Org:Name,"
    "Recipient Org:Identifier,Recipient Org:Name"
)


def test_real_files_are_unchanged():
    sums = dict(line.split("  ./")[::-1] for line in CHECKSUMS.read_text().splitlines())
    for path in (TRAFFORD_CSV, TRAFFORD_JSON, ALWF_XLSX):
        relative = path.relative_to(path.parents[1]).as_posix()
        assert sums[relative] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_formats_are_detected():
    assert {detect_format(p) for p in (TRAFFORD_CSV, TRAFFORD_JSON, ALWF_XLSX)} == {"360giving"}


def test_trafford_csv_and_json_give_the_same_grants():
    from_csv = read_flows([TRAFFORD_CSV]).flows
    from_json = read_flows([TRAFFORD_JSON]).flows
    columns = ["reference", "payer_id", "payee_id", "amount_minor", "currency", "date", "stream_id"]
    assert from_csv.select(columns).sort("reference").equals(from_json.select(columns).sort("reference"))
    rows = list(csv.DictReader(TRAFFORD_CSV.open(encoding="utf-8-sig", newline="")))
    assert from_csv.height == len(rows)
    assert from_csv["amount_minor"].sum() == int(sum(Decimal(r["Amount Awarded"]) for r in rows) * 100)
    assert from_json["line"][3] == "grants[3]" and from_csv["line"][3] == "5"


def test_grant_programme_is_a_stream_per_funder_and_extras_are_kept():
    flows = read_flows([TRAFFORD_CSV]).flows
    assert set(flows["stream_id"]) == {
        "GB-LAE-TRF / Voluntary Sector Grants",
        "GB-LAE-TRF / Inclusive Neighbourhood Grants",
    }
    assert set(flows["payer_id"]) == {"GB-LAE-TRF"}
    assert "Beneficiary Location:Geographic Code" in flows.columns  # a column the importer does not use


def test_charitable_company_gives_both_numbers():
    result = read_flows([TRAFFORD_CSV])
    row = result.flows.filter(pl.col("payee_id_given") == "GB-COH-07962245").row(0, named=True)
    assert row["payee_other_ids"] == "GB-CHC-1146179;GB-COH-07962245"
    # the node takes the charity number and records the company number as another id
    assert row["payee_id"] == "GB-CHC-1146179"
    org = result.organisations.filter(pl.col("id") == "GB-CHC-1146179").row(0, named=True)
    assert org["match_method"] == "charity+company" and "GB-COH-07962245" in org["org_ids"]


def test_alwf_xlsx_titles_with_spaces_and_float_amounts():
    result = read_flows([ALWF_XLSX])
    sheet = openpyxl.load_workbook(ALWF_XLSX, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))[1:]
    assert result.flows.height == len(rows) == result.records_read
    # 41133.770000000004 in the sheet is 41133.77 exactly: amounts are summed in pennies from the text
    assert result.flows["amount_minor"].sum() == sum(round(Decimal(str(r[5])) * 100) for r in rows)
    assert result.flows["stream_id"].n_unique() == len({r[19] for r in rows})  # "Grant Programme: Title"
    assert result.flows["line"][0] == "Sheet1!2"
    dated = [r[6] for r in rows]
    as_dates = [d.date() if isinstance(d, datetime) else date.fromisoformat(d) for d in dated]
    assert result.flows["date"].to_list() == as_dates  # date cells and ISO text cells alike


def _xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "grants"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_excel_serial_dates_in_xlsx(tmp_path):
    path = _xlsx(
        tmp_path / "g.xlsx",
        MINIMAL.split(","),
        [["g1", 100.5, "GBP", 44138, "GB-CHC-1015648", "F", "GB-CHC-1146179", "R"]],
    )
    row = read_flows([path]).flows.row(0, named=True)
    assert row["date"] == date(2020, 11, 3) and row["amount_minor"] == 10050


def test_titles_case_spaces_indexes_no_programme_and_several_funders(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        "identifier , AMOUNT AWARDED,currency,award date,Funding Org: Identifier,funding org:name,"
        "Funding Org:1:Identifier,Recipient Org:Identifier,Recipient Org:Name,My Column\n"
        "g1,10,GBP,2020-01-02,GB-CHC-1015648,Funder One,GB-CHC-1161102,GB-COH-123,R Ltd,x\n"
        "g2,20,GBP,2020-01-03,GB-CHC-1146179,Funder Two,,GB-COH-123,R Ltd,y\n",
        encoding="utf-8",
    )
    result = read_flows([path])
    flows = result.flows
    assert flows["payer_id"].to_list() == ["GB-CHC-1015648", "GB-CHC-1146179"]
    assert flows["payee_id"].to_list() == ["GB-COH-00000123", "GB-COH-00000123"]
    assert flows["stream_id"].null_count() == 2  # no programme column: no streams
    assert flows["co_funders"].to_list() == ["GB-CHC-1161102", None]
    assert flows["My Column"].to_list() == ["x", "y"]
    assert any("co-funders" in n for n in result.notes)


def test_json_with_several_programmes_and_a_grant_to_an_individual(tmp_path):
    grants = {
        "grants": [
            {
                "id": "g1", "amountAwarded": 12.5, "currency": "gbp", "awardDate": "2021-03-31T10:00:00Z",
                "fundingOrganization": [{"id": "GB-CHC-1015648", "name": "F"}],
                "recipientOrganization": [{"id": "GB-COH-1", "name": "R"}],
                "grantProgramme": [{"title": "Main"}, {"title": "Extra"}],
            },
            {
                "id": "g2", "amountAwarded": 3, "currency": "GBP", "awardDate": "2021-04-01",
                "fundingOrganization": [{"id": "GB-CHC-1015648", "name": "F"}],
                "recipientIndividual": {"id": "360G-F-IND-7", "name": "Individual 7"},
            },
        ]
    }  # fmt: skip
    path = tmp_path / "g.json"
    path.write_text(json.dumps(grants), encoding="utf-8")
    flows = read_flows([path]).flows.sort("reference")
    assert flows["amount_minor"].to_list() == [1250, 300]
    assert flows["currency"].to_list() == ["GBP", "GBP"]
    assert flows["stream_id"].to_list() == ["GB-CHC-1015648 / Main", None]
    assert flows["grant_programmes"].to_list() == ["Main;Extra", None]
    assert flows["payee_id"].to_list()[1] == "360G-F-IND-7"
    assert flows["recipient_type"].to_list() == [None, "individual"]
    nodes = {r["name"]: r for r in read_graph([path]).nodes.iter_rows(named=True)}
    assert (nodes["Individual 7"]["form"], nodes["Individual 7"]["form_method"]) == ("individual", "org-id")
    assert nodes["F"]["form"] == "charity" and nodes["R"]["form"] == "company"


def test_bad_grants_are_rejected_with_their_position(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        MINIMAL + "\n"
        "g1,ten,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n"
        "g2,5,POUNDS,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n"
        "g3,5,GBP,2020-01-02,,,GB-CHC-1146179,R\n"
        "g4,5,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2: amount ten is not a number",
        f"{path}:3: currency POUNDS is not a three-letter ISO 4217 code",
        f"{path}:4: missing Funding Org (identifier and name blank)",
    ]
    result = read_flows([path], skip_invalid=True)
    assert (result.flows.height, result.rejects.height) == (1, 3)


def test_json_that_is_not_360giving(tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"grants": {"not": "a list"}}', encoding="utf-8")
    with pytest.raises(InputError, match="expected an object with a 'grants' array"):
        read_flows([path])
    path.write_text('{"grants": [', encoding="utf-8")
    with pytest.raises(InputError, match=r"g\.json:1: not valid JSON"):
        read_flows([path])


def test_the_same_grants_published_twice_are_counted_once():
    once = read_flows([TRAFFORD_CSV])
    both = read_flows([TRAFFORD_CSV, TRAFFORD_JSON])
    assert both.flows.height == once.flows.height and both.totals() == once.totals()
    assert (both.repeated, both.non_money) == (once.flows.height, 0)  # read in another file
    assert both.records_read == both.flows.height + both.rejects.height + both.non_money + both.repeated
    assert any("already read (same 360Giving identifier" in n for n in both.notes)


def test_a_grant_repeated_within_a_file_is_counted_once(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        MINIMAL
        + "\ng1,10,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R"
        + "\ng1,10,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n",
        encoding="utf-8",
    )
    result = read_flows([path])
    assert (result.flows.height, result.non_money, result.records_read) == (1, 1, 2)


def test_blank_records_are_counted_in_a_note(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        MINIMAL + "\n,,,,,,,\ng1,10,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n , ,,,,,,\n"
    )
    result = read_flows([path])
    assert (result.flows.height, result.non_money, result.records_read) == (1, 2, 3)
    assert result.notes == [f"{path}: 2 blank record(s) (every field empty) counted as non-money records"]
