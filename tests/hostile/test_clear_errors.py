"""§5 "internal error" is not an answer: broken files end in one line naming the file, exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from graphflows.cli.main import main
from tests.helpers import FLOWS_HEADER
from tests.hostile.build import (
    ROOT,
    corrupt_deflate,
    grant_row,
    rewrite_member,
    workbook,
    zip_of,
)

FLOWS = (
    FLOWS_HEADER
    + "\n"
    + "".join(f"C1,NHS England,,P{i},Provider {i},,{i}.00,GBP,2020-05-01,,\n" for i in range(1, 400))
).encode()


SHEET = "xl/worksheets/sheet1.xml"
#: The console script's code, saying when it is about to run (Python and the entry point are loaded).
STARTED_THEN_RUN = "import sys; from graphflows.cli import run; print('go', flush=True); sys.exit(run())"
DEEP_RELEASES = b'{"releases": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def one_error(capsys, *args: str) -> str:
    """Run the CLI; it must fail with exit 2 and exactly one line on stderr (returned)."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in err and "Traceback" not in err, err
    return lines[0]


def broken_sheet_xml(xml: bytes) -> bytes:
    return xml[: xml.index(b"<sheetData>") + 40]  # cut inside a row: unclosed elements


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("bad.xlsx", lambda: rewrite_member(workbook([grant_row(1)]), SHEET, broken_sheet_xml),
         "bad.xlsx: cannot read the workbook (malformed XML: "),
        ("deflate.xlsx", lambda: corrupt_deflate(workbook([grant_row(i) for i in range(300)]), SHEET),
         "deflate.xlsx: cannot read the workbook ("),
        ("deflate.zip", lambda: corrupt_deflate(zip_of({"flows.csv": FLOWS}), "flows.csv"),
         "deflate.zip!flows.csv: cannot be read from the archive ("),
        ("deep.json", lambda: b'{"grants": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "deep.json: JSON nested too deeply to be 360Giving data"),
        ("deep-ocds.json", lambda: DEEP_RELEASES,
         "deep-ocds.json: JSON nested too deeply"),
        ("deep-lines.json", lambda: b'{"releases": []}\n' + DEEP_RELEASES + b"\n",
         "deep-lines.json: JSON nested too deeply"),
    ],
)  # fmt: skip
def test_a_broken_file_is_one_line_naming_it_and_nothing_is_written(tmp_path, capsys, name, make, message):
    path = tmp_path / name
    path.write_bytes(make())
    line = one_error(capsys, "analyse", str(path), "--out", str(tmp_path / "out"))
    assert line.startswith(f"graphflows: {path.parent}/{message}"), line
    assert not (tmp_path / "out").exists()


def test_an_integer_past_64_bits_in_a_query_parameter_is_refused_before_connecting(capsys):
    line = one_error(
        capsys,
        "cypher",
        "RETURN $n",
        "--param",
        "n=123456789012345678901234567890",
        "--neo4j-uri",
        "bolt://127.0.0.1:9",
    )
    assert line.startswith(
        "graphflows: --param 'n=123456789012345678901234567890': integer 1234567890123456789012"
    )
    assert "is out of range (Neo4j integers are 64-bit, -9223372036854775808 to 9223372036854775807)" in line
    nested = one_error(capsys, "cypher", "RETURN $m", "--param", 'm={"a": [1, -9223372036854775809]}')
    assert "integer -9223372036854775809 is out of range" in nested


@pytest.mark.parametrize("delay", [0.02, 0.2, 0.6, 1.2, 2.0])
def test_ctrl_c_at_any_moment_of_an_import_prints_no_traceback(tmp_path, delay):
    flows = tmp_path / "flows.csv"
    lines = "".join(
        f"C{i % 40},,,P{i % 3000},,,{i % 997}.25,GBP,2020-05-{1 + i % 28:02d},,\n" for i in range(200_000)
    )
    flows.write_text(FLOWS_HEADER + "\n" + lines)
    child = subprocess.Popen(
        [sys.executable, "-c", STARTED_THEN_RUN,
         "analyse", str(flows), "--out", str(tmp_path / "out")],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert child.stdout.readline() == b"go\n"  # from here on, graphflows' code runs
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=300)
    text = err.decode()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    if child.returncode == 0:  # finished before the signal: results complete
        assert (tmp_path / "out" / "summary.json").is_file()
    elif child.returncode == -signal.SIGINT:  # the signal came as the interpreter shut down: silent
        assert text == ""
    else:
        assert child.returncode == 130 and text.strip() == "graphflows: interrupted", text
        staged = (
            [p.name for p in (tmp_path / "out").glob(".graphflows-[0-9]*")]
            if (tmp_path / "out").exists()
            else []
        )
        assert staged == []


def _failing_group(error: BaseException):
    import click

    @click.group()
    def group() -> None:
        pass

    @group.command()
    def go() -> None:
        raise error

    return group


def _wrapped_interrupt() -> RuntimeError:
    """What Python 3.11 raises when a Ctrl-C lands in a class's ``__set_name__`` while a module loads."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError(
                "Error calling __set_name__ on 'Field' instance 'same' in 'OrgMap'"
            ) from interrupt
    except RuntimeError as wrapped:
        return wrapped


def test_an_interrupt_python_wrapped_in_another_error_is_reported_as_an_interrupt(capsys):
    from graphflows.cli.errors import run_safely

    assert run_safely(_failing_group(_wrapped_interrupt()), ["go"]) == 130
    assert capsys.readouterr().err.strip() == "graphflows: interrupted"
    assert run_safely(_failing_group(RuntimeError("a real bug")), ["go"]) == 1
    assert "internal error: RuntimeError: a real bug" in capsys.readouterr().err
