"""Rows of a Cypher query for people (a table that fits the terminal) and for machines (CSV cells, JSON).

For people, by column name: ``*_minor`` is money, shown with the row's ``currency`` (``GBP 1,150,000.00``);
``share`` and ``*_share`` are percentages (``62.5%``); other numbers are rounded for reading; lists are
joined (routes with arrows). For machines, values stay exact: money in integer minor units, floats with full
precision, lists and maps as JSON.

>>> readable_cell("total_in_minor", 115000000, {"currency": "GBP"})
'GBP 1,150,000.00'
>>> readable_cell("top_share", 0.6251234567891234, {})
'62.5%'
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from graphflows.cli.display import money, safe_text
from graphflows.model import minor_to_decimal
from graphflows.outputs import write_text

MONEY_SUFFIX = "_minor"


def is_money(column: str) -> bool:
    """``total_minor``, and an unnamed ``sum(f.amount_minor)``."""
    return column.rstrip(")").endswith(MONEY_SUFFIX)


def money_columns(columns: list[str], query: str = "") -> set[str]:
    """The money columns: ``*_minor`` ones, and those the query names with ``AS`` after an expression
    that ends in ``*_minor`` (``sum(f.amount_minor) AS total``; a count of amounts is not money).

    >>> query = "RETURN sum(f.amount_minor) AS total, count(f.amount_minor) AS n, f.amount_minor AS paid"
    >>> sorted(money_columns(["total", "n", "paid"], query))
    ['paid', 'total']
    """
    aliased = {
        found.group(2).strip("`")
        for found in re.finditer(ALIASED_MINOR, query, flags=re.IGNORECASE)
        if (found.group(1) or "").lower() != "count"
    }
    return {c for c in columns if is_money(c) or c in aliased}


#: ``sum(f.amount_minor) AS total``: the function (if any) and the name given.
ALIASED_MINOR = r"(?:(\w+)\s*\(\s*(?:DISTINCT\s+)?)?[\w.`]*_minor`?\s*\)*\s+AS\s+(`[^`]+`|\w+)"


def currency_column(columns: list[str]) -> str | None:
    """The column holding each row's currency: ``currency``, or one ending in ``.currency``
    (``f.currency``)."""
    if "currency" in columns:
        return "currency"
    return next((c for c in columns if c.endswith(".currency")), None)


def is_share(column: str) -> bool:
    return column == "share" or column.endswith("_share")


def readable_cell(column: str, value: Any, row: dict[str, Any], as_money: bool | None = None) -> str:
    """One value as a person reads it (see the module docstring); ``as_money`` overrides the column's name."""
    if value is None:
        return ""
    if (
        (is_money(column) if as_money is None else as_money)
        and isinstance(value, int)
        and not isinstance(value, bool)
    ):
        currency = row.get("currency")
        return money(value, currency) if isinstance(currency, str) else f"{minor_to_decimal(value):,.2f}"
    if is_share(column) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.1%}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        if any(isinstance(item, dict) for item in value):
            return "; ".join(readable_cell("", item, row) for item in value)
        joiner = " → " if column.startswith("route") else ", "
        return joiner.join(readable_cell("", item, row) for item in value)
    if isinstance(value, dict):
        return _readable_map(value, row)
    return exact_cell(value)


def _readable_map(item: dict[str, Any], row: dict[str, Any]) -> str:
    """A map in a list (``{"payer_name": ..., "paid_in_minor": ...}``) as ``name: GBP 1.00``."""
    context = {**row, **item}
    names = [str(v) for k, v in item.items() if k.endswith("name") and v is not None]
    figures = [readable_cell(k, v, context) for k, v in item.items() if is_money(k) or is_share(k)]
    if names:
        return f"{' '.join(names)}: {', '.join(figures)}" if figures else " ".join(names)
    return ", ".join(f"{k}: {readable_cell(k, v, context)}" for k, v in item.items())


ACRONYMS = {"hhi": "HHI", "id": "id", "ids": "ids"}


def heading(column: str) -> str:
    """``total_in_minor`` -> ``Total in``; ``hhi`` -> ``HHI``; an expression (``p.name``) as it is."""
    if not column.isidentifier():
        return column
    words = [ACRONYMS.get(w, w) for w in column.removesuffix(MONEY_SUFFIX).split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


#: The narrowest a text column is drawn (fewer characters when its longest value is shorter).
TEXT_MIN_WIDTH = 16
#: What a column costs beyond its text: one space each side and one rule.
COLUMN_OVERHEAD = 3


@dataclass
class FittedTable:
    """A table for the terminal and the columns left out to make it fit (besides named ids)."""

    table: Table
    left_out: list[str]
    #: Money columns shown without a currency (no ``currency`` column beside them).
    no_currency: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """A line naming the columns left out, and one naming money shown without its currency."""
        lines = []
        if self.left_out:
            lines.append(
                f"Left out to fit the terminal: {', '.join(self.left_out)} "
                "(--csv FILE or --json - give every column)."
            )
        if self.no_currency:
            lines.append(
                f"{', '.join(self.no_currency)}: money in major units without its currency (return a "
                "`currency` column beside it to show it; never add two currencies)."
            )
        return lines


def readable_table(columns: list[str], rows: list[dict[str, Any]], width: int | None = None) -> Table:
    """:func:`fit_table`'s table (without the note on the columns it left out)."""
    return fit_table(columns, rows, width).table


def fit_table(
    columns: list[str], rows: list[dict[str, Any]], width: int | None = None, query: str = ""
) -> FittedTable:
    """A table that fits ``width``: numbers right-aligned and whole, text wrapped at spaces.

    Money columns are those of :func:`money_columns` (``query`` is the Cypher text, for its aliases), shown
    with the row's currency (:func:`currency_column`), which is then left out as a column. When the table
    is wider than ``width``,
    ``X_id`` columns that have an ``X_name`` (or ``X``) beside them are left out; then, while the columns
    cannot all be drawn at a readable width (numbers whole, text at least :data:`TEXT_MIN_WIDTH`), whole
    columns from the right (``left_out``; --csv and --json keep everything).
    """
    from rich.console import Console

    money_in = money_columns(columns, query)
    currency = currency_column(columns)
    if currency is not None and currency != "currency":
        rows = [{**row, "currency": row.get(currency)} for row in rows]
    shown = [c for c in columns if not (c == currency and money_in)]
    cells = {c: [safe_text(readable_cell(c, row.get(c), row, c in money_in)) for row in rows] for c in shown}
    no_currency = [c for c in columns if c in money_in and _without_currency(c, rows)]
    if width is None:
        return FittedTable(_table(shown, rows, cells), [], no_currency)
    named_ids = [c for c in shown if c.endswith("_id") and _name_of(c, shown)]
    if named_ids and Console(width=100_000).measure(_table(shown, rows, cells)).maximum > width:
        shown = [c for c in shown if c not in named_ids]
    left_out: list[str] = []
    while len(shown) > 1 and sum(_min_width(c, rows, cells) + COLUMN_OVERHEAD for c in shown) + 1 > width:
        left_out.insert(0, shown.pop())
    return FittedTable(_table(shown, rows, cells, width), left_out, no_currency)


def _without_currency(column: str, rows: list[dict[str, Any]]) -> bool:
    """Whether some amount of ``column`` has no currency in its row to be shown with."""
    return any(isinstance(row.get(column), int) and not isinstance(row.get("currency"), str) for row in rows)


def _name_of(id_column: str, columns: list[str]) -> str | None:
    base = id_column.removesuffix("_id")
    return next((c for c in (f"{base}_name", base) if c in columns), None)


def _is_numeric(column: str, rows: list[dict[str, Any]]) -> bool:
    values = [r.get(column) for r in rows]
    return bool(rows) and all(
        (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in values
    )


def _min_width(column: str, rows: list[dict[str, Any]], cells: dict[str, list[Text]]) -> int:
    """The narrowest readable width: a number whole (its heading may wrap at spaces), text up to
    :data:`TEXT_MIN_WIDTH` (narrower when every value and the heading's words are shorter)."""
    longest_word = max((cell_len(word) for word in heading(column).split()), default=0)
    if _is_numeric(column, rows):
        return max(_longest_value(column, cells), longest_word)
    return min(TEXT_MIN_WIDTH, max(_longest_value(column, cells), longest_word))


def _full_width(column: str, cells: dict[str, list[Text]]) -> int:
    """The width at which nothing in the column wraps, its heading included."""
    return max(_longest_value(column, cells), cell_len(heading(column)))


def _longest_value(column: str, cells: dict[str, list[Text]]) -> int:
    return max((cell_len(line) for text in cells[column] for line in text.plain.split("\n")), default=0)


def _widths(
    columns: list[str], rows: list[dict[str, Any]], cells: dict[str, list[Text]], width: int
) -> list[int]:
    """Each column's width: its minimum, then the room left shared out a character at a time (left first)
    until every column is at full width or the table at ``width``."""
    widths = [_min_width(c, rows, cells) for c in columns]
    full = [max(w, _full_width(c, cells)) for c, w in zip(columns, widths, strict=True)]
    room = width - (sum(widths) + COLUMN_OVERHEAD * len(columns) + 1)
    while room > 0 and widths != full:
        for i, target in enumerate(full):
            if room > 0 and widths[i] < target:
                widths[i] += 1
                room -= 1
    return widths


def _table(
    columns: list[str], rows: list[dict[str, Any]], cells: dict[str, list[Text]], width: int | None = None
) -> Table:
    """The table; with ``width``, every column gets an explicit width (see :func:`_widths`)."""
    grid = Table(show_lines=False)
    widths = _widths(columns, rows, cells, width) if width else [None] * len(columns)
    for column, column_width in zip(columns, widths, strict=True):
        if _is_numeric(column, rows):
            grid.add_column(heading(column), justify="right", width=column_width)
        else:
            grid.add_column(heading(column), overflow="fold", width=column_width)
    for i in range(len(rows)):
        grid.add_row(*(cells[c][i] for c in columns))
    return grid


def exact_cell(value: Any) -> str:
    """A value as exact text for a CSV cell (written by graphflows.outputs): lists and maps as JSON, dates
    as ISO, floats in full, None empty."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if hasattr(value, "iso_format"):
        return str(value.iso_format())
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_json(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """The rows as JSON (``{"columns": [...], "rows": [{...}]}``), exact; ``-`` writes to stdout."""
    document = {"columns": columns, "rows": [{c: row.get(c) for c in columns} for row in rows]}
    text = json.dumps(document, default=_json_default, ensure_ascii=False, indent=1) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return
    write_text(path, text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "items"):
        return dict(value.items())
    return str(value)
