"""The CLI talks in one voice: one-line usage errors, errors printed once, honest help and notes."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from graphflows.cli.main import main
from graphflows.demo import demo_path

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["analyse", str(demo_path())],
            "graphflows analyse: Missing option '--out'. See 'graphflows analyse --help'.",
        ),
        (
            ["analyse", str(demo_path()), "--out", "{tmp}", "--count-by", "foo"],
            "graphflows analyse: Invalid value for '--count-by': 'foo' is not one of 'channel', "
            "'payer_channel', 'stovepipe'. See 'graphflows analyse --help'.",
        ),
        (
            ["view", str(demo_path()), "--min-share", "2"],
            "graphflows view: Invalid value for '--min-share': 2 would be the whole income or more; did you "
            "mean 0.02 (2%)? Give a share between 0 and 1 or a percentage (the whole income is 100%). "
            "See 'graphflows view --help'.",
        ),
        (["nosuch"], "graphflows: No such command 'nosuch'. See 'graphflows --help'."),
    ],
)
def test_a_usage_mistake_is_one_line_naming_the_command(tmp_path, capsys, args, line):
    code, out, err = run(capsys, *(a.replace("{tmp}", str(tmp_path / "out")) for a in args))
    assert code == 2
    assert err.strip() == line and out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("given", "points"), [("1%", 1), ("0.01", 1), ("0.5%", 2), ("0.0099", 2), ("100%", 0), ("0", 2)]
)
def test_min_share_takes_a_share_or_a_percentage(tmp_path, capsys, given, points):
    """p1 gets exactly 1% from its second channel, p2 0.9999%: 1% and 0.01 are the same threshold."""
    flows = tmp_path / "share.csv"
    flows.write_text(
        "payer_id,payer_name,payee_id,payee_name,amount,payer_channel\n"
        "ccg,CCG,p1,Exactly one percent,9900.00,nhs\npcc,PCC,p1,Exactly one percent,100.00,police_justice\n"
        "ccg,CCG,p2,A hair under,9900.01,nhs\npcc,PCC,p2,A hair under,99.99,police_justice\n"
    )
    code, _out, err = run(capsys, "analyse", str(flows), "--min-share", given, "--out", str(tmp_path / "o"))
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["convergence_points"] == points


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("1", "1 means the whole income; did you mean 0.01 (1%)? Write 100% for the whole income."),
        ("5", "5 would be the whole income or more; did you mean 0.05 (5%)?"),
        ("2.5", "2.5 would be the whole income or more; did you mean 0.025 (2.5%)?"),
    ],
)
def test_a_min_share_above_one_is_refused_with_the_share_it_may_mean(tmp_path, capsys, given, said):
    code, out, err = run(
        capsys, "analyse", str(demo_path()), "--min-share", given, "--out", str(tmp_path / "o")
    )
    assert code == 2 and out == "" and not (tmp_path / "o").exists()
    assert f"'--min-share': {said}" in err


@pytest.mark.parametrize("command", ["analyse", "view"])
def test_a_bad_channels_file_is_reported_once(tmp_path, capsys, command):
    channels = tmp_path / "badch.csv"
    channels.write_text("match,channel\nfoo,bogus\n")
    out = tmp_path / ("r" if command == "analyse" else "v.html")
    code, _, err = run(capsys, command, str(demo_path()), "--channels", str(channels), "--out", str(out))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"graphflows: {channels}:2: unknown channel 'bogus'")
    code, _, err = run(
        capsys, command, str(demo_path()), "--channels", str(tmp_path / "no.csv"), "--out", str(out)
    )
    assert code == 2
    assert err.strip() == f"graphflows: {tmp_path / 'no.csv'}: no such channel mapping file"
    assert not out.exists()


def _script(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose Ctrl-C is Python's own (as in a terminal)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        check=False,
    )


def test_a_ctrl_c_once_the_results_are_committed_is_ignored(tmp_path):
    code = f"""
import os, signal
import graphflows.cli.main as cli_main
committed = cli_main.allow_quick_exit
def committed_then_ctrl_c():
    committed()
    os.kill(os.getpid(), signal.SIGINT)
    print("still running", flush=True)
cli_main.allow_quick_exit = committed_then_ctrl_c
cli_main.run_script(["analyse", {str(demo_path())!r}, "--out", "out"])
"""
    done = _script(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "still running" in done.stdout
    assert (tmp_path / "out" / "summary.json").is_file()


def test_a_ctrl_c_during_the_interpreters_teardown_prints_nothing(tmp_path):
    code = """
import os, signal
from graphflows.cli.main import leave
class FreedLate:  # like a ZipFile freed at shutdown, just as the user presses Ctrl-C
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))
late = FreedLate()
leave(3)
"""
    done = _script(code, tmp_path)
    assert (done.returncode, done.stderr) == (3, "")


def test_a_ctrl_c_that_lands_in_a_del_still_interrupts_the_command(tmp_path):
    code = f"""
import os, signal, time
import graphflows.cli.analyse as analyse
import graphflows.cli.main as cli_main
class FreedMidRun:  # like a closed ZipFile freed by the garbage collector, just as the user presses Ctrl-C
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))
real = analyse.run_analysis
def run_analysis(*args, **kwargs):
    FreedMidRun()
    time.sleep(2)  # the interrupt comes back within this
    return real(*args, **kwargs)
analyse.run_analysis = run_analysis
cli_main.run_script(["analyse", {str(demo_path())!r}, "--out", "out"])
"""
    done = _script(code, tmp_path)
    assert (done.returncode, done.stderr.strip()) == (130, "graphflows: interrupted")
    assert not (tmp_path / "out").exists()


def test_a_command_run_in_process_keeps_the_callers_ctrl_c(tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT)
    code, _, _ = run(capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "out"))
    assert code == 0 and signal.getsignal(signal.SIGINT) is before


def test_every_zip_read_is_closed_when_the_read_ends():
    import gc
    import zipfile

    from graphflows.ingest import read_flows

    nel = sorted((ROOT / "tests/data/real/nhs-ccg-spend-nel").glob("*.zip"))[:1]
    xlsx = ROOT / "tests/data/real/alwf-360giving-xlsx/a003W000001B7PzQAK.xlsx"
    ingest = read_flows([*nel, xlsx])
    assert ingest.flows.height
    gc.collect()
    still_open = [z for z in gc.get_objects() if isinstance(z, zipfile.ZipFile) and z.fp is not None]
    assert still_open == []


def demo_with_bad_lines(tmp_path) -> Path:
    """The demo flows plus two records that cannot be read (an amount in words, a missing payer)."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        demo_path().read_text()
        + "x,X,stream,y,Y,provider,lots,GBP,2020-01-01,,\n,X,stream,y,Y,provider,5,GBP,2020-01-01,,\n"
    )
    return bad


@pytest.mark.parametrize("levels", ["origin,channel", "channel"])
def test_the_results_line_lists_the_files_actually_written(tmp_path, capsys, levels):
    out = tmp_path / "out"
    args = ["analyse", str(demo_with_bad_lines(tmp_path)), "--out", str(out), "--skip-invalid"]
    code, stdout, _ = run(capsys, *args, "--levels", levels, "--top", "0")
    assert code == 0
    flat = " ".join(stdout.split())  # the terminal may wrap the line
    listed = flat.split(f"Results written to {out}/ (", 1)[1].split(")", 1)[0].split(", ")
    on_disk = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert sorted(listed) == on_disk
    assert {"negative_net.csv", "rejects.csv", "summary.json"} <= set(listed)
    assert ("attribution.csv" in listed) == ("origin" in levels)


def help_of(capsys, command: str) -> str:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    return " ".join(out.split())


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("analyse", "to rejects.csv in --out (rejects.parquet with --results-format parquet)"),
        ("convert", "to rejects.csv in --out"),
        ("view", "to NAME.rejects.csv beside the page (--out NAME.html)"),
        ("orgs", "their count is printed, and they are written with their reason to NAME.rejects.csv beside"),
        ("load", "they are left out of the load and counted at the end (no file is written;"),
    ],
)
def test_each_commands_skip_invalid_help_says_what_it_does(capsys, command, says):
    assert says in help_of(capsys, command)


def test_orgs_skip_invalid_counts_the_bad_records_and_lists_them_beside_its_output(tmp_path, capsys):
    bad = demo_with_bad_lines(tmp_path)
    code, out, _ = run(capsys, "orgs", str(bad), "--skip-invalid", "--top", "0")
    assert code == 0 and "(2 bad record(s) left out, give --report FILE to list them)" in " ".join(
        out.split()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    report = tmp_path / "o" / "report.csv"
    code, out, _ = run(capsys, "orgs", str(bad), "--skip-invalid", "--report", str(report), "--top", "0")
    rejects = tmp_path / "o" / "report.rejects.csv"
    assert code == 0 and f"listed in {rejects}" in " ".join(out.split())
    with rejects.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["source"]) for r in rows] == [("49", str(bad)), ("50", str(bad))]


def notes_of(folder: Path) -> list[str]:
    return json.loads((folder / "summary.json").read_text())["notes"]


def test_an_org_map_key_that_matches_no_payer_or_payee_is_noted(tmp_path, capsys):
    org_map = tmp_path / "typo.csv"
    org_map.write_text(
        "action,key,other,name\n"
        "same,leicester-city-ccg,name:NHS Leicester Cty CCG,\n"  # the second key is a typo
        "different,uhl-trust,leicestershire-police,\n"  # both keys are in the demo: no note
    )
    code, out, _ = run(
        capsys, "analyse", str(demo_path()), "--org-map", str(org_map), "--out", str(tmp_path / "r")
    )
    assert code == 0
    expected = (
        f"org map {org_map}: 'same' row leicester-city-ccg / name:NHS LEICESTER CTY CCG: "
        "name:NHS LEICESTER CTY CCG matches no payer or payee"
    )
    assert [n for n in notes_of(tmp_path / "r") if "org map" in n] == [expected]
    assert f"Note: {expected}" in " ".join(out.split())


def test_payer_and_column_globs_that_match_no_file_are_noted(tmp_path, capsys):
    code, out, _ = run(
        capsys, "analyse", str(demo_path()), "--out", str(tmp_path / "r"),
        "--payer", "nomatch*.csv=Foo", "--column", "flows*.csv=payee:Supplier",
        "--column", "x*.csv=payee:Supplier",
    )  # fmt: skip
    assert code == 0
    unused = [n for n in notes_of(tmp_path / "r") if "matches no file read" in n]
    assert unused == [
        "--payer 'nomatch*.csv'=... matches no file read: its setting was not used",
        "--column 'x*.csv'=... matches no file read: its setting was not used",
    ]
    assert all(f"Note: {note}" in out for note in unused)


def test_a_manifest_row_that_matches_no_file_is_noted_when_others_do(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "flows.csv").write_bytes(demo_path().read_bytes())
    manifest = tmp_path / "sources.csv"
    manifest.write_text("path,format\ndata/*.csv,flows\nmissing/*.csv,\n")
    code, _, _ = run(capsys, "analyse", "--sources", str(manifest), "--out", str(tmp_path / "r"))
    assert code == 0
    assert [n for n in notes_of(tmp_path / "r") if "matches no file" in n] == [
        f"{manifest}:3: path 'missing/*.csv' matches no file read: the row was not used"
    ]


def test_a_channels_line_that_matches_no_node_is_noted(tmp_path, capsys):
    """A typo in an id or a pattern no name fits would leave the analyst believing money was re-channelled."""
    channels = tmp_path / "ch.csv"
    channels.write_text(
        "match,channel\n"
        "leicester-city-councill,transport\n"  # a typo: the demo's id is leicester-city-council
        "name:*Inclusion Health*,charitable\n"  # matches Inclusion Healthcare: no note
        "name:*Polise*,police_justice\n"
        "uhl-trust,nhs\n"  # matches: no note
    )
    code, out, _ = run(
        capsys, "analyse", str(demo_path()), "--channels", str(channels), "--out", str(tmp_path / "r")
    )
    assert code == 0
    expected = [
        f"{channels}:2: leicester-city-councill matches no organisation read: the line was not used",
        f"{channels}:4: name:*Polise* matches no name read: the line was not used",
    ]
    assert [n for n in notes_of(tmp_path / "r") if str(channels) in n] == expected
    printed = " ".join(out.split())
    assert all(f"Note: {note}" in printed for note in expected)
    organisations = {r["id"]: r for r in csv.DictReader((tmp_path / "r" / "organisations.csv").open())}
    assert organisations["inclusion-healthcare"]["channel_method"] == "map"


def test_convert_checks_the_channels_file_and_keeps_it_for_spark(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("match,channel\nleicester-city-council,police\n")
    out = tmp_path / "parquet"
    code, _, err = run(capsys, "convert", str(demo_path()), "--channels", str(bad), "--out", str(out))
    assert code == 2 and err.startswith(f"graphflows: {bad}:2: unknown channel 'police'")
    assert not out.exists()
    channels = tmp_path / "ch.csv"
    channels.write_text(
        "match,channel\n# the council's money as transport\nleicester-city-council,transport\nnobody,nhs\n"
    )
    code, printed, _ = run(
        capsys, "convert", str(demo_path()), "--channels", str(channels), "--out", str(out)
    )
    assert code == 0
    kept = json.loads((out / "graphflows-flows.json").read_text())["channels"]
    assert kept == {
        "source": str(channels),
        "lines": [[3, "leicester-city-council", "transport"], [4, "nobody", "nhs"]],
    }
    printed = " ".join(printed.split())
    assert f"Channel mapping {channels} (2 line(s)) kept in {out}" in printed
    assert f"Note: {channels}:4: nobody matches no organisation read: the line was not used" in printed
    total = sum(Decimal(r["amount"]) for r in csv.DictReader(demo_path().open()))
    assert f"47 flows (GBP {total:,.2f})" in printed


def test_convert_and_analyse_note_the_same_unused_channels_lines(tmp_path, capsys):
    """Both commands note the lines of one --channels file that match nothing with the same words, in the
    same order (one shared rule, :meth:`ChannelMap.unused_notes`), and only those lines."""
    channels = tmp_path / "ch.csv"
    channels.write_text(
        "match,channel\n"
        "name:*Polise*,police_justice\n"  # no name fits
        "uhl-trust,nhs\n"  # matches
        "leicester-city-councill,transport\n"  # a typo
        "name:*Inclusion Health*,charitable\n"  # matches Inclusion Healthcare
    )
    code, _, _ = run(
        capsys, "analyse", str(demo_path()), "--channels", str(channels), "--out", str(tmp_path / "r")
    )
    assert code == 0
    noted = [" ".join(n.split()) for n in notes_of(tmp_path / "r") if n.startswith(str(channels))]
    assert [n.split(": ", 1)[0] for n in noted] == [f"{channels}:2", f"{channels}:4"]
    code, printed, _ = run(
        capsys, "convert", str(demo_path()), "--channels", str(channels), "--out", str(tmp_path / "p")
    )
    assert code == 0
    said = [part.strip() for part in " ".join(printed.split()).split("Note: ")[1:]]
    assert [n for n in said if n.startswith(str(channels))] == noted


def test_the_command_list_describes_each_command_in_a_whole_sentence(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = out.split("Commands:")[1]
    assert "..." not in listed
    for command in ("analyse", "convert", "cypher", "demo", "load", "neo4j", "orgs", "query", "view"):
        assert f"\n  {command} " in listed


def test_help_names_the_manifest_columns_and_shows_examples(capsys):
    analyse = help_of(capsys, "analyse")
    assert "payee_column, amount_column, date_column" in analyse
    assert "--payer 'WHIT*.csv=Whittington Health NHS Trust'" in analyse
    assert "--levels [origin,channel]" in analyse and "undated flows are left out" in analyse
    convert = help_of(capsys, "convert")
    assert "graphflows analyse FOLDER --engine spark" in convert and "graphflows[spark]" in convert
    assert "Examples:" in convert and "Examples:" in help_of(capsys, "view")
    for option in ("--channels", "--org-map", "--sources"):
        assert f"{option} FILE" in analyse


def london_nhs_file(folder: Path, member: str) -> Path:
    """A file of the London NHS zip (tests/data/real/london-2020-21), as published, copied into ``folder``."""
    with zipfile.ZipFile(ROOT / "tests/data/real/london-2020-21/nhs.zip") as archive:
        path = folder / Path(member).name
        path.write_bytes(archive.read(member))
    return path


def test_blank_titles_in_a_file_that_names_no_payer_are_shown_as_blank(tmp_path, capsys):
    """NCL CCG's September file (two blank titles) as published: no polars placeholder in the message."""
    spend = london_nhs_file(tmp_path, "nhs_ncl_ccg/NCL 06 - September.pdf.csv")
    code, _, err = run(capsys, "analyse", str(spend), "--out", str(tmp_path / "r"))
    assert code == 2
    assert "found: Date, Expense Type, (blank), Expense area, Supplier, (blank), Transaction, amount)" in err
    assert "_duplicated" not in err


def test_a_payer_id_given_as_a_bare_ods_code_gets_a_hint(tmp_path, capsys):
    spend = london_nhs_file(tmp_path, "nhs_whittington_health/WHIT 01 - April.csv")
    hint = (
        "--payer 'WHIT*': payer id 'RKE' looks like an NHS ODS code: its org-id GB-NHS-RKE is "
        "Whittington Health NHS Trust"
    )
    for given, hinted in (("RKE", True), ("GB-NHS-RKE", False), ("whittington-own-id", False)):
        out = tmp_path / given
        code, printed, _ = run(
            capsys, "analyse", str(spend), "--payer", f"WHIT*=Whittington Health|{given}", "--out", str(out)
        )
        assert code == 0
        assert any(n.startswith(hint) for n in notes_of(out)) == hinted, given
        assert (hint in " ".join(printed.split())) == hinted


def test_one_convergence_point_is_singular_and_the_eff_column_is_explained(tmp_path, capsys):
    code, out, _ = run(
        capsys, "analyse", str(demo_path()), "--financial-year", "2020/21", "--out", str(tmp_path / "r")
    )
    assert code == 0
    said = " ".join(out.split())
    assert "1 convergence point (2+ channels" in said and "1 convergence points" not in said
    assert "Eff.: effective number of channels (1 / sum of squared shares" in said
