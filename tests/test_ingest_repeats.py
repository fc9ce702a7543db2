"""The same money read twice across files is counted once, with a note: byte-identical files, OCDS releases
read again, 360Giving grants read again (identical or disagreeing), and spend transactions read again (a
quarter's file with one of its months, a month published twice)."""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflows.cli.main import main
from graphflows.ingest import read_flows
from graphflows.ingest.importer import SourceSettings
from graphflows.ingest.sources import Rule, SourceRules, read_manifest
from graphflows.model.money import money_words, to_minor
from tests.data import (
    CCG_ZIPS,
    COUNCILS_ZIP,
    LONDON_SOURCES,
    LONDON_ZIPS,
    OCDS_ZIP,
    TRAFFORD_CSV,
    TRAFFORD_JSON,
    zip_member,
    zip_members,
)

APRIL = "NEBD/NEBD 01 - April.csv"
#: One release, one award, three suppliers each with its own x_awardValue (GBP 5,806,276.00 in all).
THREE_SUPPLIERS = "json_1_1_raw/ocds-b5fd17raw-02d2b5b1-e148-4965-92bc-d72dd5f3f6f2.json"
#: Two other releases whose suppliers each have their own value.
OTHERS = (
    "json_1_1_raw/ocds-b5fd17raw-099688de-2418-4cae-beed-a02ebf00fe53.json",
    "json_1_1_raw/ocds-b5fd17raw-6a1a5224-f2ec-4b42-ae64-4148374ad38e.json",
)


def gbp(result) -> Decimal:
    return Decimal(result.totals().get("GBP", 0)) / 100


def reconciles(result) -> bool:
    files = all(
        f.records_read == f.flows.height + f.rejects.height + f.non_money + f.repeated for f in result.files
    )
    total = (
        result.records_read
        == result.flows.height + result.rejects.height + result.non_money + result.repeated
    )
    return files and total and result.records_read == sum(f.records_read for f in result.files)


# ------------------------------------------------------------------------------------ the same bytes


def april_total() -> Decimal:
    """The April file's money, summed here from its CSV text."""
    rows = csv.reader(io.StringIO(zip_member(CCG_ZIPS["NEBD"], APRIL).decode("utf-8-sig")))
    amount = [c.strip().lower() for c in next(rows)].index("amount")
    return sum(
        (Decimal(r[amount].replace(",", "").replace("£", "")) for r in rows if len(r) > amount and r[amount]),
        Decimal(0),
    )


@pytest.fixture
def april(tmp_path) -> Path:
    path = tmp_path / "NEBD 01 - April.csv"
    path.write_bytes(zip_member(CCG_ZIPS["NEBD"], APRIL))
    return path


def test_a_file_copied_under_another_name_is_read_once_with_a_note(april, tmp_path):
    copy = tmp_path / "April (1).csv"
    copy.write_bytes(april.read_bytes())
    once, twice = read_flows([april]), read_flows([april, copy])
    assert gbp(twice) == gbp(once) == april_total() > 0
    assert twice.flows.height == once.flows.height and twice.records_read == once.records_read
    assert reconciles(twice)
    assert [(f.source, f.format, f.records_read) for f in twice.files] == [
        (str(april), "spend", once.records_read),
        (str(copy), "spend", 0),
    ]
    assert f"{copy}: the same bytes as {april} (read once)" in twice.notes


def test_a_copy_with_other_payer_settings_is_still_read_once_and_the_note_says_so(april, tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(april.read_bytes())
    rules = SourceRules([Rule("copy.csv", SourceSettings(payer_name="Another CCG"))])
    result = read_flows([april, copy], sources=rules)
    assert gbp(result) == april_total()
    assert any("copy.csv: the same bytes as" in n and "settings were not used" in n for n in result.notes)


def test_the_same_member_twice_in_a_zip_and_beside_it_is_read_once(april, tmp_path):
    archive = tmp_path / "spend.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("April.csv", april.read_bytes())
        z.writestr("again/April (1).csv", april.read_bytes())
    result = read_flows([archive, april])
    assert gbp(result) == april_total() and reconciles(result)
    assert [f.records_read > 0 for f in result.files] == [True, False, False]
    assert f"{archive}!again/April (1).csv: the same bytes as {archive}!April.csv (read once)" in result.notes
    assert f"{april}: the same bytes as {archive}!April.csv (read once)" in result.notes


def test_analyse_of_a_copy_exits_0_with_the_money_once_and_the_note(april, tmp_path, capsys):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(april.read_bytes())
    assert main(["analyse", str(april), str(copy), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert Decimal(summary["total_amount"]["GBP"]) == april_total()
    assert summary["records_read"] == summary["flows"] + summary["rejected"] + summary["non_money"]
    assert [f["records_read"] for f in summary["files"]] == [summary["records_read"], 0]
    assert any("copy.csv: the same bytes as" in n for n in summary["notes"])
    assert "the same bytes as" in out and "Traceback" not in out


# ------------------------------------------------------------------------------------ OCDS releases


def package(name: str) -> dict:
    return json.loads(zip_member(OCDS_ZIP, name))


def supplier_values(release: dict) -> Decimal:
    """The per-supplier money of a Contracts Finder release, summed here from its JSON."""
    values = [(p.get("x_awardValue") or {}).get("amount") for p in release["parties"]]
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal(0))


def bundle(path: Path, *releases: dict) -> Path:
    """A release package holding ``releases`` (as an overlapping bulk download would)."""
    path.write_text(json.dumps({"releases": list(releases)}), encoding="utf-8")
    return path


def test_a_release_in_two_overlapping_downloads_is_counted_once(tmp_path):
    shared = package(THREE_SUPPLIERS)["releases"][0]
    first, second = (package(n)["releases"][0] for n in OTHERS)
    monday = bundle(tmp_path / "monday.json", first, shared)
    tuesday = bundle(tmp_path / "tuesday.json", shared, second)
    result = read_flows([monday, tuesday])
    expected = supplier_values(first) + supplier_values(shared) + supplier_values(second)
    assert supplier_values(shared) == Decimal("5806276")
    assert gbp(result) == expected and reconciles(result)
    assert result.flows.filter(result.flows["ocid"] == shared["ocid"]).height == 3
    assert (result.files[1].repeated, result.files[1].non_money) == (3, 0)
    assert result.repeated_amount() == {"GBP": int(supplier_values(shared) * 100)}
    assert any(
        n.startswith(f"{tuesday}: 1 release(s) already read (same ocid, release id and content")
        and shared["ocid"] in n
        and str(monday) in n
        for n in result.notes
    )


def test_the_reviewers_repro_counts_the_release_once(tmp_path):
    original = tmp_path / "F.json"
    original.write_bytes(zip_member(OCDS_ZIP, THREE_SUPPLIERS))
    reformatted = tmp_path / "copy-of-F.json"  # the same release, other bytes (indented)
    reformatted.write_text(json.dumps(package(THREE_SUPPLIERS), indent=2), encoding="utf-8")
    result = read_flows([original, reformatted])
    assert (result.flows.height, gbp(result)) == (3, Decimal("5806276.00"))


def changed_copy(release: dict, amount: int, date: str | None = None) -> dict:
    """``release`` with its first supplier's own value set to ``amount`` (and its date, if given)."""
    changed = json.loads(json.dumps(release))
    next(p for p in changed["parties"] if p.get("x_awardValue"))["x_awardValue"]["amount"] = amount
    if date is not None:
        changed["date"] = date
    return changed


def first_supplier_value(release: dict) -> Decimal:
    return Decimal(
        str(next(p for p in release["parties"] if p.get("x_awardValue"))["x_awardValue"]["amount"])
    )


def test_a_release_repeated_with_different_content_keeps_the_first_copy_and_names_both_files(tmp_path):
    shared = package(THREE_SUPPLIERS)["releases"][0]
    changed = changed_copy(shared, 1)
    a = bundle(tmp_path / "a.json", shared)
    b = bundle(tmp_path / "b.json", changed)
    forward, backward = read_flows([a, b]), read_flows([b, a])
    assert gbp(forward) == supplier_values(shared) == Decimal("5806276")
    assert gbp(backward) == supplier_values(changed) == Decimal("5806276") - first_supplier_value(shared) + 1
    assert reconciles(forward) and reconciles(backward)
    note = next(n for n in forward.notes if "DIFFERENT content" in n)
    assert note.startswith(f"{b}: 1 release(s) have the same ocid and release id as one in another file")
    kept, dropped = supplier_values(shared), supplier_values(changed)
    assert f"GBP {kept:,.2f} in {a} (kept), GBP {dropped:,.2f} in {b} (not counted)" in note
    assert "release dates are equal, so the copy read first is kept" in note


def test_of_two_different_copies_of_a_release_the_later_dated_is_kept_in_either_order(tmp_path):
    shared = package(THREE_SUPPLIERS)["releases"][0]
    revised = changed_copy(shared, 1, date="2020-01-31T00:00:00Z")
    assert shared["date"] < revised["date"]
    old, new = bundle(tmp_path / "old.json", shared), bundle(tmp_path / "new.json", revised)
    for order in ([old, new], [new, old]):
        result = read_flows(order)
        assert (
            gbp(result) == supplier_values(revised) == Decimal("5806276") - first_supplier_value(shared) + 1
        )
        note = next(n for n in result.notes if "DIFFERENT content" in n)
        assert note.startswith(f"{old}: 1 release(s)") and f"in {new} (kept)" in note
        assert "its release date 2020-01-31T00:00:00Z is later than 2019-11-08T00:00:00Z" in note


def test_an_award_updated_by_a_later_release_in_another_file_is_counted_from_the_latest(tmp_path):
    shared = package(THREE_SUPPLIERS)["releases"][0]
    update = changed_copy(shared, 1, date="2020-01-31T00:00:00Z") | {"id": shared["id"] + "-update"}
    cancel = json.loads(json.dumps(update)) | {"id": shared["id"] + "-cancel", "date": "2020-02-29T00:00:00Z"}
    cancel["awards"][0]["status"] = "cancelled"
    old, new = bundle(tmp_path / "old.json", shared), bundle(tmp_path / "new.json", update)
    for order in ([old, new], [new, old]):
        result = read_flows(order)
        assert gbp(result) == supplier_values(update) < supplier_values(shared)
        assert result.flows["release_id"].unique().to_list() == [update["id"]] and reconciles(result)
        note = next(
            n for n in result.notes if "superseded by a later release of the same award in another" in n
        )
        assert note.startswith(f"{old}: 3 award-supplier record(s)") and f"in {new}" in note
    result = read_flows([old, new, bundle(tmp_path / "cancel.json", cancel)])
    assert (result.flows.height, gbp(result), result.non_money) == (0, 0, 9)


# ------------------------------------------------------------------------------------ 360Giving grants


def trafford_total(path: Path) -> Decimal:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sum((Decimal(r["Amount Awarded"]) for r in csv.DictReader(handle)), Decimal(0))


def test_a_grant_read_again_with_another_amount_is_noted_with_both_files_and_amounts(tmp_path):
    text = TRAFFORD_CSV.read_text(encoding="utf-8-sig")
    assert ",2266," in text or ",2266.00," in text
    rows = list(csv.reader(io.StringIO(text)))
    grant = next(r for r in rows[1:] if r[0] == "360G-traffordmbc-VSG1342")
    amount = rows[0].index("Amount Awarded")
    before = grant[amount]
    grant[amount] = "999999.00"
    revised = tmp_path / "revised.csv"
    with revised.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    forward, backward = read_flows([TRAFFORD_CSV, revised]), read_flows([revised, TRAFFORD_CSV])
    assert gbp(forward) == trafford_total(TRAFFORD_CSV)
    assert gbp(backward) == trafford_total(revised) == trafford_total(TRAFFORD_CSV) - Decimal(before) + 999999
    assert reconciles(forward) and forward.files[1].repeated == forward.files[0].flows.height
    assert forward.repeated_amount() == {"GBP": int(trafford_total(revised) * 100)}
    same = next(n for n in forward.notes if "already read (same 360Giving identifier" in n)
    assert same.startswith(f"{revised}: {forward.files[0].flows.height - 1} grant(s) already read")
    differ = next(n for n in forward.notes if "DIFFER" in n)
    assert differ.startswith(f"{revised}: 1 grant(s)")
    assert "360G-traffordmbc-VSG1342 (different amount)" in differ
    assert f"GBP {Decimal(before):,.2f} in {TRAFFORD_CSV}, GBP 999,999.00 in {revised}" in differ
    assert f"({TRAFFORD_CSV}) is kept" in differ


def test_a_grant_read_again_with_another_recipient_or_date_is_noted(tmp_path):
    header = (
        "Identifier,Amount Awarded,Currency,Award Date,Funding Org:Identifier,Funding Org:Name,"
        "Recipient Org:Identifier,Recipient Org:Name\n"
    )
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(header + "g1,10,GBP,2020-01-02,GB-CHC-1015648,F,GB-CHC-1146179,R\n", encoding="utf-8")
    b.write_text(header + "g1,10,GBP,2021-01-02,GB-CHC-1015648,F,GB-CHC-1000000,S\n", encoding="utf-8")
    result = read_flows([a, b])
    assert (result.flows.height, gbp(result), result.repeated, result.non_money) == (1, Decimal("10"), 1, 0)
    note = next(n for n in result.notes if "DIFFER" in n)
    assert "g1 (different recipient, award date): GBP 10.00 in" in note
    assert not any("already read (same 360Giving identifier" in n for n in result.notes)


def test_identical_grants_keep_the_one_note():
    result = read_flows([TRAFFORD_CSV, TRAFFORD_JSON])
    assert not any("DIFFER" in n for n in result.notes)
    assert sum("already read (same 360Giving identifier" in n for n in result.notes) == 1


# ------------------------------------------------------------------------------------ spend transactions

MONTHS = ("NEBD/NEBD 01 - April.csv", "NEBD/NEBD 02 - May.csv", "NEBD/NEBD 03 - June.csv")


def spend_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """The header and lines of one real NEL CCG spend file (Barking and Dagenham, 2020/21)."""
    rows = list(csv.reader(io.StringIO(zip_member(CCG_ZIPS["NEBD"], name).decode("utf-8-sig"))))
    return rows[0], [r for r in rows[1:] if any(r)]


def write_spend(path: Path, header: list[str], rows: list[list[str]], drop: str | None = None) -> Path:
    keep = [i for i, title in enumerate(header) if title != drop]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[row[i] for i in keep] for row in [header, *rows]])
    return path


def money_of(rows: list[list[str]], header: list[str]) -> Decimal:
    """The money of spend lines, summed here from their text."""
    amount = [t.strip().lower() for t in header].index("amount")
    return sum((Decimal(r[amount].replace(",", "")) for r in rows), Decimal(0))


@pytest.fixture
def quarter(tmp_path) -> tuple[Path, list[str], list[list[str]]]:
    """April to June of one CCG in one file (as a quarter's publication), and its lines."""
    header, rows = spend_rows(MONTHS[0])
    for name in MONTHS[1:]:
        rows += spend_rows(name)[1]
    return write_spend(tmp_path / "Q1 2020-21.csv", header, rows), header, rows


def test_a_month_read_with_its_quarter_is_counted_once_with_one_note_naming_both(quarter, tmp_path):
    path, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows)
    result = read_flows([path, april])
    assert gbp(result) == money_of(rows, header) == gbp(read_flows([path])) and reconciles(result)
    assert [(f.flows.height, f.repeated) for f in result.files] == [(len(rows), 0), (0, len(april_rows))]
    assert result.repeated_amount() == {"GBP": int(money_of(april_rows, header) * 100)}
    notes = [n for n in result.notes if "repeat transactions" in n]
    assert notes == [
        f"{april}: {len(april_rows)} line(s) repeat transactions already read in {path} (same payer, "
        "supplier, transaction number and amount; e.g. line 2 = line 2 there): "
        f"GBP {money_of(april_rows, header):,.2f} in all, not counted again; 0 other line(s) here are "
        "counted; each transaction is counted once"
    ]


def test_the_month_read_first_keeps_its_lines_and_the_quarter_adds_only_the_others(quarter, tmp_path):
    path, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows)
    result = read_flows([april, path])
    assert gbp(result) == money_of(rows, header) and reconciles(result)
    assert [f.repeated for f in result.files] == [0, len(april_rows)]
    assert result.files[1].flows.height == len(rows) - len(april_rows)


def test_a_month_published_twice_with_a_corrected_line_counts_the_correction_and_says_so(tmp_path):
    header, rows = spend_rows(MONTHS[0])
    first = write_spend(tmp_path / "April.csv", header, rows)
    amount = [t.lower() for t in header].index("amount")
    revised = [list(r) for r in rows[:-1]]  # the last line withdrawn, one amount corrected
    revised[5][amount] = "1,000.00"
    second = write_spend(tmp_path / "April v2.csv", header, revised)
    result = read_flows([first, second])
    assert result.files[1].repeated == len(rows) - 2 and result.files[1].flows.height == 1
    assert gbp(result) == money_of(rows, header) + Decimal("1000.00") and reconciles(result)
    assert any(n.startswith(f"{second}: {len(rows) - 2} line(s) repeat") and "1 other line(s) here" in n
               for n in result.notes)  # fmt: skip
    number = [t.lower() for t in header].index("transaction number")
    original = money_words(to_minor(rows[5][amount].replace(",", "")), "GBP")
    assert f"{second}: 1 line(s) carry a transaction number of {first} with another amount (same payer and " \
        f"supplier; e.g. transaction {rows[5][number]}: GBP 1,000.00 on line 7 here, {original} on line 7 " \
        f"of {first}): GBP 1,000.00 in all; counted, as which is right cannot be known: check which is " \
        "current" in result.notes  # fmt: skip


def test_equal_payments_within_one_file_stay_and_only_as_many_as_the_earlier_file_holds_are_repeats(tmp_path):
    header, rows = spend_rows(MONTHS[0])
    twice = [*rows, rows[0]]  # two equal payments on one day: a real possibility
    alone = read_flows([write_spend(tmp_path / "a.csv", header, twice)])
    assert alone.flows.height == len(rows) + 1 and alone.repeated == 0
    thrice = [*rows, rows[0], rows[0]]
    result = read_flows([tmp_path / "a.csv", write_spend(tmp_path / "b.csv", header, thrice)])
    assert [(f.flows.height, f.repeated) for f in result.files] == [(len(rows) + 1, 0), (1, len(rows) + 1)]
    assert gbp(result) == money_of(thrice, header) and reconciles(result)


def test_without_a_transaction_number_in_one_file_lines_are_compared_on_the_rest(quarter, tmp_path):
    path, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows, drop="Transaction number")
    result = read_flows([path, april])
    assert result.files[1].repeated == len(april_rows) and gbp(result) == money_of(rows, header)
    assert any("(same payer, supplier, date, amount; e.g." in n for n in result.notes)


def test_the_same_lines_from_two_payers_are_two_payers_money(tmp_path):
    lines = "Date,Supplier,Amount\n2020-04-30,Acme Care Ltd,100.00\n"
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text(lines)
    two.write_text(lines + "\n")  # not the same bytes
    rules = SourceRules([Rule("one.csv", SourceSettings(payer_name="Trafford Council")),
                         Rule("two.csv", SourceSettings(payer_name="Stockport Council"))])  # fmt: skip
    result = read_flows([one, two], sources=rules)
    assert result.flows.height == 2 and result.repeated == 0 and gbp(result) == Decimal("200")


def test_analyse_reports_repeated_records_and_money_in_summary_and_terminal(quarter, tmp_path, capsys):
    path, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows)
    assert main(["analyse", str(path), str(april), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    parts = summary["flows"] + summary["rejected"] + summary["non_money"] + summary["repeated"]
    assert summary["records_read"] == parts == len(rows) + len(april_rows)
    assert summary["repeated"] == len(april_rows)
    assert summary["repeated_amount"] == {"GBP": f"{money_of(april_rows, header):.2f}"}
    assert [f["repeated"] for f in summary["files"]] == [0, len(april_rows)]
    assert Decimal(summary["total_amount"]["GBP"]) == money_of(rows, header)
    assert f"{len(april_rows)} repeated (GBP " in " ".join(out.split())


def test_convert_counts_repeated_records_in_its_description(quarter, tmp_path):
    path, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows)
    assert main(["convert", str(path), str(april), "--out", str(tmp_path / "conv")]) == 0
    info = json.loads((tmp_path / "conv" / "graphflows-flows.json").read_text())
    assert (info["flows"], info["repeated"]) == (len(rows), len(april_rows))
    assert info["records_read"] == info["flows"] + info["rejected"] + info["non_money"] + info["repeated"]
    assert info["repeated_amount"] == {"GBP": int(money_of(april_rows, header) * 100)}


# ------------------------------------------------- a transaction in two months' files (month-end dates)


def nel_csvs(tmp_path: Path) -> list[Path]:
    """The 36 real NEL CCG month files (2020/21), written out in the order of their zips."""
    paths = []
    for archive in CCG_ZIPS.values():
        with zipfile.ZipFile(archive) as z:
            for name in sorted(n for n in z.namelist() if n.endswith(".csv")):
                path = tmp_path / Path(name).name
                path.write_bytes(z.read(name))
                paths.append(path)
    return paths


def numbered_repeats(paths: list[Path]) -> tuple[int, Decimal]:
    """Lines (and their money) whose entity, supplier, transaction number and amount a line of an earlier
    file already gave, each earlier line taking one later line: counted here from the CSV text."""
    earlier: dict[tuple[str, ...], int] = {}
    count, money = 0, Decimal(0)
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [{k.strip().lower(): v for k, v in r.items()} for r in csv.DictReader(handle)]
        here: dict[tuple[str, ...], int] = {}
        for row in rows:
            amount = Decimal(row["amount"].replace(",", ""))
            key = (row["entity"], row["supplier"], row["transaction number"], str(amount))
            if earlier.get(key, 0) > 0:
                earlier[key] -= 1
                count, money = count + 1, money + amount
            else:
                here[key] = here.get(key, 0) + 1
        for key, n in here.items():
            earlier[key] = earlier.get(key, 0) + n
    return count, money


def test_a_transaction_in_two_months_files_with_their_month_end_dates_is_counted_once(tmp_path):
    """NHS Barking and Dagenham CCG lists KCOM's transaction 33624846 in August (dated 31/8) and again
    in September (dated 30/9): the same payer, supplier, number and amount, counted once."""
    august, september = (tmp_path / n for n in ("NEBD 05 - August.csv", "NEBD 06 - September.csv"))
    for path in (august, september):
        path.write_bytes(zip_member(CCG_ZIPS["NEBD"], f"NEBD/{path.name}"))
    header, rows = spend_rows("NEBD/NEBD 06 - September.csv")
    result = read_flows([august, september])
    assert (result.files[1].repeated, result.repeated_amount()) == (1, {"GBP": 2952097})
    assert numbered_repeats([august, september]) == (1, Decimal("29520.97"))
    assert gbp(result) == gbp(read_flows([august])) + money_of(rows, header) - Decimal("29520.97")
    assert reconciles(result)
    assert (
        f"{september}: 1 line(s) repeat transactions already read in {august} (same payer, supplier, "
        "transaction number and amount; 1 of them with another date, e.g. line 2 dated 2020-09-30 here, "
        f"2020-08-31 on line 136 there): GBP 29,520.97 in all, not counted again; {len(rows) - 1} other "
        "line(s) here are counted; each transaction is counted once"
    ) in result.notes


def test_every_real_nel_transaction_listed_in_two_files_is_counted_once(tmp_path):
    paths = nel_csvs(tmp_path)
    result = read_flows(paths)
    count, money = numbered_repeats(paths)
    assert (count, money) == (14, Decimal("2169789.07"))  # the 9 NEHV lines and the 5 with another date
    assert result.repeated == count and result.repeated_amount() == {"GBP": int(money * 100)}
    assert reconciles(result)
    assert sum(f.repeated for f in result.files) == count
    redated = [n for n in result.notes if "1 of them with another date" in n]
    assert len(redated) == 5


def test_a_repeat_across_london_ccg_months_is_counted_once():
    """NHS North Central London CCG lists Enfield One's transaction 33021731 in July and August."""
    with zipfile.ZipFile(LONDON_ZIPS["nhs"]) as z:
        names = [f"nhs_ncl_ccg/NCL 0{n}.pdf.csv" for n in ("4 - July", "5 - August")]
        texts = [z.read(name) for name in names]
    result = read_flows([LONDON_ZIPS["nhs"]], sources=read_manifest(LONDON_SOURCES), skip_invalid=True)
    ncl = [f for f in result.files if f.source.endswith(tuple(names))]
    assert [f.repeated for f in ncl] == [0, 1] and b"33021731" in texts[0] and b"33021731" in texts[1]
    assert ncl[1].repeated_amount == {"GBP": 16654285} and reconciles(result)
    assert result.repeated == 1  # and nothing else in the 33 NHS files


def test_a_blank_transaction_number_is_no_number(tmp_path):
    """Whittington Health leaves the number blank on its monthly NHS Resolution (NHSLA) payment; the
    May and October lines are two payments, not one transaction numbered ''."""
    paths = []
    for month in ("02 - May", "07 - October", "08 - November"):
        paths.append(tmp_path / f"WHIT {month}.csv")
        paths[-1].write_bytes(zip_member(LONDON_ZIPS["nhs"], f"nhs_whittington_health/WHIT {month}.csv"))
    assert all(b"NHS Litigation Authority,," in p.read_bytes() for p in paths)
    rules = SourceRules([Rule("WHIT *", SourceSettings(payer_name="Whittington Health NHS Trust"))])
    result = read_flows(paths, sources=rules)
    assert result.repeated == 0 and reconciles(result)
    amounts = result.flows["amount_minor"].to_list()
    assert (amounts.count(101464250), amounts.count(101637475)) == (1, 2)  # October's and November's
    assert not any("carry a transaction number" in n for n in result.notes)


# --------------------------------------------------- without transaction numbers: only overlapping files


def tfl_by_entity(tmp_path: Path) -> tuple[list[Path], Decimal]:
    """TfL's real period file split by its own Entity column (as a publisher issuing one file per body
    would), the Document Number column left out; and the money of the whole file."""
    text = zip_member(LONDON_ZIPS["tfl"], zip_members(LONDON_ZIPS["tfl"])[0]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, lines = rows[0], [r for r in rows[1:] if any(r)]
    entity = header.index("Entity")
    paths = []
    for name in sorted({r[entity] for r in lines}):
        mine = [r for r in lines if r[entity] == name]
        path = tmp_path / f"tfl_{name.replace(' ', '_')}.csv"
        paths.append(write_spend(path, header, mine, drop="Document Number"))
    return paths, sum((Decimal(r[header.index("Amount")]) for r in lines), Decimal(0))


def test_equal_lines_of_files_that_do_not_repeat_each_other_are_counted_with_a_note(tmp_path):
    paths, total = tfl_by_entity(tmp_path)
    rules = SourceRules([Rule("tfl_*", SourceSettings(payer_name="Transport for London"))])
    result = read_flows(paths, sources=rules)
    assert result.repeated == 0 and gbp(result) == total and reconciles(result)
    notes = [n for n in result.notes if "equal lines of" in n]
    assert notes and all(n.endswith("; counted, as the files do not repeat each other") for n in notes)
    assert all("(same payer, supplier, date and amount, no transaction number; e.g. line" in n for n in notes)


def test_without_transaction_numbers_a_month_and_its_quarter_still_repeat(quarter, tmp_path):
    _, header, rows = quarter
    _, april_rows = spend_rows(MONTHS[0])
    unnumbered = write_spend(tmp_path / "Q1 (no numbers).csv", header, rows, drop="Transaction number")
    april = write_spend(tmp_path / "April.csv", header, april_rows, drop="Transaction number")
    for order in ([unnumbered, april], [april, unnumbered]):
        result = read_flows(order)
        assert result.repeated == len(april_rows) and gbp(result) == money_of(rows, header)
        assert reconciles(result) and not any("equal lines of" in n for n in result.notes)


# -------------------------- without transaction numbers, in either order: Oxford City Council's Q3 2017/18

OXFORD = "oxford_city/expenditure-over-500-oct-dec-2017.csv"
#: The council's files read as one payer (its own file gives the client code ``OCC`` only).
OXFORD_PAYER = SourceRules([Rule("*.csv", SourceSettings(payer_name="Oxford City Council"))])


@functools.cache
def oxford_rows() -> tuple[list[str], list[list[str]]]:
    """The header and lines of Oxford City Council's real October-December 2017 spend file."""
    rows = list(csv.reader(io.StringIO(zip_member(COUNCILS_ZIP, OXFORD).decode("utf-8-sig"))))
    return rows[0], [r for r in rows[1:] if any(r)]


def oxford_file(path: Path, pick=lambda row, header: True) -> tuple[Path, list[list[str]]]:
    """Oxford's lines that ``pick`` keeps, without their transaction numbers, written to ``path``."""
    header, rows = oxford_rows()
    mine = [r for r in rows if pick(r, header)]
    return write_spend(path, header, mine, drop="Trans No"), mine


def oxford_money(rows: list[list[str]]) -> Decimal:
    """The money of Oxford's lines, summed here from their text."""
    amount = oxford_rows()[0].index("Amount")
    return sum((Decimal(r[amount]) for r in rows), Decimal(0))


def in_month(month: str):
    return lambda row, header: row[header.index("Paid Date")][3:5] == month


def in_area(area: str):
    return lambda row, header: row[header.index("Service Area")] == area


def kept(result) -> list[tuple]:
    """The flows counted, as payer, supplier, date and amount, sorted (whichever file each came from)."""
    columns = ["payer_id", "payee_id", "date", "amount_minor"]
    return sorted(result.flows.select(columns).iter_rows())


#: Files holding some of the quarter's transactions, without numbers: its December; December with the
#: payments of 3 October (a month's file listing payments of an earlier month, as NHS Havering's September
#: 2020 file lists October's: the dates both files cover are then the whole quarter); and the lines of its
#: Housing Services (a body's own file beside its group's, read as the same payer).
PART_OF_THE_QUARTER = {
    "December": in_month("12"),
    "December and 3 October": lambda row, header: (
        in_month("12")(row, header) or row[header.index("Paid Date")] == "03/10/2017"
    ),
    "Housing Services": in_area("Housing Services"),
}


@pytest.mark.parametrize("part", PART_OF_THE_QUARTER)
def test_a_file_and_the_larger_file_holding_its_lines_count_the_same_money_in_either_order(part, tmp_path):
    """The smaller file read first or last: its lines are repeats of the quarter's, counted once, and the
    flows counted are the same (to the penny, against the sum of the quarter's text)."""
    quarter, rows = oxford_file(tmp_path / "Q3 2017-18.csv")
    smaller, lines = oxford_file(tmp_path / f"{part}.csv", PART_OF_THE_QUARTER[part])
    assert 0 < 2 * len(lines) < len(rows)  # fewer than half of the quarter's lines
    results = [read_flows(order, sources=OXFORD_PAYER) for order in ([quarter, smaller], [smaller, quarter])]
    for result, later in zip(results, (smaller, quarter), strict=True):
        assert gbp(result) == oxford_money(rows) and result.flows.height == len(rows) and reconciles(result)
        assert result.repeated == len(lines) and result.repeated_amount() == {
            "GBP": int(oxford_money(lines) * 100)
        }
        assert [f.repeated for f in result.files if f.source == str(later)] == [len(lines)]
        assert not any("equal lines of" in n for n in result.notes)
        earlier = quarter if later == smaller else smaller
        assert next(n for n in result.notes if "repeat transactions" in n).startswith(
            f"{later}: {len(lines)} line(s) repeat transactions already read in {earlier} (same payer, "
            "supplier, date, amount; e.g. line"
        )
    assert kept(results[0]) == kept(results[1])


def test_the_three_months_and_their_quarter_count_the_quarter_once_in_either_order(tmp_path, capsys):
    """Oxford's October, November and December (December with the payments of 3 October) and the quarter,
    the months read first or last: the quarter's money once, to the penny, and summary.json reconciles
    per file and in total."""
    quarter, rows = oxford_file(tmp_path / "Q3 2017-18.csv")
    picks = {"October": in_month("10"), "November": in_month("11")}
    picks["December"] = PART_OF_THE_QUARTER["December and 3 October"]
    months = [oxford_file(tmp_path / f"{month}.csv", pick)[0] for month, pick in picks.items()]
    flows = []
    for name, order in (("months-first", [*months, quarter]), ("quarter-first", [quarter, *months])):
        out = tmp_path / name
        assert (
            main(["analyse", *map(str, order), "--payer", "*.csv=Oxford City Council", "--out", str(out)])
            == 0
        )
        summary = json.loads((out / "summary.json").read_text())
        assert Decimal(summary["total_amount"]["GBP"]) == oxford_money(rows) and summary["flows"] == len(rows)
        for counts in (summary, *summary["files"]):
            parts = counts["flows"] + counts["rejected"] + counts["non_money"] + counts["repeated"]
            assert counts["records_read"] == parts
        assert summary["records_read"] == sum(f["records_read"] for f in summary["files"])
        assert not any("equal lines of" in n for n in summary["notes"])
        flows.append(kept(read_flows(order, sources=OXFORD_PAYER)))
    assert flows[0] == flows[1]
    capsys.readouterr()


def shared_lines(one: list[list[str]], other: list[list[str]]) -> tuple[int, Decimal]:
    """How many of Oxford's lines ``one`` and ``other`` share (supplier, day and amount), each line of one
    paired with at most one of the other, and their money: counted here from the text."""
    header = oxford_rows()[0]
    where = [header.index(t) for t in ("Supplier Name", "Paid Date")]

    def counts(rows):
        return Counter((*(r[i] for i in where), Decimal(r[header.index("Amount")])) for r in rows)

    common = counts(one) & counts(other)
    return common.total(), sum((key[-1] * n for key, n in common.items()), Decimal(0))


def test_two_files_sharing_a_few_equal_lines_are_both_counted_in_either_order(tmp_path):
    """Oxford's Community Services and Direct Services lines as two files of one payer: a few payments of
    each equal one of the other (same supplier, day and amount), but they are not one publication twice,
    so every line is counted, with a note, whichever file is read first."""
    community, first = oxford_file(tmp_path / "Community Services.csv", in_area("Community Services"))
    direct, second = oxford_file(tmp_path / "Direct Services.csv", in_area("Direct Services"))
    shared, money = shared_lines(first, second)
    assert 0 < 2 * shared < len(first) < len(second)
    for order in ([community, direct], [direct, community]):
        result = read_flows(order, sources=OXFORD_PAYER)
        assert result.repeated == 0 and result.flows.height == len(first) + len(second)
        assert gbp(result) == oxford_money(first) + oxford_money(second) and reconciles(result)
        notes = [n for n in result.notes if "equal lines of" in n]
        assert len(notes) == 1 and notes[0].startswith(
            f"{order[1]}: {shared} line(s) equal lines of {order[0]}"
        )
        assert notes[0].endswith(
            "but in neither file do half of the lines dated within the dates both files cover equal lines "
            f"of the other: GBP {money:,.2f} in all; counted, as the files do not repeat each other"
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), smaller_first=st.booleans())
def test_any_part_of_a_file_read_with_it_is_counted_once_in_either_order(tmp_path, data, smaller_first):
    """Property: any lines of Oxford's quarter, as a file of their own read before or after the quarter,
    repeat it: the money is the quarter's, to the penny, and the counts reconcile."""
    header, rows = oxford_rows()
    picked = data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1, max_size=400))
    quarter = write_spend(tmp_path / "Q3.csv", header, rows, drop="Trans No")
    lines = [rows[n] for n in sorted(picked)]
    part = write_spend(tmp_path / "part.csv", header, lines, drop="Trans No")
    result = read_flows([part, quarter] if smaller_first else [quarter, part], sources=OXFORD_PAYER)
    assert gbp(result) == oxford_money(rows) and result.flows.height == len(rows)
    assert result.repeated == len(lines) and reconciles(result)
    assert result.repeated_amount() == {"GBP": int(oxford_money(lines) * 100)}


def test_convert_says_the_money_of_the_repeated_lines(quarter, tmp_path, capsys):
    path, header, _ = quarter
    _, april_rows = spend_rows(MONTHS[0])
    april = write_spend(tmp_path / "April.csv", header, april_rows)
    assert main(["convert", str(path), str(april), "--out", str(tmp_path / "conv")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    money = f"GBP {money_of(april_rows, header):,.2f}"
    assert f"{len(april_rows)} repeated ({money} already read in another file, not counted again)" in out
