"""One organisation, one node: matching rules, the mapping file, and ``graphflows orgs``."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflows.cli.main import main
from graphflows.ingest import read_flows
from graphflows.ingest.organisations import read_org_map
from graphflows.ingest.orgids import charity_id, company_id, normalise_name, normalise_org_id
from graphflows.model import InputError

GRANTS = (
    "Identifier,Amount Awarded,Currency,Award Date,Funding Org:Identifier,Funding Org:Name,"
    "Recipient Org:Identifier,Recipient Org:Name,Recipient Org:Charity Number,Recipient Org:Company Number\n"
)
SPEND = "Entity,Date,Supplier,Transaction Number,Amount\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("KING`S COLLEGE HOSPITAL NHS FOUNDATION TRUST", "Kings College Hospital NHS Foundation Trust"),
        ("L&amp;Q Construction", "L and Q Construction"),
        ("UK0479435601 : Spire Healthcare Limited", "SPIRE HEALTHCARE LTD"),
        ("The Friends of Oak Road Park", "Friends of Oak Road Park"),
        ("Barking, Havering & Redbridge", "BARKING HAVERING AND REDBRIDGE"),
    ],
)
def test_names_that_normalise_together(a, b):
    assert normalise_name(a) == normalise_name(b) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [("Spire Healthcare", "Spire Healthcare Group"), ("NHS Havering CCG", "NHS Redbridge CCG")],
)
def test_names_that_stay_apart(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_identifier_spellings():
    assert normalise_org_id("gb-coh-7962245") == "GB-COH-07962245"
    assert normalise_org_id("GB-CHC-0512710") == "GB-CHC-512710"
    assert normalise_org_id("360G-trafford-be_active") == "360G-trafford-be_active"
    assert (charity_id("SC025599"), company_id("OC301540")) == ("GB-SC-SC025599", "GB-COH-OC301540")


def test_charity_and_company_numbers_join_files_that_use_different_ids(tmp_path):
    a = write(
        tmp_path / "a.csv",
        GRANTS
        + "g1,10,GBP,2020-01-01,GB-CHC-1015648,Funder A,GB-COH-07962245,Cyril Flint,1146179,07962245\n",
    )
    b = write(
        tmp_path / "b.csv",
        GRANTS + "g2,20,GBP,2020-01-01,GB-CHC-1113664,Funder B,GB-CHC-1146179,Cyril Flint Befrienders,,\n",
    )
    result = read_flows([a, b])
    assert result.flows["payee_id"].unique().to_list() == ["GB-CHC-1146179"]
    org = result.organisations.filter(pl.col("id") == "GB-CHC-1146179").row(0, named=True)
    assert org["match_method"] == "charity+company" and org["org_ids"] == "GB-CHC-1146179;GB-COH-07962245"


def test_a_name_only_record_joins_the_one_organisation_with_that_name(tmp_path):
    grants = write(
        tmp_path / "g.csv",
        GRANTS + "g1,10,GBP,2020-01-01,GB-CHC-1015648,F,GB-COH-09084066,Spire Healthcare Limited,,\n",
    )
    spend = write(tmp_path / "s.csv", SPEND + "NHS A CCG,30/04/2020,SPIRE HEALTHCARE LTD,1,500\n")
    result = read_flows([grants, spend])
    assert result.flows["payee_id"].to_list() == ["GB-COH-09084066", "GB-COH-09084066"]
    org = result.organisations.filter(pl.col("id") == "GB-COH-09084066").row(0, named=True)
    assert (org["match_method"], org["match_confidence"]) == ("name->org-id", 0.8)
    assert "matches GB-COH-09084066" in org["match_reasons"]


def test_a_name_shared_by_two_registered_organisations_is_not_merged_and_is_reported(tmp_path):
    grants = write(
        tmp_path / "g.csv",
        GRANTS + "g1,10,GBP,2020-01-01,GB-CHC-1015648,F,GB-COH-06447020,FOOTLIGHTS,,\n"
        "g2,10,GBP,2020-01-01,GB-CHC-1015648,F,GB-COH-07363900,Footlights,,\n",
    )
    spend = write(tmp_path / "s.csv", SPEND + "NHS A CCG,30/04/2020,FOOTLIGHTS,1,500\n")
    result = read_flows([grants, spend])
    assert sorted(result.flows["payee_id"]) == ["GB-COH-06447020", "GB-COH-07363900", "name:FOOTLIGHTS"]
    notes = " ".join(result.notes)
    assert "matches several org-ids (GB-COH-06447020, GB-COH-07363900)" in notes
    assert "possible duplicate: 2 organisations named 'FOOTLIGHTS'" in notes


def test_mapping_file_forces_and_forbids(tmp_path):
    grants = write(
        tmp_path / "g.csv",
        GRANTS + "g1,10,GBP,2020-01-01,GB-CHC-1015648,F,GB-COH-09084066,Spire Healthcare Limited,,\n",
    )
    spend = write(
        tmp_path / "s.csv",
        SPEND + "NHS A CCG,30/04/2020,SPIRE HEALTHCARE LTD,1,500\nNHS A CCG,30/04/2020,SPIRE HOSPITALS,2,7\n",
    )
    org_map = write(
        tmp_path / "map.csv",
        "# decided by the analyst\naction,key,other,name\n"
        "different,name:Spire Healthcare Ltd,GB-COH-09084066,\n"
        "same,Spire Hospitals,name:SPIRE HEALTHCARE LTD,Spire (all hospitals)\n",
    )
    result = read_flows([grants, spend], org_map=org_map)
    ids = dict(zip(result.flows["payee_name_given"], result.flows["payee_id"], strict=True))
    assert ids["Spire Healthcare Limited"] == "GB-COH-09084066"
    assert ids["SPIRE HEALTHCARE LTD"] == ids["SPIRE HOSPITALS"] != "GB-COH-09084066"
    forced = result.organisations.filter(pl.col("id") == ids["SPIRE HOSPITALS"]).row(0, named=True)
    assert forced["name"] == "Spire (all hospitals)" and forced["match_method"] == "user-map"
    assert any("the org map says" in n for n in result.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("act,key,other\n", r"map\.csv:1: organisation map header must start action,key,other"),
        ("action,key,other\nmerge,a,b\n", r"map\.csv:2: action must be 'same', 'different' or 'maybe'"),
        ("action,key,other\nsame,GB-CHC-1015648,\n", r"map\.csv:2: both key and other are needed"),
        ("", r"map\.csv: organisation map is empty"),
    ],
)
def test_bad_mapping_files(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_org_map(write(tmp_path / "map.csv", text))


def test_native_flows_keep_their_ids_and_are_not_merged_by_name(tmp_path):
    native = write(
        tmp_path / "f.csv",
        "payer_id,payer_name,payee_id,payee_name,amount\nA,Same Name,P,Prov,1\nB,Same Name,P,Prov,2\n",
    )
    spend = write(tmp_path / "s.csv", SPEND + "Other CCG,30/04/2020,Prov,1,5\n")
    result = read_flows([native, spend])
    assert result.flows["payer_id"].to_list() == ["A", "B", "name:OTHER CCG"]
    assert result.flows["payee_id"].to_list() == ["P", "P", "name:PROV"]
    assert read_flows([native]).organisations is None  # native files alone: nothing is resolved


def test_orgs_command_lists_merges_and_writes_a_record_report(tmp_path, capsys):
    grants = write(
        tmp_path / "g.csv",
        GRANTS + "g1,10,GBP,2020-01-01,GB-CHC-1015648,F,GB-COH-09084066,Spire Healthcare Limited,,\n",
    )
    spend = write(
        tmp_path / "s.csv", SPEND + "NHS A CCG,30/04/2020,UK0479435601 : SPIRE HEALTHCARE LTD,1,500\n"
    )
    report, nodes = tmp_path / "out" / "orgs.csv", tmp_path / "out" / "nodes.csv"
    assert main(["orgs", str(grants), str(spend), "--report", str(report), "--nodes", str(nodes)]) == 0
    out = capsys.readouterr().out
    assert "2 flows from 2 file(s): 3 organisation nodes" in out
    assert "name->org-id 1" in out and "UK0479435601" in out
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert len(rows) == 4  # payer and payee of each record
    spire = next(r for r in rows if r["source"] == str(spend) and r["side"] == "payee")
    assert (spire["line"], spire["node_id"], spire["match_method"]) == (
        "2",
        "GB-COH-09084066",
        "name->org-id",
    )
    node_ids = {r["id"] for r in csv.DictReader(nodes.open(encoding="utf-8"))}
    assert node_ids == {"GB-CHC-1015648", "GB-COH-09084066", "name:NHS A CCG"}


def test_orgs_command_reports_a_bad_map_without_a_traceback(tmp_path, capsys):
    spend = write(tmp_path / "s.csv", SPEND + "A,30/04/2020,B,1,5\n")
    code = main(["orgs", str(spend), "--org-map", str(tmp_path / "missing.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "no such organisation map file" in err and "Traceback" not in err


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(max_size=30) | st.sampled_from(["same,a,b", "different,GB-CHC-1,name:x", ",,,", "#c"]),
        max_size=6,
    )
)
def test_mapping_file_fuzz_gives_a_map_or_a_clear_error(lines):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.csv"
        path.write_text("\n".join(["action,key,other,name", *lines]), encoding="utf-8")
        try:
            org_map = read_org_map(path)
        except InputError as exc:
            assert str(exc).startswith(str(path))
            return
    for a, b, _ in org_map.same:
        assert a.split(":", 1)[1] and b.split(":", 1)[1]


def test_orgs_command_on_native_flows_reports_ids_as_given(tmp_path, capsys):
    native = write(tmp_path / "f.csv", "payer_id,payer_name,payee_id,payee_name,amount\nA,Alpha,P,Prov,1\n")
    report = tmp_path / "orgs.csv"
    assert main(["orgs", str(native), "--report", str(report)]) == 0
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["side"], r["node_id"], r["match_method"]) for r in rows] == [
        ("payer", "A", "native-id"),
        ("payee", "P", "native-id"),
    ]
    assert "1 flows from 1 file(s): 2 organisation nodes" in capsys.readouterr().out


def test_map_keys_absent_from_the_data_make_no_nodes(tmp_path):
    spend = write(tmp_path / "s.csv", SPEND + "NHS A CCG,30/04/2020,Supplier One,1,5\n")
    org_map = write(
        tmp_path / "map.csv", "action,key,other\ndifferent,GB-COH-1,GB-COH-2\nsame,GB-CHC-7,GB-CHC-8\n"
    )
    result = read_flows([spend], org_map=org_map)
    assert sorted(result.organisations["id"]) == ["name:NHS A CCG", "name:SUPPLIER ONE"]


def test_merge_reasons_come_in_the_same_order_whatever_the_string_hashing():
    """HMRC is merged from several names on the NEL files; Python hashes strings differently in each
    process, so a set's order must never reach organisations.csv."""
    import os
    import subprocess
    import sys

    nel = sorted(
        str(p) for p in (Path(__file__).parent / "data" / "real" / "nhs-ccg-spend-nel").glob("*.zip")
    )
    script = (
        "import sys; from graphflows.ingest import read_flows; "
        "o = read_flows(sys.argv[1:]).organisations; "
        "print(o.sort('id').select('id', 'match_method', 'match_reasons').write_csv())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, *nel],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    assert "HM Revenue & Customs" in outputs.pop()
