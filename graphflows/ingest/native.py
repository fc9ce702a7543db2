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

from graphflows.classify import CHANNELS
from graphflows.ingest.base import FileRead, check_readable, conform, decode_utf8, records_as_json
from graphflows.ingest.importer import NO_SETTINGS, Importer, Sample, SourceSettings
from graphflows.ingest.parsing import all_blank, parse_amounts, parse_dates, read_csv_bytes
from graphflows.ingest.unrecognised import header_below
from graphflows.model import CURRENCY_CODE, DEFAULT_CURRENCY, InputError, Kind

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
    "payer_channel",
    "payee_channel",
)
#: Optional columns giving a node's channel of government (kept on the flow only when the file has them).
CHANNEL_COLUMNS = ("payer_channel", "payee_channel")
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
#: Whole units (pounds) an amount may have: at most 999,999,999,999,999 — so that sums stay exact.
MAX_DIGITS = 15


def sniff(sample: Sample) -> bool:
    """True when the first line looks like a native flows header (or a line below title lines does:
    :func:`read_bytes` then says to remove them)."""
    return _header_line(sample.head) is not None


def _header_line(head: bytes, search: int = 20) -> int | None:
    """The 0-based line of the first of the first ``search`` lines that is a flows header, or None.

    >>> _header_line(b"Leicester demo flows\\n\\npayer_id,payee_id,amount\\n"), _header_line(b"a,b\\n")
    (2, None)
    """
    lines = head.decode("utf-8-sig", errors="replace").splitlines()[:search]
    found = (i for i, line in enumerate(lines) if set(REQUIRED) <= {_norm(c) for c in line.split(",")})
    return next(found, None)


def _norm(title: str) -> str:
    return "_".join(title.strip().strip('"').lower().split())


def read(path: Path) -> FileRead:
    """Read and validate one native flows CSV from disk."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path))


def read_bytes(data: bytes, source: str, settings: SourceSettings = NO_SETTINGS) -> FileRead:
    """Read and validate native flows CSV bytes (all rows; nothing is dropped silently)."""
    original, columns = _records(data, source)
    checks = _checks(len(columns))
    flagged = _flagged(original, columns, checks)
    return FileRead(
        source,
        FORMAT,
        _accepted(flagged, source, columns),
        _rejected(flagged, original, checks, source, columns),
        records_read=original.height,
    )


def _records(data: bytes, source: str) -> tuple[pl.DataFrame, list[str]]:
    """The file's records as read (with ``_line``, ``_shape``, ``_fields`` and ``_row``; spacer lines left
    out), and its columns' names; an empty file or one without a flows header is refused."""
    text = decode_utf8(Path(source), data)
    if not text or text.isspace():  # stops at the first character that is not a space
        raise InputError(f"{source}: file is empty")
    if below := _header_line(data[:65536]):
        raise InputError(header_below(source, below + 1, f"a flows header ({', '.join(REQUIRED)}...)"))
    table = read_csv_bytes(source, data)
    _check_header(source, table.frame.columns)
    raw = table.frame.rename({c: _norm(c) for c in table.frame.columns})
    original = raw.with_columns(
        table.lines.cast(pl.String).alias("_line"),
        (table.problems if table.problems is not None else pl.lit(None, pl.String)).alias("_shape"),
        _field_counts(text, raw.height, raw.width).alias("_fields"),
    )
    if _may_have_blank_lines(data):  # spacer lines (a spreadsheet's trailing line) are not records
        original = original.filter(~all_blank(raw))
    if original.is_empty():
        raise InputError(f"{source}: has a header row but no data rows")
    return original.with_row_index("_row"), raw.columns


def _flagged(
    original: pl.DataFrame, columns: list[str], checks: list[tuple[pl.Expr, pl.Expr]]
) -> pl.DataFrame:
    """The records stripped of surrounding spaces, with their clean values (``_v_<column>``) and ``_bad``:
    whether they break any of ``checks``."""
    stripped = original.with_columns(pl.col(c).str.strip_chars() for c in KNOWN if c in columns)
    stripped = stripped.with_columns(pl.lit("").alias(c) for c in KNOWN if c not in columns)
    minor, amount_problem = parse_amounts(stripped["amount"], plain=True, max_digits=MAX_DIGITS)
    dates = parse_dates(stripped["date"], iso_only=True)
    stripped = stripped.with_columns(
        minor.alias("_v_amount_minor"),
        amount_problem.alias("_amount_problem"),
        dates.date.alias("_v_date"),
        dates.problem.alias("_date_problem"),
    )
    return stripped.with_columns(_values()).with_columns(
        pl.any_horizontal(bad for bad, _ in checks).alias("_bad")
    )


def _accepted(flagged: pl.DataFrame, source: str, columns: list[str]) -> pl.DataFrame:
    """The flows of the records that break no check (extra columns kept)."""
    return conform(
        flagged.filter(~pl.col("_bad")).select(
            "payer_id",
            "payee_id",
            *(pl.col(f"_v_{c}").alias(c) for c in CLEANED),
            *(pl.col(f"_v_{c}").alias(c) for c in CHANNEL_COLUMNS if c in columns),
            pl.lit(source).alias("source"),
            pl.col("_line").alias("line"),
            *(c for c in columns if c not in KNOWN),
        )
    )


def _rejected(
    flagged: pl.DataFrame,
    original: pl.DataFrame,
    checks: list[tuple[pl.Expr, pl.Expr]],
    source: str,
    columns: list[str],
) -> pl.DataFrame:
    """The records that break a check: ``source, line, reason`` and the record as the file gave it."""
    bad = flagged.filter(pl.col("_bad"))
    return bad.select(
        pl.lit(source).alias("source"),
        pl.col("_line").alias("line"),
        pl.concat_str(
            [pl.when(problem).then(reason) for problem, reason in checks], separator="; ", ignore_nulls=True
        ).alias("reason"),
    ).with_columns(
        records_as_json(original.filter(pl.col("_row").is_in(bad["_row"].implode())).select(columns))
    )


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


def _check_header(source: str, titles: list[str]) -> None:
    """Refuse a header that lacks a required column or names one column twice."""
    names = [_norm(re.sub(r"_duplicated_\d+$", "", t)) for t in titles]
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise InputError(f"{source}:1: duplicate column {', '.join(repeated)} in the header")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(
            f"{source}:1: wrong header: missing column(s) {', '.join(missing)} "
            f"(a flows file needs {', '.join(REQUIRED)}; found {', '.join(names) or 'nothing'})"
        )


def _null_if_blank(col: str) -> pl.Expr:
    return pl.when(pl.col(col) == "").then(None).otherwise(pl.col(col)).alias(col)


def _kind(col: str, default: str) -> pl.Expr:
    word = pl.col(col).str.to_lowercase()
    return pl.when(word == "").then(pl.lit(default)).otherwise(word.replace_strict(_KIND_WORDS, default=None))


def _values() -> list[pl.Expr]:
    """Clean values (as ``_v_<column>``) from columns already stripped of surrounding spaces."""
    currency = pl.col("currency").str.to_uppercase()
    return [
        *(_null_if_blank(c).alias(f"_v_{c}") for c in ("payer_name", "payee_name", "stream_id", "reference")),
        _kind("payer_kind", Kind.COMMISSIONER.value).alias("_v_payer_kind"),
        _kind("payee_kind", Kind.PROVIDER.value).alias("_v_payee_kind"),
        pl.when(currency == "").then(pl.lit(DEFAULT_CURRENCY)).otherwise(currency).alias("_v_currency"),
        *(_channel(c).alias(f"_v_{c}") for c in CHANNEL_COLUMNS),
    ]


def _channel(col: str) -> pl.Expr:
    """A channel name (any case; spaces or hyphens for underscores), null when blank or unknown."""
    word = pl.col(col).str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    return pl.when(word == "").then(None).otherwise(word.replace_strict(_CHANNEL_WORDS, default=None))


_CHANNEL_WORDS = {c: c for c in CHANNELS}


def _checks(width: int) -> list[tuple[pl.Expr, pl.Expr]]:
    """(is this row bad?, why) for every rule; reasons are built only for the rows that break one."""
    currency = pl.col("currency").str.to_uppercase()
    kinds = [
        (
            pl.col(f"_v_{col}").is_null(),
            pl.format("unknown {} {} (expected stream, commissioner or provider)", pl.lit(col), pl.col(col)),
        )
        for col in ("payer_kind", "payee_kind")
    ]
    channels = [
        (
            (pl.col(col) != "") & pl.col(f"_v_{col}").is_null(),
            pl.format(
                "unknown {} {} (expected one of {})", pl.lit(col), pl.col(col), pl.lit(", ".join(CHANNELS))
            ),
        )
        for col in CHANNEL_COLUMNS
    ]
    return [
        (pl.col("_shape").is_not_null(), pl.col("_shape")),
        (
            pl.col("_fields") < width,
            pl.format("{} fields where the header has {}", pl.col("_fields"), pl.lit(width)),
        ),
        (pl.col("payer_id") == "", pl.lit("missing payer_id")),
        (pl.col("payee_id") == "", pl.lit("missing payee_id")),
        (pl.col("_amount_problem").is_not_null(), pl.col("_amount_problem")),
        (pl.col("_date_problem").is_not_null(), pl.col("_date_problem")),
        (
            (currency != "") & ~currency.str.contains(CURRENCY_CODE),
            pl.format("currency {} is not a three-letter ISO 4217 code", pl.col("currency")),
        ),
        *kinds,
        *channels,
    ]


IMPORTER = Importer(FORMAT, sniff, read_bytes, "graphflows' own flows CSV (payer_id, payee_id, amount...)")
