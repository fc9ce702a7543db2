"""Readable terminal output: the convergence table and progress on long work."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from graphflows.model import money_words as money
from graphflows.model import to_minor
from graphflows.model.notes import FileNote
from graphflows.model.words import plural as plural  # for the commands

#: Control characters (C0, DEL, C1) and bidirectional overrides: never sent raw to a terminal.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    r"""``text`` with control characters and terminal escapes shown as ``\xNN``, so data never drives
    the terminal.

    >>> printable("Acme\x1b[2J Ltd\n")
    'Acme\\x1b[2J Ltd\\x0a'
    """
    return _UNPRINTABLE.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def safe_text(value: object) -> Text:
    """A table cell from data: plain text (no markup) with control characters made visible."""
    return Text(printable(str(value)))


class SafeConsole(Console):
    """A rich Console whose ``print`` shows control characters in text as ``\\xNN`` (names come from data)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


#: Piped output gets a fixed width so tables stay readable in files and logs.
console = SafeConsole(highlight=False, width=None if sys.stdout.isatty() else 120)


def money_totals(totals: dict[str, int]) -> str:
    """Money per currency (minor units) as one text: ``{"GBP": 150, "EUR": 5}`` -> ``GBP 1.50, EUR 0.05``
    (``nothing`` when there is none)."""
    return ", ".join(money(minor, currency) for currency, minor in totals.items()) or "nothing"


#: Notes of one kind from at least this many files are shown as one line (each file's note stays in
#: summary.json).
COMBINE_FROM = 3


def minor_amounts(amounts: dict[str, str]) -> dict[str, int]:
    """Money per currency as summary.json writes it (exact text) back in minor units."""
    return {currency: to_minor(text) for currency, text in amounts.items()}


def reading_line(
    counts: dict[str, Any],
    files: int,
    totals: dict[str, int],
    repeated_amount: dict[str, int],
    *,
    lead: str = "Read",
    inputs: str = "file(s)",
) -> str:
    """What reading gave, as every command prints it (``counts``: records_read, flows, rejected, non_money and
    repeated, as in summary.json; ``totals`` and ``repeated_amount`` in minor units per currency).

    >>> counts = {"records_read": 9411, "flows": 9397, "rejected": 0, "non_money": 0, "repeated": 14}
    >>> reading_line(counts, 36, {"GBP": 112743326858}, {"GBP": 216978907})
    'Read 9,411 records from 36 file(s): 9,397 flows (GBP 1,127,433,268.58), 0 rejected, 14 repeated (GBP \
2,169,789.07 already read in another file, not counted again)'
    """
    without_money = f", {counts['non_money']:,} without money" if counts.get("non_money") else ""
    repeated = counts.get("repeated", 0)
    again = (
        f", {repeated:,} repeated ({money_totals(repeated_amount)} already read in another file, not counted "
        "again)"
        if repeated
        else ""
    )
    return (
        f"{lead} {counts['records_read']:,} records from {files:,} {inputs}: {counts['flows']:,} flows "
        f"({money_totals(totals)}), {counts['rejected']:,} rejected{without_money}{again}"
    )


def print_notes(notes: Iterable[str]) -> None:
    """Each note (:func:`shown_notes`) on its own ``Note:`` line."""
    for note in shown_notes(notes):
        console.print(f"Note: {note}", markup=False)


def shown_notes(notes: Iterable[str]) -> list[str]:
    """The notes to print: those of one kind (:class:`~graphflows.model.notes.FileNote`) from
    :data:`COMBINE_FROM` files or more become one line, where the first of them was, with the total count,
    the total per currency and an example file; other notes are shown as they are.

    >>> from graphflows.model.notes import FileNote
    >>> notes = [FileNote.of(f"{n}.json", 1, "award(s)", {"GBP": n}, "; shared") for n in (100, 200, 9)]
    >>> print(*shown_notes(["first", *notes]), sep="\\n")
    first
    3 award(s) in 3 files: GBP 3.09 in all; shared (e.g. 100.json: 1); each file's note is in summary.json
    """
    notes = list(notes)
    groups: dict[str, list[FileNote]] = {}
    for note in notes:
        if isinstance(note, FileNote) and note.kind:
            groups.setdefault(note.kind, []).append(note)
    combined = {kind for kind, group in groups.items() if len({n.source for n in group}) >= COMBINE_FROM}
    shown: list[str] = []
    for note in notes:
        kind = note.kind if isinstance(note, FileNote) else None
        if kind not in combined:
            shown.append(note)
        elif kind in groups:
            group = groups.pop(kind)
            totals: dict[str, int] = {}
            for each in group:
                for currency, minor in each.amounts.items():
                    totals[currency] = totals.get(currency, 0) + minor
            amounts = ", ".join(money(minor, currency) for currency, minor in sorted(totals.items()))
            shown.append(
                f"{sum(n.count for n in group)} {kind} in {len({n.source for n in group})} files"
                + (f": {amounts} in all" if amounts else "")
                + f"{group[0].detail} (e.g. {group[0].source}: {group[0].count}); each file's note is in "
                "summary.json"
            )
    return shown


def convergence_table(
    table: pl.DataFrame, top: int, count_by: str = "channel", points: int | None = None
) -> Table | Text:
    """The top rows of a convergence table as a rich Table, channels first (names shown as plain text).

    ``points``: how many convergence points there are, when ``table`` holds only the first ones.
    """
    shown = table.filter(pl.col("is_convergence_point")).head(top)
    if points is None:
        points = int(table["is_convergence_point"].sum())
    if not points:
        return Text(f"No convergence points (counted by {count_by}).")
    noun = count_by.replace("_", " ")
    grid = Table(
        title=f"Top convergence points ({shown.height} of {points}, counted by {count_by})",
        caption=f"Eff.: effective number of {noun}s (1 / sum of squared shares: 3.0 = three in equal parts)",
    )
    grid.add_column("Recipient", ratio=3, overflow="fold")
    grid.add_column("Channels", ratio=3, overflow="fold")
    grid.add_column("Eff.", justify="right", no_wrap=True)
    grid.add_column("Stovepipes", justify="right", no_wrap=True)
    grid.add_column("Total in", justify="right", no_wrap=True)
    grid.add_column("Form", no_wrap=True)
    grid.add_column("Payers", justify="right", no_wrap=True)
    effective = f"effective_{count_by}s"
    for row in shown.iter_rows(named=True):
        grid.add_row(
            safe_text(row["recipient_name"]),
            safe_text(channels_cell(row, count_by)),
            f"{row[effective]:.1f}",
            str(row["stovepipe_count"]),
            money(row["total_in_minor"], row["currency"]),
            str(row["form"]),
            str(row["payer_count"]),
        )
    return grid


def channels_cell(row: dict[str, Any], count_by: str) -> str:
    """``3: nhs, public_health, police_justice``: the counted channels (of the payers, with payer_channel)."""
    if count_by == "payer_channel":
        return f"{row['payer_channel_count']} payers': {(row['payer_channels'] or '').replace(';', ', ')}"
    return f"{row['channel_count']}: {(row['channels'] or '').replace(';', ', ')}"


def convergence_by_form(by_form: dict[str, Any]) -> Table:
    """Convergence points by provider form (count and money), from the run's summary."""
    grid = Table(title="Convergence points by provider form")
    grid.add_column("Form")
    grid.add_column("Points", justify="right")
    grid.add_column("Total in", justify="right")
    ranked = sorted(by_form.items(), key=lambda kv: (-kv[1]["convergence_points"], kv[0]))
    for form, entry in ranked:
        totals = ", ".join(money(to_minor(v), c) for c, v in entry["total_in"].items())
        grid.add_row(form, str(entry["convergence_points"]), totals)
    return grid


@contextmanager
def steps(message: str) -> Iterator[Progress]:
    """A spinner with elapsed time on stderr while work runs (silent when stderr is not a terminal)."""
    err = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        progress.add_task(message, total=None)
        yield progress


def print_findings(info: dict[str, Any], results_format: str = "csv") -> None:
    """What summary.json says beyond the headline, for people: the financial year's flows and the flows it
    left out, convergence points by provider form, income of unknown channel, negative net pairs and notes."""
    analysis = info["analysis"]
    if analysis.get("financial_year"):
        outside = ", ".join(money(to_minor(v), c) for c, v in analysis["amount_outside_period"].items())
        inside = ", ".join(money(to_minor(v), c) for c, v in analysis["amount_in_period"].items())
        console.print(
            f"Financial year {analysis['financial_year']}: {analysis['flows_in_period']} of {info['flows']} "
            f"flows are dated in it ({inside or 'nothing'}) and analysed; {analysis['flows_outside_period']} "
            f"are left out ({outside or 'nothing'}), {analysis['undated_flows_excluded']} of them undated.",
            markup=False,
        )
    if info["convergence_points_by_form"]:
        console.print(convergence_by_form(info["convergence_points_by_form"]))
    for currency, part in info["unclassified_origin_income"].items():
        counted = part.get("origins")  # None: not counted one by one (channels only, or Spark)
        if counted or (counted is None and part["share_of_attributed_income"]):
            largest = f"; largest: {', '.join(part.get('largest', []))}" if counted else ""
            origins = f"{counted or ''} origin(s) with no channel ('unclassified'{largest})".lstrip()
            console.print(
                f"Note: {part['share_of_attributed_income']:.1%} of {currency} income traces to {origins}, "
                "never counted as a channel: see organisations.csv (channel_method 'none'); give their "
                "channel with --channels FILE.",
                markup=False,
            )
    if info["negative_net_pairs"]:
        console.print(
            f"{info['negative_net_pairs']} payer-payee pair(s) net below zero: listed in "
            f"negative_net.{results_format}, not attributed.",
            markup=False,
        )
    print_notes(info["notes"])
