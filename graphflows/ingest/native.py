"""The native flows CSV: one row per payment, documented in the README.

Columns: ``payer_id, payer_name, payer_kind, payee_id, payee_name, payee_kind, amount, currency, date,
stream_id, reference``; only ``payer_id``, ``payee_id`` and ``amount`` are required. Extra columns are kept.
"""

from __future__ import annotations

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
    data = path.read_bytes()
    if not decode_utf8(path, data).strip():
        raise InputError(f"{path}: file is empty")
    try:
        raw = pl.read_csv(data.removeprefix(b"\xef\xbb\xbf"), infer_schema=False, empty_string_is_null=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    raw = raw.rename({c: _norm(c) for c in raw.columns})
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}:1: wrong header: missing column(s) {', '.join(missing)} "
            f"(a flows file needs {', '.join(REQUIRED)}; found {', '.join(raw.columns) or 'nothing'})"
        )
    original = raw.with_row_index("_row")
    stripped = original.with_columns(pl.col(c).str.strip_chars() for c in KNOWN if c in raw.columns)
    stripped = stripped.with_columns(pl.lit("").alias(c) for c in KNOWN if c not in raw.columns)
    checks = _checks()
    flagged = stripped.with_columns(_values()).with_columns(
        pl.any_horizontal(bad for bad, _ in checks).alias("_bad")
    )
    line = (pl.col("_row") + 2).cast(pl.String).alias("line")
    flows = conform(
        flagged.filter(~pl.col("_bad")).select(
            "payer_id",
            "payee_id",
            *(pl.col(f"_v_{c}").alias(c) for c in CLEANED),
            pl.lit(str(path)).alias("source"),
            line,
            *(c for c in raw.columns if c not in KNOWN),
        )
    )
    bad = flagged.filter(pl.col("_bad"))
    rejects = bad.select(
        pl.lit(str(path)).alias("source"),
        line,
        pl.concat_str(
            [pl.when(problem).then(reason) for problem, reason in checks], separator="; ", ignore_nulls=True
        ).alias("reason"),
    ).with_columns(records_as_json(original.filter(pl.col("_row").is_in(bad["_row"].implode())).drop("_row")))
    return FileRead(str(path), FORMAT, flows, rejects, records_read=raw.height)


def _null_if_blank(col: str) -> pl.Expr:
    return pl.when(pl.col(col) == "").then(None).otherwise(pl.col(col)).alias(col)


def _kind(col: str, default: str) -> pl.Expr:
    word = pl.col(col).str.to_lowercase()
    return pl.when(word == "").then(pl.lit(default)).otherwise(word.replace_strict(_KIND_WORDS, default=None))


def _amount_parts() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(whole units, first two decimal digits, further decimal digits) of the stripped amount text."""
    parts = pl.col("amount").str.strip_chars_start("+-").str.split_exact(".", 1)
    whole, decimals = parts.struct.field("field_0"), parts.struct.field("field_1").fill_null("")
    units = pl.when(whole == "").then(0).otherwise(whole.cast(pl.Int64, strict=False))
    pence = decimals.str.slice(0, 2).str.pad_end(2, "0").cast(pl.Int64, strict=False)
    return units, pence, decimals.str.slice(2)


def _values() -> list[pl.Expr]:
    """Clean values (as ``_v_<column>``) from columns already stripped of surrounding spaces."""
    units, pence, _ = _amount_parts()
    minor = units * 100 + pence
    currency = pl.col("currency").str.to_uppercase()
    return [
        *(_null_if_blank(c).alias(f"_v_{c}") for c in ("payer_name", "payee_name", "stream_id", "reference")),
        _kind("payer_kind", Kind.COMMISSIONER.value).alias("_v_payer_kind"),
        _kind("payee_kind", Kind.PROVIDER.value).alias("_v_payee_kind"),
        pl.when(pl.col("amount").str.starts_with("-")).then(-minor).otherwise(minor).alias("_v_amount_minor"),
        pl.when(currency == "").then(pl.lit("GBP")).otherwise(currency).alias("_v_currency"),
        pl.col("date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("_v_date"),
    ]


def _checks() -> list[tuple[pl.Expr, pl.Expr]]:
    """(is this row bad?, why) for every rule; reasons are built only for the rows that break one."""
    amount = pl.col("amount")
    _, _, further = _amount_parts()
    number = amount.str.contains(_AMOUNT_RE)
    units = pl.col("_v_amount_minor") // 100
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
        (pl.col("payer_id") == "", pl.lit("missing payer_id")),
        (pl.col("payee_id") == "", pl.lit("missing payee_id")),
        (amount == "", pl.lit("missing amount")),
        ((amount != "") & ~number, pl.format("amount {} is not a number", amount)),
        (
            number & further.str.contains("[1-9]"),
            pl.format("amount {} has more than 2 decimal places", amount),
        ),
        (number & (units.is_null() | (units.abs() > 10**15)), pl.format("amount {} is too large", amount)),
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
