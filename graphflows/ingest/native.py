"""The native flows CSV: one row per payment, documented in the README.

Columns: ``payer_id, payer_name, payer_kind, payee_id, payee_name, payee_kind, amount, currency, date,
stream_id, reference``; only ``payer_id``, ``payee_id`` and ``amount`` are required. Extra columns are kept.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, check_readable, conform, decode_utf8, records_as_json
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
_KIND_WORDS = {k.value: k.value for k in Kind} | {
    "fundingstream": "stream",
    "funding_stream": "stream",
    "funding stream": "stream",
}
_AMOUNT_RE = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
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
    text = decode_utf8(path, path.read_bytes())
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False, empty_string_is_null=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    raw = raw.rename({c: _norm(c) for c in raw.columns})
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}:1: wrong header: missing column(s) {', '.join(missing)} "
            f"(a flows file needs {', '.join(REQUIRED)}; found {', '.join(raw.columns) or 'nothing'})"
        )
    original = raw.columns
    for col in KNOWN:
        if col not in raw.columns:
            raw = raw.with_columns(pl.lit("").alias(col))
    raw = raw.with_row_index("_row")
    parsed = _parse(raw)
    bad = parsed.filter(pl.col("_reason").is_not_null())
    good = parsed.filter(pl.col("_reason").is_null())
    extras = [c for c in raw.columns if c not in KNOWN and c != "_row"]
    flows = conform(
        good.select(
            "payer_id",
            "payer_name",
            "payer_kind",
            "payee_id",
            "payee_name",
            "payee_kind",
            "amount_minor",
            "currency",
            "date",
            "stream_id",
            "reference",
            pl.lit(str(path)).alias("source"),
            (pl.col("_row") + 2).cast(pl.String).alias("line"),
            *extras,
        )
    )
    rejects = bad.select(
        pl.lit(str(path)).alias("source"),
        (pl.col("_row") + 2).cast(pl.String).alias("line"),
        pl.col("_reason").alias("reason"),
    ).with_columns(records_as_json(raw.filter(pl.col("_row").is_in(bad["_row"].implode())).select(original)))
    return FileRead(str(path), FORMAT, flows, rejects, records_read=raw.height)


def _blank_to_null(col: str) -> pl.Expr:
    stripped = pl.col(col).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _kind(col: str, default: str) -> tuple[pl.Expr, pl.Expr]:
    word = pl.col(col).str.strip_chars().str.to_lowercase()
    value = (
        pl.when(word == "").then(pl.lit(default)).otherwise(word.replace_strict(_KIND_WORDS, default=None))
    )
    problem = pl.when(value.is_null()).then(
        pl.format("unknown {} {} (expected stream, commissioner or provider)", pl.lit(col), pl.col(col))
    )
    return value, problem


def _parse(raw: pl.DataFrame) -> pl.DataFrame:
    amount = pl.col("amount").str.strip_chars()
    whole = amount.str.extract(r"^[+-]?(\d*)", 1)
    frac = amount.str.extract(r"\.(\d*)$", 1).fill_null("").str.strip_chars_end("0")
    minor = whole.replace("", "0").cast(pl.Int64, strict=False) * 100 + frac.str.pad_end(2, "0").str.slice(
        0, 2
    ).replace("", "0").cast(pl.Int64, strict=False)
    signed = pl.when(amount.str.starts_with("-")).then(-minor).otherwise(minor)
    date_text = pl.col("date").str.strip_chars()
    date = date_text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    currency = pl.col("currency").str.strip_chars().str.to_uppercase()
    payer_kind, payer_kind_problem = _kind("payer_kind", Kind.COMMISSIONER.value)
    payee_kind, payee_kind_problem = _kind("payee_kind", Kind.PROVIDER.value)
    problems = [
        pl.when(_blank_to_null("payer_id").is_null()).then(pl.lit("missing payer_id")),
        pl.when(_blank_to_null("payee_id").is_null()).then(pl.lit("missing payee_id")),
        pl.when(amount == "")
        .then(pl.lit("missing amount"))
        .when(~amount.str.contains(_AMOUNT_RE))
        .then(pl.format("amount {} is not a number", pl.col("amount")))
        .when(frac.str.len_chars() > 2)
        .then(pl.format("amount {} has more than 2 decimal places", pl.col("amount")))
        .when(minor.is_null())
        .then(pl.format("amount {} is too large", pl.col("amount"))),
        pl.when((date_text != "") & (~date_text.str.contains(_DATE_RE) | date.is_null())).then(
            pl.format("date {} is not an ISO 8601 date (YYYY-MM-DD)", pl.col("date"))
        ),
        pl.when((currency != "") & ~currency.str.contains(r"^[A-Z]{3}$")).then(
            pl.format("currency {} is not a three-letter ISO 4217 code", pl.col("currency"))
        ),
        payer_kind_problem,
        payee_kind_problem,
    ]
    return raw.with_columns(
        _blank_to_null("payer_id").alias("payer_id"),
        _blank_to_null("payee_id").alias("payee_id"),
        _blank_to_null("payer_name").alias("payer_name"),
        _blank_to_null("payee_name").alias("payee_name"),
        payer_kind.alias("payer_kind"),
        payee_kind.alias("payee_kind"),
        signed.alias("amount_minor"),
        pl.when(currency == "").then(pl.lit("GBP")).otherwise(currency).alias("currency"),
        date.alias("date"),
        _blank_to_null("stream_id").alias("stream_id"),
        _blank_to_null("reference").alias("reference"),
        pl.concat_str(problems, separator="; ", ignore_nulls=True).alias("_reason"),
    ).with_columns(pl.when(pl.col("_reason") == "").then(None).otherwise(pl.col("_reason")).alias("_reason"))
