"""The native flows CSV: one row per payment, documented in the README.

Columns: ``payer_id, payer_name, payer_kind, payee_id, payee_name, payee_kind, amount, currency, date,
stream_id, reference``; only ``payer_id``, ``payee_id`` and ``amount`` are required. Extra columns are kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, check_readable, conform, decode_utf8, records_as_json
from graphflows.ingest.parsing import all_blank, read_csv_bytes
from graphflows.model import InputError, Kind

FORMAT = "flows"
REQUIRED = ("payer_id", "payee_id", "amount")
KNOWN = (
    "payer_id",
    "payer_name",
    "payer_kind",
    "payee_id",
    "payee_name",
    "payee_kind",
    "amount",
    "currency",
    "date",
    "stream_id",
    "reference",
)
#: Columns whose cleaned value (``_v_<name>``) replaces the text read.
CLEANED = (
    "payer_name",
    "payer_kind",
    "payee_name",
    "payee_kind",
    "amount_minor",
    "currency",
    "date",
    "stream_id",
    "reference",
)
_KIND_WORDS = {k.value: k.value for k in Kind} | {
    "fundingstream": "stream",
    "funding_stream": "stream",
    "funding stream": "stream",
}
#: A number (any digits and decimals); only used to explain why an amount was refused.
_NUMBER_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
#: Whole units (pounds) an amount may have: at most 999,999,999,999,999 — so that sums stay exact.
MAX_DIGITS = 15
#: An accepted amount: at most MAX_DIGITS whole digits, two decimal places (trailing zeros allowed).
_AMOUNT_RE = r"^[+-]?(0*[0-9]{1,15}(\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"


def sniff(path: Path, head: bytes) -> bool:
    """True when the first line looks like a native flows header."""
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head else ""
    names = {_norm(c) for c in first.split(",")}
    return set(REQUIRED) <= names


def _norm(title: str) -> str:
    return "_".join(title.strip().strip('"').lower().split())


def read(path: Path) -> FileRead:
    """Read and validate one native flows CSV (all rows; nothing is dropped silently)."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path))


def read_bytes(data: bytes, source: str) -> FileRead:
    """Read native flows CSV bytes; ``source`` names the file in flows and errors."""
    path = Path(source)
    text = decode_utf8(path, data)
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    table = read_csv_bytes(source, data)
    _check_header(path, table.frame.columns)
    raw = table.frame.rename({c: _norm(c) for c in table.frame.columns})
    width = raw.width
    original = raw.with_columns(
        table.lines.cast(pl.String).alias("_line"),
        (table.problems if table.problems is not None else pl.lit(None, pl.String)).alias("_shape"),
        _field_counts(text, raw.height, width).alias("_fields"),
    )
    if _may_have_blank_lines(data):
        original = original.filter(
            ~all_blank(raw)
        )  # spacer lines (a spreadsheet's trailing line) are not records
    if original.is_empty():
        raise InputError(f"{path}: has a header row but no data rows")
    original = original.with_row_index("_row")
    stripped = original.with_columns(pl.col(c).str.strip_chars() for c in KNOWN if c in raw.columns)
    stripped = stripped.with_columns(pl.lit("").alias(c) for c in KNOWN if c not in raw.columns)
    checks = _checks(width)
    flagged = stripped.with_columns(_values()).with_columns(
        pl.any_horizontal(bad for bad, _ in checks).alias("_bad")
    )
    line = pl.col("_line").alias("line")
    flows = conform(
        flagged.filter(~pl.col("_bad")).select(
            "payer_id",
            "payee_id",
            *(pl.col(f"_v_{c}").alias(c) for c in CLEANED),
            pl.lit(source).alias("source"),
            line,
            *(c for c in raw.columns if c not in KNOWN),
        )
    )
    bad = flagged.filter(pl.col("_bad"))
    rejects = bad.select(
        pl.lit(source).alias("source"),
        line,
        pl.concat_str(
            [pl.when(problem).then(reason) for problem, reason in checks], separator="; ", ignore_nulls=True
        ).alias("reason"),
    ).with_columns(
        records_as_json(original.filter(pl.col("_row").is_in(bad["_row"].implode())).select(raw.columns))
    )
    return FileRead(source, FORMAT, flows, rejects, records_read=original.height)


def _field_counts(text: str, records: int, width: int) -> pl.Series | pl.Expr:
    """Fields in each record, so a short row is refused instead of read with its values shifted."""
    if '"' not in text and text.count(",") == (width - 1) * (records + 1):
        return pl.lit(width, dtype=pl.Int64)  # every line has all its fields (the reader refuses longer ones)
    if '"' in text:
        counts = [len(row) for row in csv.reader(io.StringIO(text, newline=""))][1:]
    else:
        lines = text.split("\n")[1:]
        if lines and lines[-1] == "":
            lines.pop()
        counts = [line.count(",") + 1 for line in lines]
    if len(counts) != records:  # could not line records up: fall back to trusting the reader
        counts = [width] * records
    return pl.Series("_fields", counts, dtype=pl.Int64)


def _may_have_blank_lines(data: bytes) -> bool:
    """True when some line holds nothing but spaces and commas (cheap test on the raw bytes)."""
    return re.search(rb"\n[ \t,]*\r?\n", data) is not None


def _check_header(path: Path, titles: list[str]) -> None:
    """Refuse a header that lacks a required column or names one column twice."""
    names = [_norm(re.sub(r"_duplicated_\d+$", "", t)) for t in titles]
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise InputError(f"{path}:1: duplicate column {', '.join(repeated)} in the header")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(
            f"{path}:1: wrong header: missing column(s) {', '.join(missing)} "
            f"(a flows file needs {', '.join(REQUIRED)}; found {', '.join(names) or 'nothing'})"
        )


def _null_if_blank(col: str) -> pl.Expr:
    return pl.when(pl.col(col) == "").then(None).otherwise(pl.col(col)).alias(col)


def _kind(col: str, default: str) -> pl.Expr:
    word = pl.col(col).str.to_lowercase()
    return pl.when(word == "").then(pl.lit(default)).otherwise(word.replace_strict(_KIND_WORDS, default=None))


def _values() -> list[pl.Expr]:
    """Clean values (as ``_v_<column>``) from columns already stripped of surrounding spaces."""
    minor = (pl.col("amount").str.to_decimal(scale=2) * 100).cast(pl.Int64, strict=False)
    currency = pl.col("currency").str.to_uppercase()
    return [
        *(_null_if_blank(c).alias(f"_v_{c}") for c in ("payer_name", "payee_name", "stream_id", "reference")),
        _kind("payer_kind", Kind.COMMISSIONER.value).alias("_v_payer_kind"),
        _kind("payee_kind", Kind.PROVIDER.value).alias("_v_payee_kind"),
        minor.alias("_v_amount_minor"),
        pl.when(currency == "").then(pl.lit("GBP")).otherwise(currency).alias("_v_currency"),
        pl.col("date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("_v_date"),
    ]


def _checks(width: int) -> list[tuple[pl.Expr, pl.Expr]]:
    """(is this row bad?, why) for every rule; reasons are built only for the rows that break one."""
    amount = pl.col("amount")
    why_not = (
        pl.when(~amount.str.contains(_NUMBER_RE))
        .then(pl.format("amount {} is not a number", amount))
        .when(amount.str.contains(r"\.[0-9]{2}0*[1-9]"))
        .then(pl.format("amount {} has more than 2 decimal places", amount))
        .otherwise(
            pl.format(
                "amount {} is too large (at most {} digits before the point)", amount, pl.lit(MAX_DIGITS)
            )
        )
    )
    date = pl.col("date")
    currency = pl.col("currency").str.to_uppercase()
    kinds = [
        (
            pl.col(f"_v_{col}").is_null(),
            pl.format("unknown {} {} (expected stream, commissioner or provider)", pl.lit(col), pl.col(col)),
        )
        for col in ("payer_kind", "payee_kind")
    ]
    return [
        (pl.col("_shape").is_not_null(), pl.col("_shape")),
        (
            pl.col("_fields") < width,
            pl.format("{} fields where the header has {}", pl.col("_fields"), pl.lit(width)),
        ),
        (pl.col("payer_id") == "", pl.lit("missing payer_id")),
        (pl.col("payee_id") == "", pl.lit("missing payee_id")),
        (amount == "", pl.lit("missing amount")),
        ((amount != "") & ~amount.str.contains(_AMOUNT_RE), why_not),
        (
            (date != "")
            & (
                ~date.str.contains(_DATE_RE)
                | date.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).is_null()
            ),
            pl.format("date {} is not an ISO 8601 date (YYYY-MM-DD)", date),
        ),
        (
            (currency != "") & ~currency.str.contains(r"^[A-Z]{3}$"),
            pl.format("currency {} is not a three-letter ISO 4217 code", pl.col("currency")),
        ),
        *kinds,
    ]
