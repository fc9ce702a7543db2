"""Reading the files analysts have: header words, payers named by file, column overrides, dates, summary
lines, one sheet per month, OCDS award dates, and the importer contract every format implements."""

from __future__ import annotations

import json
import zipfile
from datetime import date

import polars as pl
import pytest
from openpyxl import Workbook

from graphflows.cli.main import main
from graphflows.ingest import FORMATS, Importer, Sample, SourceRules, read_flows
from graphflows.ingest.base import FileRead, empty_rejects
from graphflows.ingest.importer import Registry
from graphflows.ingest.parsing import parse_dates
from graphflows.ingest.reader import read_files
from graphflows.ingest.spend import header_key
from graphflows.model import InputError
from graphflows.model.schema import empty_flows

#: The Local Government Transparency Code template's own header words (issue 14).
LGTC_HEADER = (
    "OrganisationLabel,OrganisationURI,ServiceLabel,OrganisationalUnit,BeneficiaryName,"
    "BeneficiaryRegistrationNumber,PaymentDate,TransactionNumber,Amount,Purpose,ProclassLabel"
)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_lgtc_template_headers_are_read_camel_case_and_all(tmp_path):
    path = write(
        tmp_path / "lgtc.csv",
        LGTC_HEADER + "\n"
        "Calderdale Council,http://opendatacommunities.org/id/metropolitan-district-council/calderdale,"
        "Adult Services,Adult Social Care,Achieve Together Ltd,06617211,2022-08-17,3165,438.80,"
        "Residential care,Social Care\n",
    )
    row = read_flows([path]).flows.row(0, named=True)
    assert (row["payer_name"], row["payee_name"], row["amount_minor"]) == (
        "Calderdale Council",
        "Achieve Together Ltd",
        43880,
    )
    assert row["date"] == date(2022, 8, 17) and row["reference"] == "3165"
    assert (row["expense_area"], row["expense_type"]) == ("Adult Services", "Residential care")
    assert "GB-COH-06617211" in (row["payee_id"], *(row["payee_other_ids"] or "").split(";"))
    assert row["organisation_uri"].startswith("http://")  # the URI is kept, never taken as the payer


@pytest.mark.parametrize(
    "header",
    [
        "Body Name,Beneficiary Name,Payment Date,Amount",
        "* Body Name *,Beneficiary Name:,Payment Date:,Amount (£)*",
        "BODY NAME,beneficiary  name, payment date ,AMOUNT £",
        "Body Name,Creditor,Paid Date,Amount Paid",
        "Body Name,Name,Transaction Date,Value",
    ],
)
def test_header_words_are_matched_whatever_the_case_spacing_and_decorations(tmp_path, header):
    path = write(tmp_path / "s.csv", f'{header}\nMy Council,ACME LTD,03/04/2023,"1,250.50"\n')
    row = read_flows([path]).flows.row(0, named=True)
    assert (row["payer_name"], row["payee_name"], row["amount_minor"]) == ("My Council", "ACME LTD", 125050)
    assert row["date"] == date(2023, 4, 3)


def test_header_is_found_below_title_and_blank_lines(tmp_path):
    path = write(
        tmp_path / "s.csv",
        "Spending over £500,,,\n,,,\nPublished by the council,,,\nBody Name,Supplier Name,Date,Amount\n"
        "My Council,ACME LTD,2023-04-03,10\n",
    )
    flows = read_flows([path]).flows
    assert flows["line"].to_list() == ["5"]


def test_header_key_examples():
    assert header_key("Supplier(Beneficiary) Name") == header_key("supplier beneficiary name")
    assert header_key("ProclassLabel") == "proclass label"
    assert header_key(" Amount (£)* ") == "amount"


def test_an_amount_alone_on_its_line_is_a_summary_line_counted_as_non_money(tmp_path):
    path = write(
        tmp_path / "s.csv",
        "Body Name,Supplier,Date,Amount\nMy Council,A LTD,2023-04-03,10.00\n"
        'My Council,B LTD,2023-04-04,5.50\n,,," 15.50 "\n',
    )
    result = read_flows([path])
    assert result.flows.height == 2 and result.non_money == 1 and result.totals() == {"GBP": 1550}
    assert any("summary line" in note for note in result.notes)


def test_a_line_with_a_payer_and_an_amount_but_no_payee_stays_a_payment(tmp_path):
    path = write(tmp_path / "s.csv", "Body Name,Supplier,Date,Amount\nMy Council,,2023-04-03,10.00\n")
    flows = read_flows([path]).flows
    assert flows["payee_redacted"].to_list() == ["yes"] and flows["amount_minor"].to_list() == [1000]


# ------------------------------------------------------------------------------------------ payer named


def test_a_file_without_a_paying_body_names_the_payer_option(tmp_path, capsys):
    path = write(
        tmp_path / "WHIT 01 - April.csv", "Date,Supplier,Transaction Reference,Amount\n2020-04-02,A,1,5\n"
    )
    with pytest.raises(InputError, match=r"names no paying body.*--payer 'WHIT 01 - April.csv=") as caught:
        read_flows([path])
    assert str(caught.value).startswith(f"{path}:1:")
    code = main(["orgs", str(path)])
    assert code == 2 and "--payer" in capsys.readouterr().err


def test_payer_option_names_the_payer_of_matching_files_inside_a_zip_too(tmp_path):
    archive = tmp_path / "spend.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("2020/WHIT 01 - April.csv", "Date,Supplier,Amount\n2020-04-02,A LTD,5\n")
        z.writestr("2020/NCL 01 - April.csv", "Date,Supplier,Amount\n2020-04-30,A LTD,7\n")
    rules = SourceRules.from_options(
        payers=["WHIT*.csv=Whittington Health NHS Trust|GB-NHS-RKE", "NCL*=NHS North Central London CCG"]
    )
    flows = read_flows([archive], sources=rules).flows.sort("amount_minor")
    assert flows["payer_name"].to_list() == ["Whittington Health NHS Trust", "NHS North Central London CCG"]
    assert flows["payer_id"][0] == "GB-NHS-RKE"


def test_payer_option_overrides_a_paying_body_column_and_keeps_it(tmp_path):
    path = write(
        tmp_path / "tfl.csv",
        "Entity,Vendor Name,Clearing Date,Amount\nLONDON BUS SERVICES LTD,A,2020-05-04,9\n",
    )
    result = read_flows([path], sources=SourceRules.from_options(payers=["tfl.csv=Transport for London"]))
    row = result.flows.row(0, named=True)
    assert row["payer_name"] == "Transport for London" and row["entity"] == "LONDON BUS SERVICES LTD"
    assert any("kept as extra columns" in note for note in result.notes)


def test_manifest_reads_its_files_with_payers_and_column_overrides(tmp_path):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "oxford.csv", "Client,Paid To,Sum Paid,When\nOCC,ACME LTD,12.34,10/10/2017\n")
    write(tmp_path / "data" / "nhs.csv", "Entity,Supplier,Date,Amount\nNHS A,B LTD,2020-04-30,1\n")
    manifest = write(
        tmp_path / "sources.csv",
        "path,format,payer_name,payer_id,payee_column,amount_column,date_column\n"
        "data/oxford.csv,spend,Oxford City Council,GB-LAE-OXO,Paid To,Sum Paid,When\n"
        "data/nhs.csv,,,,,,\n",
    )
    result = read_flows([], sources=SourceRules.from_options(manifest=manifest))
    rows = {r["payer_name"]: r for r in result.flows.iter_rows(named=True)}
    oxford = rows["Oxford City Council"]
    assert (oxford["payee_name"], oxford["amount_minor"], oxford["date"]) == (
        "ACME LTD",
        1234,
        date(2017, 10, 10),
    )
    assert oxford["payer_id"] == "GB-LAE-OXO" and rows["NHS A"]["amount_minor"] == 100


def test_column_override_cli_form_and_its_errors(tmp_path, capsys):
    path = write(tmp_path / "odd.csv", "Paid To,Sum Paid,When\nACME LTD,12.34,10/10/2017\n")
    out = tmp_path / "out"
    args = ["analyse", str(path), "--out", str(out), "--payer", "odd.csv=Oxford City Council"]
    overrides = ["--column", "odd.csv=payee:Paid To", "--column", "odd.csv=amount:Sum Paid"]
    assert main([*args, *overrides, "--column", "odd.csv=date:When"]) == 0
    assert json.loads((out / "summary.json").read_text())["total_amount"] == {"GBP": "12.34"}
    capsys.readouterr()
    assert main([*args, *overrides, "--column", "odd.csv=date:Paid On"]) == 2
    assert "Paid On" in capsys.readouterr().err
    assert main([*args, "--column", "odd.csv=colour:Paid To"]) == 2
    assert "unknown field 'colour'" in capsys.readouterr().err


def test_a_column_title_the_file_lacks_lists_the_titles_found_and_a_close_match(tmp_path, capsys):
    header = "Client,Paid Date,Trans No,Amount,Supplier ID,Supplier Name"
    path = write(tmp_path / "oxford.csv", f"Spend over 500\n{header}\nOxford,10/10/2017,1,12.34,9,ACME LTD\n")
    book = Workbook()
    book.active.append(["Title row"])
    book.active.append(header.split(","))
    book.save(tmp_path / "oxford.xlsx")
    found = "found: " + ", ".join(header.split(","))
    for source, titles in (
        (path, found),
        (tmp_path / "oxford.xlsx", "found: " + ", ".join(sorted(header.split(",")))),
    ):
        args = ["analyse", str(source), "--out", str(tmp_path / "out"), "--payer", "*=Oxford City Council"]
        assert main([*args, "--column", "*=payee:Supplier Nme", "--column", "*=date:Paid"]) == 2
        assert capsys.readouterr().err.strip() == (
            f"graphflows: {source}: column(s) named by --column/--sources not found in the header: "
            f"date:'Paid', payee:'Supplier Nme' (did you mean 'Supplier Name'?); {titles}"
        )
    assert not (tmp_path / "out").exists()


def test_manifest_errors_name_the_line(tmp_path):
    bad = write(tmp_path / "m.csv", "path,format\nx.csv,parquet\n")
    with pytest.raises(InputError, match=r"m.csv:2: unknown format 'parquet'"):
        SourceRules.from_options(manifest=bad, formats=list(FORMATS))
    with pytest.raises(InputError, match="unknown manifest column"):
        SourceRules.from_options(manifest=write(tmp_path / "n.csv", "path,payee\nx.csv,A\n"))


# ------------------------------------------------------------------------------------------------ dates


def test_dates_as_uk_publishers_write_them():
    given = ["3 Apr 2023", "15 June 2023", "07/09/23", "2023-04-03T10:11:12Z", "45019", "April 3, 2023"]
    parsed = parse_dates(pl.Series(given))
    april_3, june_15, september_7 = date(2023, 4, 3), date(2023, 6, 15), date(2023, 9, 7)
    assert parsed.date.to_list() == [april_3, june_15, september_7, april_3, april_3, april_3]
    assert parsed.problem.null_count() == len(given)


def test_an_unreadable_date_names_the_row_and_the_text(tmp_path):
    path = write(
        tmp_path / "s.csv", "Body Name,Supplier,Date,Amount\nC,A,2023-04-03,1\nC,B,sometime in May,2\n"
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    problem = caught.value.problems[0]
    assert (problem.line, problem.reason.split(" is not")[0]) == ("3", "date sometime in May")


# ------------------------------------------------------------------------------------- workbook per month


def test_every_sheet_with_a_spend_header_is_read_each_row_placed_by_sheet(tmp_path):
    book = Workbook()
    april = book.active
    april.title = "April"
    april.append(["Spend over £25k"])
    april.append(["Entity", "Date", "Supplier", "Amount"])
    april.append(["Trust", date(2020, 4, 1), "A LTD", 30000.5])
    may = book.create_sheet("May")
    may.append(["Entity", "Date", "Supplier", "Amount"])
    may.append(["Trust", "03/05/2020", "B LTD", 25000])
    book.create_sheet("Notes").append(["nothing here"])
    path = tmp_path / "spend.xlsx"
    book.save(path)
    flows = read_flows([path]).flows
    assert flows.select("line", "payee_name", "amount_minor", "date").rows() == [
        ("April!3", "A LTD", 3000050, date(2020, 4, 1)),
        ("May!2", "B LTD", 2500000, date(2020, 5, 3)),
    ]


# -------------------------------------------------------------------------------------------------- OCDS


def _ocds_release(award: dict, contracts: list[dict]) -> dict:
    return {
        "ocid": "ocds-pt-1", "id": "r1", "date": "2019-11-20T00:00:00Z",
        "parties": [{"id": "b", "name": "Municipio", "roles": ["buyer"]}],
        "buyer": {"id": "b", "name": "Municipio"},
        "awards": [{"id": "a1", "status": "active", "value": {"amount": 100, "currency": "EUR"},
                    "suppliers": [{"id": "s", "name": "Fornecedor Lda"}], **award}],
        "contracts": contracts,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("award", "contracts", "expected", "basis"),
    [
        (
            {"date": "2008-03-01"},
            [{"awardID": "a1", "dateSigned": "2008-04-01"}],
            date(2008, 3, 1),
            "award date",
        ),
        (
            {},
            [{"awardID": "a1", "dateSigned": "2008-04-01T00:00:00Z"}],
            date(2008, 4, 1),
            "contract dateSigned",
        ),
        (
            {},
            [{"awardID": "a1", "period": {"startDate": "2009-01-05"}}],
            date(2009, 1, 5),
            "contract period start",
        ),
        ({}, [{"awardID": "other", "dateSigned": "2008-04-01"}], None, None),
    ],
)
def test_ocds_award_dates_never_take_the_release_date(tmp_path, award, contracts, expected, basis):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"releases": [_ocds_release(award, contracts)]}))
    result = read_flows([path])
    row = result.flows.row(0, named=True)
    assert (row["date"], row["date_basis"]) == (expected, basis)
    assert any("undated" in note for note in result.notes) == (expected is None)


# ------------------------------------------------------------------------------------ importer contract


def test_every_format_is_a_registered_importer_reading_bytes():
    assert list(FORMATS) == ["flows", "360giving", "ocds", "spend"]
    for name, importer in FORMATS.items():
        assert isinstance(importer, Importer) and importer.name == name and importer.summary
    native = FORMATS["flows"].read(b"payer_id,payee_id,amount\nA,B,1.50\n", "mem.csv", FORMATS["flows"].sniff)
    assert native.flows["amount_minor"].to_list() == [150]


def test_a_new_format_is_one_importer_and_one_registration(tmp_path):
    def sniff(sample: Sample) -> bool:
        return sample.name.endswith(".pay")

    def read(data: bytes, source: str, settings) -> FileRead:
        return FileRead(
            source,
            "pay",
            empty_flows(),
            empty_rejects(),
            records_read=len(data.splitlines()),
            non_money=len(data.splitlines()),
        )

    registry = Registry(FORMATS)
    registry.register(Importer("pay", sniff, read, "test format"))
    assert registry.detect(Sample("x.pay", b"1\n2\n")) == "pay"
    assert registry.detect(Sample("x.csv", b"payer_id,payee_id,amount\n")) == "flows"
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Importer("pay", sniff, read))


def test_zip_members_of_every_format_are_read_from_memory(tmp_path):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("flows.csv", "payer_id,payee_id,amount\nA,B,2\n")
        z.writestr("spend.csv", "Entity,Supplier,Date,Amount\nC,D,2020-04-30,3\n")
    reads = read_files(archive)
    assert [(r.format, int(r.flows["amount_minor"].sum())) for r in reads] == [("flows", 200), ("spend", 300)]
