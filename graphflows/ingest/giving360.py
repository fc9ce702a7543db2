"""360Giving grants data (https://standard.threesixtygiving.org) as CSV, workbooks (XLSX, XLS, ODS) or JSON.

Each grant is one flow: ``Funding Org`` (commissioner) -> ``Recipient Org`` (provider), ``Amount
Awarded`` in ``Currency`` on ``Award Date``, ``Identifier`` as the reference. ``Grant Programme`` is the
funding stream, one per funder and programme (``stream_id`` = ``<funder id> / <programme title>``); a
file without programme columns has no streams. Column titles are matched case- and space-insensitively
(``Grant Programme: Title`` == ``Grant Programme:Title``) and may carry repeat indexes
(``Funding Org:1:Identifier``): index 0 is the funder, recipient and programme; further co-funders and
programmes are kept in ``co_funders`` and ``grant_programmes``. Every other column is kept as text.

A recipient's ``Charity Number`` and ``Company Number`` are kept as extra identifiers
(``payee_other_ids``) so a charitable company is one node whichever number another file uses.
Grants to individuals (``Recipient Ind:…``) are read the same way. XLSX dates may be date cells, ISO text
or Excel serial numbers (``44138`` = 2020-11-03).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, check_readable, conform, empty_rejects
from graphflows.ingest.importer import NO_SETTINGS, Importer, Sample, SourceSettings
from graphflows.ingest.parsing import (
    all_blank,
    decode_text,
    parse_amounts,
    parse_dates,
    read_csv_text,
    title_index,
)
from graphflows.ingest.sides import canonical_ids, funder_and_recipient, provisional_id, registered_ids
from graphflows.ingest.workbook import is_workbook_data, read_sheets, sheets_note, stacked
from graphflows.model import InputError
from graphflows.model.notes import FileNote

FORMAT = "360giving"
#: The note on blank records (the same words for every file, so many files' notes combine into one).
BLANK_RECORDS = "blank record(s) (every field empty) counted as non-money records"

#: Canonical titles (normalised) the importer uses.
ID, AMOUNT, CURRENCY, AWARD_DATE = "identifier", "amount awarded", "currency", "award date"
FUNDER_ID, FUNDER_NAME = "funding org:identifier", "funding org:name"
RECIPIENT_ID, RECIPIENT_NAME = "recipient org:identifier", "recipient org:name"
CHARITY, COMPANY = "recipient org:charity number", "recipient org:company number"
IND_ID, IND_NAME = "recipient ind:identifier", "recipient ind:name"
PROGRAMME_TITLE, PROGRAMME_CODE = "grant programme:title", "grant programme:code"
USED = (ID, AMOUNT, CURRENCY, AWARD_DATE, FUNDER_ID, FUNDER_NAME, RECIPIENT_ID, RECIPIENT_NAME, CHARITY,
        COMPANY, IND_ID, IND_NAME, PROGRAMME_TITLE, PROGRAMME_CODE)  # fmt: skip

#: JSON property paths -> flattened 360Giving titles (the standard's own titles).
_JSON_TITLES = {
    "id": "Identifier", "title": "Title", "description": "Description", "currency": "Currency",
    "amountAwarded": "Amount Awarded", "amountAppliedFor": "Amount Applied For",
    "amountDisbursed": "Amount Disbursed", "awardDate": "Award Date", "dateModified": "Last modified",
    "dataSource": "Data Source", "fromOpenCall": "From an open call?",
    "recipientOrganization": "Recipient Org", "recipientIndividual": "Recipient Ind",
    "fundingOrganization": "Funding Org", "grantProgramme": "Grant Programme",
    "beneficiaryLocation": "Beneficiary Location", "plannedDates": "Planned Dates",
    "name": "Name", "charityNumber": "Charity Number", "companyNumber": "Company Number",
    "department": "Department", "code": "Code", "url": "URL",
    "startDate": "Start Date", "endDate": "End Date",
    "duration": "Duration (months)", "addressLocality": "City", "addressCountry": "Country",
    "postalCode": "Postal Code", "streetAddress": "Street Address", "addressRegion": "County",
    "countryCode": "Country Code", "geoCode": "Geographic Code", "geoCodeType": "Geographic Code Type",
}  # fmt: skip


def sniff(sample: Sample) -> bool:
    """360Giving CSV or workbook (an ``Amount Awarded`` title) or JSON (a ``grants`` array)."""
    if sample.is_workbook:
        return any(AMOUNT in {title_index(t)[0] for t in titles} for titles in sample.header_rows)
    if is_workbook_data(sample.head):
        return False
    text = sample.head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text[:1] in ("{", "["):
        return bool(re.search(r'"grants"\s*:', text[:4000])) and not re.search(
            r'"(releases|records)"\s*:', text
        )
    first = text.splitlines()[0] if text else ""
    titles = {title_index(t)[0] for t in first.split(",")}
    return AMOUNT in titles and (FUNDER_ID in titles or RECIPIENT_ID in titles or ID in titles)


def read(path: Path) -> FileRead:
    """Read a 360Giving file from disk (CSV, workbook or JSON, by content)."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path))


def read_bytes(data: bytes, source: str, settings: SourceSettings = NO_SETTINGS) -> FileRead:
    """Read 360Giving bytes; ``source`` names the file in flows and errors."""
    if is_workbook_data(data):
        sheets = read_sheets(
            data,
            source,
            lambda titles: AMOUNT in {title_index(t)[0] for t in titles},
            date_titles=lambda title: title_index(title)[0] == AWARD_DATE,
            what="an 'Amount Awarded' column (not 360Giving data)",
        )
        frame, lines = stacked(sheets.read)
        return _grants(frame, lines, frame, source, [sheets_note(source, sheets.read, sheets.others)])
    text, note = decode_text(source, data)
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{source}: file is empty")
    if stripped[:1] in ("{", "["):
        frame, lines, records = _json_table(text, source)
        return _grants(frame, lines, records, source, [note] if note else [])
    table = read_csv_text(source, text)
    return _grants(
        table.frame, table.lines.cast(pl.String), table.frame, source, [note] if note else [], table.problems
    )


# ---------------------------------------------------------------------------------------------- tables


def _flatten(value: object, prefix: str, out: dict[str, str]) -> None:
    """360Giving JSON as flattened titles: ``fundingOrganization[0].id`` -> ``Funding Org:Identifier``."""
    if isinstance(value, dict):
        for key, item in value.items():
            title = _JSON_TITLES.get(key, key)
            if key == "id":
                title = "Identifier"
            _flatten(item, f"{prefix}:{title}" if prefix else title, out)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            out[prefix] = ";".join(_scalar(v) for v in value)
            return
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}:{index}" if index else prefix, out)
    else:
        out[prefix] = _scalar(value)


def _scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _json_table(text: str, source: str) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    try:
        return _json_grants(text, source)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply to be 360Giving data") from None


#: A JSON file whose grants use more distinct fields than this, times grants, is refused (each field is
#: a column: a file where every grant has keys of its own would otherwise need rows x fields of memory).
MAX_JSON_CELLS = 30_000_000


def _json_grants(text: str, source: str) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    grants = doc.get("grants") if isinstance(doc, dict) else None
    if not isinstance(grants, list):
        raise InputError(f"{source}: not 360Giving JSON (expected an object with a 'grants' array)")
    rows, positions, records = [], [], []
    for i, grant in enumerate(grants):
        flat: dict[str, str] = {}
        if not isinstance(grant, dict):
            raise InputError(f"{source}: grants[{i}] is not a JSON object (a grant)")
        _flatten(grant, "", flat)
        rows.append(flat)
        positions.append(f"grants[{i}]")
        records.append(json.dumps(grant, ensure_ascii=False, default=str))
    titles: dict[str, None] = {}
    for flat in rows:
        titles.update(dict.fromkeys(flat))
    if len(titles) * len(rows) > MAX_JSON_CELLS:
        raise InputError(
            f"{source}: {len(rows):,} grants use {len(titles):,} different fields (too many to tabulate: "
            f"at most {MAX_JSON_CELLS:,} grants x fields); 360Giving grants share the standard's fields"
        )
    frame = pl.DataFrame(
        {t: pl.Series(t, [r.get(t, "") for r in rows], dtype=pl.String) for t in titles},
        schema={t: pl.String for t in titles},
    )
    if not titles:
        frame = pl.DataFrame({"_": pl.Series([""] * len(rows), dtype=pl.String)})
    return frame, pl.Series("line", positions, dtype=pl.String), pl.DataFrame({"record": records})


# ---------------------------------------------------------------------------------------------- grants


def _column(frame: pl.DataFrame, by_title: dict[tuple[str, int], str], title: str, index: int = 0) -> pl.Expr:
    col = by_title.get((title, index))
    if col is None:
        return pl.lit(None, pl.String)
    stripped = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _grants(
    raw: pl.DataFrame,
    lines: pl.Series,
    records: pl.DataFrame,
    source: str,
    notes: list[str],
    problems: pl.Series | None = None,
) -> FileRead:
    """Grants (one row per record, as text) as flows and rejects; blank records are counted in a note."""
    by_title = _columns_by_title(raw, source)
    blank = raw.select(all_blank(raw).alias("b"))["b"]
    if problems is not None:
        blank = blank & problems.is_null()
    frame = raw.with_columns(
        lines.alias("_line"),
        (problems if problems is not None else pl.lit(None, pl.String)).alias("_csv_problem"),
    ).filter(~blank)
    kept_records = records.filter(~blank)
    frame, optional = _sides(frame, by_title, source, notes)
    frame = _checked(frame, by_title, source, notes)
    bad_mask = frame["_reason"].is_not_null()
    extras = [col for col in raw.columns if title_index(col)[0] not in USED or title_index(col)[1] > 0]
    flows = _grant_flows(frame.filter(~bad_mask), source, [*optional, *extras])
    rejects = empty_rejects()
    if bad_mask.any():
        rejects = _grant_rejects(frame.filter(bad_mask), kept_records.filter(bad_mask), raw, source)
    if blank.any():  # every non-money record is accounted for in a note
        notes.append(FileNote.of(source, int(blank.sum()), BLANK_RECORDS))
    return FileRead(
        source, FORMAT, flows, rejects, records_read=raw.height, non_money=int(blank.sum()), notes=notes
    )


def _columns_by_title(raw: pl.DataFrame, source: str) -> dict[tuple[str, int], str]:
    """Each (standard title, repeat index) -> the first column with it; refuses a file without an amount or
    a funder column."""
    by_title: dict[tuple[str, int], str] = {}
    for col in raw.columns:
        by_title.setdefault(title_index(col), col)
    if (AMOUNT, 0) not in by_title:
        raise InputError(
            f"{source}:1: not 360Giving data: no 'Amount Awarded' column "
            f"(found: {', '.join(raw.columns[:12])})"
        )
    if (FUNDER_ID, 0) not in by_title and (FUNDER_NAME, 0) not in by_title:
        raise InputError(
            f"{source}:1: 360Giving data without a 'Funding Org:Identifier' or 'Funding Org:Name' column"
        )
    return by_title


def _sides(
    frame: pl.DataFrame, by_title: dict[tuple[str, int], str], source: str, notes: list[str]
) -> tuple[pl.DataFrame, list[str]]:
    """Funder and recipient ids and names (given and provisional), programme, reference, recipient type,
    co-funders; and the optional columns added (``co_funders``, ``grant_programmes``)."""
    c = lambda title, index=0: _column(frame, by_title, title, index)  # noqa: E731
    frame = frame.with_columns(
        c(FUNDER_ID).alias("payer_id_given"),
        c(FUNDER_NAME).alias("payer_name_given"),
        pl.coalesce(c(RECIPIENT_ID), c(IND_ID)).alias("payee_id_given"),
        pl.coalesce(c(RECIPIENT_NAME), c(IND_NAME)).alias("payee_name_given"),
        c(CHARITY).alias("_charity"),
        c(COMPANY).alias("_company"),
        c(CURRENCY).str.to_uppercase().alias("_currency"),
        pl.coalesce(c(PROGRAMME_TITLE), c(PROGRAMME_CODE)).alias("_programme"),
        c(ID).alias("reference"),
        pl.when(c(IND_ID).is_not_null() & c(RECIPIENT_ID).is_null())
        .then(pl.lit("individual"))
        .alias("recipient_type"),
    )
    optional = []
    co_funders = [i for (t, i) in by_title if t == FUNDER_ID and i > 0]
    programmes = sorted(i for (t, i) in by_title if t == PROGRAMME_TITLE)
    if co_funders:
        frame = frame.with_columns(_joined([c(FUNDER_ID, i) for i in sorted(co_funders)]).alias("co_funders"))
        notes.append(
            f"{source}: some grants name co-funders; the first funder is the payer, the others are kept"
        )
        optional.append("co_funders")
    if len(programmes) > 1:
        frame = frame.with_columns(
            _joined([c(PROGRAMME_TITLE, i) for i in programmes]).alias("grant_programmes")
        )
        optional.append("grant_programmes")
    frame = frame.with_columns(
        pl.Series("payer_id_given", canonical_ids(frame["payer_id_given"])),
        pl.Series("payee_id_given", canonical_ids(frame["payee_id_given"])),
        registered_ids(frame["_charity"], frame["_company"]).alias("payee_other_ids"),
    )
    frame = frame.with_columns(
        provisional_id(frame, "payer_id_given", "payer_name_given").alias("payer_id"),
        provisional_id(frame, "payee_id_given", "payee_name_given").alias("payee_id"),
    )
    return frame, optional


def _checked(
    frame: pl.DataFrame, by_title: dict[tuple[str, int], str], source: str, notes: list[str]
) -> pl.DataFrame:
    """Amount, date and currency parsed, and ``_reason`` (null for a good grant) naming every problem."""
    minor, amount_problem = parse_amounts(frame[by_title[(AMOUNT, 0)]])
    dated = by_title.get((AWARD_DATE, 0))
    dates = parse_dates(
        frame[dated] if dated else pl.Series([None] * frame.height, dtype=pl.String), label="award date"
    )
    if dates.note:
        notes.append(f"{source}: {dates.note}")
    has_currency = (CURRENCY, 0) in by_title
    if not has_currency:
        notes.append(f"{source}: no Currency column; amounts read as GBP")
    currency = pl.col("_currency") if has_currency else pl.lit("GBP")
    reason = pl.concat_str(
        [
            pl.when(pl.col("payer_id").is_null()).then(
                pl.lit("missing Funding Org (identifier and name blank)")
            ),
            pl.when(pl.col("payee_id").is_null()).then(
                pl.lit("missing Recipient Org (identifier and name blank)")
            ),
            pl.col("_csv_problem"),
            pl.lit(amount_problem),
            pl.lit(dates.problem),
            pl.when(currency.is_null())
            .then(pl.lit("missing currency"))
            .when(~currency.str.contains(r"^[A-Z]{3}$"))
            .then(pl.format("currency {} is not a three-letter ISO 4217 code", currency)),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return frame.with_columns(
        minor.alias("amount_minor"),
        pl.lit(dates.date).alias("date"),
        currency.alias("currency"),
        pl.when(reason != "").then(reason).alias("_reason"),
    )


def _grant_flows(good: pl.DataFrame, source: str, kept: list[str]) -> pl.DataFrame:
    """The good grants as flows, keeping the ``kept`` columns (co-funders, programmes, the file's extras)."""
    return conform(
        good.select(
            *funder_and_recipient(),
            "amount_minor",
            "currency",
            "date",
            pl.when(pl.col("_programme").is_not_null())
            .then(pl.format("{} / {}", pl.col("payer_id"), pl.col("_programme")))
            .alias("stream_id"),
            "reference",
            pl.lit(source).alias("source"),
            pl.col("_line").cast(pl.String).alias("line"),
            pl.col("_programme").alias("programme"),
            "recipient_type",
            "payee_other_ids",
            "payer_id_given",
            "payer_name_given",
            "payee_id_given",
            "payee_name_given",
            *[pl.col(col) for col in kept],
        )
    )


def _grant_rejects(
    bad: pl.DataFrame, bad_records: pl.DataFrame, raw: pl.DataFrame, source: str
) -> pl.DataFrame:
    """The rejected grants with their reasons and records (as given, else the row as JSON)."""
    if "record" in bad_records.columns and bad_records.width == 1 and "record" not in raw.columns:
        record = bad_records["record"]
    else:
        from graphflows.ingest.base import records_as_json

        record = records_as_json(bad_records.select(raw.columns))
    return bad.select(
        pl.lit(source).alias("source"),
        pl.col("_line").cast(pl.String).alias("line"),
        pl.col("_reason").alias("reason"),
    ).with_columns(record.alias("record"))


def _joined(parts: list[pl.Expr]) -> pl.Expr:
    """Non-blank parts joined with ``;``; null when every part is blank."""
    joined = pl.concat_str(parts, separator=";", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


IMPORTER = Importer(FORMAT, sniff, read_bytes, "360Giving grants (CSV, XLSX, XLS, ODS, JSON)")
