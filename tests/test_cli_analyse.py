"""The CLI: results files, clear errors with exit status 2, nothing half-written, no tracebacks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal

import pytest

from graphflows.cli.main import main
from graphflows.demo import demo_path
from graphflows.ingest.base import CONVERTED_MARK
from tests.data import CCG_ZIPS
from tests.helpers import write_flows


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_csv(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_analyse_writes_results_that_reconcile_with_the_input(tmp_path, capsys):
    code, out, _ = run(capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "out"))
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    input_total = sum(Decimal(r["amount"]) for r in read_csv(demo_path()))
    assert Decimal(summary["total_amount"]["GBP"]) == input_total
    assert summary["records_read"] == summary["flows"] + summary["rejected"] + summary["non_money"]
    attributed = sum(Decimal(r["amount"]) for r in read_csv(tmp_path / "out" / "attribution.csv"))
    negative = Decimal(summary["negative_net_amount"]["GBP"])
    assert attributed == Decimal(summary["attributed_amount"]["GBP"]) == input_total - negative
    convergence = read_csv(tmp_path / "out" / "convergence.csv")
    assert list(convergence[0])[:9] == [
        "recipient_id",
        "recipient_name",
        "kinds",
        "channel_count",
        "channels",
        "effective_channels",
        "stovepipe_count",
        "effective_stovepipes",
        "total_in",
    ]
    counts = [int(r["channel_count"]) for r in convergence]
    assert counts == sorted(counts, reverse=True)
    assert summary["convergence_points"] == sum(c >= 2 for c in counts)
    by_recipient = {r["recipient_id"]: Decimal(r["total_in"]) for r in convergence}
    attribution = read_csv(tmp_path / "out" / "attribution.csv")
    channels = read_csv(tmp_path / "out" / "channels.csv")
    for recipient, total in by_recipient.items():
        assert sum(Decimal(r["amount"]) for r in attribution if r["recipient_id"] == recipient) == total
        assert sum(Decimal(r["amount"]) for r in channels if r["recipient_id"] == recipient) == total
    for r in convergence:  # the counted channels are those bringing at least 1% (the default)
        mine = [c for c in channels if c["recipient_id"] == r["recipient_id"]]
        material = [c["channel"] for c in mine if Decimal(c["amount"]) >= Decimal(r["total_in"]) / 100]
        assert r["channels"].split(";") == material if material else r["channels"] == ""
        below = sum(Decimal(c["amount"]) for c in mine if c["channel"] not in material)
        assert Decimal(r["below_min_share"]) == below
    assert "Inclusion Healthcare" in out and "convergence points" in out


def test_bad_rows_fail_with_file_line_reason_and_write_nothing(tmp_path, capsys):
    path = write_flows(tmp_path / "f.csv", ["A,B,1", "A,B,lots", ",B,2"], header="payer_id,payee_id,amount")
    code, _, err = run(capsys, "analyse", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert f"{path}:3: amount lots is not a number" in err
    assert f"{path}:4: missing payer_id" in err
    assert not (tmp_path / "out").exists()


def test_many_bad_rows_are_shown_up_to_a_cap_then_counted(tmp_path, capsys):
    path = write_flows(
        tmp_path / "f.csv", [f"A,B,x{i}" for i in range(30)], header="payer_id,payee_id,amount"
    )
    code, _, err = run(capsys, "analyse", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert err.count(": amount x") == 20
    assert "... and 10 more" in err and "30 invalid record(s)" in err


def test_skip_invalid_writes_rejects_and_counts_reconcile(tmp_path, capsys):
    path = write_flows(
        tmp_path / "f.csv",
        ["A,B,1", "A,B,lots", "C,B,2", "C,D,2020-13-01"],
        header="payer_id,payee_id,amount",
    )
    code, _, _ = run(capsys, "analyse", str(path), "--out", str(tmp_path / "out"), "--skip-invalid")
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rejects = read_csv(tmp_path / "out" / "rejects.csv")
    assert (summary["records_read"], summary["flows"], summary["rejected"]) == (4, 2, 2)
    assert [r["line"] for r in rejects] == ["3", "5"]
    assert all(r["reason"] and r["source"] == str(path) for r in rejects)


def put(folder, name: str, content: bytes):
    (folder / name).write_bytes(content)
    return folder / name


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: put(d, "e.csv", b""), "file is empty"),
        (lambda d: put(d, "h.csv", b"a,b\n1,2\n"), "format not recognised"),
        (lambda d: put(d, "u.csv", b"payer_id,payee_id,amount\nA,\xe9,1\n"), "UTF-8"),
        (lambda d: put(d, CONVERTED_MARK, b"{}").parent, "is a `graphflows convert` folder: analyse it with"),
    ],
)
def test_unusable_input_is_one_clear_line(tmp_path, capsys, make, message):
    source = tmp_path / "in"
    source.mkdir()
    code, _, err = run(capsys, "analyse", str(make(source)), "--out", str(tmp_path / "out"))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_wrong_options_are_usage_errors(tmp_path, capsys):
    code, _, err = run(
        capsys, "analyse", str(demo_path()), "--out", str(tmp_path), "--financial-year", "2019/21"
    )
    assert code == 2 and "2014/15" in err
    code, _, err = run(capsys, "analyse", "--out", str(tmp_path))
    assert code == 2 and "Missing argument" in err


def test_financial_year_and_stream_view_change_the_answer(tmp_path, capsys):
    run(capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "all"))
    run(capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "fy"), "--financial-year", "2020/21")
    run(capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "st"), "--by", "stream")
    fy = json.loads((tmp_path / "fy" / "summary.json").read_text())
    assert fy["analysis"]["flows_in_period"] == 3
    assert Decimal(fy["attributed_amount"]["GBP"]) == Decimal("625000.00")
    stream_rows = read_csv(tmp_path / "st" / "attribution.csv")
    age_uk = {r["stovepipe_id"] for r in stream_rows if r["recipient_id"] == "age-uk-llr"}
    assert "bcf-leicester" in age_uk
    origin_rows = read_csv(tmp_path / "all" / "attribution.csv")
    assert "bcf-leicester" not in {
        r["stovepipe_id"] for r in origin_rows if r["recipient_id"] == "age-uk-llr"
    }


def test_a_financial_year_says_what_it_left_out_and_the_money_still_reconciles(tmp_path, capsys):
    flows = write_flows(
        tmp_path / "flows.csv",
        [
            "ccg,,,p,,,100.10,GBP,2019-04-01", "ccg,,,p,,,0.05,GBP,2020-03-31",  # in 2019/20
            "ccg,,,p,,,7.00,GBP,2020-04-01", "ccg,,,p,,,3.33,GBP,2019-03-31",  # dated outside
            "ccg,,,p,,,1.11,GBP,", "pcc,,,p,,,2.00,EUR,2019-05-01",  # undated; another currency
            "p,,,ccg,,,0.50,GBP,2019-06-01",  # a credit back, in the year
        ],
    )  # fmt: skip
    code, out, _ = run(
        capsys, "analyse", str(flows), "--out", str(tmp_path / "o"), "--financial-year", "2019/20"
    )
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    period = summary["analysis"]
    assert (period["flows_in_period"], period["flows_outside_period"], period["undated_flows_excluded"]) == (
        4,
        3,
        1,
    )
    assert period["amount_in_period"] == {"EUR": "2.00", "GBP": "100.65"}
    assert period["amount_outside_period"] == {"EUR": "0.00", "GBP": "11.44"}
    for currency, total in summary["total_amount"].items():
        kept = Decimal(period["amount_in_period"][currency])
        assert Decimal(total) == kept + Decimal(period["amount_outside_period"][currency])
        negative = Decimal(summary["negative_net_amount"].get(currency, "0"))
        assert kept == Decimal(summary["attributed_amount"][currency]) + negative
    said = " ".join(out.split())  # the console wraps long lines
    assert "Financial year 2019/20: 4 of 7 flows are dated in it (EUR 2.00, GBP 100.65)" in said
    assert "3 are left out (EUR 0.00, GBP 11.44), 1 of them undated" in said
    assert "No convergence points (counted by channel)." in said and "Top convergence" not in said


def test_demo_runs_the_main_job_and_says_where_the_files_went(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    assert (tmp_path / "demo" / "convergence.csv").exists()
    assert str(tmp_path / "demo") in out


def test_console_script_never_prints_a_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    done = subprocess.run(
        [sys.executable, "-m", "graphflows.cli.main", "analyse", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and str(bad) in done.stderr


def test_a_later_run_leaves_no_stale_files_from_an_earlier_one(tmp_path, capsys):
    messy = write_flows(
        tmp_path / "messy.csv", ["A,B,1", "A,B,x", "A,C,-5"], header="payer_id,payee_id,amount"
    )
    clean = write_flows(tmp_path / "clean.csv", ["A,B,1"], header="payer_id,payee_id,amount")
    out = tmp_path / "out"
    assert run(capsys, "analyse", str(messy), "--out", str(out), "--skip-invalid")[0] == 0
    assert (out / "rejects.csv").exists() and (out / "negative_net.csv").exists()
    assert run(capsys, "analyse", str(clean), "--out", str(out))[0] == 0
    assert not (out / "rejects.csv").exists() and not (out / "negative_net.csv").exists()
    assert json.loads((out / "summary.json").read_text())["rejected"] == 0


def test_demo_shows_the_seed_story_three_channels_converge_on_inclusion_healthcare(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    rows = {r["recipient_id"]: r for r in read_csv(tmp_path / "demo" / "convergence.csv")}
    inclusion = rows["inclusion-healthcare"]
    assert {"nhs", "public_health", "police_justice"} <= set(inclusion["channels"].split(";"))
    assert int(inclusion["channel_count"]) >= 3 and inclusion["is_convergence_point"] == "true"
    # a trust paid by two CCGs and the pooled Better Care Fund is fed by the NHS above all
    assert rows["uhl-trust"]["top_channel"] == "nhs"
    organisations = read_csv(tmp_path / "demo" / "organisations.csv")
    nodes = {r["id"] for r in organisations}
    assert nodes >= set(rows) and all(r["channel"] and r["form"] for r in organisations)
    by_id = {r["id"]: r for r in organisations}
    assert by_id["leicester-city-ccg"]["channel"] == "nhs"
    assert by_id["opcc-leicestershire"]["channel"] == "police_justice"
    assert by_id["phe"]["channel"] == "public_health"
    assert by_id["leicester-city-council"]["channel"] == "local_government"
    assert "Channels" in out and "Inclusion Healthcare" in out
    single = [
        r for r in rows.values() if r["is_convergence_point"] == "true" and int(r["payer_channel_count"]) < 2
    ]
    assert single and f"{len(single)} of the" in out and "--count-by payer_channel" in out


def test_count_by_stovepipe_and_no_materiality_restore_origin_counting(tmp_path, capsys):
    args = ["analyse", str(demo_path()), "--count-by", "stovepipe", "--min-share", "0"]
    code, out, _ = run(capsys, *args, "--out", str(tmp_path / "s"))
    assert code == 0
    convergence = read_csv(tmp_path / "s" / "convergence.csv")
    counts = [int(r["stovepipe_count"]) for r in convergence]
    assert counts == sorted(counts, reverse=True)
    attribution = read_csv(tmp_path / "s" / "attribution.csv")
    for r in convergence:
        assert int(r["stovepipe_count"]) == sum(a["recipient_id"] == r["recipient_id"] for a in attribution)
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["analysis"]["count_by"] == "stovepipe" and summary["analysis"]["min_share"] == 0
    assert "counted by stovepipe" in out


def test_channel_given_in_the_input_wins_and_a_bad_one_is_a_clear_error(tmp_path, capsys):
    path = write_flows(
        tmp_path / "f.csv",
        ["acme,Acme Ltd,p,P,10,nhs", "phe,Public Health England,p,P,10,", "pcc,PCC,p,P,10,police_justice"],
        header="payer_id,payer_name,payee_id,payee_name,amount,payer_channel",
    )
    code, _, _ = run(capsys, "analyse", str(path), "--out", str(tmp_path / "out"))
    assert code == 0
    organisations = {r["id"]: r for r in read_csv(tmp_path / "out" / "organisations.csv")}
    assert (organisations["acme"]["channel"], organisations["acme"]["channel_method"]) == ("nhs", "input")
    assert organisations["phe"]["channel"] == "public_health"
    bad = write_flows(
        tmp_path / "bad.csv",
        ["a,p,10,nhs", "b,p,10,the nhs"],
        header="payer_id,payee_id,amount,payer_channel",
    )
    code, _, err = run(capsys, "analyse", str(bad), "--out", str(tmp_path / "bad"))
    assert code == 2
    assert f"{bad}:3: unknown payer_channel the nhs (expected one of nhs, public_health," in err
    assert not (tmp_path / "bad").exists()


def test_a_url_is_left_to_the_spark_engine(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyse", "s3a://bucket/flows.csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "s3a://bucket/flows.csv: URLs are read by the Spark engine only" in err
    assert "Traceback" not in err and not out.exists()


SPEND = "Entity,Date,Supplier,Amount\nNHS A CCG,30/04/2020,Supplier One,100.00\n"
UTF16 = "UTF-16 text; save the file as UTF-8 (CSV UTF-8 in Excel) and try again"


@pytest.mark.parametrize(
    "data",
    [
        SPEND.encode("utf-16"),  # Excel's "Unicode text": a byte-order mark FF FE
        SPEND.encode("utf-16-be"),  # no byte-order mark: a NUL before every character
        b"\xfe\xff" + '{"releases": []}'.encode("utf-16-be"),
    ],
)
@pytest.mark.parametrize("forced", [[], ["--format", "spend"], ["--format", "ocds"], ["--format", "flows"]])
def test_utf16_text_is_named_in_every_format(tmp_path, capsys, data, forced):
    path = put(tmp_path, "u16.csv", data)
    out = tmp_path / "out"
    code, _, err = run(capsys, "analyse", str(path), "--out", str(out), *forced)
    assert code == 2
    assert err.strip() == f"graphflows: {path}: {UTF16}"
    assert not out.exists()


def test_utf16_member_of_a_zip_is_named(tmp_path, capsys):
    import zipfile

    archive = tmp_path / "spend.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("april.csv", SPEND)
        z.writestr("may.csv", SPEND.encode("utf-16"))
    code, _, err = run(capsys, "analyse", str(archive), "--out", str(tmp_path / "out"))
    assert (code, err.strip()) == (2, f"graphflows: {archive}!may.csv: {UTF16}")


def test_every_file_naming_no_paying_body_is_listed_in_one_error(tmp_path, capsys):
    """One run names every file that needs --payer, with a glob per folder to give it."""
    ncl, oxford = tmp_path / "ncl", tmp_path / "oxford"
    ncl.mkdir()
    oxford.mkdir()
    implied = "Date,Supplier,Amount\n30/04/2020,Supplier One,100.00\n"
    files = [
        put(ncl, "NCL 01 - April.csv", implied.encode()),
        put(ncl, "NCL 02 - May.csv", implied.encode()),
        put(tmp_path, "named.csv", SPEND.encode()),
        put(oxford, "expenditure-2017.csv", implied.encode()),
    ]
    out = tmp_path / "out"
    code, _, err = run(capsys, "analyse", *map(str, files), "--out", str(out))
    assert code == 2 and not out.exists()
    lines = err.strip().splitlines()
    assert lines[:3] == [
        f"{f}:1: names no paying body (found: Date, Supplier, Amount)" for f in (files[0], files[1], files[3])
    ]
    assert lines[3] == (
        "graphflows: 3 files name no paying body (no Entity / Body Name / Organisation Name column): say who "
        "paid with --payer 'GLOB=NAME' for each, e.g. --payer 'NCL 0*=Name of the body' "
        "--payer 'expenditure-2017.csv=Name of the body', or a --sources manifest"
    )
    given = [
        "--payer",
        "NCL 0*=NHS North Central London CCG",
        "--payer",
        "expenditure-2017.csv=Oxford City Council",
    ]
    code, _, err = run(capsys, "analyse", *map(str, files), "--out", str(out), *given)
    assert code == 0, err


def _shared_award(number: int, amount: str) -> dict:
    """An OCDS release whose one award value is shared by two suppliers (a framework)."""
    suppliers = [{"id": f"s{i}", "name": f"Supplier {i} Ltd", "roles": ["supplier"]} for i in (1, 2)]
    return {
        "ocid": f"ocds-test-{number}", "id": f"r{number}", "date": "2020-05-01T00:00:00Z",
        "buyer": {"id": "b1", "name": "Buyer Council"},
        "parties": [{"id": "b1", "name": "Buyer Council", "roles": ["buyer"]}, *suppliers],
        "awards": [{"id": "a1", "status": "active", "date": "2020-05-01", "suppliers": suppliers,
                    "value": {"amount": Decimal(amount), "currency": "GBP"}}],
    }  # fmt: skip


def test_notes_of_one_kind_from_many_files_are_one_line_and_each_stays_in_the_summary(tmp_path, capsys):
    files = []
    for number, amount in enumerate(["100.50", "2000", "300", "0"]):
        path = tmp_path / f"award-{number}.json"
        path.write_text(json.dumps({"releases": [_shared_award(number, amount)]}, default=str))
        files.append(path)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "analyse", *map(str, files), "--out", str(out))
    assert code == 0, err
    notes = [" ".join(note.split()) for note in stdout.split("Note: ")[1:]]  # lines as rich wrapped them
    shared = [n for n in notes if "award(s) with one value shared" in n]
    assert len(shared) == 1
    assert shared[0].startswith(
        "3 award(s) with one value shared by several suppliers (framework ceilings) in 3 files: "
        "GBP 2,400.50 in all; not counted per supplier"
    )
    assert "".join(f"(e.g. {files[0]}: 1)".split()) in "".join(shared[0].split())  # a path may wrap
    assert shared[0].endswith("each file's note is in summary.json")
    zero = [n for n in notes if "value of 0" in n]  # one file: shown as it is, and not called a ceiling
    assert len(zero) == 1
    assert "1 award(s) shared by several suppliers with a value of 0 (no ceiling stated)" in zero[0]
    assert not any("GBP 0.00 in all" in n for n in notes) and "framework ceilings, 0" not in stdout
    summary = json.loads((out / "summary.json").read_text())
    kinds = [n.split(": ", 1)[1].split(" (")[0] for n in summary["notes"] if "award(s)" in n]
    assert kinds == ["1 award(s) with one value shared by several suppliers"] * 3 + [
        "1 award(s) shared by several suppliers with a value of 0"
    ]
    assert "GBP 100.50 in all" in summary["notes"][0]


def test_self_payments_are_left_out_of_income_in_every_output_and_the_money_reconciles(tmp_path, capsys):
    """A trust paid by two CCGs pays itself twice (an internal transfer): its income in convergence.csv,
    channels.csv and attribution.csv is what the CCGs paid, and summary.json reconciles to the penny."""
    flows = write_flows(
        tmp_path / "flows.csv",
        [
            "ccg-a,CCG A,commissioner,trust,Royal Trust,provider,1000.00,GBP",
            "pcc,PCC,commissioner,trust,Royal Trust,provider,500.01,GBP",
            "trust,Royal Trust,provider,trust,Royal Trust,provider,250.50,GBP",
            "trust,Royal Trust,provider,trust,Royal Trust,provider,-0.50,GBP",
            "trust,Royal Trust,provider,lab,Lab Ltd,provider,300.00,GBP",
        ],
    )
    code, out, _ = run(capsys, "analyse", str(flows), "--out", str(tmp_path / "o"), "--min-count", "1")
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["self_payments"] == 2 and summary["self_payment_amount"] == {"GBP": "250.00"}
    total = Decimal(summary["total_amount"]["GBP"])
    negative = Decimal(summary["negative_net_amount"].get("GBP", "0"))
    assert total == Decimal(summary["attributed_amount"]["GBP"]) + negative + Decimal("250.00")
    trust = next(r for r in read_csv(tmp_path / "o" / "convergence.csv") if r["recipient_id"] == "trust")
    assert (trust["total_in"], trust["payer_count"]) == ("1500.01", "2")
    for name in ("channels.csv", "attribution.csv"):
        rows = read_csv(tmp_path / "o" / name)
        assert sum(Decimal(r["amount"]) for r in rows if r["recipient_id"] == "trust") == Decimal("1500.01")
    notes = summary["notes"]
    assert "2 self-payment(s) (an organisation paying itself: GBP 250.00) left out of income" in " ".join(
        notes
    )
    assert "left out of income" in " ".join(out.split())


def test_the_note_after_min_share_0_counts_what_min_share_001_leaves_out(tmp_path, capsys):
    """The NEL CCGs pay each other: at --min-share 0 every recipient converges; the note says how many
    points --min-share 0.01 leaves out, and that run finds exactly the rest."""
    zips = [str(z) for z in CCG_ZIPS.values()]
    points = {}
    for share in ("0", "0.01"):
        out = tmp_path / share
        assert (
            main(["analyse", *zips, "--out", str(out), "--count-by", "stovepipe", "--min-share", share]) == 0
        )
        points[share] = json.loads((out / "summary.json").read_text())
    said = " ".join(capsys.readouterr().out.split())
    everything, kept = points["0"]["convergence_points"], points["0.01"]["convergence_points"]
    assert points["0"]["analysis"]["convergence_points_at_default_min_share"] == kept < everything
    assert f"Note: {everything - kept} of the {everything} convergence point(s) rest on stovepipes" in said
    assert f"and finds {kept}." in said
    assert "convergence_points_at_default_min_share" not in points["0.01"]["analysis"]
