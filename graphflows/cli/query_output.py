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
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from graphflows.cli.display import money, safe_text
from graphflows.model import minor_to_decimal
from graphflows.outputs import write_text

MONEY_SUFFIX = "_minor"


def is_money(column: str) -> bool:
    return column.endswith(MONEY_SUFFIX)


def is_share(column: str) -> bool:
    return column == "share" or column.endswith("_share")


def readable_cell(column: str, value: Any, row: dict[str, Any]) -> str:
    """One value as a person reads it (see the module docstring)."""
    if value is None:
        return ""
    if is_money(column) and isinstance(value, int) and not isinstance(value, bool):
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
            return "\n".join(readable_cell("", item, row) for item in value)
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
    """``total_in_minor`` -> ``Total in``; ``hhi`` -> ``HHI``."""
    words = [ACRONYMS.get(w, w) for w in column.removesuffix(MONEY_SUFFIX).split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def readable_table(columns: list[str], rows: list[dict[str, Any]], width: int | None = None) -> Table:
    """A table that fits ``width``: numbers right-aligned and whole, text wrapped at spaces.

    The ``currency`` column is left out when money columns show it; when the table is wider than ``width``,
    ``X_id`` columns that have an ``X_name`` (or ``X``) beside them are left out too (--csv and --json
    keep everything).
    """
    from rich.console import Console

    shown = [c for c in columns if not (c == "currency" and any(is_money(m) for m in columns))]
    table = _table(shown, rows)
    if width is None:
        return table
    named_ids = [c for c in shown if c.endswith("_id") and _name_of(c, shown)]
    if named_ids and Console(width=100_000).measure(table).maximum > width:
        table = _table([c for c in shown if c not in named_ids], rows)
    return table


def _name_of(id_column: str, columns: list[str]) -> str | None:
    base = id_column.removesuffix("_id")
    return next((c for c in (f"{base}_name", base) if c in columns), None)


def _table(columns: list[str], rows: list[dict[str, Any]]) -> Table:
    grid = Table(show_lines=False)
    for column in columns:
        values = [r.get(column) for r in rows]
        numeric = bool(rows) and all(
            (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in values
        )
        if numeric:
            grid.add_column(heading(column), justify="right", no_wrap=True)
        else:
            grid.add_column(heading(column), overflow="fold", min_width=min(12, len(heading(column))))
    for row in rows:
        grid.add_row(*(safe_text(readable_cell(c, row.get(c), row)) for c in columns))
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
