"""One node per organisation with real spellings (issue 14 §2): legal-form variants, public bodies by
register, malformed ids, Northern Ireland charities, self-payments and repeated lines, suggestions.

Names, numbers and ids come from the real files in tests/data (Trafford's and ALWF's 360Giving files,
the LGTC councils' and London 2020-21 spend files); small spend files are written with those spellings
where the issue's pairs meet across publishers."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from graphflows.cli.main import main
from graphflows.ingest import SourceRules, read_flows
from graphflows.ingest.organisations import read_org_map
from graphflows.ingest.orgids import legal_form_keys, normalise_names, org_id_problem
from tests.data import ALWF_XLSX, COUNCILS_ZIP, LONDON_SOURCES, TRAFFORD_CSV

SPEND = "Entity,Date,Supplier,Transaction Number,Amount\n"
GRANTS = (
    "Identifier,Amount Awarded,Currency,Award Date,Funding Org:Identifier,Funding Org:Name,"
    "Recipient Org:Identifier,Recipient Org:Name,Recipient Org:Charity Number,Recipient Org:Company Number\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def node_of(result, name: str) -> str:
    """The node the payee (or payer) spelt ``name`` became."""
    flows = result.flows
    for side in ("payee", "payer"):
        found = flows.filter(pl.col(f"{side}_name_given") == name)
        if found.height:
            return found[f"{side}_id"][0]
    raise AssertionError(f"{name!r} not in the flows")


@pytest.fixture(scope="module")
def trafford_and_its_spend(tmp_path_factory):
    """Trafford's real grants (funder GB-LAE-TRF) and a council spend file naming the council and the
    same grantees as a finance system does."""
    spend = write(
        tmp_path_factory.mktemp("spend") / "trafford-spend.csv",
        SPEND + "Trafford Council,30/04/2021,The Proud Trust Ltd,1,2500\n"
        "Trafford Council,30/04/2021,SALE MOOR COMMUNITY PARTNERSHIP LIMITED,2,1200\n"
        "Trafford Council,30/04/2021,The Urban Fitness Collective CIC,3,800\n"
        "Trafford Council,30/04/2021,Trafford Housing Trust Ltd,4,90000\n"
        "Trafford Council,30/04/2021,NHS Trafford CCG,5,250000\n"
        "NHS Trafford CCG,30/04/2021,Trafford Metropolitan Borough Council,6,400000\n",
    )
    return read_flows([TRAFFORD_CSV, spend])


def test_legal_form_variants_join_the_registered_grantee(trafford_and_its_spend):
    result = trafford_and_its_spend
    # The Proud Trust gives charity 1161102 and company 05585290 in Trafford's file
    assert node_of(result, "The Proud Trust Ltd") == node_of(result, "The Proud Trust") == "GB-CHC-1161102"
    assert node_of(result, "SALE MOOR COMMUNITY PARTNERSHIP LIMITED") == "GB-CHC-1113664"
    assert node_of(result, "The Urban Fitness Collective CIC") == "GB-COH-09626499"
    org = result.organisations.filter(pl.col("id") == "GB-COH-09626499").row(0, named=True)
    assert (org["match_method"], org["match_confidence"]) == ("legal-form", 0.75)
    assert "differ only by a legal form" in org["match_reasons"]


def test_the_council_is_one_node_under_its_register_id(trafford_and_its_spend):
    result = trafford_and_its_spend
    assert node_of(result, "Trafford Council") == "GB-LAE-TRF"
    assert node_of(result, "Trafford Metropolitan Borough Council") == "GB-LAE-TRF"
    council = result.organisations.filter(pl.col("id") == "GB-LAE-TRF").row(0, named=True)
    assert council["match_method"] == "register" and council["match_confidence"] == 0.9
    assert "Trafford Council" in council["names_seen"]
    # so a grantee paid by the council in both files has one payer, not "two councils"
    payers = result.flows.filter(pl.col("payee_id") == "GB-CHC-1161102")["payer_id"].unique()
    assert payers.to_list() == ["GB-LAE-TRF"]


def test_what_a_person_keeps_apart_stays_apart(trafford_and_its_spend):
    result = trafford_and_its_spend
    ccg = node_of(result, "NHS Trafford CCG")
    assert ccg == "GB-NHS-02A" != node_of(result, "Trafford Council")
    assert node_of(result, "Trafford Housing Trust Ltd") == "name:TRAFFORD HOUSING TRUST LTD"  # a company
    # three Sale Moor groups in Trafford's file: a partnership, a CIC and a community coffee bar
    sale_moor = {
        node_of(result, n)
        for n in ("Sale Moor Community Partnership", "We Are Sale Moor Community Interest Company")
    }
    assert sale_moor == {"GB-CHC-1113664", "GB-COH-10158145"}
    assert node_of(result, "Genesis Sale Moor CiC") == "GB-COH-06023117"


def test_two_forms_of_one_name_are_not_merged_but_reported(tmp_path):
    # spellings from the London NHS trusts' and TfL's 2020-21 files
    spend = write(
        tmp_path / "s.csv",
        SPEND + "Royal Free London NHS Foundation Trust,30/04/2020,Softcat Plc,1,500\n"
        "Transport for London,30/04/2020,Softcat Limited,2,700\n"
        "Transport for London,30/04/2020,KPMG LLP,3,9\n"
        "Royal Free London NHS Foundation Trust,30/04/2020,KPMG,4,9\n",
    )
    result = read_flows([spend])
    assert node_of(result, "Softcat Plc") != node_of(result, "Softcat Limited")
    assert node_of(result, "KPMG LLP") == node_of(result, "KPMG")  # one form, once without it
    assert any(
        "SOFTCAT LTD / SOFTCAT PLC differ only by a legal form but were not merged" in n for n in result.notes
    )
    assert node_of(result, "Transport for London") == "name:TRANSPORT FOR LONDON"  # in no register shipped
    assert node_of(result, "Royal Free London NHS Foundation Trust") == "GB-NHS-RAL"


@pytest.mark.parametrize(
    ("org_id", "problem"),
    [
        ("GB-COH-N/A", "a placeholder, not a number"),
        ("GB-COH-NA", "a placeholder, not a number"),
        ("GB-COH-00000000", "a placeholder, not a number"),
        ("GB-COH-THE-WINDMILL-CHARLTON", "not a GB-COH number"),
        ("GB-CHC-12", "not a GB-CHC number"),
        ("GB-SC-25599", "not a GB-SC number"),
        ("GB-NIC-TBC", "a placeholder, not a number"),
    ],
)
def test_malformed_ids_are_named(org_id, problem):
    assert org_id_problem(org_id) == problem


@pytest.mark.parametrize(
    "org_id",
    ["GB-COH-05585290", "GB-COH-RS007220", "GB-COH-CE008889", "GB-CHC-1161102", "GB-SC-SC025599",
     "GB-NIC-101104", "GB-EDU-133788", "US-EIN-31-1776667", "GB-REV-X7802", "GB-LAE-TRF", "GB-NHS-02A",
     "GB-GOR-PB509", "GB-LANI-NIR-A", "GB-CHC-1123456-1"],
)  # fmt: skip
def test_real_ids_from_the_shared_files_and_registers_are_well_formed(org_id):
    assert org_id_problem(org_id) is None


def test_placeholder_ids_do_not_merge_unrelated_groups(tmp_path):
    grants = write(
        tmp_path / "g.csv",
        GRANTS + "g1,500,GBP,2020-01-01,GB-LAE-TRF,Trafford Council,GB-COH-n/a,Friends of Longford Park,,\n"
        "g2,500,GBP,2020-01-01,GB-LAE-TRF,Trafford Council,GB-COH-n/a,Stretford Public Hall,,\n"
        "g3,500,GBP,2020-01-01,GB-LAE-TRF,Trafford Council,GB-COH-NA,Friends of Longford Park,,\n"
        "g4,500,GBP,2020-01-01,GB-LAE-TRF,Trafford Council,GB-COH-the-windmill-charlton,The Windmill,,\n",
    )
    result = read_flows([grants])
    assert node_of(result, "Friends of Longford Park") == "name:FRIENDS OF LONGFORD PARK"
    assert node_of(result, "Stretford Public Hall") == "name:STRETFORD PUBLIC HALL"
    assert node_of(result, "The Windmill") == "name:WINDMILL"
    assert not result.organisations["id"].str.starts_with("GB-COH").any()
    note = next(n for n in result.notes if "malformed or placeholder" in n)
    assert "ignored 3 malformed or placeholder identifier(s) on 4 record(s)" in note
    assert "matched by name" in note


def test_northern_ireland_charities_keep_their_nic_id():
    result = read_flows([ALWF_XLSX])
    assert node_of(result, "Ulster Youth Orchestra") == "GB-NIC-101104"
    assert node_of(result, "Ulster Architectural Heritage Society") == "GB-NIC-101510"
    assert not result.organisations["org_ids"].str.contains("GB-CHC-101104").any()
    assert any("read as the Northern Ireland number" in n for n in result.notes)


def test_a_register_alias_becomes_the_current_code(tmp_path):
    grants = write(
        tmp_path / "g.csv",
        GRANTS
        + "g1,500,GBP,2024-01-01,GB-LAE-NYUA,North Yorkshire Council,GB-CHC-1161102,The Proud Trust,,\n",
    )
    spend = write(tmp_path / "s.csv", SPEND + "North Yorkshire Council,30/04/2024,The Proud Trust,1,5\n")
    result = read_flows([grants, spend])
    assert result.flows["payer_id"].unique().to_list() == ["GB-LAE-NYE"]
    assert any("GB-LAE-NYUA -> GB-LAE-NYE" in n for n in result.notes)


def test_real_council_files_report_self_payments_and_repeated_lines():
    result = read_flows(
        [COUNCILS_ZIP],
        sources=SourceRules.from_options(
            payers=["northtyneside_*=North Tyneside Council", "expenditure-over-500-*=Oxford City Council"]
        ),
    )
    tyneside = result.flows.filter(pl.col("source").str.contains("northtyneside"))
    assert tyneside["payer_id"].unique().to_list() == ["GB-LAE-NTY"]
    own = tyneside.filter(pl.col("payee_id") == "GB-LAE-NTY")
    assert own.height > 0
    assert any(f"{own.height} flow(s) paid by an organisation to itself" in n for n in result.notes)
    # repeated lines: counted by an independent reading of the file, and kept
    member = f"{COUNCILS_ZIP}!north_tyneside/northtyneside_2021-09_p.csv"
    rows = [tuple(r) for r in csv.reader(open_member(member))][1:]
    repeats = len(rows) - len(set(rows))
    assert tyneside.height == len(rows)
    assert any(f"{member}: {repeats} line(s) repeat an earlier line exactly" in n for n in result.notes)


def open_member(source: str):
    import io
    import zipfile

    archive, member = source.split("!")
    with zipfile.ZipFile(archive) as z:
        return io.StringIO(z.read(member).decode("utf-8-sig"), newline="")


def test_london_councils_paid_from_several_channels_are_one_node_each():
    result = read_flows([], sources=SourceRules.from_options(manifest=LONDON_SOURCES), skip_invalid=True)
    enfield = result.flows.filter(pl.col("payee_id") == "GB-LAE-ENF")
    spellings = set(enfield["payee_name_given"])
    assert {"LONDON BOROUGH OF ENFIELD", "London Borough of Enfield"} <= spellings
    assert {"GB-NHS-93C", "GB-LAE-GLA", "name:TRANSPORT FOR LONDON"} <= set(enfield["payer_id"])


def test_a_trust_abbreviated_ft_is_the_registered_trust():
    # North Middlesex's spend pays "Royal Free London Nhs Ft"; the payer's own file is GB-NHS-RAL
    result = read_flows([], sources=SourceRules.from_options(manifest=LONDON_SOURCES), skip_invalid=True)
    assert node_of(result, "Royal Free London Nhs Ft") == "GB-NHS-RAL"
    assert node_of(result, "Royal Free London NHS Foundation Trust") == "GB-NHS-RAL"
    # the register has only the trust's current name (Whittington Health NHS Trust, since 2011)
    assert node_of(result, "Whittington Hosp Nhs Trust") == "name:WHITTINGTON HOSP NHS TRUST"


def test_legal_form_keys_use_only_a_trailing_form():
    keys = normalise_names(
        pl.Series(["The Proud Trust Ltd", "Foo Charitable Incorporated Organisation", "Trafford Council"])
    )
    assert legal_form_keys(keys).rows() == [
        ("PROUD TRUST", "ltd"),
        ("FOO CHARITABLE INC ORGANISATION", ""),
        ("TRAFFORD COUNCIL", ""),
    ]


# ------------------------------------------------------------------------------------------- suggestions


def test_suggestions_are_an_org_map_that_decides_nothing_until_edited(tmp_path, capsys):
    spend = write(
        tmp_path / "s.csv",
        SPEND + "Royal Free London NHS Foundation Trust,30/04/2020,Softcat Plc,1,500\n"
        "Transport for London,30/04/2020,Softcat Limited,2,700\n"
        "North Middlesex University Hospital NHS Trust,30/04/2020,Karl Storz Endoscopy (Uk) Ltd,3,9\n"
        "North Middlesex University Hospital NHS Trust,30/04/2020,Karl Storz Endocopy (Uk) Ltd,4,9\n"
        "Greater London Authority,30/04/2020,LONDON BOROUGH OF ISLINGTON,5,9\n"
        "Greater London Authority,30/04/2020,LONDON BOROUGH OF HILLINGDON,6,9\n",
    )
    out = tmp_path / "suggested.csv"
    assert main(["orgs", str(spend), "--suggest", str(out)]) == 0
    assert "2 suggested pair(s) written" in capsys.readouterr().out
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    pairs = {frozenset((r["key"], r["other"])): r for r in rows}
    softcat = pairs[frozenset(("name:SOFTCAT PLC", "name:SOFTCAT LTD"))]
    assert (softcat["action"], softcat["score"]) == ("maybe", "1.0")
    assert "legal form" in softcat["evidence"]
    storz = pairs[frozenset(("name:KARL STORZ ENDOSCOPY UK LTD", "name:KARL STORZ ENDOCOPY UK LTD"))]
    assert float(storz["score"]) >= 0.9 and "both paid by North Middlesex" in storz["evidence"]
    # two councils with their own register ids are not suggested by name alone
    assert not any("GB-LAE-ISL" in p for p in pairs)
    # as written, the file is a valid map that changes nothing
    assert len(read_org_map(out).undecided) == 2
    undecided = read_flows([spend], org_map=out)
    assert node_of(undecided, "Softcat Plc") != node_of(undecided, "Softcat Limited")
    # the analyst decides
    text = out.read_text(encoding="utf-8").replace("maybe,name:SOFTCAT", "same,name:SOFTCAT")
    decided = write(tmp_path / "decided.csv", text)
    merged = read_flows([spend], org_map=decided)
    assert node_of(merged, "Softcat Plc") == node_of(merged, "Softcat Limited")
    assert merged.organisations.filter(pl.col("id") == node_of(merged, "Softcat Plc"))[
        "match_method"
    ].item() == ("user-map")
    # a 'different' decision is not suggested again
    apart = write(tmp_path / "apart.csv", text.replace("same,name:SOFTCAT", "different,name:SOFTCAT"))
    again = tmp_path / "again.csv"
    assert main(["orgs", str(spend), "--org-map", str(apart), "--suggest", str(again)]) == 0
    assert "SOFTCAT" not in again.read_text(encoding="utf-8")


def test_suggest_never_overwrites_a_users_file(tmp_path, capsys):
    spend = write(tmp_path / "s.csv", SPEND + "Transport for London,30/04/2020,Softcat Limited,2,700\n")
    mine = write(tmp_path / "mine.csv", "my own notes\n")
    assert main(["orgs", str(spend), "--suggest", str(mine)]) == 2
    assert mine.read_text() == "my own notes\n"
    assert "Traceback" not in capsys.readouterr().err


def test_a_name_two_public_bodies_go_by_is_not_guessed(tmp_path):
    # the county council (to 2020) and the unitary council that replaced it are both "Buckinghamshire"
    spend = write(tmp_path / "s.csv", SPEND + "NHS Buckinghamshire CCG,30/04/2020,Buckinghamshire,1,5\n")
    result = read_flows([spend])
    assert node_of(result, "NHS Buckinghamshire CCG") == "GB-NHS-14Y"
    assert node_of(result, "Buckinghamshire") == "name:BUCKINGHAMSHIRE"
    assert any("GB-LAE-BKM" in n and "GB-LAE-BUC" in n and "not merged" in n for n in result.notes)


def test_a_councils_uri_column_gives_its_register_id():
    result = read_flows(
        [COUNCILS_ZIP],
        sources=SourceRules.from_options(
            payers=["northtyneside_*=North Tyneside Council", "expenditure-over-500-*=Oxford City Council"]
        ),
    )
    payers = dict(
        result.flows.group_by("payer_name_given").agg(pl.col("payer_id").unique().sort().str.join("|")).rows()
    )
    # Calderdale's "Body" column: http://statistics.data.gov.uk/doc/local-authority-district/00CY
    assert payers["The Borough of Calderdale"] == "GB-LAE-CLD"
    # Devon's "Body" column holds 18, its old county code: not read as one; its name finds the council
    assert payers["Devon County Council"] == "GB-LAE-DEV"
    devon = result.organisations.filter(pl.col("id") == "GB-LAE-DEV")["match_method"].item()
    assert devon == "register"
    assert any("identified by the council code or URI in the column 'body'" in n for n in result.notes)


@pytest.mark.parametrize(
    ("name", "org_id"),
    [
        # the OCDS sample's buyer: the register's name map once also gave it Broxtowe's code
        ("BRAINTREE DISTRICT COUNCIL", "GB-LAE-BRA"),
        ("Bath and North East Somerset Council", "GB-LAE-BAS"),  # not the London Borough of Barnet
        ("Basildon Borough Council", "GB-LAE-BAI"),  # not Bath and North East Somerset
        ("Wyre Council", "GB-LAE-WYR"),  # not Wychavon (GB-LAE-WYC)
    ],
)
def test_council_names_resolve_to_their_own_council_only(tmp_path, name, org_id):
    spend = write(tmp_path / "s.csv", SPEND + f"{name},30/04/2020,Supplier One Ltd,1,5\n")
    assert read_flows([spend]).flows["payer_id"].to_list() == [org_id]
