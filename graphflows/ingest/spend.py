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

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, check_readable, conform, empty_rejects, records_as_json
from graphflows.ingest.importer import NO_SETTINGS, Importer, Sample, SourceSettings
from graphflows.ingest.parsing import (
    SEPARATORS,
    all_blank,
    find_header,
    line_separator,
    parse_amounts,
    parse_dates,
    read_csv_bytes,
    split_csv_line,
    uses_decimal_commas,
)
from graphflows.ingest.sides import REDACTED_NAME, provisional_id, registered_ids
from graphflows.ingest.workbook import (
    HEADER_SEARCH,
    Sheet,
    Sheets,
    header_rows,
    is_workbook_data,
    read_sheets,
    sheets_note,
    stacked,
)
from graphflows.model import FLOW_COLUMNS, InputError, Kind, NoPayerError, UnnamedPayer
from graphflows.model.money import DEFAULT_CURRENCY, money_words
from graphflows.model.notes import FileNote

FORMAT = "spend"

#: Canonical field -> accepted column titles (compared as :func:`header_key`), best first.
FIELDS: dict[str, tuple[str, ...]] = {
    "payer_name": ("entity", "name of body", "body name", "organisation name", "organisation label",
                   "entity name", "authority name", "council name", "trust name", "local authority name",
                   "organisation", "authority", "body"),
    "payer_id": ("entity org id", "organisation org id", "ods code", "entity ods code",
                 "organisation ods code", "entity code", "body code", "organisation code", "organisation id",
                 "entity id"),
    "payee_name": ("supplier", "supplier name", "supplier beneficiary name", "beneficiary name",
                   "beneficiary", "payee", "payee name", "vendor", "vendor name", "creditor", "creditor name",
                   "merchant name", "recipient", "recipient name", "supplier payee", "name"),
    "payee_id": ("supplier org id", "payee org id", "beneficiary org id", "supplier ods code",
                 "payee ods code"),
    "company_number": ("supplier registered company number", "supplier company number",
                       "supplier company registration number", "beneficiary registration number",
                       "beneficiary company number", "company number", "company registration number",
                       "registered company number", "companies house number"),
    "charity_number": ("supplier registered charity number", "supplier charity number",
                       "beneficiary charity number", "beneficiary charity registration number",
                       "charity number", "registered charity number", "charity registration number"),
    "amount": ("amount", "net amount", "amount paid", "value", "total", "amount gbp", "gross amount",
               "amount excl vat", "amount excluding vat", "net value", "line amount", "transaction amount",
               "payment amount", "total amount", "paid amount", "value gbp"),
    "date": ("date", "payment date", "paid date", "date paid", "transaction date", "clearing date",
             "date of payment", "pay date", "payment run date", "invoice date", "effective date",
             "posting date"),
    "reference": ("transaction number", "transaction no", "transaction id", "transaction ref",
                  "transaction reference", "transaction", "trans no", "payment reference", "document number",
                  "document no"),
    "expense_area": ("expense area", "service area", "service label", "organisational unit", "department",
                     "directorate", "cost centre", "cost centre description", "service",
                     "service division label", "directorate service where expenditure incurred"),
    "expense_type": ("expense type", "expenditure category", "purpose", "purpose of spend",
                     "purpose of spend summary", "proclass label", "proclass", "expense description",
                     "purpose of expenditure", "expenditure type", "account description", "category",
                     "expense category", "expense", "expenditure account",
                     "expenditure account code description"),
}  # fmt: skip
REQUIRED = ("payer_name", "payee_name", "amount")
#: Override field (``--column GLOB=payee:Title``) -> the field in :data:`FIELDS` it sets.
OVERRIDES = {"payer": "payer_name", "payee": "payee_name", "area": "expense_area", "type": "expense_type"}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def header_key(title: str) -> str:
    """A header title for matching: case-, space-, CamelCase- and decoration-blind.

    >>> [header_key(t) for t in ("BeneficiaryName", " Amount (£)* ", "Supplier(Beneficiary) Name", "ODSCode")]
    ['beneficiary name', 'amount', 'supplier beneficiary name', 'ods code']
    """
    text = _CAMEL.sub(" ", str(title).replace("\ufeff", ""))
    text = re.sub(r"['\u2019`]", "", text)
    return re.sub(r"[^0-9A-Za-z]+", " ", text).strip().lower()


_KEYS = {f: frozenset(header_key(t) for t in titles) for f, titles in FIELDS.items()}


def _override_keys(settings: SourceSettings) -> dict[str, str]:
    """Field in :data:`FIELDS` -> header key the user named for it."""
    return {OVERRIDES.get(f, f): header_key(title) for f, title in settings.columns.items()}


def _looks_like_header(titles: Iterable[str], settings: SourceSettings = NO_SETTINGS) -> bool:
    """A payee and an amount column, and a date, payer or transaction column (or a payer given)."""
    keys = {header_key(t) for t in titles}
    named = _override_keys(settings)

    def has(field: str) -> bool:
        return named[field] in keys if field in named else bool(keys & _KEYS[field])

    if any(f in named and named[f] not in keys for f in named):
        return False
    context = has("date") or has("payer_name") or has("reference") or bool(settings.payer_name)
    return has("payee_name") and has("amount") and context


def sniff(sample: Sample) -> bool:
    """True for a CSV (separated by commas, semicolons or tabs) or workbook whose header (within its first
    lines or rows) has a supplier and an amount column."""
    if sample.is_workbook:
        return any(_looks_like_header(titles, sample.settings) for titles in sample.header_rows)
    head = sample.head
    if head[:1] in (b"{", b"[") or is_workbook_data(head):
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    found = find_header(text, lambda t: _looks_like_header(t, sample.settings), normalise=False)
    if found is not None and found[1] != ",":  # graphflows' own flows CSV saved with ; is told to use commas
        titles = {t.strip().lower() for t in split_csv_line(text.splitlines()[found[0]], found[1])}
        return not {"payer_id", "payee_id", "amount"} <= titles
    return found is not None


def read(path: Path, settings: SourceSettings = NO_SETTINGS) -> FileRead:
    """Read one spend CSV or workbook from disk."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path), settings)


def _looks_like_names(values: pl.Series) -> bool:
    """False for a column of codes or URIs (``18``, ``http://…/00CY``): not a paying body's name."""
    sample = values.drop_nulls().str.strip_chars().unique(maintain_order=True).head(200)
    sample = sample.filter(sample != "")
    return sample.len() == 0 or bool(
        (sample.str.contains(r"[A-Za-z]") & ~sample.str.contains(r"^(https?:|www\.)")).any()
    )


def _choose(raw: pl.DataFrame, settings: SourceSettings, where: str) -> dict[str, str | None]:
    """The column (title as printed) chosen for each field: overrides first, then synonyms in order."""
    by_key: dict[str, str] = {}
    for col in raw.columns:
        by_key.setdefault(header_key(col), col)
    chosen: dict[str, str | None] = {}
    named = _override_keys(settings)
    for field in FIELDS:
        if field in named:
            if named[field] not in by_key:
                given = next((f, t) for f, t in settings.columns.items() if OVERRIDES.get(f, f) == field)
                raise InputError(f"{where}: {_not_found(dict([given]), raw.columns)}")
            chosen[field] = by_key[named[field]]
            continue
        candidates = [by_key[header_key(t)] for t in FIELDS[field] if header_key(t) in by_key]
        if field == "payer_name":
            candidates = [c for c in candidates if _looks_like_names(raw[c])]
        taken = set(chosen.values())
        chosen[field] = next((c for c in candidates if c not in taken), None)
    return chosen


def _missing_named_columns(source: str, rows: Iterable[list[str]], settings: SourceSettings) -> None:
    """Raise naming the ``--column`` titles missing from the header: of the first ``rows``, the one that
    has most of them (or, when none, the most known titles), with the titles found there and any close
    match."""
    wanted = {field: header_key(title) for field, title in settings.columns.items()}
    known = set().union(*_KEYS.values())
    best: tuple[int, int] = (-1, -1)
    titles: list[str] = []
    for cells in rows:
        keys = {header_key(t) for t in cells}
        score = (len(keys & set(wanted.values())), len(keys & known))
        if score > best:
            best, titles = score, cells
    found = {header_key(t) for t in titles}
    missing = {field: settings.columns[field] for field, key in wanted.items() if key not in found}
    if missing:
        raise InputError(f"{source}: {_not_found(missing, titles)}")


def _not_found(missing: dict[str, str], titles: list[str]) -> str:
    """Why ``--column`` titles (field -> title) name no column of a header with ``titles``: each with a
    close match among them if there is one, then the titles found.

    >>> _not_found({"payee": "Supplier Nme"}, ["Date", "Supplier Name", "Amount"])
    "column(s) named by --column/--sources not found in the header: payee:'Supplier Nme' (did you mean \
'Supplier Name'?); found: Date, Supplier Name, Amount"
    """
    from rapidfuzz import fuzz, process

    by_key = {header_key(t): t for t in titles if t.strip()}
    named = []
    for field, title in missing.items():
        near = process.extractOne(header_key(title), list(by_key), scorer=fuzz.ratio, score_cutoff=80)
        named.append(f"{field}:{title!r}" + (f" (did you mean {by_key[near[0]]!r}?)" if near else ""))
    return (
        f"column(s) named by --column/--sources not found in the header: {', '.join(named)}; "
        f"found: {', '.join(t for t in titles if t.strip()) or 'no titles'}"
    )


def snake(title: str) -> str:
    """``Supplier Postcode`` -> ``supplier_postcode``; ``ProclassLabel`` -> ``proclass_label``."""
    return header_key(title).replace(" ", "_") or "column"


def _given_id(column: str | None, title: str | None) -> pl.Expr:
    """An id column (its ``title`` as printed) as given; an NHS ODS code column's codes (``07L``, ``RJZ``)
    become ``GB-NHS-07L``."""
    if column is None or title is None:
        return pl.lit(None, pl.String)
    value = pl.col(column).str.strip_chars()
    value = pl.when(value == "").then(None).otherwise(value)
    if "ods" in header_key(title).split():
        code = value.str.to_uppercase()
        return pl.when(code.str.contains(r"^[A-Z0-9]{3,5}$")).then(pl.lit("GB-NHS-") + code).otherwise(value)
    return value


#: Columns a spend file's flows carry besides :data:`FLOW_COLUMNS`: a file's own column of one of these
#: names (or of a flow column's name) is kept as ``<name>_in_file``.
OWN_COLUMNS = ("expense_area", "expense_type", "date_order", "payee_redacted", "payer_id_given",
               "payer_name_given", "payee_id_given", "payee_name_given", "payee_other_ids",
               "transaction_lines")  # fmt: skip


def _extra_names(titles: Iterable[str], used: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The name each column not ``used`` is kept under (``Supplier Postcode`` -> ``supplier_postcode``),
    and those renamed because graphflows has a column of that name (``Payee Name`` -> ``payee_name_in_file``).

    >>> _extra_names(["Supplier", "Payee Name", "Post Code"], {"Supplier"})
    ({'Payee Name': 'payee_name_in_file', 'Post Code': 'post_code'}, {'Payee Name': 'payee_name_in_file'})
    """
    taken = {*FLOW_COLUMNS, *OWN_COLUMNS}
    extras: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for title in titles:
        if title in used:
            continue
        name = snake(title)
        clash = name in taken
        if clash:
            name += "_in_file"
        while name in taken or name in extras.values():
            name += "_"
        extras[title] = name
        if clash:
            renamed[title] = name
    return extras, renamed


#: Cell text marking a summary line ("Total", "Grand total"...) rather than a payment.
TOTAL_WORDS = ("total", "totals", "grand total", "sub total", "sub-total", "subtotal", "total spend")


def _total_lines(raw: pl.DataFrame, payee: str, amount: str) -> pl.Series:
    """Summary lines: no payee, and some cell says ``Total`` or the amount is the only thing on the line.
    They repeat other lines' money, so they are counted as non-money records (with a note), never as
    payments to a redacted payee."""
    maybe = (raw[payee].fill_null("").str.strip_chars() == "") & (
        raw[amount].fill_null("").str.strip_chars() != ""
    )
    totals = pl.Series("t", [False] * raw.height, dtype=pl.Boolean)
    if maybe.any():
        where = maybe.arg_true()
        cells = [pl.col(c).fill_null("").str.strip_chars() for c in raw.columns]
        others = [pl.col(c).fill_null("").str.strip_chars() == "" for c in raw.columns if c != amount]
        said = raw[where].select(
            (
                pl.any_horizontal(c.str.to_lowercase().is_in(TOTAL_WORDS) for c in cells)
                | pl.all_horizontal(others or [pl.lit(True)])
            ).alias("t")
        )["t"]
        totals = totals.scatter(where, said)
    return totals


#: What the file's notes count (the same words for every file, so many files' notes combine into one).
NON_MONEY_BLANK = "blank line(s) (every field empty, e.g. ',,,,') counted as non-money records"
NON_MONEY_TOTAL = "summary line(s) (a 'Total', or an amount alone on its line) counted as non-money records"
NON_MONEY_LEFTOVER = "line(s) with neither a payee nor an amount counted as non-money records"
REDACTED_LINES = "line(s) with a redacted or blank payee (one node per payer)"


def _blank_records(raw: pl.DataFrame, amount: str, payee: str) -> tuple[pl.Series, pl.Series]:
    """Records whose every field is blank, and records with neither a payee nor an amount (page numbers
    and other leftovers of a PDF conversion): neither carries money."""
    maybe = raw[amount].fill_null("").str.strip_chars() == ""
    blank = pl.Series("b", [False] * raw.height, dtype=pl.Boolean)
    nobody = maybe & (raw[payee].fill_null("").str.strip_chars() == "")
    if maybe.any():
        where = maybe.arg_true()
        blank = blank.scatter(where, raw[where].select(all_blank(raw).alias("b"))["b"])
    return blank, nobody & ~blank


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


#: What the note on a file whose payer --payer/--sources named, beside its own payer column, counts.
PAYER_NAMED = "file(s) whose paying body --payer/--sources named, their own paying-body column kept as extra"
#: What the note on columns titled like graphflows' own counts.
RENAMED_COLUMNS = "column(s) titled like graphflows' own, kept as <name>_in_file"
#: The note for a file with no date column (the same words for every file).
UNDATED = "flow(s) undated: the file has no date column"
UNDATED_DETAIL = " (--financial-year leaves them out; name its date column with --column 'GLOB=date:TITLE')"


def _payment_sheets(sheets: Sheets, source: str, settings: SourceSettings) -> tuple[list[Sheet], list[str]]:
    """The sheets read as payments, and notes naming them (and those set aside).

    A sheet with a spend header but no date or transaction-number column, beside sheets that have one,
    is a summary ('Summary by supplier': supplier totals), not payments: it is set aside with a note.
    """
    dated = [s for s in sheets.read if _has_field(s.titles, settings, "date", "reference")]
    kept = dated or sheets.read
    aside = [s for s in sheets.read if s not in kept]
    notes: list[str] = [sheets_note(source, kept, sheets.others)]
    if aside:
        payments = ", ".join(s.name for s in kept)
        notes.append(
            f"{source}: sheet(s) NOT read: {'; '.join(_sheet_summary(s, settings) for s in aside)}: no date "
            f"or transaction number column, as a summary beside the payments ({payments}) has, so its money "
            "is not counted again; to read such a sheet, save it as a CSV file of its own"
        )
    return kept, notes


def _has_field(titles: Iterable[str], settings: SourceSettings, *fields: str) -> bool:
    """Whether a header has a column for any of ``fields`` (by the user's --column titles or ours)."""
    keys = {header_key(t) for t in titles}
    named = _override_keys(settings)
    return any(named[f] in keys if f in named else bool(keys & _KEYS[f]) for f in fields)


def _sheet_summary(sheet: Sheet, settings: SourceSettings) -> str:
    """``Summary by supplier (20 row(s), GBP 9,735,148.81; columns: Supplier Name, Amount)``: the money
    of its lines, its Total lines left out (:func:`_total_lines`, as in the payments)."""
    chosen = _choose(sheet.frame, settings, sheet.name)
    amount, payee = chosen["amount"], chosen["payee_name"]
    money = ""
    if amount:
        minor, _ = parse_amounts(sheet.frame[amount])
        if payee:
            minor = minor.filter(~_total_lines(sheet.frame, payee, amount))
        money = f", {money_words(int(minor.sum() or 0), DEFAULT_CURRENCY)}"
    return f"{sheet.name} ({sheet.frame.height:,} row(s){money}; columns: {', '.join(sheet.frame.columns)})"


@dataclass(frozen=True)
class _Table:
    """A spend file's records as text columns, before any field is read: each record's position (line or
    ``Sheet!row``), the header's line, per-record CSV problems, the notes on how it was read, and the
    column separator of a CSV (``,``, ``;`` or a tab; None for a workbook)."""

    frame: pl.DataFrame
    lines: pl.Series
    header_at: str
    notes: list[str]
    problems: pl.Series | None = None
    encoding_note: str | None = None
    separator: str | None = None


def _workbook_table(data: bytes, source: str, settings: SourceSettings) -> _Table:
    """Every sheet of a workbook with a spend header (one sheet per month is common), summaries set aside."""
    date_keys = {_override_keys(settings).get("date")} - {None} or _KEYS["date"]
    try:
        sheets = read_sheets(
            data,
            source,
            lambda titles: _looks_like_header(titles, settings),
            date_titles=lambda title: header_key(title) in date_keys,
            what="a spend header row (a supplier and an amount column)",
            every_sheet=True,
        )
    except InputError:
        if settings.columns:  # the named titles are what is missing: say which, and what is there
            _missing_named_columns(source, map(sorted, header_rows(data, source)), settings)
        raise
    chosen, notes = _payment_sheets(sheets, source, settings)
    frame, lines = stacked(chosen)
    return _Table(frame, lines, "1", notes)


#: What the note on a CSV separated by semicolons or tabs counts (``file(s) read as semicolon-separated``).
SEPARATED = "file(s) read as {}-separated"


def _csv_table(data: bytes, source: str, settings: SourceSettings) -> _Table:
    """A spend CSV below its header line (found among the first lines), separated by commas, or by
    semicolons or tabs when its header line says so (:func:`parsing.line_separator`), with a note."""
    head = data[:65536].decode("utf-8-sig", errors="replace")
    found = find_header(head, lambda titles: _looks_like_header(titles, settings), normalise=False)
    if found is None and settings.columns:
        rows = [split_csv_line(line, line_separator(line)) for line in head.splitlines()[:HEADER_SEARCH]]
        _missing_named_columns(source, rows, settings)
    if found is None:
        raise InputError(
            f"{source}:1: not a spend file: no header row with a supplier and an amount column "
            "(e.g. Date, Supplier, Amount) in the first 20 lines"
            + (f" (named: {', '.join(settings.columns.values())})" if settings.columns else "")
        )
    header, separator = found
    table = read_csv_bytes(source, data, header_line=header, separator=separator)
    notes: list[str] = []
    if separator != ",":
        called = SEPARATORS[separator]
        text = f"{source}: columns separated by {called}s, not commas: read as {called}-separated"
        notes.append(FileNote(text, source, SEPARATED.format(called), 1))
    return _Table(table.frame, table.lines, str(header + 1), notes, table.problems, table.note, separator)


#: What the note on amounts written with decimal commas counts (the same words for every file).
DECIMAL_COMMAS = "file(s) whose amounts have decimal commas (1.234,56), read as such"


def _amounts(values: pl.Series, table: _Table, source: str, notes: list[str]) -> tuple[pl.Series, pl.Series]:
    """Exact minor units and problems (:func:`parsing.parse_amounts`). In a CSV separated by semicolons
    or tabs whose amounts are written ``1.234,56`` (:func:`parsing.uses_decimal_commas`) they are read so,
    with a note; in any other file such an amount is refused, never misread."""
    if table.separator not in (None, ",") and uses_decimal_commas(values):
        text = f"{source}: amounts written with decimal commas (1.234,56): read as such"
        notes.append(FileNote(text, source, DECIMAL_COMMAS, 1))
        return parse_amounts(values, decimal_comma=True)
    return parse_amounts(values)


def read_bytes(data: bytes, source: str, settings: SourceSettings = NO_SETTINGS) -> FileRead:
    """Read spend-file bytes; ``source`` names the file (or ``archive.zip!member``) in flows and errors.

    ``settings`` may name the paying body (files that leave it implied) and which header holds which
    field (:data:`~graphflows.ingest.importer.OVERRIDE_FIELDS`).
    """
    if not data.strip():
        raise InputError(f"{source}: file is empty")

    table = (
        _workbook_table(data, source, settings)
        if is_workbook_data(data)
        else _csv_table(data, source, settings)
    )
    raw, lines, header_at, csv_problems = table.frame, table.lines, table.header_at, table.problems
    where = f"{source}:{header_at}"
    chosen = _choose(raw, settings, where)
    given_payer = bool(settings.payer_name or settings.payer_id)
    if not chosen["payee_name"] or not chosen["amount"]:
        wanted = {"payee_name": "Supplier", "amount": "Amount"}
        raise InputError(
            f"{where}: spend file has no {', '.join(wanted[m] for m in wanted if not chosen[m])} column "
            f"(found: {', '.join(raw.columns)}); name it with --column 'GLOB=payee:TITLE' (or amount:TITLE)"
        )
    if not chosen["payer_name"] and not chosen["payer_id"] and not given_payer:
        raise NoPayerError([UnnamedPayer(source, header_at, tuple(raw.columns))])
    notes: list[str] = list(table.notes)
    if given_payer:
        own = [c for c in (chosen["payer_name"], chosen["payer_id"]) if c]
        if own:
            named = settings.payer_name or settings.payer_id
            text = (
                f"{source}: paying body named by --payer/--sources ({named}); "
                f"the file's own {', '.join(own)} column(s) are kept as extra columns"
            )
            notes.append(FileNote(text, source, PAYER_NAMED, 1))
        chosen["payer_name"] = chosen["payer_id"] = None
    used = {c for c in chosen.values() if c}
    original = raw.columns
    # the file's columns under private names, so no title ('Payee Name', 'amount_minor') meets ours
    private = {title: f"_column_{i}" for i, title in enumerate(original)}
    col = {field: private[title] if title else None for field, title in chosen.items()}
    frame = raw.rename(private).with_columns(
        pl.Series("_line", lines),
        (csv_problems if csv_problems is not None else pl.lit(None, pl.String)).alias("_csv_problem"),
    )
    blank, leftovers = _blank_records(raw, chosen["amount"], chosen["payee_name"])
    totals = _total_lines(raw, chosen["payee_name"], chosen["amount"])
    readable = frame["_csv_problem"].is_null()  # a ragged record is rejected, whatever it holds
    #: each kind of non-money line (the kinds never overlap), so the notes add up to ``non_money``
    without_money = {
        NON_MONEY_BLANK: int((blank & readable).sum()),
        NON_MONEY_TOTAL: int((totals & readable).sum()),
        NON_MONEY_LEFTOVER: int((leftovers & readable).sum()),
    }
    blank = (blank | totals | leftovers) & readable
    non_money = int(blank.sum())
    kept_raw = raw
    if non_money:
        frame = frame.filter(~blank)
        kept_raw = raw.filter(~blank)

    minor, amount_problem = _amounts(frame[col["amount"]], table, source, notes)
    dates = (
        parse_dates(frame[col["date"]], label="date")
        if chosen["date"]
        else parse_dates(pl.Series([None] * frame.height, dtype=pl.String))
    )
    payer_name = (
        pl.col(col["payer_name"]).str.strip_chars()
        if chosen["payer_name"]
        else pl.lit(settings.payer_name, pl.String)
    )
    payer_id = _given_id(col["payer_id"], chosen["payer_id"])
    if given_payer:
        payer_id = pl.lit(settings.payer_id, pl.String)
    payee_name = pl.col(col["payee_name"]).str.strip_chars()
    frame = frame.with_columns(
        minor.alias("amount_minor"),
        amount_problem.alias("_amount_problem"),
        dates.date.alias("date"),
        dates.order.alias("date_order"),
        dates.problem.alias("_date_problem"),
        payer_name.alias("payer_name_given"),
        payee_name.alias("payee_name_given"),
        payer_id.alias("payer_id_given"),
        _given_id(col["payee_id"], chosen["payee_id"]).alias("payee_id_given"),
    )
    if chosen["company_number"] or chosen["charity_number"]:
        nothing = pl.Series([None] * frame.height, dtype=pl.String)
        numbers = [frame[c] if c else nothing for c in (col["charity_number"], col["company_number"])]
        frame = frame.with_columns(registered_ids(*numbers).alias("payee_other_ids"))
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("payee_other_ids"))
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
    ref = col["reference"]
    extras, renamed = _extra_names(original, used)
    if renamed:
        kept = ", ".join(f"{t!r} kept as {n}" for t, n in renamed.items())
        text = f"{source}: column(s) {kept}: graphflows uses these names for its own columns"
        notes.append(FileNote(text, source, RENAMED_COLUMNS, len(renamed)))
    flows = conform(
        good.select(
            "payer_id",
            "payer_name",
            pl.lit(Kind.COMMISSIONER.value).alias("payer_kind"),
            "payee_id",
            "payee_name",
            pl.lit(Kind.PROVIDER.value).alias("payee_kind"),
            "amount_minor",
            pl.lit(DEFAULT_CURRENCY).alias("currency"),
            "date",
            pl.lit(None, pl.String).alias("stream_id"),
            (pl.col(ref).str.strip_chars() if ref else pl.lit(None, pl.String)).alias("reference"),
            pl.lit(source).alias("source"),
            pl.col("_line").cast(pl.String).alias("line"),
            *[
                pl.col(col[f]).str.strip_chars().alias(f)
                for f in ("expense_area", "expense_type")
                if chosen[f]
            ],
            "date_order",
            "payee_redacted",
            "payer_id_given",
            "payer_name_given",
            "payee_id_given",
            "payee_name_given",
            "payee_other_ids",
            *[pl.col(private[c]).alias(n) for c, n in extras.items()],
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
                    pl.format("missing paying body ({})", pl.lit(chosen["payer_name"] or "--payer"))
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
    notes += [n for n in (table.encoding_note, dates.note and f"{source}: {dates.note}") if n]
    if not chosen["date"] and good.height:
        notes.append(FileNote.of(source, good.height, UNDATED, detail=UNDATED_DETAIL))
    notes += [FileNote.of(source, count, kind) for kind, count in without_money.items() if count]
    redacted = int(good["_redacted"].sum()) if good.height else 0
    if redacted:
        notes.append(FileNote.of(source, redacted, REDACTED_LINES))
    return FileRead(source, FORMAT, flows, rejects, records_read=raw.height, non_money=non_money, notes=notes)


IMPORTER = Importer(
    FORMAT,
    sniff,
    read_bytes,
    "transparency spend files (CSV, TSV, XLSX, XLS, ODS): NHS, councils (LGTC), GLA, TfL, departments",
    uses_settings=True,
)
