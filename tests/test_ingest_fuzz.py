"""Fuzzing every importer with hypothesis: truncated, reordered and mis-typed input from real files.

The contract: reading either raises :class:`InputError` (a clear message naming the file) or returns a
result whose counts reconcile and whose flows are well formed. Any other exception is a bug.
"""

from __future__ import annotations

import copy
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflows.ingest import read_flows
from graphflows.model import InputError
from tests.data import ALWF_XLSX, CCG_ZIPS, OCDS_ZIP, TRAFFORD_CSV, TRAFFORD_JSON, zip_member, zip_members

FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_N", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ODD_VALUES = ["", " ", "abc", "1e5", "--1", "(1,2)", "£", "1,2,3", "NaN", "31/31/2020", "0", "-0.001",
              "99999999999999999999", "2020-02-30", '"', "é\u00e8", "REDACTED", "null", "12.345"]  # fmt: skip
ODD_NUMBERS = [1e300, -1e300, 10**19, -(10**25), 0.125, 12.345, 1e-7, 5e15, 123456789012345678]
SPEND = zip_member(CCG_ZIPS["NEBD"], zip_members(CCG_ZIPS["NEBD"])[3]).decode("utf-8").splitlines()[:25]
GRANTS_CSV = TRAFFORD_CSV.read_text(encoding="utf-8-sig").splitlines()[:20]
GRANTS_JSON = {"grants": json.loads(TRAFFORD_JSON.read_text(encoding="utf-8"))["grants"][:8]}
OCDS = json.loads(
    zip_member(OCDS_ZIP, "json_1_1_raw/ocds-b5fd17raw-02d2b5b1-e148-4965-92bc-d72dd5f3f6f2.json")
)


def check(name: str, data: bytes, fmt: str | None = None) -> None:
    """Read ``data`` as a file called ``name``: InputError, or a reconciled, well-formed result."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            result = read_flows([path], format=fmt, skip_invalid=True)
        except InputError as exc:
            assert str(exc) and "Traceback" not in str(exc)
            return
    parts = result.flows.height + result.rejects.height + result.non_money + result.repeated
    assert result.records_read == parts
    for f in result.files:
        assert f.records_read == f.flows.height + f.rejects.height + f.non_money + f.repeated
    flows = result.flows
    assert flows["amount_minor"].dtype == pl.Int64 and flows["amount_minor"].null_count() == 0
    assert flows["payer_id"].null_count() == 0 and flows["payee_id"].null_count() == 0
    assert flows["currency"].str.contains(r"^[A-Z]{3}$").all()
    assert flows["source"].null_count() == 0 and flows["line"].null_count() == 0
    assert result.rejects["reason"].null_count() == 0


def mutate_lines(lines: list[str], data: st.DataObject) -> str:
    lines = list(lines)
    action = data.draw(st.sampled_from(["truncate", "reorder", "mistype", "drop-column", "garbage"]))
    if action == "reorder":
        lines = data.draw(st.permutations(lines))
    elif action == "mistype":
        for _ in range(data.draw(st.integers(1, 6))):
            i = data.draw(st.integers(0, len(lines) - 1))
            cells = lines[i].split(",")
            j = data.draw(st.integers(0, len(cells) - 1))
            cells[j] = data.draw(st.sampled_from(ODD_VALUES) | st.text(max_size=8))
            lines[i] = ",".join(cells)
    elif action == "drop-column":
        j = data.draw(st.integers(0, 7))
        lines = [",".join(c for k, c in enumerate(line.split(",")) if k != j) for line in lines]
    elif action == "garbage":
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.text(max_size=40)))
    text = "\n".join(lines) + "\n"
    if action == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    return text


@FUZZ
@given(st.data())
def test_spend_csv(data):
    text = mutate_lines(SPEND, data)
    check("spend.csv", text.encode("utf-8"), data.draw(st.sampled_from([None, "spend"])))


@FUZZ
@given(st.data())
def test_360giving_csv(data):
    text = mutate_lines(GRANTS_CSV, data)
    check("grants.csv", text.encode("utf-8"), data.draw(st.sampled_from([None, "360giving"])))


def json_values() -> st.SearchStrategy:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**20), 10**20)
        | st.floats(allow_nan=False)
        | st.text(max_size=10)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    )


def replace_somewhere(doc: object, data: st.DataObject) -> object:
    """Replace one value at a random path of a JSON document with an arbitrary JSON value."""
    doc = copy.deepcopy(doc)
    parent, key = None, None
    node = doc
    for _ in range(data.draw(st.integers(0, 8))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        parent, node = node, node[key]
    value = data.draw(json_values())
    if parent is None:
        return value
    parent[key] = value
    return doc


def poke(doc: object, paths: list[tuple], data: st.DataObject) -> object:
    """Set one field that matters (an amount, currency, date, id or name) to an odd value."""
    doc = copy.deepcopy(doc)
    *parents, last = data.draw(st.sampled_from(paths))
    node = doc
    for key in parents:
        node = node[key]
    node[last] = data.draw(json_values() | st.sampled_from(ODD_VALUES))
    return doc


MONEY_FIELDS = ("amountAwarded", "currency", "awardDate", "id")
GRANT_FIELDS = [("grants", k, f) for k in range(3) for f in MONEY_FIELDS] + [
    ("grants", 0, "fundingOrganization"), ("grants", 1, "recipientOrganization"),
]  # fmt: skip
AWARD_FIELDS = [
    ("releases", 0, "awards", 0, "value", "amount"), ("releases", 0, "awards", 0, "value", "currency"),
    ("releases", 0, "awards", 0, "suppliers"), ("releases", 0, "awards", 0, "status"),
    ("releases", 0, "awards", 0, "date"), ("releases", 0, "parties", 1, "x_awardValue"),
    ("releases", 0, "parties", 1, "identifier"), ("releases", 0, "buyer"), ("releases", 0, "parties"),
]  # fmt: skip


@FUZZ
@given(st.data())
def test_360giving_json(data):
    if data.draw(st.booleans()):
        doc = poke(GRANTS_JSON, GRANT_FIELDS, data)
    else:
        doc = replace_somewhere(GRANTS_JSON, data)
    text = json.dumps(doc)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    check("grants.json", text.encode("utf-8"), data.draw(st.sampled_from([None, "360giving"])))


@FUZZ
@given(st.data())
def test_ocds_json(data):
    shape = data.draw(st.sampled_from(["release package", "record package", "list", "bare record"]))
    release = OCDS["releases"][0]
    doc = {
        "release package": OCDS,
        "record package": {"records": [{"ocid": release["ocid"], "compiledRelease": release}]},
        "list": [OCDS, OCDS],
        "bare record": {"ocid": release["ocid"], "releases": [release]},
    }[shape]
    if shape == "release package" and data.draw(st.booleans()):
        doc = poke(doc, AWARD_FIELDS, data)
    else:
        doc = replace_somewhere(doc, data)
    text = json.dumps(doc)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    check("ocds.json", text.encode("utf-8"), data.draw(st.sampled_from([None, "ocds"])))


def _small_workbook() -> bytes:
    """The real ALWF workbook cut to its header and 12 grants (loaded once: fuzz examples stay fast)."""
    book = openpyxl.load_workbook(ALWF_XLSX)
    book.worksheets[0].delete_rows(14, book.worksheets[0].max_row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SMALL_XLSX = _small_workbook()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_360giving_xlsx(data):
    book = openpyxl.load_workbook(io.BytesIO(SMALL_XLSX))
    sheet = book.worksheets[0]
    for _ in range(data.draw(st.integers(1, 6))):
        row, col = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 24))
        sheet.cell(row=row, column=col).value = data.draw(
            st.none()
            | st.integers(-(10**6), 10**6)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.sampled_from(ODD_VALUES)
        )
    buffer = io.BytesIO()
    book.save(buffer)
    raw = buffer.getvalue()
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    check("grants.xlsx", raw, data.draw(st.sampled_from([None, "360giving"])))


@FUZZ
@given(st.data())
def test_zip_of_spend_files(data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(data.draw(st.integers(1, 3))):
            archive.writestr(f"month{n}.csv", mutate_lines(SPEND, data))
    raw = buffer.getvalue()
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    check("spend.zip", raw)


WORKBOOK_PARTS = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml"]


def _rebuilt(archive: bytes, change: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest,
    ):
        for info in source.infolist():
            dest.writestr(info.filename, change.get(info.filename, source.read(info)))
    return out.getvalue()


def _mangle(data: bytes, draw: st.DataObject) -> bytes:
    """Cut, flip bytes in, or forge attributes of one XML part."""
    how = draw.draw(st.sampled_from(["cut", "flip", "dimension", "cell ref", "tag"]))
    if how == "cut":
        return data[: draw.draw(st.integers(0, len(data)))]
    if how == "flip":
        raw = bytearray(data)
        for _ in range(draw.draw(st.integers(1, 8))):
            raw[draw.draw(st.integers(0, len(raw) - 1))] = draw.draw(st.integers(0, 255))
        return bytes(raw)
    if how == "dimension":
        ref = draw.draw(st.sampled_from(["A1", "A1:B2", "A1:XFD1048576", "ZZZ", "", "A0:A0"]))
        return re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
    if how == "cell ref":
        ref = draw.draw(st.sampled_from(["A0", "XFD1048576", "XFE1", "1A", "", "A99999999999"]))
        return re.sub(rb' r="[A-Z]+[0-9]+"', f' r="{ref}"'.encode(), data, count=draw.draw(st.integers(1, 3)))
    return data.replace(b"<row", draw.draw(st.sampled_from([b"<rwo", b"<row><row", b"<c"])), 1)


@FUZZ
@given(st.data())
def test_360giving_xlsx_parts(data):
    """Broken workbook internals: malformed XML, forged dimensions and cell references, flipped bytes."""
    with zipfile.ZipFile(io.BytesIO(SMALL_XLSX)) as book:
        names = [n for n in WORKBOOK_PARTS if n in book.namelist()]
        part = data.draw(st.sampled_from(names))
        original = book.read(part)
    check("grants.xlsx", _rebuilt(SMALL_XLSX, {part: _mangle(original, data)}))


@FUZZ
@given(st.data())
def test_zip_bytes_corrupted_anywhere(data):
    """A zip (of a CSV and a workbook) with bytes flipped anywhere: in headers or in compressed data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("month.csv", "\n".join(SPEND) + "\n")
        archive.writestr("grants.xlsx", SMALL_XLSX)
    raw = bytearray(buffer.getvalue())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    check("bundle.zip", bytes(raw))
