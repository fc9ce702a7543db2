"""§3 Files of the user's are never deleted or overwritten; leftovers of killed runs are cleaned."""

from __future__ import annotations

import json
import os

import pytest

from graphflows.cli.main import main
from graphflows.demo import demo_path
from graphflows.model import GraphflowsError
from graphflows.outputs import MANIFEST, OutputFiles, read_manifest, write_csv, write_folder
from tests.helpers import write_flows

GOOD = ["S1,,stream,P1,Shelter,provider,100.00,GBP,2020-05-01,S1,",
        "S2,,stream,P1,Shelter,provider,50.00,GBP,2020-05-01,S2,"]  # fmt: skip
BAD = [*GOOD, "S1,,stream,P2,Crisis,provider,ten,GBP,2020-05-01,S1,"]


#: What every analysis writes (sorted, as the manifest lists them).
RESULTS = ["attribution.csv", "channels.csv", "convergence.csv", "organisations.csv", "summary.json"]


def one_error(capsys, *args: str) -> str:
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_an_input_named_like_a_stale_result_in_the_output_folder_is_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    mine = write_flows(out / "rejects.csv", GOOD)
    before = mine.read_bytes()
    assert main(["analyse", str(mine), "--out", str(out)]) == 0
    assert mine.read_bytes() == before
    assert read_manifest(out) == set(RESULTS)


def test_a_stale_result_graphflows_wrote_is_removed_by_the_next_run(tmp_path, capsys):
    source, out = write_flows(tmp_path / "flows.csv", BAD), tmp_path / "out"
    assert main(["analyse", str(source), "--out", str(out), "--skip-invalid"]) == 0
    assert (out / "rejects.csv").is_file() and "rejects.csv" in read_manifest(out)
    write_flows(source, GOOD)
    assert main(["analyse", str(source), "--out", str(out)]) == 0
    assert not (out / "rejects.csv").exists() and "rejects.csv" not in read_manifest(out)
    doc = json.loads((out / MANIFEST).read_text())
    assert doc == {"written_by": "graphflows", "format": 1, "files": RESULTS}


def test_a_file_graphflows_did_not_write_is_never_overwritten_and_nothing_is_written(tmp_path, capsys):
    source, out = write_flows(tmp_path / "flows.csv", GOOD), tmp_path / "out"
    out.mkdir()
    (out / "convergence.csv").write_text("my own notes\n")
    line = one_error(capsys, "analyse", str(source), "--out", str(out))
    assert line == (
        f"graphflows: {out}/convergence.csv: exists and was not written by graphflows; it is left as it is "
        "(move it away or choose another output name)"
    )
    assert (out / "convergence.csv").read_text() == "my own notes\n"
    assert sorted(p.name for p in out.iterdir()) == ["convergence.csv"]


@pytest.mark.parametrize("option", ["--out", "--sankey", "--png"])
def test_view_refuses_to_write_over_its_own_input(tmp_path, capsys, option):
    source = write_flows(tmp_path / "flows.csv", GOOD)
    before = source.read_bytes()
    args = ["view", str(source), option, str(source)]
    if option != "--out":
        args += ["--out", str(tmp_path / "v.html")]
    line = one_error(capsys, *args)
    assert line == f"graphflows: {source}: is an input file of this run; choose another output name"
    assert source.read_bytes() == before and not (tmp_path / "v.html").exists()


def test_orgs_refuses_to_overwrite_a_users_file_or_the_org_map(tmp_path, capsys):
    source = write_flows(tmp_path / "flows.csv", GOOD)
    org_map = tmp_path / "map.csv"
    org_map.write_text("action,key,other,name\n")
    line = one_error(capsys, "orgs", str(source), "--org-map", str(org_map), "--nodes", str(org_map))
    assert line == f"graphflows: {org_map}: is an input file of this run; choose another output name"
    theirs = tmp_path / "report.csv"
    theirs.write_text("keep me\n")
    assert "report.csv: exists and was not written by graphflows" in one_error(
        capsys, "orgs", str(source), "--report", str(theirs)
    )
    assert theirs.read_text() == "keep me\n"


def test_the_same_output_twice_is_refused(tmp_path, capsys):
    source = write_flows(tmp_path / "flows.csv", GOOD)
    page = tmp_path / "v.html"
    line = one_error(capsys, "view", str(source), "--out", str(page), "--sankey", str(page))
    assert line == f"graphflows: {page}: given twice as an output"


def test_staging_left_by_a_killed_run_is_cleaned_and_a_running_ones_is_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / ".graphflows-2147483646-abc"  # no such process
    dead.mkdir()
    (dead / "0-convergence.csv").write_text("half")
    alive = out / f".graphflows-{os.getppid()}-xyz"  # the test runner's parent: running
    alive.mkdir()
    old_style = out / ".graphflows-q1w2e3"  # an older version's staging folder, an hour old
    old_style.mkdir()
    os.utime(old_style, (0, 0))
    assert main(["demo", "--out", str(out), "--top", "0"]) == 0
    names = sorted(p.name for p in out.iterdir() if p.name.startswith(".graphflows-"))
    assert names == sorted([MANIFEST, alive.name])


def test_python_api_keeps_the_same_promises(tmp_path):
    import polars as pl

    frame = pl.DataFrame({"name": ["=1+1"], "amount": ["-300.00"]})
    target = write_csv(frame, tmp_path / "t.csv")
    assert target.read_text() == "name,amount\n'=1+1,-300.00\n"
    write_csv(frame, target, raw=True)  # graphflows wrote it: may be replaced
    assert target.read_text() == "name,amount\n=1+1,-300.00\n"
    with pytest.raises(GraphflowsError, match="is an input file"):
        write_folder(tmp_path, {"t.csv": lambda p: p.write_text("x")}, inputs=[target])
    with pytest.raises(ZeroDivisionError), OutputFiles() as out:  # an error inside: nothing moved
        out.stage(tmp_path / "half.csv").write_text("half")
        1 / 0  # noqa: B018
    assert not (tmp_path / "half.csv").exists()
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".graphflows-") and p.name != MANIFEST
    ] == []
    assert demo_path().is_file()
