"""Notes of one kind from three or more files are one line on the terminal, for spend files too (each
file's note stays in summary.json)."""

from __future__ import annotations

import json
import zipfile

from graphflows.cli.main import main
from tests.data import CCG_ZIPS


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    """The exit code, the notes printed (rich's wrapping undone) and stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    printed = captured.out.split("Results written to")[0]
    return code, [" ".join(n.split()) for n in printed.split("Note: ")[1:]], captured.err


def test_twelve_same_bytes_notes_are_one_line(tmp_path, capsys):
    """The NEBD CCG's twelve monthly CSVs given as its zip and unpacked: each CSV is read once."""
    with zipfile.ZipFile(CCG_ZIPS["NEBD"]) as archive:
        months = sorted(n for n in archive.namelist() if n.endswith(".csv"))
        archive.extractall(tmp_path / "unpacked", months)
    out = tmp_path / "out"
    code, notes, err = run(
        capsys,
        "analyse",
        str(CCG_ZIPS["NEBD"]),
        *(str(tmp_path / "unpacked" / m) for m in months),
        "--out",
        str(out),
    )
    assert code == 0, err
    same = [n for n in notes if "same bytes" in n]
    assert len(same) == 1
    assert same[0].startswith(
        "12 file(s) with the same bytes as a file already read (each read once) in 12 files"
    )
    assert same[0].endswith("each file's note is in summary.json")
    summary = json.loads((out / "summary.json").read_text())
    assert sum("the same bytes as" in n for n in summary["notes"]) == 12


def test_spend_notes_of_one_kind_from_three_files_are_one_line(tmp_path, capsys):
    files = []
    for month in ("04", "05", "06"):
        path = tmp_path / f"tfl-2020-{month}.csv"
        path.write_text(
            "Entity,Vendor Name,Clearing Date,Amount\n"
            f"LONDON BUS SERVICES LTD,ACME LTD,2020-{month}-04,9.00\n"
            f"LONDON BUS SERVICES LTD,ACME LTD,2020-{month}-04,9.00\n"
            f"LONDON BUS SERVICES LTD,Transport for London,2020-{month}-05,1.00\n"
        )
        files.append(str(path))
    out = tmp_path / "out"
    code, notes, err = run(
        capsys, "analyse", *files, "--payer", "tfl*=Transport for London", "--out", str(out)
    )
    assert code == 0, err
    for kind in (
        "3 file(s) whose paying body --payer/--sources named, their own paying-body column kept as extra "
        "in 3 "
        "files",
        "3 line(s) repeating an earlier line of their file exactly in 3 files; kept: check whether",
        "3 flow(s) paid by an organisation to itself in 3 files; kept in the flows but not counted as income",
    ):
        assert sum(n.startswith(kind) for n in notes) == 1, (kind, notes)
    assert not any(n.startswith(files[0]) for n in notes)
    summary = json.loads((out / "summary.json").read_text())
    assert len([n for n in summary["notes"] if n.startswith(files[1])]) == 3
