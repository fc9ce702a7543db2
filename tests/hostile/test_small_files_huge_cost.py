"""§4 Small files, huge cost: each is refused with one clear line, in bounded memory (a child process)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import FLOWS_HEADER
from tests.hostile.build import grant_row, rewrite_member, run_cli, workbook, zip_bomb, zip_of

LIMIT_MB = 1024


def zip_bomb_file(path):
    line = b"S1,,stream,P1,Shelter,provider,1.00,GBP,2020-05-01,S1,\n"
    path.write_bytes(zip_bomb("flows.csv", FLOWS_HEADER.encode() + b"\n", line, 64 * 1024**2))


def xlsx_bomb_file(path):
    """A workbook whose sheet XML is padded with 64 MB of spaces (compresses ~1000 times)."""
    padding = b" " * 64 * 1024**2
    pad = lambda xml: xml.replace(b"</sheetData>", padding + b"</sheetData>")  # noqa: E731
    path.write_bytes(rewrite_member(workbook([grant_row(1)]), "xl/worksheets/sheet1.xml", pad))


def grants_with_keys_of_their_own(path):
    grants = []
    for i in range(8_000):
        grant = dict(
            zip(["id", "title", "currency", "amountAwarded", "awardDate"], grant_row(i)[:5], strict=True)
        )
        grant["recipientOrganization"] = [{"id": f"GB-COH-{10000000 + i}", "name": f"Recipient {i}"}]
        grant["fundingOrganization"] = [{"id": "GB-CHC-1015648", "name": "The Henry Smith Charity"}]
        grant[f"note{i}"] = "x"  # a key no other grant has
        grants.append(grant)
    path.write_text(json.dumps({"grants": grants}))


def million_column_header(path):
    path.write_text(FLOWS_HEADER + "".join(f",c{i}" for i in range(1_000_000)) + "\nS1,P1,1.00\n")


def nested_grants(path):
    path.write_bytes(b'{"grants": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("bomb.zip", zip_bomb_file,
         "bomb.zip!flows.csv: member expands "),
        ("bomb.xlsx", xlsx_bomb_file,
         "bomb.xlsx!xl/worksheets/sheet1.xml: member expands "),
        ("keys.json", grants_with_keys_of_their_own,
         "keys.json: 8,000 grants use 8,0"),
        ("wide.csv", million_column_header,
         "wide.csv:1: header has 1,000,011 columns (at most 5,000); not a funding data file"),
        ("nested.json", nested_grants,
         "nested.json: JSON nested too deeply to be 360Giving data"),
    ],
)  # fmt: skip
def test_a_small_file_of_huge_cost_is_refused_in_bounded_memory(tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    assert path.stat().st_size < 10 * 1024**2
    run = run_cli("analyse", str(path), "--out", str(tmp_path / "out"))
    assert run.code == 2, run.err
    assert run.err.strip().splitlines() == [run.err.strip()]
    assert run.err.startswith(f"graphflows: {tmp_path}/{message}"), run.err
    assert run.peak_mb < LIMIT_MB, f"{run.peak_mb:.0f} MB"
    assert not (tmp_path / "out").exists()
    if "expands" in message:
        ratio = int(run.err.split("expands ")[1].split(" times")[0].replace(",", ""))
        assert ratio > 200 and "at most 200 times): refused as a possible zip bomb" in run.err


def test_a_zip_member_is_never_copied_to_a_temporary_file(tmp_path, monkeypatch):
    import tempfile

    from graphflows.ingest import read_flows

    def refuse(*args, **kwargs):
        raise AssertionError("a zip member was copied to disk")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    rows = "S1,,stream,P1,Shelter,provider,1.00,GBP,2020-05-01,S1,\n"
    path = tmp_path / "two.zip"
    path.write_bytes(
        zip_of(
            {  # two members with different bytes (a copy would be read once)
                "a.csv": (FLOWS_HEADER + "\n" + rows).encode(),
                "b.csv": (FLOWS_HEADER + "\n" + rows.replace("1.00", "2.00")).encode(),
            }
        )
    )
    result = read_flows([path])
    assert result.flows["source"].to_list() == [f"{path}!a.csv", f"{path}!b.csv"]
