"""Builders of hostile files (each small on disk) and a CLI runner that measures the child's peak memory."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[2]
GRANT_HEADER = ["Identifier", "Title", "Currency", "Amount Awarded", "Award Date",
                "Recipient Org:Identifier", "Recipient Org:Name", "Funding Org:Identifier",
                "Funding Org:Name"]  # fmt: skip
FUNDER = ("GB-CHC-1015648", "The Henry Smith Charity")


def grant_row(i: int, amount: str = "1000.00") -> list[str]:
    return [f"360G-hostile-{i}", f"Grant {i}", "GBP", amount, "2020-05-01", f"GB-COH-{10000000 + i}",
            f"Recipient {i} Ltd", *FUNDER]  # fmt: skip


def workbook(rows: list[list[object]], header: list[str] = GRANT_HEADER) -> bytes:
    """An XLSX workbook (written by openpyxl) with one sheet: the header, then ``rows``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite_member(archive: bytes, name: str, change) -> bytes:
    """A copy of a zip (or workbook) with member ``name`` replaced by ``change(old bytes)``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest,
    ):
        for info in source.infolist():
            data = source.read(info)
            dest.writestr(info.filename, change(data) if info.filename == name else data)
    return out.getvalue()


def with_dimension(xlsx: bytes, ref: str) -> bytes:
    """The workbook with its first sheet's ``<dimension ref=...>`` forged to ``ref``."""
    return rewrite_member(
        xlsx,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml),
    )


def corrupt_deflate(archive: bytes, name: str) -> bytes:
    """The zip with the middle of member ``name``'s compressed data overwritten (CRC and sizes kept)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(name)
    raw = bytearray(archive)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 3
    raw[middle : middle + 24] = b"\xff" * 24
    return bytes(raw)


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def zip_bomb(member: str, header: bytes, line: bytes, size: int) -> bytes:
    """A zip whose one member (``header`` then ``line`` repeated to ``size`` bytes) expands ~1000 times."""
    out = io.BytesIO()
    chunk = line * (1024 * 1024 // len(line))
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open(member, "w", force_zip64=True) as w,
    ):
        w.write(header)
        for _ in range(size // len(chunk)):
            w.write(chunk)
    return out.getvalue()


@dataclass
class Run:
    code: int
    out: str
    err: str
    peak_mb: float


def run_cli(*args: str, cwd: Path | None = None) -> Run:
    """Run the ``graphflows`` console script's code in a child process and report its peak memory.

    The child's address space is capped (a regression fails with MemoryError instead of exhausting the
    machine); the peak resident size is what tests compare with their bound.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "PEAK_FILE": str(peak_file)}
        env.pop("GRAPHFLOWS_DEBUG", None)
        child = subprocess.run(
            [sys.executable, "-c", CHILD, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=900,
            preexec_fn=_cap_memory,
        )
        peak_kb = int(peak_file.read_text()) if peak_file.exists() else 0
    text = {
        name: data.decode("utf-8", "replace") for name, data in (("out", child.stdout), ("err", child.stderr))
    }
    return Run(child.returncode, text["out"], text["err"], peak_kb / 1024)


CHILD = """
import atexit, os, resource, sys
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
atexit.register(lambda: open(os.environ["PEAK_FILE"], "w").write(str(peak())))
from graphflows.cli import run
sys.exit(run())
"""
#: Address-space cap of a child run (a safety net; the asserted bound is on resident memory).
CHILD_ADDRESS_SPACE = 8 * 1024**3


def _cap_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))
