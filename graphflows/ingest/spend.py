"""UK transparency "spend over £25k / £500" CSVs published by NHS bodies, councils and departments.

Each line that carries money is one flow: the paying body (``Entity``, ``Body Name``, ``Organisation
Name``...) -> the supplier. ``Expense Area`` and ``Expense Type`` are kept as attributes of the flow
(``expense_area``, ``expense_type``): they are cost centres of the payer, not separate funding streams, so
the payer stays the stovepipe. The ``Transaction Number`` becomes the flow's ``reference``; lines of one
transaction stay separate flows and carry ``transaction_lines`` (how many lines share the number in the
file). Every other column is kept under a snake_case name (``Supplier Postcode`` -> ``supplier_postcode``).

Quirks handled (all seen in real NHS files):

* header titles in any case, with or without title lines above the header row;
* amounts such as ``"53,000.00"``, ``-33,028.02``, ``(1,200.00)``, ``£500``;
* dates ``30/04/2020`` and US-style ``7/31/2020`` in one publisher (even one file): the order is read per
  row where the row shows it, and ambiguous rows follow the file (see :func:`parsing.parse_dates`);
  the ``date_order`` column says which rule read each date;
* redacted or blank payees (``REDACTED``, ``Personal data``...) become one node per payer,
  ``redacted:<payer id>``, flagged ``payee_redacted``; they are never matched across payers;
* blank spacer lines are counted as non-money records; files may be UTF-8 or Windows-1252;
* an ``ODS Code`` column (NHS bodies) gives the id ``GB-NHS-<code>``; other id columns are used as given.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, check_readable, conform, empty_rejects, records_as_json
from graphflows.ingest.parsing import (
    all_blank,
    find_header_line,
    normalise_title,
    parse_amounts,
    parse_dates,
    read_csv_bytes,
)
from graphflows.ingest.sides import REDACTED_NAME, provisional_id
from graphflows.ingest.workbook import header_rows, read_sheet
from graphflows.model import InputError, Kind

FORMAT = "spend"

#: Canonical field -> accepted column titles (compared after :func:`normalise_title`), best first.
FIELDS: dict[str, tuple[str, ...]] = {
    "payer_name": ("entity", "body name", "organisation name", "organisation label", "authority name",
                   "council name", "trust name", "body", "organisation", "authority"),
    "payer_id": ("entity org id", "organisation org id", "ods code", "entity ods code",
                 "organisation ods code", "entity code", "body code", "organisation code", "organisation id",
                 "entity id"),
    "payee_name": ("supplier", "supplier name", "payee", "payee name", "vendor", "vendor name",
                   "merchant name", "beneficiary", "recipient", "recipient name", "supplier (payee)"),
    "payee_id": ("supplier org id", "supplier org-id", "payee org id", "supplier ods code", "payee ods code"),
    "amount": ("amount", "amount (£)", "amount £", "amount gbp", "net amount", "amount paid", "value",
               "value (£)", "total", "gross amount", "amount excl vat", "net value", "line amount"),
    "date": ("date", "payment date", "transaction date", "date paid", "paid date", "date of payment",
             "invoice date", "effective date", "posting date"),
    "reference": ("transaction number", "transaction no", "transaction no.", "transaction id",
                  "transaction ref", "transaction reference", "trans no", "payment reference",
                  "document number"),
    "expense_area": ("expense area", "service area", "directorate", "service", "service division label",
                     "department", "cost centre", "cost centre description"),
    "expense_type": ("expense type", "expenditure category", "expense description", "purpose of expenditure",
                     "expenditure type", "account description", "category", "expense category"),
}  # fmt: skip
REQUIRED = ("payer_name", "payee_name", "amount")


def _titles(field: str) -> set[str]:
    return {normalise_title(t) for t in FIELDS[field]}


def _looks_like_header(titles: set[str]) -> bool:
    return all(titles & _titles(f) for f in ("payee_name", "amount")) and bool(
        titles & (_titles("date") | _titles("payer_name") | _titles("reference"))
    )


def sniff(path: Path, head: bytes) -> bool:
    """True for a CSV whose header (within its first lines) has a supplier and an amount column.

    Workbooks are recognised by :func:`sniff_workbook` (it needs the whole file).
    """
    if head[:1] in (b"{", b"[") or head[:2] == b"PK":
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return find_header_line(text, _looks_like_header) is not None


def sniff_workbook(data: bytes, source: str) -> bool:
    """True for an XLSX workbook with a spend header row near the top of a sheet."""
    return any(_looks_like_header(titles) for titles in header_rows(data, source))


def read(path: Path) -> FileRead:
    """Read one spend CSV from disk."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path))


def _pick(columns: dict[str, str], field: str) -> str | None:
    """The first column (original title) whose normalised title is one of ``field``'s titles."""
    for title in FIELDS[field]:
        if normalise_title(title) in columns:
            return columns[normalise_title(title)]
    return None


def snake(title: str) -> str:
    """``Supplier Postcode`` -> ``supplier_postcode``."""
    import re

    return re.sub(r"[^0-9a-z]+", "_", normalise_title(title)).strip("_") or "column"


def _given_id(column: str | None) -> pl.Expr:
    """An id column as given; an NHS ODS code column's codes (``07L``, ``RJZ``) become ``GB-NHS-07L``."""
    if column is None:
        return pl.lit(None, pl.String)
    value = pl.col(column).str.strip_chars()
    value = pl.when(value == "").then(None).otherwise(value)
    if "ods" in normalise_title(column).split():
        code = value.str.to_uppercase()
        return pl.when(code.str.contains(r"^[A-Z0-9]{3,5}$")).then(pl.lit("GB-NHS-") + code).otherwise(value)
    return value


#: Cell text marking a summary line ("Total", "Grand total"...) rather than a payment.
TOTAL_WORDS = ("total", "totals", "grand total", "sub total", "sub-total", "subtotal", "total spend")


def _total_lines(raw: pl.DataFrame, payee: str) -> pl.Series:
    """Summary lines: no payee, and some cell says ``Total``. They repeat other lines' money, so they
    are counted as non-money records (with a note), never as payments to a redacted payee."""
    maybe = raw[payee].fill_null("").str.strip_chars() == ""
    totals = pl.Series("t", [False] * raw.height, dtype=pl.Boolean)
    if maybe.any():
        where = maybe.arg_true()
        said = raw[where].select(
            pl.any_horizontal(
                pl.col(c).fill_null("").str.strip_chars().str.to_lowercase().is_in(TOTAL_WORDS)
                for c in raw.columns
            ).alias("t")
        )["t"]
        totals = totals.scatter(where, said)
    return totals


def _blank_records(raw: pl.DataFrame, amount: str) -> pl.Series:
    """Records whose every field is blank (checked in full only where the amount is blank)."""
    maybe = raw[amount].fill_null("").str.strip_chars() == ""
    blank = pl.Series("b", [False] * raw.height, dtype=pl.Boolean)
    if maybe.any():
        where = maybe.arg_true()
        blank = blank.scatter(where, raw[where].select(all_blank(raw).alias("b"))["b"])
    return blank


def _redacted(names: pl.Series) -> pl.Series:
    """Payee names that say the payee was withheld (tested once per distinct name)."""
    text = names.fill_null("")
    distinct = text.unique()
    withheld = distinct.filter(distinct.str.contains(REDACTED_NAME))
    return (
        text.is_in(withheld.implode())
        if withheld.len()
        else pl.Series([False] * names.len(), dtype=pl.Boolean)
    )


def read_bytes(data: bytes, source: str) -> FileRead:
    """Read spend-file bytes; ``source`` names the file (or ``archive.zip!member``) in flows and errors."""
    if not data.strip():
        raise InputError(f"{source}: file is empty")
    if data[:2] == b"PK":  # a workbook: the first sheet with a spend header
        raw, lines = read_sheet(
            data,
            source,
            _looks_like_header,
            date_titles=lambda title: title in _titles("date"),
            what="a spend header row (a supplier and an amount column)",
        )
        encoding_note, header_at, csv_problems = None, "1", None
    else:
        head = data[:65536].decode("utf-8-sig", errors="replace")
        header = find_header_line(head, _looks_like_header)
        if header is None:
            raise InputError(
                f"{source}:1: not a spend file: no header row with a supplier and an amount column "
                "(e.g. Entity, Date, Supplier, Amount) in the first 20 lines"
            )
        table = read_csv_bytes(source, data, header_line=header)
        raw, lines, encoding_note, csv_problems = table.frame, table.lines, table.note, table.problems
        header_at = str(header + 1)
    by_title: dict[str, str] = {}
    for col in raw.columns:
        by_title.setdefault(normalise_title(col), col)
    chosen = {f: _pick(by_title, f) for f in FIELDS}
    missing = [f for f in REQUIRED if chosen[f] is None]
    if missing:
        wanted = {"payer_name": "Entity / Body Name", "payee_name": "Supplier", "amount": "Amount"}
        raise InputError(
            f"{source}:{header_at}: spend file has no {', '.join(wanted[m] for m in missing)} column "
            f"(found: {', '.join(raw.columns)})"
            + (
                "; add an Entity column naming the paying body (publishers often leave it out of "
                "single-body files)"
                if "payer_name" in missing
                else ""
            )
        )
    used = {c for c in chosen.values() if c}
    original = raw.columns
    frame = raw.with_columns(
        pl.Series("_line", lines),
        (csv_problems if csv_problems is not None else pl.lit(None, pl.String)).alias("_csv_problem"),
    )
    blank = _blank_records(raw, chosen["amount"])
    totals = _total_lines(raw, chosen["payee_name"])
    total_lines = int(totals.sum())
    blank = (blank | totals) & frame["_csv_problem"].is_null()
    non_money = int(blank.sum())
    kept_raw = raw
    if non_money:
        frame = frame.filter(~blank)
        kept_raw = raw.filter(~blank)

    minor, amount_problem = parse_amounts(frame[chosen["amount"]])
    dates = (
        parse_dates(frame[chosen["date"]], label="date")
        if chosen["date"]
        else parse_dates(pl.Series([None] * frame.height, dtype=pl.String))
    )
    payer_name = pl.col(chosen["payer_name"]).str.strip_chars()
    payee_name = pl.col(chosen["payee_name"]).str.strip_chars()
    frame = frame.with_columns(
        minor.alias("amount_minor"),
        amount_problem.alias("_amount_problem"),
        dates.date.alias("date"),
        dates.order.alias("date_order"),
        dates.problem.alias("_date_problem"),
        payer_name.alias("payer_name_given"),
        payee_name.alias("payee_name_given"),
        _given_id(chosen["payer_id"]).alias("payer_id_given"),
        _given_id(chosen["payee_id"]).alias("payee_id_given"),
    )
    frame = frame.with_columns(
        provisional_id(frame, "payer_id_given", "payer_name_given").alias("payer_id"),
        _redacted(frame["payee_name_given"]).alias("_redacted"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("_redacted"))
        .then(pl.lit("redacted:") + pl.col("payer_id"))
        .otherwise(provisional_id(frame, "payee_id_given", "payee_name_given"))
        .alias("payee_id"),
        (
            pl.when(pl.col("_redacted"))
            .then(pl.format("Redacted payee ({})", pl.col("payer_name_given")))
            .otherwise(pl.col("payee_name_given"))
            if frame["_redacted"].any()
            else pl.col("payee_name_given")
        ).alias("payee_name"),
        pl.col("payer_name_given").alias("payer_name"),
        pl.when(pl.col("_redacted")).then(pl.lit("yes")).alias("payee_redacted"),
    )
    bad_mask = (
        frame["payer_id"].is_null()
        | frame["_amount_problem"].is_not_null()
        | frame["_date_problem"].is_not_null()
        | frame["_csv_problem"].is_not_null()
    )
    good = frame
    if bad_mask.any():
        good = frame.filter(~bad_mask)
    ref = chosen["reference"]
    extras = {}
    for col in original:
        if col in used:
            continue
        name = snake(col)
        while name in extras.values() or name in ("expense_area", "expense_type", "source", "line"):
            name += "_"
        extras[col] = name
    flows = conform(
        good.select(
            "payer_id",
            "payer_name",
            pl.lit(Kind.COMMISSIONER.value).alias("payer_kind"),
            "payee_id",
            "payee_name",
            pl.lit(Kind.PROVIDER.value).alias("payee_kind"),
            "amount_minor",
            pl.lit("GBP").alias("currency"),
            "date",
            pl.lit(None, pl.String).alias("stream_id"),
            (pl.col(ref).str.strip_chars() if ref else pl.lit(None, pl.String)).alias("reference"),
            pl.lit(source).alias("source"),
            pl.col("_line").cast(pl.String).alias("line"),
            *[
                pl.col(chosen[f]).str.strip_chars().alias(f)
                for f in ("expense_area", "expense_type")
                if chosen[f]
            ],
            "date_order",
            "payee_redacted",
            "payer_id_given",
            "payer_name_given",
            "payee_id_given",
            "payee_name_given",
            *[pl.col(c).alias(n) for c, n in extras.items()],
        )
    )
    if ref:
        group = "reference" if flows["payer_id"].n_unique() == 1 else ["payer_id", "reference"]
        flows = flows.with_columns(
            pl.when(pl.col("reference").is_not_null())
            .then(pl.len().over(group))
            .cast(pl.String)
            .alias("transaction_lines")
        )
    rejects = empty_rejects()
    if bad_mask.any():
        bad = frame.filter(bad_mask)
        reason = pl.concat_str(
            [
                pl.when(pl.col("payer_id").is_null()).then(
                    pl.format("missing paying body ({})", pl.lit(chosen["payer_name"]))
                ),
                pl.col("_csv_problem"),
                pl.col("_amount_problem"),
                pl.col("_date_problem"),
            ],
            separator="; ",
            ignore_nulls=True,
        )
        rejects = bad.select(
            pl.lit(source).alias("source"),
            pl.col("_line").cast(pl.String).alias("line"),
            reason.alias("reason"),
        ).with_columns(records_as_json(kept_raw.filter(bad_mask)))
    notes = [n for n in (encoding_note, dates.note and f"{source}: {dates.note}") if n]
    if total_lines:
        notes.append(f"{source}: {total_lines} summary line(s) ('Total') counted as non-money records")
    redacted = int(good["_redacted"].sum()) if good.height else 0
    if redacted:
        notes.append(f"{source}: {redacted} line(s) with a redacted or blank payee (one node per payer)")
    return FileRead(source, FORMAT, flows, rejects, records_read=raw.height, non_money=non_money, notes=notes)
