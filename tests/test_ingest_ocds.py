"""OCDS: real Contracts Finder packages, every package shape, and how shared award values are treated."""

from __future__ import annotations

import copy
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from graphflows.ingest import read_flows
from graphflows.ingest.reader import read_files
from graphflows.model import InputError
from tests.data import CHECKSUMS, OCDS_ZIP, zip_member, zip_members

FRAMEWORK = "json_1_1_raw/ocds-b5fd17raw-f9d455d2-5585-4471-bcd5-1ddb3d557830.json"  # 8 suppliers, one value
ENTITIES = "json_1_1_raw/ocds-b5fd17raw-20d1e3f9-4570-41c3-b74a-a67eb12823a3.json"  # buyer L&amp;Q


def package(name: str) -> dict:
    return json.loads(zip_member(OCDS_ZIP, name))


def write_json(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def contracts_finder():
    return read_flows([OCDS_ZIP])


def expected_links() -> list[tuple[str, int, str]]:
    """(ocid, minor units, basis) per award supplier, computed here from the raw JSON."""
    out = []
    for name in zip_members(OCDS_ZIP):
        for release in package(name)["releases"]:
            parties = {p["id"]: p for p in release["parties"]}
            for award in release["awards"]:
                suppliers = award["suppliers"]
                for s in suppliers:
                    own = (parties[s["id"]].get("x_awardValue") or {}).get("amount")
                    if own is not None:
                        out.append((release["ocid"], int(Decimal(str(own)) * 100), "supplier"))
                    elif len(suppliers) == 1:
                        out.append(
                            (release["ocid"], int(Decimal(str(award["value"]["amount"])) * 100), "award")
                        )
                    else:
                        out.append((release["ocid"], 0, "shared"))
    return out


def test_members_are_the_published_packages_unchanged():
    sums = dict(line.split("  ./")[::-1] for line in CHECKSUMS.read_text().splitlines())
    names = zip_members(OCDS_ZIP)
    assert len(names) == 100
    for name in names:
        assert (
            sums[f"contracts-finder-ocds-bluetail/{name}"]
            == hashlib.sha256(zip_member(OCDS_ZIP, name)).hexdigest()
        )


def test_every_award_supplier_is_one_record_and_counts_reconcile(contracts_finder):
    links = expected_links()
    assert contracts_finder.records_read == len(links) == contracts_finder.flows.height
    assert {f.format for f in contracts_finder.files} == {"ocds"}
    got = sorted(contracts_finder.flows.select("ocid", "amount_minor", "value_basis").rows())
    assert got == sorted(links)


def test_a_shared_framework_value_is_never_counted_per_supplier(contracts_finder):
    flows = contracts_finder.flows.filter(pl.col("source").str.ends_with(FRAMEWORK))
    raw = package(FRAMEWORK)["releases"][0]["awards"][0]
    assert flows.height == len(raw["suppliers"]) == 8
    assert flows["amount_minor"].to_list() == [0] * 8
    assert set(flows["shared_award_value"]) == {"yes"} and set(flows["award_suppliers"]) == {"8"}
    assert set(flows["award_value"]) == {f"{Decimal(str(raw['value']['amount'])):.2f}"}
    assert contracts_finder.totals()["GBP"] == sum(a for _, a, _ in expected_links())
    assert any("framework ceilings" in n for n in contracts_finder.notes)


def test_parties_resolve_inside_their_release_and_names_are_unescaped(contracts_finder):
    flows = contracts_finder.flows
    # supplier ids "1", "2"... repeat in every release but never join different suppliers
    one_release = flows.filter(pl.col("source").str.ends_with(FRAMEWORK))
    assert one_release["payee_id"].n_unique() == 8
    buyer = flows.filter(pl.col("source").str.ends_with(ENTITIES))["payer_name"].unique().to_list()
    assert buyer == ["L&Q Construction"]
    assert not flows["payee_name"].str.contains("&amp;").any()
    cpv = flows.filter(pl.col("source").str.ends_with(FRAMEWORK))["cpv_division"].unique().to_list()
    assert cpv == ["45"]


def test_record_package_list_of_packages_bare_record_and_bare_release(tmp_path):
    pkg = package(ENTITIES)
    release = pkg["releases"][0]
    direct = read_flows([write_json(tmp_path / "rel.json", pkg)]).flows
    columns = ["payer_id", "payee_id", "amount_minor", "currency", "date", "reference"]
    record = {"ocid": release["ocid"], "releases": [{"url": "http://x/1", "date": release["date"]}],
              "compiledRelease": release}  # fmt: skip
    shapes = {
        "record-package.json": {"uri": "x", "records": [record]},
        "bare-record.json": record,
        "bare-release.json": release,
    }
    for name, doc in shapes.items():
        flows = read_flows([write_json(tmp_path / name, doc)]).flows
        assert flows.select(columns).equals(direct.select(columns)), name
    # a list of packages: the same award twice (counted once, the later copy wins) and another package
    listed = read_flows(
        [write_json(tmp_path / "list.json", [pkg, {"records": [record]}, package(FRAMEWORK)])]
    )
    assert listed.flows.height == direct.height + 8
    assert listed.non_money == direct.height
    lines = listed.flows["line"].to_list()
    assert lines[0].startswith("[1].records[0].compiledRelease.awards[0].suppliers[0]")
    assert lines[-1] == "[2].releases[0].awards[0].suppliers[7]"


def test_later_release_of_the_same_award_supersedes_the_earlier(tmp_path):
    release = package(ENTITIES)["releases"][0]
    newer = copy.deepcopy(release)
    newer["id"] += "-amended"
    newer["date"] = "2030-01-01T00:00:00Z"
    for party in newer["parties"]:
        if party.get("x_awardValue"):
            party["x_awardValue"]["amount"] = None
    newer["awards"][0]["suppliers"] = newer["awards"][0]["suppliers"][:1]
    newer["awards"][0]["value"]["amount"] = 1234.5
    record = {"ocid": release["ocid"], "releases": [newer, release]}
    result = read_flows([write_json(tmp_path / "r.json", record)])
    assert result.flows["amount_minor"].to_list() == [123450]
    assert result.flows["release_id"].to_list() == [newer["id"]]
    assert result.non_money == len(release["awards"][0]["suppliers"])
    assert result.records_read == 1 + result.non_money
    assert any("superseded" in n for n in result.notes)


def _release(**award: object) -> dict:
    base = {
        "id": "a1", "status": "active", "date": "2020-05-01T00:00:00Z",
        "value": {"amount": 100, "currency": "EUR"}, "suppliers": [{"id": "s1", "name": "Supplier Ltd"}],
    }  # fmt: skip
    base.update(award)
    return {
        "ocid": "ocds-test-1", "id": "r1", "date": "2020-05-01T00:00:00Z",
        "parties": [{"id": "b1", "name": "Buyer Council", "roles": ["buyer"],
                     "identifier": {"scheme": "GB-LAE", "id": "abc"}},
                    {"id": "s1", "name": "Supplier Ltd", "roles": ["supplier"],
                     "identifier": {"scheme": "GB-COH", "id": "123"}}],
        "buyer": {"id": "b1", "name": "Buyer Council"},
        "awards": [base],
    }  # fmt: skip


def test_currency_and_identifiers_are_kept(tmp_path):
    flows = read_flows([write_json(tmp_path / "r.json", {"releases": [_release()]})]).flows
    row = flows.row(0, named=True)
    assert (row["amount_minor"], row["currency"]) == (10000, "EUR")
    assert (row["payer_id"], row["payee_id"]) == ("GB-LAE-ABC", "GB-COH-00000123")


def test_awards_without_money_are_counted_not_flows(tmp_path):
    releases = [
        _release(status="cancelled"),
        _release(id="a2", value=None),
        _release(id="a3", suppliers=[]),
        {"ocid": "ocds-test-2", "id": "r2", "tag": ["planning"]},
    ]
    result = read_flows([write_json(tmp_path / "r.json", {"releases": releases})])
    assert (result.flows.height, result.rejects.height, result.non_money, result.records_read) == (0, 0, 4, 4)
    assert [note.split(": ", 1)[1].split(" (")[0] for note in result.notes] == ["4 record(s) with no money"]


def test_bad_awards_are_rejected_with_their_record_path(tmp_path):
    releases = [
        _release(value={"amount": 1.005, "currency": "GBP"}),
        _release(id="a2", suppliers=[{"id": "nobody"}]),
        _release(id="a3", value={"amount": 5}),
    ]
    path = write_json(tmp_path / "r.json", {"releases": releases})
    with pytest.raises(InputError) as caught:
        read_flows([path])
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:releases[0].awards[0].suppliers[0]: amount 1.005 has more than 2 decimal places",
        f"{path}:releases[1].awards[0].suppliers[0]: supplier 'nobody' has no name and is not among the "
        "release's parties",
        f"{path}:releases[2].awards[0].suppliers[0]: value has an amount but no currency",
    ]


def test_not_ocds(tmp_path):
    path = write_json(tmp_path / "x.json", {"releases": "nope"})
    with pytest.raises(InputError, match=r"x\.json: top level is not OCDS data"):
        read_files(path, "ocds")
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.json: \[0\] is not a JSON object"):
        read_files(path, "ocds")
    path.write_text('{"releases": [', encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.json:1: not valid JSON"):
        read_files(path, "ocds")


def test_json_lines_of_releases_and_packages(tmp_path):
    pkg = package(ENTITIES)
    path = tmp_path / "bulk.jsonl"
    path.write_text(
        "\n".join([json.dumps(pkg["releases"][0]), "", json.dumps(package(FRAMEWORK))]) + "\n",
        encoding="utf-8",
    )
    result = read_flows([path])
    direct = read_flows([write_json(tmp_path / "one.json", pkg)]).flows
    assert result.flows.height == direct.height + 8
    assert result.flows["line"][0].startswith("1:release.awards[0].suppliers[0]")
    assert result.flows["line"][-1] == "3:releases[0].awards[0].suppliers[7]"
    path.write_text(json.dumps(pkg) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bulk\.jsonl:2: not valid JSON"):
        read_flows([path])


def test_without_a_buyer_the_procuring_entity_pays(tmp_path):
    release = _release()
    del release["buyer"]
    release["parties"][0]["roles"] = ["procuringEntity"]
    flows = read_flows([write_json(tmp_path / "r.json", release)]).flows
    assert flows["payer_name"].to_list() == ["Buyer Council"]
