"""The CLI talks in one voice: one-line usage errors, errors printed once, honest help and notes."""

from __future__ import annotations

import pytest

from graphflows.cli.main import main
from graphflows.demo import demo_path


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
            "graphflows view: Invalid value for '--min-share': 2.0 is not in the range 0<=x<=1. "
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
