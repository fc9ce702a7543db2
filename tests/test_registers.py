"""The shipped public-body registers: identifiers, names, variants, ambiguity and packaging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from graphflows.classify import CHANNELS
from graphflows.registers import (
    REGISTERS,
    alias_table,
    body_table,
    lookup_id,
    lookup_name,
    name_key,
    name_matches,
    name_table,
)

ROOT = Path(__file__).resolve().parent.parent
#: The shared register copies the shipped tables are derived from: beside the repository, or the workplace's.
SHARED = next(
    (p for p in (ROOT.parent / "shared/data/registers", Path("/work/shared/data/registers")) if p.exists()),
    Path("/work/shared/data/registers"),
)


@pytest.mark.parametrize(
    ("name", "org_id"),
    [
        # Trafford 360Giving (Funding Org:Name) and mySociety's other names of the same council.
        ("Trafford Metropolitan Borough Council", "GB-LAE-TRF"),
        ("Trafford Council", "GB-LAE-TRF"),
        ("trafford council", "GB-LAE-TRF"),
        # LGTC council spend files and Contracts Finder buyers.
        ("Calderdale Metropolitan Borough Council", "GB-LAE-CLD"),
        ("Devon County Council", "GB-LAE-DEV"),
        ("North Tyneside Council", "GB-LAE-NTY"),
        ("Oxford City Council", "GB-LAE-OXO"),
        ("Telford &amp; Wrekin Council", "GB-LAE-TFW"),  # HTML entity as Contracts Finder exports it
        ("Greater London Authority", "GB-LAE-GLA"),
        ("Aberdeenshire Council", "GB-LAS-ABD"),
        # NHS CCG spend (NEL) payees and entities, London NHS files; ODS upper case or not.
        ("NHS Havering CCG", "GB-NHS-08F"),
        ("NHS REDBRIDGE CCG", "GB-NHS-08N"),
        ("NHS Redbridge Clinical Commissioning Group", "GB-NHS-08N"),
        ("Redbridge CCG", "GB-NHS-08N"),
        ("NHS Leicester City CCG", "GB-NHS-04C"),
        ("NORTH EAST LONDON NHS FOUNDATION TRUST", "GB-NHS-RAT"),
        ("Barts Health NHS Trust", "GB-NHS-R1H"),
        ("Royal Free London NHS Foundation Trust", "GB-NHS-RAL"),
        ("NHS Cheshire and Merseyside Integrated Care Board", "GB-NHS-QYG"),
        # Police and commissioners.
        ("Leicestershire Police", "police-force:leicestershire"),
        ("Mayor's Office for Policing and Crime", "pcc:metropolitan"),
        ("Police and Crime Commissioner for Kent", "pcc:kent"),
        ("Kent Police and Crime Commissioner", "pcc:kent"),
        # Government organisations, names and abbreviations.
        ("Department for Education", "GB-GOR-D6"),
        ("DfE", "GB-GOR-D6"),
        ("Department for Work and Pensions", "GB-GOR-D10"),
        ("HMRC", "GB-GOR-D25"),
        ("Department of Health", "GB-GOR-D12"),  # the name before 2018
        ("Department for Communities and Local Government", "GB-GOR-D4"),
        ("Public Health England", "GB-GOR-EA480"),
    ],
)
def test_lookup_name_finds_the_body(name, org_id):
    assert lookup_name(name).org_id == org_id


@pytest.mark.parametrize(
    ("org_id", "name", "register", "channel"),
    [
        ("GB-LAE-TRF", "Trafford Metropolitan Borough Council", "local-authority", "local_government"),
        ("gb-lae-trf", "Trafford Metropolitan Borough Council", "local-authority", "local_government"),
        ("GB-PLA-CRF", "City of Cardiff Council", "local-authority", "local_government"),
        ("GB-NHS-R1H", "Barts Health NHS Trust", "nhs", "nhs"),
        ("GB-NHS-08F", "NHS Havering CCG", "nhs", "nhs"),  # a closed CCG, kept for old files
        ("GB-GOR-D6", "Department for Education", "government-organisation", "education"),
        ("GB-GOR-EA480", "Public Health England", "government-organisation", "public_health"),
        ("GB-GOR-D16", "Home Office", "government-organisation", "police_justice"),
        ("GB-GOR-PB1232", "Homes England", "government-organisation", "housing_communities"),
        ("GB-GOR-PB188", "Big Lottery Fund", "government-organisation", "charitable"),
        ("pcc:kent", "Kent Police and Crime Commissioner", "police", "police_justice"),
    ],
)
def test_lookup_id(org_id, name, register, channel):
    body = lookup_id(org_id)
    assert (body.name, body.register, body.channel) == (name, register, channel)


def test_post_2020_councils_answer_to_both_sources_codes():
    # mySociety and digital-land disagree on the codes of North Yorkshire Council (2023).
    assert lookup_id("GB-LAE-NYUA") == lookup_id("GB-LAE-NYE")
    assert lookup_id("GB-LAE-NYE").name == "North Yorkshire Council"


@pytest.mark.parametrize(
    "name",
    [
        "Buckinghamshire",  # the county council (to 2020) and the unitary council (from 2020)
        "Ministry of Housing, Communities and Local Government",  # D4 (2018-21) and D1342 (2024-)
        "Council Cleaning Services Ltd",
        "NHS NEL CSU",
        "Police",  # the GOV.UK list's "abbreviation" of the Police Discipline Appeals Tribunal
        "Education",  # ... of UKTI Education
        "ICE",  # the Independent Case Examiner's acronym, but an everyday word
        "",
        None,
    ],
)
def test_ambiguous_or_unknown_names_give_none(name):
    assert lookup_name(name) is None


def test_ambiguous_name_lists_every_candidate():
    assert sorted(b.org_id for b in name_matches("Buckinghamshire")) == ["GB-LAE-BKM", "GB-LAE-BUC"]


def test_unknown_ids_give_none():
    assert lookup_id("GB-LAE-ZZZ") is None
    assert lookup_id("GB-CHC-1110767") is None
    assert lookup_id(None) is None


def test_name_keys_fold_publisher_spellings():
    assert name_key("NHS Leicester City Clinical Commissioning Group") == "NHS LEICESTER CITY CCG"
    assert name_key("The Mayor’s Office for Policing & Crime") == name_key(
        "Mayors Office for Policing and Crime"
    )
    assert name_key("St Helens Council") == name_key("Saint Helens Council")
    assert name_key("Royal Free London Nhs Ft") == name_key("Royal Free London NHS Foundation Trust")
    assert name_key("United Kingdom Atomic Energy Authority") == "UK ATOMIC ENERGY AUTHORITY"
    # "FT" alone, or a Foundation Trust that is not the NHS's, is left as written
    assert name_key("The Smith Foundation Trust") == "SMITH FOUNDATION TRUST"
    assert name_key("FT Group") == "FT GROUP"
    # "Hosp" as finance systems cut it; "Hospice" is another word
    assert name_key("Whittington Hosp Nhs Trust") == "WHITTINGTON HOSPITAL NHS TRUST"
    assert name_key("St Marys Hosps") == "ST MARYS HOSPITALS"
    assert name_key("St Luke's Hospice") == "ST LUKES HOSPICE"


@pytest.mark.parametrize(
    ("name", "org_id"),
    [
        ("Royal Free London Nhs Ft", "GB-NHS-RAL"),  # London: North Middlesex's spend
        ("United Kingdom Atomic Energy Authority", "GB-GOR-PB137"),  # the register says "UK ..."
        ("Countess Of Chester Hosp Nhs Ft", "GB-NHS-RJR"),
        ("Ealing Hosp NHS Trust", "GB-NHS-RC3"),
    ],
)
def test_abbreviated_and_spelt_out_forms_find_the_body(name, org_id):
    assert lookup_name(name).org_id == org_id


def test_abbreviations_are_marked_apart_from_names():
    kinds = {(k, o): kind for k, o, kind in name_table().iter_rows()}
    assert kinds[("CPS", "GB-GOR-D101")] == "abbreviation"  # GOV.UK list
    assert kinds[("DFE", "GB-GOR-D6")] == "abbreviation"  # IfG short name
    assert kinds[("CROWN PROSECUTION SERVICE", "GB-GOR-D101")] == "name"
    assert kinds[("BBC", "GB-GOR-PC388")] == "name"  # the body's own name, though short
    assert lookup_name("CPS").org_id == "GB-GOR-D101"  # an abbreviation still names the body alone


def test_tables_are_consistent():
    bodies = body_table()
    assert bodies["org_id"].is_unique().all()
    assert set(bodies["register"]) == set(REGISTERS)
    assert set(bodies["channel"]) <= set(CHANNELS)
    assert name_table()["org_id"].is_in(bodies["org_id"].implode()).all()
    assert set(name_table()["kind"]) == {"name", "abbreviation"}
    assert alias_table()["org_id"].is_in(bodies["org_id"].implode()).all()
    counts = dict(bodies.group_by("register").len().iter_rows())
    assert counts["police"] == 44 + 42  # 44 forces; no commissioner for the City of London or PSNI
    assert (
        counts["local-authority"] >= 470 and counts["nhs"] >= 600 and counts["government-organisation"] >= 989
    )


@pytest.mark.skipif(not SHARED.exists(), reason="needs the shared register copies")
def test_make_registers_reproduces_the_shipped_tables(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "tools/make_registers.py"), str(SHARED), str(tmp_path)],
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    for name in ("bodies.csv", "names.csv", "ids.csv", "codes.csv"):
        shipped = pl.read_csv(ROOT / "graphflows/data/registers" / name, infer_schema=False)
        assert shipped.equals(pl.read_csv(tmp_path / name, infer_schema=False)), name


def test_register_files_stay_small():  # tests/test_packaging.py checks the wheel ships them
    assert all(
        (ROOT / "graphflows/data/registers" / f).stat().st_size < 1_000_000
        for f in ("bodies.csv", "names.csv", "codes.csv")
    )
