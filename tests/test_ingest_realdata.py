"""Real files analysts have: four councils' LGTC-style spend files and one London area's NHS, GLA and TfL
files for 2020-21. Totals are checked against an independent reading (the standard library's csv and
decimal, and pandas for workbooks), never graphflows' own parser."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal

import pandas as pd
import polars as pl
import pytest

from graphflows.cli.main import main
from graphflows.ingest import SourceRules, read_flows
from graphflows.model import InputError
from tests.data import CHECKSUMS, COUNCILS_ZIP, LONDON_SOURCES, LONDON_ZIPS, zip_member, zip_members

#: Member -> (supplier column, amount column) as printed in each council's file.
COUNCILS = {
    "calderdale_mbc/calderdale_2022-08.csv": ("Supplier(Beneficiary) Name", "Net Amount"),
    "devon_cc/DCCSpendingOver500_202512.csv": ("Supplier name", " Amount "),
    "north_tyneside/northtyneside_2021-09_p.csv": ("Supplier (Beneficiary) Name", "Net Amount"),
    "oxford_city/expenditure-over-500-oct-dec-2017.csv": ("Supplier Name", "Amount"),
}
#: The two councils whose files name no paying body: named as a user would, by file name.
PAYERS = (
    "expenditure-over-500-*.csv=Oxford City Council|GB-LAE-OXO",
    "northtyneside_*=North Tyneside Council",
)


def pence(text: str) -> int:
    """Exact pence from amount text, by the standard library (``" 83,946.03 "`` -> 8394603,
    accounting brackets ``(273.41)`` -> -27341)."""
    text = text.replace(",", "").replace("£", "").strip()
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1]
    value = Decimal(text)
    assert value == value.quantize(Decimal("0.01")), text
    return int(value * 100)


def number_pence(value: float) -> int:
    """Exact pence from a spreadsheet number, allowing only binary float noise (682259.9299999999)."""
    exact = Decimal(str(value))
    rounded = exact.quantize(Decimal("0.01"))
    assert abs(exact - rounded) < Decimal("0.000001"), value
    return int(rounded * 100)


def csv_money_lines(data: bytes, amount: str) -> list[dict[str, str]]:
    """Lines that carry money: an amount and something else on the line (not a bare total)."""
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [
        row
        for row in rows
        if (row.get(amount) or "").strip() and any((v or "").strip() for k, v in row.items() if k != amount)
    ]


def test_added_real_files_are_the_published_files_unchanged():
    sums = dict(line.split("  ./")[::-1] for line in CHECKSUMS.read_text().splitlines())
    archives = [("lgtc-councils", COUNCILS_ZIP)] + [("london-2020-21", z) for z in LONDON_ZIPS.values()]
    for folder, archive in archives:
        for name in zip_members(archive):
            digest = hashlib.sha256(zip_member(archive, name)).hexdigest()
            assert sums[f"{folder}/{name}"] == digest, name


# ---------------------------------------------------------------------------------------------- councils


@pytest.fixture(scope="module")
def councils():
    return read_flows([COUNCILS_ZIP], sources=SourceRules.from_options(payers=PAYERS))


def test_every_council_file_imports_with_the_independent_total_and_line_count(councils):
    for member, (_supplier, amount) in COUNCILS.items():
        lines = csv_money_lines(zip_member(COUNCILS_ZIP, member), amount)
        flows = councils.flows.filter(pl.col("source") == f"{COUNCILS_ZIP}!{member}")
        assert flows.height == len(lines), member
        assert flows["amount_minor"].sum() == sum(pence(row[amount]) for row in lines), member
    assert councils.rejects.height == 0
    assert councils.records_read == councils.flows.height + councils.non_money


def test_devons_closing_total_line_is_a_summary_not_a_payment_and_matches_the_sum(councils):
    member = "devon_cc/DCCSpendingOver500_202512.csv"
    last = list(csv.reader(io.StringIO(zip_member(COUNCILS_ZIP, member).decode("utf-8-sig"))))[-1]
    printed_total = pence(next(cell for cell in last if cell.strip()))
    devon = councils.flows.filter(pl.col("source").str.ends_with(member))
    assert devon["amount_minor"].sum() == printed_total
    assert any("summary line" in n and member in n for n in councils.notes)


def test_payers_come_from_the_name_column_or_the_payer_option_never_from_a_code_or_uri(councils):
    payers = dict(
        councils.flows.group_by("source").agg(pl.col("payer_name").unique()).select(
            pl.col("source").str.split("!").list.last(), pl.col("payer_name").list.join("|")
        ).iter_rows()
    )  # fmt: skip
    assert payers == {
        "calderdale_mbc/calderdale_2022-08.csv": "The Borough of Calderdale",
        "devon_cc/DCCSpendingOver500_202512.csv": "Devon County Council",
        "north_tyneside/northtyneside_2021-09_p.csv": "North Tyneside Council",
        "oxford_city/expenditure-over-500-oct-dec-2017.csv": "Oxford City Council",
    }
    oxford = councils.flows.filter(pl.col("payer_name") == "Oxford City Council")
    assert set(oxford["payer_id"]) == {"GB-LAE-OXO"}


def test_calderdale_company_numbers_become_org_ids(councils):
    member = "calderdale_mbc/calderdale_2022-08.csv"
    rows = csv.DictReader(io.StringIO(zip_member(COUNCILS_ZIP, member).decode("utf-8-sig"), newline=""))
    numbers = {row["Supplier Registered Company Number"].strip() for row in rows}
    companies = {f"GB-COH-{n.zfill(8)}" for n in numbers if n.isdigit()}
    assert len(companies) > 10
    calderdale = councils.flows.filter(pl.col("source").str.ends_with(member))
    ids_seen = set(calderdale["payee_id"]) | {
        i for ids in calderdale["payee_other_ids"].drop_nulls() for i in ids.split(";")
    }
    assert companies <= ids_seen


def test_a_file_naming_no_paying_body_stops_with_the_payer_option_named():
    with pytest.raises(InputError) as caught:
        read_flows([COUNCILS_ZIP])
    message = str(caught.value)  # both files at once, so the user gives every --payer in one go
    assert message.startswith("2 files name no paying body") and "--payer" in message
    assert message.endswith(  # and the Python way, with names graphflows exports
        "(in Python: read_flows(paths, sources=graphflows.SourceRules.from_options(payers=['GLOB=NAME'])) "
        "or sources=graphflows.read_manifest('sources.csv'))"
    )
    import graphflows

    rules = graphflows.SourceRules.from_options(
        payers=["northtyneside*=North Tyneside Council", "expenditure-over-500*=Oxford City Council"]
    )
    assert graphflows.read_flows([COUNCILS_ZIP], sources=rules).flows.height > 0
    listed = [str(problem) for problem in caught.value.problems]
    assert [p.split(":1: ")[0].split("!")[1] for p in listed] == [
        "north_tyneside/northtyneside_2021-09_p.csv",
        "oxford_city/expenditure-over-500-oct-dec-2017.csv",
    ]


# ------------------------------------------------------------------------------------------------ London


def london_expected() -> dict[str, tuple[int, int]]:
    """Body -> (money lines, total pence), computed with csv/decimal (CSV) and pandas (XLSX)."""
    expected: dict[str, list[int]] = {}

    def add(body: str, amounts: list[int]) -> None:
        count, total = expected.setdefault(body, [0, 0])
        expected[body] = [count + len(amounts), total + sum(amounts)]

    archive = LONDON_ZIPS["nhs"]
    for name in zip_members(archive):
        data = zip_member(archive, name)
        if name.endswith(".xlsx"):
            sheet = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
            amounts = [number_pence(v) for v in sheet["Amount"] if not pd.isna(v)]
            add("Royal Free" if name.startswith("nhs_royal_free") else "North Middlesex", amounts)
            continue
        body, amount = {
            "nhs_ncl_ccg": ("NCL CCG", "amount"),
            "nhs_whittington_health": ("Whittington", " Amount "),
            "nhs_royal_free_ft": ("Royal Free", "Amount"),
        }[name.split("/")[0]]
        add(body, [pence(r[amount]) for r in csv_money_lines(data, amount)])
    for channel, body in (("gla", "GLA"), ("tfl", "TfL")):
        for name in zip_members(LONDON_ZIPS[channel]):
            lines = csv_money_lines(zip_member(LONDON_ZIPS[channel], name), "Amount")
            add(body, [pence(r["Amount"]) for r in lines])
    return {body: (count, total) for body, (count, total) in expected.items()}


@pytest.fixture(scope="module")
def london():
    rules = SourceRules.from_options(manifest=LONDON_SOURCES)
    return read_flows([], skip_invalid=True, sources=rules)


def test_london_manifest_imports_every_body_with_the_independent_totals(london):
    bodies = {
        "NHS North Central London CCG": "NCL CCG",
        "Royal Free London NHS Foundation Trust": "Royal Free",
        "North Middlesex University Hospital NHS Trust": "North Middlesex",
        "Whittington Health NHS Trust": "Whittington",
        "Greater London Authority": "GLA",
        "Transport for London": "TfL",
    }
    got = {
        bodies[name]: (count, total)
        for name, count, total in london.flows.group_by("payer_name")
        .agg(pl.len(), pl.col("amount_minor").sum())
        .iter_rows()
    }
    # one NCL transaction is listed in both its July and August files: counted once, as 'repeated'
    assert london.repeated == 1
    lines, money = got["NCL CCG"]
    got["NCL CCG"] = (lines + london.repeated, money + london.repeated_amount()["GBP"])
    expected = london_expected()
    assert got == expected  # the Royal Free line with a supplier and no amount is rejected, not counted
    assert london.rejects.select("line", "reason").rows() == [("190", "missing amount")]
    assert london.records_read == (
        london.flows.height + london.rejects.height + london.non_money + london.repeated
    )


def test_london_payees_paid_from_the_nhs_the_gla_and_tfl(london):
    channel = (
        pl.when(pl.col("payer_name").str.contains("NHS")).then(pl.lit("NHS")).otherwise(pl.col("payer_name"))
    )
    by_payee = london.flows.group_by("payee_name").agg(channel.n_unique().alias("channels"))
    three = set(by_payee.filter(pl.col("channels") == 3)["payee_name"].str.to_uppercase())
    assert {"LONDON BOROUGH OF ENFIELD", "LONDON BOROUGH OF CAMDEN"} <= three


def test_london_worked_example_runs_from_the_command_line(tmp_path, capsys):
    code = main(["analyse", "--sources", str(LONDON_SOURCES), "--skip-invalid", "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rejected"] == 1
    read = Decimal(summary["total_amount"]["GBP"]) + Decimal(summary["repeated_amount"]["GBP"])
    assert read == Decimal("2674248180.44")  # every money line of the files, the repeated one counted once
