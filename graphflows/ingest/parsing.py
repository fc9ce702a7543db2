"""Vectorised parsing shared by the open-data importers: titles, amounts, dates, CSV text and line numbers.

Everything here works on whole polars columns, so a million-line file is parsed without a Python
object per row.

>>> import polars as pl
>>> minor, problem = parse_amounts(pl.Series(["53,000.00", "(12.50)", "£7", "1.234"]))
>>> minor.to_list()
[5300000, -1250, 700, None]
>>> problem.to_list()[3]
'amount 1.234 has more than 2 decimal places'
>>> normalise_title(" Grant Programme: Title ")
'grant programme:title'
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from graphflows.ingest.base import decode_utf8, refuse_utf16
from graphflows.model import MAX_MINOR, InputError
from graphflows.model.notes import FileNote

_SPACES = re.compile(r"\s+")
_INDEX = re.compile(r":\d+(?=:|$)")


def normalise_title(title: str) -> str:
    """A title for case/space-blind matching: ``Grant Programme: Title`` -> ``grant programme:title``."""
    text = _SPACES.sub(" ", str(title).replace("\ufeff", "")).strip().lower()
    return re.sub(r"\s*:\s*", ":", text)


def title_index(title: str) -> tuple[str, int]:
    """A flattened 360Giving title without its repeat index, and the index (``Funding Org:1:Name`` -> 1)."""
    norm = normalise_title(title)
    found = _INDEX.search(norm)
    return _INDEX.sub("", norm), int(found.group(0)[1:]) if found else 0


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Strip spaces; an empty string becomes null."""
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


# ---------------------------------------------------------------------------------------------- amounts

# ASCII digits only: regex \d also matches other scripts' digits (Arabic-Indic ٣٠٠), which are not amounts
_NUMBER = r"^[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?$"
_PLAIN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"


def parse_amounts(
    values: pl.Series, *, plain: bool = False, max_digits: int = 16, decimal_comma: bool = False
) -> tuple[pl.Series, pl.Series]:
    """Exact minor units from amount text, and a problem text per row (null when fine).

    Accepts thousands separators (``53,000.00``), a currency sign (``£``), a sign before or a minus after
    the number, and accounting brackets for negatives (``(12.50)``); with ``plain`` only a plain decimal
    (``-1234.5``, as in graphflows' own flows CSV); with ``decimal_comma`` amounts written ``1.234,56``
    (see :func:`uses_decimal_commas`). More than two non-zero decimal places is refused,
    never rounded; so is an amount with more than ``max_digits`` digits before the point. Computed in
    stages (each distinct value once) so a million rows take a fraction of a second.
    """
    given = pl.DataFrame({"shown": values.cast(pl.String).fill_null("").str.strip_chars()})
    if plain and (fast := _plain_amounts(given["shown"], max_digits)) is not None:
        return fast
    frame = given.unique()
    shown = pl.col("shown")
    if plain:
        text = pl.when(shown.str.contains(_PLAIN)).then(shown).otherwise(pl.lit("x"))
    else:
        text = shown.str.replace_all(r"[£$€\s]|GBP|EUR|USD", "")
    if decimal_comma:  # 1.234,56 -> 1234.56 (problems still show the amount as written)
        text = text.str.replace_all(".", "", literal=True).str.replace_all(",", ".", literal=True)
    frame = frame.with_columns(text.alias("t"))
    t = pl.col("t")
    frame = frame.with_columns(
        pl.when(t.str.starts_with("(") & t.str.ends_with(")"))
        .then(pl.lit("-") + t.str.slice(1, t.str.len_chars() - 2))
        .when(t.str.ends_with("-") & ~t.str.starts_with("-"))
        .then(pl.lit("-") + t.str.strip_chars_end("-"))
        .otherwise(t)
        .alias("body")
    )
    body = pl.col("body")
    frame = frame.with_columns(
        (body.str.contains(_NUMBER) & body.str.contains("[0-9]")).alias("valid"),
        body.str.replace_all(",", "", literal=True).alias("clean"),
    )
    clean = pl.col("clean")
    frame = frame.with_columns(
        clean.str.extract("^[+-]?([0-9]*)", 1).alias("whole"),
        clean.str.extract(r"\.([0-9]*)$", 1).fill_null("").str.strip_chars_end("0").alias("frac"),
    )
    whole, frac = pl.col("whole"), pl.col("frac")
    frame = frame.with_columns(
        (
            whole.replace("", "0").cast(pl.Int64, strict=False) * 100
            + frac.str.pad_end(2, "0").str.slice(0, 2).replace("", "0").cast(pl.Int64, strict=False)
        ).alias("minor")
    )
    shown = pl.col("shown")
    problem = (
        pl.when(shown == "")
        .then(pl.lit("missing amount"))
        .when(~pl.col("valid") & shown.str.contains(r"[\d--0-9]"))  # a digit of another script
        .then(pl.format("amount {} is not a number (only the digits 0-9 are read)", shown))
        .when(~pl.col("valid"))
        .then(pl.format("amount {} is not a number", shown))
        .when(frac.str.len_chars() > 2)
        .then(pl.format("amount {} has more than 2 decimal places", shown))
        .when(pl.col("minor").is_null() | (whole.str.strip_chars_start("0").str.len_chars() > max_digits))
        .then(
            pl.format(
                "amount {} is too large (at most {} digits before the point)", shown, pl.lit(max_digits)
            )
        )
    )
    frame = frame.with_columns(problem.alias("problem"))
    signed = pl.when(clean.str.starts_with("-")).then(-pl.col("minor")).otherwise(pl.col("minor"))
    parsed = frame.select(
        "shown", pl.when(pl.col("problem").is_null()).then(signed).alias("minor"), "problem"
    )
    out = given.join(parsed, on="shown", how="left", maintain_order="left")
    return out["minor"], out["problem"]


_SIGNS = r"[£$€\s()+\-]|GBP|EUR|USD"


def uses_decimal_commas(values: pl.Series) -> bool:
    """Whether amounts are written with a decimal comma (``1.234,56``, ``12,5``): some amount ends in a
    comma and one or two digits, and none in a point and one or two digits. Then ``1.234`` is a thousand
    and more, not a number with three decimal places; a column mixing both ways is not read this way
    (:func:`parse_amounts` then refuses the amounts with a decimal comma, row by row).

    >>> uses_decimal_commas(pl.Series(["1.234,56", "-12,5", "1.000"]))
    True
    >>> uses_decimal_commas(pl.Series(["1,234"])), uses_decimal_commas(pl.Series(["1.234,56", "7.50"]))
    (False, False)
    """
    text = values.cast(pl.String).fill_null("").str.replace_all(_SIGNS, "")
    comma = text.str.contains(r"^[0-9.]*[0-9],[0-9]{1,2}$").any()
    return bool(comma) and not text.str.contains(r"^[0-9,]*[0-9]?\.[0-9]{1,2}$").any()


def _plain_amounts(shown: pl.Series, max_digits: int) -> tuple[pl.Series, pl.Series] | None:
    """Minor units and (no) problems when every value is a plain decimal with at most ``max_digits`` digits
    before the point and two after it (a flows file's usual amounts): one check and one exact decimal cast
    per row. None when any value is not, so that :func:`parse_amounts` explains each problem.

    >>> _plain_amounts(pl.Series(["12.3", "-0.05", "+7", ".5"]), 15)[0].to_list()
    [1230, -5, 700, 50]
    """
    # ASCII digits only; a point needs a digit after it ("12." is refused, as the careful reading does)
    pattern = rf"^[+-]?([0-9]{{1,{max_digits}}}(\.[0-9]{{1,2}})?|\.[0-9]{{1,2}})$"
    if not shown.str.contains(pattern).all():
        return None
    # the decimal's unscaled value is the minor units; the check above leaves it nothing to round
    minor = shown.cast(pl.Decimal(38, 2)).to_physical().cast(pl.Int64).alias("minor")
    return minor, pl.repeat(None, shown.len(), dtype=pl.String, eager=True).alias("problem")


def number_to_minor(value: object) -> int:
    """Minor units from a JSON or spreadsheet number (int, float, text); ValueError if not exact to 2 places.

    A float is accepted when it is a whole number of pence up to binary rounding noise, so
    ``41133.770000000004`` (how Excel stores 41133.77) is 4113377, but ``0.125`` is refused.

    >>> number_to_minor(41133.770000000004), number_to_minor("1,250.5"), number_to_minor(3)
    (4113377, 125050, 300)
    """
    from decimal import Decimal

    from graphflows.model import to_minor

    if isinstance(value, bool) or value is None:
        raise ValueError(f"amount {value!r} is not a number")
    try:
        if isinstance(value, int):
            minor = to_minor(value)
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"amount {value!r} is not a number")
            scaled = value * 100
            minor = round(scaled)
            if abs(scaled - minor) > max(1e-6, abs(scaled) * 1e-13):
                raise ValueError(f"amount {value!r} has more than 2 decimal places")
        elif isinstance(value, Decimal):
            if not value.is_finite() or abs(value) > MAX_MINOR:
                raise ValueError(f"amount {value} is not a number or is too large")
            minor = to_minor(value)
        elif isinstance(value, str):
            minor = to_minor(value.strip().lstrip("£"))
        else:
            raise ValueError(f"amount {value!r} is not a number")
    except ArithmeticError:
        raise ValueError(f"amount {value!r} is not a number") from None
    if abs(minor) > MAX_MINOR:
        raise ValueError(f"amount {value!r} is too large")
    return int(minor)


# ------------------------------------------------------------------------------------------------ dates

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T].*)?$"
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"
_WEEKDAY = r"(?:[A-Za-z]{3,9},?\s+)?"
_NAMED = (
    rf"^{_WEEKDAY}(\d{{1,2}})(?:st|nd|rd|th)?[\s/.\-]+([A-Za-z]{{3,9}})\.?[\s/.\-,]+(\d{{4}}|\d{{2}})"
    r"(?:[ T].*)?$"
)
_NAMED_MONTH_FIRST = (
    rf"^{_WEEKDAY}([A-Za-z]{{3,9}})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:[ T].*)?$"
)
#: An Excel date serial written as text (``45019`` = 2023-04-03), 1954-10-03 to 2119-01-10.
_SERIAL = r"^([2-9]\d{4})(?:\.0+)?$"
_EXCEL_EPOCH = date(1899, 12, 30)

DAY_FIRST = "day/month"
MONTH_FIRST = "month/day"


@dataclass(frozen=True)
class DateColumns:
    """Parsed dates, how each was read, and problems (null when fine)."""

    date: pl.Series
    order: pl.Series
    problem: pl.Series
    note: str | None


def parse_dates(values: pl.Series, *, label: str = "date", iso_only: bool = False) -> DateColumns:
    """Read dates written as ISO ``2020-04-30``, ``30/04/2020``, US-style ``7/31/2020``, ``30-Apr-20``.

    Day/month order is decided **per row** when the row shows it (a first number above 12 means
    day first; a second number above 12 means month first). Rows that could be either (``03/04/2020``)
    follow the order most unambiguous rows of the same file use, or day first (the UK convention) when
    the file never shows its order. ``order`` says which rule read each row, so nothing is guessed
    silently. Two-digit years are 20xx below 70, else 19xx. A blank date is allowed (null, no problem).
    Also read: month names (``3 Apr 2023``, ``April 3, 2023``), ISO date-times, Excel serials written
    as text (``45019``). ``iso_only`` accepts ISO dates alone (graphflows' own flows CSV).
    """
    given = pl.DataFrame({"v": values.cast(pl.String).fill_null("").str.strip_chars()})
    parts = _date_parts(given.group_by("v").agg(pl.len().alias("n")))

    def rows(condition: pl.Expr) -> int:
        return int(parts.select(pl.col("n").filter(condition).sum()).item() or 0)

    day_first_rows = rows((pl.col("a") > 12) & (pl.col("b") <= 12))
    month_first_rows = rows((pl.col("b") > 12) & (pl.col("a") <= 12))
    ambiguous_rows = rows((pl.col("a") <= 12) & (pl.col("b") <= 12))
    default_day_first = day_first_rows >= month_first_rows
    default_order = DAY_FIRST if default_day_first else MONTH_FIRST
    shown_default = (
        f"{default_order} (assumed: {'file' if day_first_rows or month_first_rows else 'UK'} default)"
    )
    parsed = _checked_dates(_dated_parts(parts, default_day_first, shown_default), label, iso_only)
    out = given.join(parsed, on="v", how="left", maintain_order="left")
    note = None
    if day_first_rows and month_first_rows:
        note = (
            f"dates mix day/month order: {day_first_rows} row(s) day first, {month_first_rows} month first; "
            f"{ambiguous_rows} ambiguous row(s) read as {default_order}"
        )
    elif ambiguous_rows and not (day_first_rows or month_first_rows):
        note = f"{ambiguous_rows} date(s) could be day/month or month/day; read as day/month (UK convention)"
    return DateColumns(out["date"], out["order"], out["problem"], note)


def _month(name: pl.Expr) -> pl.Expr:
    """A month name or abbreviation (any case) as its number; null when not one."""
    return name.str.to_lowercase().replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)


def _date_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """Each distinct text ``v`` (with its count ``n``) split by every pattern: numeric ``a``/``b``/``ny``,
    ISO ``iy``/``im``/``id``, month name ``xd``/``xm``/``xy``, and Excel ``serial``."""
    v = pl.col("v")
    num = v.str.extract_groups(_NUMERIC)
    iso = v.str.extract_groups(_ISO)
    named = v.str.extract_groups(_NAMED)
    named_mf = v.str.extract_groups(_NAMED_MONTH_FIRST)
    return frame.select(
        v,
        "n",
        num.struct.field("1").cast(pl.Int32).alias("a"),
        num.struct.field("2").cast(pl.Int32).alias("b"),
        num.struct.field("3").alias("ny"),
        iso.struct.field("1").cast(pl.Int32).alias("iy"),
        iso.struct.field("2").cast(pl.Int32).alias("im"),
        iso.struct.field("3").cast(pl.Int32).alias("id"),
        pl.coalesce(named.struct.field("1"), named_mf.struct.field("2")).cast(pl.Int32).alias("xd"),
        pl.coalesce(_month(named.struct.field("2")), _month(named_mf.struct.field("1"))).alias("xm"),
        pl.coalesce(named.struct.field("3"), named_mf.struct.field("3")).alias("xy"),
        v.str.extract(_SERIAL, 1).cast(pl.Int32).alias("serial"),
    )  # fmt: skip


def _year(col: str) -> pl.Expr:
    """A year column as a number; two digits are 20xx below 70, else 19xx."""
    text = pl.col(col)
    y = text.cast(pl.Int32, strict=False)
    return (
        pl.when(text.str.len_chars() == 2)
        .then(pl.when(y < 70).then(2000 + y).otherwise(1900 + y))
        .otherwise(y)
    )


def _order_rule(shown_default: str) -> pl.Expr:
    """Which rule reads each text: ``ISO``, ``Excel serial``, ``month name``, day/month or month/day as the
    numbers show, else ``shown_default`` for an ambiguous numeric date; null when none applies."""
    a, b = pl.col("a"), pl.col("b")
    is_num = a.is_not_null()
    return (
        pl.when(pl.col("iy").is_not_null())
        .then(pl.lit("ISO"))
        .when(pl.col("serial").is_not_null())
        .then(pl.lit("Excel serial"))
        .when(pl.col("xm").is_not_null())
        .then(pl.lit("month name"))
        .when(is_num & (a > 12) & (b <= 12))
        .then(pl.lit(DAY_FIRST))
        .when(is_num & (b > 12) & (a <= 12))
        .then(pl.lit(MONTH_FIRST))
        .when(is_num & (a <= 12) & (b <= 12))
        .then(pl.lit(shown_default))
    )


def _dated_parts(parts: pl.DataFrame, default_day_first: bool, shown_default: str) -> pl.DataFrame:
    """``v`` with its ``date`` and the rule (``order``) that read it; ambiguous numeric dates follow
    ``default_day_first`` and are shown as ``shown_default``."""
    a, b = pl.col("a"), pl.col("b")
    is_iso, is_named = pl.col("iy").is_not_null(), pl.col("xm").is_not_null()
    day_first = (a > 12) & (b <= 12)
    month_first = (b > 12) & (a <= 12)
    use_day_first = day_first | (~month_first & pl.lit(default_day_first))
    order = _order_rule(shown_default)
    y = pl.when(is_iso).then(pl.col("iy")).when(is_named).then(_year("xy")).otherwise(_year("ny"))
    m = (
        pl.when(is_iso)
        .then(pl.col("im"))
        .when(is_named)
        .then(pl.col("xm"))
        .when(use_day_first)
        .then(b)
        .otherwise(a)
    )
    d = (
        pl.when(is_iso)
        .then(pl.col("id"))
        .when(is_named)
        .then(pl.col("xd"))
        .when(use_day_first)
        .then(a)
        .otherwise(b)
    )
    text = pl.format(
        "{}-{}-{}",
        y.cast(pl.String).str.pad_start(4, "0"),
        m.cast(pl.String).str.pad_start(2, "0"),
        d.cast(pl.String).str.pad_start(2, "0"),
    )
    return parts.select(
        "v",
        pl.when(pl.col("serial").is_not_null() & pl.col("iy").is_null())
        .then(pl.lit(_EXCEL_EPOCH) + pl.duration(days=pl.col("serial")))
        .when(order.is_not_null())
        .then(text.str.to_date("%Y-%m-%d", strict=False))
        .alias("date"),
        order.alias("order"),
    )


def _checked_dates(parsed: pl.DataFrame, label: str, iso_only: bool) -> pl.DataFrame:
    """Add ``problem`` for each non-blank text that is not a date (only ISO ones when ``iso_only``)."""
    expected = (
        "an ISO 8601 date (YYYY-MM-DD)"
        if iso_only
        else "a date (expected e.g. 2020-04-30, 30/04/2020 or 3 Apr 2020)"
    )
    if iso_only:
        parsed = parsed.with_columns(pl.when(pl.col("order") == "ISO").then(pl.col("date")).alias("date"))
    return parsed.with_columns(
        pl.when(pl.col("date").is_null() & (pl.col("v") != ""))
        .then(pl.format("{} {} is not {}", pl.lit(label), "v", pl.lit(expected)))
        .alias("problem")
    )


# -------------------------------------------------------------------------------------------- CSV text


@dataclass(frozen=True)
class CsvTable:
    """A CSV read as text columns, each record's first physical line, and per-record problems."""

    frame: pl.DataFrame
    lines: pl.Series
    problems: pl.Series | None = None  # e.g. "6 fields where the header has 4"; None when all fine
    note: str | None = None


#: A CSV header with more columns than this is refused (real funding files have at most a few hundred).
MAX_COLUMNS = 5_000


def check_width(source: str, header: bytes | str, header_line: int = 0, separator: str = ",") -> None:
    """Refuse a header row with more than MAX_COLUMNS columns (counting separators: cheap, not quadratic)."""
    newline = "\n" if isinstance(header, str) else b"\n"
    comma = separator if isinstance(header, str) else separator.encode()
    end = header.find(newline)  # type: ignore[arg-type]
    columns = header.count(comma, 0, end if end >= 0 else len(header)) + 1  # type: ignore[arg-type]
    if columns > MAX_COLUMNS:
        raise InputError(
            f"{source}:{header_line + 1}: header has {columns:,} columns (at most {MAX_COLUMNS:,}); "
            "not a funding data file"
        )


def read_csv_text(source: str, text: str, *, header_line: int = 0, separator: str = ",") -> CsvTable:
    """All columns of a CSV as text, and each record's first physical line number (1-based).

    ``header_line`` (0-based) skips title lines above the header. Quoted fields that contain line
    breaks are one record; line numbers account for them, so ``source:line`` points at the record.
    A record with more fields than the header is kept with a problem (the importer rejects it).
    ``separator``: the column separator (``;`` or a tab: see :func:`line_separator`).
    """
    if header_line:
        start = 0
        for _ in range(header_line):
            start = text.index("\n", start) + 1
        text = text[start:]
    check_width(source, text, header_line, separator)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=False,
            separator=separator,
        )
    except pl.exceptions.PolarsError:
        return _read_csv_python(source, text, header_line, separator)
    # physical line of each record: header lines + 1, plus line breaks held inside earlier records
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    first = 2 + header_line
    if physical == frame.height + 1:  # no record spans lines: the common, fast case
        lines = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True).alias("line")
    else:
        breaks = pl.sum_horizontal(pl.col(c).fill_null("").str.count_matches("\n") for c in frame.columns)
        lines = frame.select(
            (
                pl.int_range(pl.len(), dtype=pl.Int64)
                + first
                + _header_breaks(text)
                + breaks.cum_sum()
                - breaks
            ).alias("line")
        )["line"]
    return CsvTable(frame, lines)


def _read_csv_python(source: str, text: str, header_line: int, separator: str = ",") -> CsvTable:
    """The slow, careful reading used only when polars refuses a file: finds the record at fault."""
    import csv

    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    rows: list[list[str]] = []
    lines: list[int] = []
    problems: list[str | None] = []
    try:
        header = next(reader, None)
        if not header:
            raise InputError(f"{source}:{header_line + 1}: no header row")
        width = len(header)
        previous = reader.line_num
        for row in reader:
            lines.append(previous + 1 + header_line)
            previous = reader.line_num
            problems.append(f"{len(row)} fields where the header has {width}" if len(row) > width else None)
            rows.append((row + [""] * width)[:width])
    except csv.Error as exc:
        raise InputError(
            f"{source}:{reader.line_num + header_line}: not a readable CSV file ({exc}; "
            "check for an unclosed quote)"
        ) from None
    titles = _unique(header)
    frame = pl.DataFrame(
        {t: pl.Series(t, [r[i] for r in rows], dtype=pl.String) for i, t in enumerate(titles)},
        schema={t: pl.String for t in titles},
    )
    return CsvTable(
        frame,
        pl.Series("line", lines, dtype=pl.Int64),
        pl.Series("problem", problems, dtype=pl.String) if any(problems) else None,
    )


def _unique(titles: list[str]) -> list[str]:
    """Header titles made unique the way polars does (``a``, ``a_duplicated_0``...)."""
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        if title in seen:
            out.append(f"{title}_duplicated_{seen[title]}")
            seen[title] += 1
        else:
            seen[title] = 0
            out.append(title)
    return out


def read_csv_bytes(source: str, data: bytes, *, header_line: int = 0, separator: str = ",") -> CsvTable:
    """:func:`read_csv_text` straight from bytes when they are UTF-8 (no decoding copy), else via
    Windows-1252 text with a note."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    start = 0
    for _ in range(header_line):
        start = body.index(b"\n", start) + 1
    body = body[start:] if start else body
    check_width(source, body, header_line, separator)
    try:
        frame = pl.read_csv(
            body,
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=False,
            separator=separator,
        )
    except pl.exceptions.PolarsError:
        text, note = decode_text(source, data)
        table = read_csv_text(source, text, header_line=header_line, separator=separator)
        return CsvTable(table.frame, table.lines, table.problems, note)
    physical = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    first = 2 + header_line
    if physical == frame.height + 1:
        lines = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True).alias("line")
        return CsvTable(frame, lines)
    table = read_csv_text(source, body.decode("utf-8"), header_line=0, separator=separator)
    return CsvTable(frame, table.lines + header_line)


#: What the note on a file read as Windows-1252 counts (the same words for every file).
CP1252 = "file(s) not UTF-8, read as Windows-1252"


def decode_text(source: str, data: bytes) -> tuple[str, str | None]:
    """UTF-8 text (byte-order mark dropped), else Windows-1252 (common in council spend files) with a note.

    A file that is neither raises the UTF-8 error naming its line; UTF-16 text is refused as such.
    """
    refuse_utf16(data, source)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), FileNote(
                f"{source}: not UTF-8; read as Windows-1252", source, CP1252, 1
            )
        except UnicodeDecodeError:
            decode_utf8(Path(source), data)
            raise


def _header_breaks(text: str) -> int:
    """Line breaks inside the (possibly quoted) header record."""
    quoted = False
    breaks = 0
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n":
            if not quoted:
                return breaks
            breaks += 1
    return breaks


def find_header_line(text: str, looks_like_header, *, search: int = 20, normalise: bool = True) -> int | None:
    """The 0-based index of the first of the first ``search`` lines that ``looks_like_header`` accepts
    (given the line's titles, normalised by :func:`normalise_title` unless ``normalise`` is False)."""
    found = find_header(text, looks_like_header, search=search, normalise=normalise, separators=False)
    return found[0] if found else None


def find_header(
    text: str, looks_like_header, *, search: int = 20, normalise: bool = True, separators: bool = True
) -> tuple[int, str] | None:
    """The 0-based index of the header line among the first ``search`` lines (see :func:`find_header_line`)
    and its column separator: a comma, or (with ``separators``) what :func:`line_separator` finds."""
    for i, line in enumerate(text[:65536].splitlines()[:search]):
        separator = line_separator(line) if separators else ","
        cells = split_csv_line(line, separator)
        titles = {normalise_title(t) for t in cells} if normalise else {t.strip() for t in cells}
        if looks_like_header(titles):
            return i, separator
    return None


#: Column separators read besides the comma, as notes name them.
SEPARATORS = {";": "semicolon", "\t": "tab"}


def line_separator(line: str) -> str:
    """A header line's column separator: ``;`` or a tab when the line has no comma but two or more of them
    (the commoner if both), else a comma; a comma file stays a comma file.

    >>> line_separator("Date;Supplier;Amount"), line_separator("Date\\tSupplier\\tAmount")
    (';', '\\t')
    >>> line_separator("Date,Supplier;Amount;VAT"), line_separator("Supplier;Amount")
    (',', ',')
    """
    if "," in line:
        return ","
    counts = {separator: line.count(separator) for separator in SEPARATORS}
    best = max(counts, key=lambda separator: counts[separator])
    return best if counts[best] >= 2 else ","


def split_csv_line(line: str, separator: str = ",") -> list[str]:
    import csv

    try:
        return next(csv.reader([line], delimiter=separator))
    except (StopIteration, csv.Error):
        return []


def all_blank(frame: pl.DataFrame) -> pl.Expr:
    """True for records whose every field is empty or spaces (spacer lines some publishers leave)."""
    if not frame.width:
        return pl.lit(True)
    return pl.all_horizontal(pl.col(c).fill_null("").str.strip_chars() == "" for c in frame.columns)
