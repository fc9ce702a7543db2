"""Real data across sources: three CCGs converge on shared payees; two funders meet on one recipient."""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest

from graphflows.analysis import attribute, convergence
from graphflows.cli.main import main
from graphflows.graph.build import graph_from_ingest
from graphflows.ingest import read_flows
from tests.data import ALWF_XLSX, CCG_ZIPS, OCDS_ZIP, SECOND_FUNDER, TRAFFORD_CSV, zip_member, zip_members


@pytest.fixture(scope="module")
def ccg_graph():
    ingest = read_flows(list(CCG_ZIPS.values()))
    graph = graph_from_ingest(ingest)
    return ingest, graph, attribute(graph)


def payees_of_every_ccg() -> set[str]:
    """Supplier names (upper-cased, as printed) paid by all three CCGs: read with the standard library."""
    by_ccg = []
    for archive in CCG_ZIPS.values():
        names = set()
        for member in zip_members(archive):
            rows = csv.DictReader(io.StringIO(zip_member(archive, member).decode("utf-8-sig"), newline=""))
            names |= {row["Supplier"].strip().upper() for row in rows}
        by_ccg.append(names)
    return set.intersection(*by_ccg)


def test_payees_of_all_three_ccgs_are_convergence_points_with_three_stovepipes(ccg_graph):
    ingest, _graph, result = ccg_graph
    shared_names = payees_of_every_ccg()
    assert len(shared_names) > 30
    ccgs = set(ingest.flows["payer_id"].unique())
    assert len(ccgs) == 3  # "NHS Barking And Dagenham CCG" and "NHS BARKING & DAGENHAM CCG" are one node
    node_of = dict(
        ingest.flows.select(pl.col("payee_name_given").str.to_uppercase(), "payee_id").unique().iter_rows()
    )
    shared_nodes = {node_of[n] for n in shared_names}
    net = (
        ingest.flows.filter(pl.col("payee_id").is_in(list(shared_nodes)))
        .group_by("payee_id", "payer_id")
        .agg(pl.col("amount_minor").sum())
        .group_by("payee_id")
        .agg(
            (pl.col("amount_minor") > 0).all().alias("all_positive"),
            (pl.col("amount_minor") < 0).all().alias("all_negative"),
        )
    )
    paid = set(net.filter("all_positive")["payee_id"])
    assert len(paid) >= 40
    table = convergence(result, count_by="stovepipe", min_share=0).filter(
        pl.col("recipient_id").is_in(list(paid))
    )
    assert table.height == len(paid)
    assert table["is_convergence_point"].all() and set(table["stovepipe_count"]) == {3}
    assert set(table["payer_count"]) == {3}
    stovepipes = result.rows.filter(pl.col("recipient_id").is_in(list(paid)))["stovepipe_id"]
    assert set(stovepipes) == ccgs
    # Spire Healthcare was paid by all three but its lines net below zero with each CCG in 2020/21
    # (credits): it is reported in negative_pairs, not attributed
    refunded = set(net.filter("all_negative")["payee_id"])
    assert refunded == {"name:SPIRE HEALTHCARE LTD"}
    negative = result.negative_pairs.filter(pl.col("payee_id").is_in(list(refunded)))
    assert set(negative["payer_id"]) == ccgs


def test_a_payee_of_one_ccg_only_has_one_payer(ccg_graph):
    ingest, _, result = ccg_graph
    payers = ingest.flows.group_by("payee_id").agg(pl.col("payer_id").n_unique().alias("n"))
    single = payers.filter(pl.col("n") == 1)["payee_id"]
    recipients = result.recipients.filter(pl.col("recipient_id").is_in(single.implode()))
    assert recipients.height > 50 and set(recipients["payer_count"]) == {1}


def test_two_funders_combined_by_org_id():
    ingest = read_flows([TRAFFORD_CSV, SECOND_FUNDER])
    derived = list(csv.DictReader(SECOND_FUNDER.open(encoding="utf-8", newline="")))
    derived_names = {r["Recipient Org:Name"] for r in derived}
    table = convergence(attribute(graph_from_ingest(ingest)))
    two_funders = table.filter(pl.col("payer_count") == 2)
    assert set(two_funders["recipient_name"]) == derived_names and two_funders.height == len(derived)
    assert two_funders["recipient_id"].str.starts_with("GB-CHC-").all()
    methods = ingest.organisations.filter(pl.col("id").is_in(two_funders["recipient_id"].implode()))
    assert set(methods["match_method"]) == {"org-id", "charity+company"}
    assert int((methods["match_method"] == "charity+company").sum()) == 6


def test_two_real_funders_meet_by_name_with_a_lower_confidence():
    ingest = read_flows([TRAFFORD_CSV, ALWF_XLSX])
    payers = ingest.flows.group_by("payee_id").agg(pl.col("payer_id").n_unique().alias("n"))
    both = payers.filter(pl.col("n") == 2)["payee_id"].to_list()
    assert both == ["GB-CHC-1034374"]
    org = ingest.organisations.filter(pl.col("id") == "GB-CHC-1034374").row(0, named=True)
    assert (org["name"], org["match_method"], org["match_confidence"]) == ("Drake Music", "name->org-id", 0.8)
    assert "360G-trafford-drake_music" in org["org_ids"]


def test_analyse_reads_every_format_at_once_and_the_summary_reconciles(tmp_path, capsys):
    files = [*CCG_ZIPS.values(), TRAFFORD_CSV, ALWF_XLSX, OCDS_ZIP, SECOND_FUNDER]
    out = tmp_path / "out"
    assert main(["analyse", *map(str, files), "--out", str(out), "--top", "0"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    parts = summary["flows"] + summary["rejected"] + summary["non_money"] + summary["repeated"]
    assert summary["records_read"] == parts and summary["repeated"] == 14  # 9 Havering, 5 dated twice
    formats = {f["format"] for f in summary["files"]}
    assert formats == {"spend", "360giving", "ocds"}
    assert len(summary["files"]) == 36 + 2 + 100 + 1
    separately = {}
    for group in ([*CCG_ZIPS.values()], [TRAFFORD_CSV], [ALWF_XLSX], [OCDS_ZIP], [SECOND_FUNDER]):
        for currency, minor in read_flows(group).totals().items():
            separately[currency] = separately.get(currency, 0) + minor
    assert summary["total_amount"] == {c: f"{v // 100}.{v % 100:02d}" for c, v in separately.items()}
    convergence_csv = pl.read_csv(out / "convergence.csv", infer_schema=False)
    assert convergence_csv.height == summary["recipients"]


def test_a_charity_number_copied_onto_another_grantee_does_not_merge_them():
    # in the ALWF file one Royal Birmingham Conservatoire grant (GB-EDU-133788) carries the charity and
    # company numbers of the Royal Academy of Music (GB-CHC-310007): a publisher's slip, not one body
    ingest = read_flows([ALWF_XLSX])
    orgs = ingest.organisations.filter(pl.col("id").is_in(["GB-CHC-310007", "GB-EDU-133788"]))
    assert dict(orgs.select("id", "names_seen").iter_rows()) == {
        "GB-CHC-310007": "Royal Academy of Music",
        "GB-EDU-133788": "Royal Birmingham Conservatoire",
    }
    assert any("gives the number GB-CHC-310007" in n for n in ingest.notes)


def test_one_node_across_formats_spend_payee_and_ocds_supplier():
    ingest = read_flows([*CCG_ZIPS.values(), OCDS_ZIP])
    xma = ingest.flows.filter(pl.col("payee_id") == "GB-COH-02051703")
    formats = {f.source: f.format for f in ingest.files}
    assert {formats[s] for s in xma["source"].unique()} == {"spend", "ocds"}
    assert set(xma["payee_name_given"]) == {"XMA LTD", "XMA Limited"}
    org = ingest.organisations.filter(pl.col("id") == "GB-COH-02051703").row(0, named=True)
    assert (org["match_method"], org["match_confidence"]) == ("name->org-id", 0.8)


def test_three_ccgs_are_one_channel_so_nhs_only_data_has_no_convergence_point(ccg_graph):
    _ingest, graph, result = ccg_graph
    ccgs = graph.nodes.filter(pl.col("kinds").list.contains("commissioner"))
    assert ccgs.height == 3 and set(ccgs["channel"]) == {"nhs"}
    table = convergence(result)
    assert table.height > 200 and not table["is_convergence_point"].any()
    assert set(table["channels"]) == {"nhs"} and set(table["channel_count"]) == {1}


def test_by_stovepipe_the_ccg_convergence_points_are_co_commissioned_or_inherit_a_transfer(ccg_graph):
    """At 1% materiality by stovepipe, a convergence point either holds contracts from two or three CCGs,
    or is paid by one CCG whose own income includes another CCG's transfer (its payees carry that mix)."""
    _ingest, _graph, result = ccg_graph
    table = convergence(result, count_by="stovepipe").filter(pl.col("is_convergence_point"))
    every_penny = convergence(result, count_by="stovepipe", min_share=0)
    assert every_penny["is_convergence_point"].all()
    assert 0 < table.height < every_penny.height
    single = table.filter(pl.col("payer_count") == 1)["recipient_id"].to_list()
    assert single and table.height - len(single) > 0
    direct = pl.col("payee_id").is_in(single)
    payer_of = dict(result.graph.flows.filter(direct).select("payee_id", "payer_id").unique().iter_rows())
    mixes: dict[str, set[tuple[tuple[str, float], ...]]] = {}
    for recipient in single:
        rows = result.rows.filter(pl.col("recipient_id") == recipient).sort("stovepipe_id")
        shares = tuple((s, round(x, 4)) for s, x in rows.select("stovepipe_id", "share").iter_rows())
        mixes.setdefault(payer_of[recipient], set()).add(shares)
    assert all(len(shapes) == 1 for shapes in mixes.values())  # each CCG's payees share its own mix
