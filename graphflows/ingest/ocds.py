"""Open Contracting Data Standard (OCDS 1.0/1.1) awards: buyer -> each awarded supplier.

Accepts a release package (``{"releases": [...]}``), a record package (``{"records": [...]}``), a JSON
list of packages, a bare record (``{"ocid", "compiledRelease" / "releases"}``) or a bare release, and
JSON Lines files holding any of these one per line (OCDS bulk downloads).
Records are read from their ``compiledRelease`` (else their embedded releases). When one file holds
several versions of the same award (same ``ocid`` and award ``id``), the latest release wins and the
older versions are counted as non-money records, so an award is never counted twice. Across files,
:func:`graphflows.ingest.repeats.drop_repeated_releases` does the same (a release found again, an award
updated by a later release in another file) from ``FileRead.versions``: each release's date and content
digest, and the release each award was counted from.

Parties are resolved inside their own release (supplier ids such as ``"1"`` are only unique there).
An organisation's id is its ``identifier`` (scheme + id, e.g. ``GB-COH-01234567``) or one of its
``additionalIdentifiers``; otherwise it is matched by name. Names are HTML-unescaped (``L&amp;Q``).

**Amounts.** Each awarded supplier is one record:

* a per-supplier value where one is given (Contracts Finder's ``x_awardValue`` on the party, or an award
  with a single supplier): ``value_basis`` = ``supplier`` / ``award``;
* an award value **shared** by several suppliers with no per-supplier value (a framework or dynamic
  purchasing system ceiling) is *not a payment to any one of them* and is never counted per supplier:
  each supplier gets a flow of amount **0** flagged ``shared_award_value=yes``, ``value_basis=shared``,
  with the whole ``award_value`` and ``award_suppliers`` (how many share it) as attributes. Totals
  therefore leave shared ceilings out; the file's notes give their sum once per award;
* an award with no value, no suppliers, or status ``cancelled``/``unsuccessful`` carries no money: counted
  as non-money records. Amounts keep their currency.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from graphflows.ingest.base import FileRead, Versions, check_readable, conform, empty_rejects
from graphflows.ingest.importer import NO_SETTINGS, Importer, Sample, SourceSettings
from graphflows.ingest.orgids import normalise_org_id
from graphflows.ingest.parsing import decode_text, number_to_minor, parse_dates
from graphflows.ingest.sides import funder_and_recipient, provisional_id
from graphflows.model import InputError
from graphflows.model.money import format_minor
from graphflows.model.notes import FileNote

FORMAT = "ocds"
#: What the file's notes count (the same words for every file, so many files' notes combine into one).
UNDATED = (
    "award-supplier record(s) undated (no award date, contract dateSigned or contract period start); the "
    "release's publication date is never used"
)
SUPERSEDED = "award-supplier record(s) superseded by a later release of the same award"
SHARED = "award(s) with one value shared by several suppliers (framework ceilings)"
SHARED_ZERO = "award(s) shared by several suppliers with a value of 0 (no ceiling stated)"
SHARED_DETAIL = "; not counted per supplier: their flows have amount 0 and shared_award_value=yes"
NO_MONEY = (
    "record(s) with no money (releases without awards or with linked releases only; awards cancelled, "
    "unsuccessful, or without suppliers or value) counted as non-money records"
)
NO_MONEY_STATUSES = {"cancelled", "unsuccessful"}
#: Without a ``buyer``, the party paying is the first party with one of these roles.
PAYER_ROLES = ("buyer", "procuringEntity", "payer", "funder")


def sniff(sample: Sample) -> bool:
    """JSON mentioning ``ocid`` (releases, records, packages of either)."""
    text = sample.head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    return (text[:1] in ("{", "[") and '"ocid"' in text) or bool(
        re.search(r'"(releases|records)"\s*:\s*\[', text)
    )


def read(path: Path) -> FileRead:
    """Read one OCDS JSON file from disk."""
    check_readable(path)
    return read_bytes(path.read_bytes(), str(path))


@dataclass
class _Release:
    path: str
    release: dict
    order: int


def _releases(doc: object, source: str) -> tuple[list[_Release], int]:
    """Every release to read with its path; and how many records had only linked releases (no data)."""
    found: list[_Release] = []
    linked_only = 0

    def add(release: object, path: str) -> None:
        if isinstance(release, dict):
            found.append(_Release(path, release, len(found)))

    def package(pkg: object, prefix: str) -> None:
        nonlocal linked_only
        if not isinstance(pkg, dict):
            raise InputError(
                f"{source}: {prefix.rstrip('.') or 'top level'} is not a JSON object "
                "(expected an OCDS package)"
            )
        if isinstance(pkg.get("releases"), list) and "ocid" not in pkg:
            for i, r in enumerate(pkg["releases"]):
                add(r, f"{prefix}releases[{i}]")
        elif isinstance(pkg.get("records"), list):
            for i, rec in enumerate(pkg["records"]):
                record(rec, f"{prefix}records[{i}]")
        elif "ocid" in pkg and ("compiledRelease" in pkg or isinstance(pkg.get("releases"), list)):
            record(pkg, prefix.rstrip("."))
        elif "ocid" in pkg:
            add(pkg, prefix.rstrip(".") or "release")
        else:
            raise InputError(
                f"{source}: {prefix.rstrip('.') or 'top level'} is not OCDS data "
                "(no 'releases', 'records' or 'ocid')"
            )

    def record(rec: object, path: str) -> None:
        nonlocal linked_only
        if not isinstance(rec, dict):
            raise InputError(f"{source}: {path} is not a JSON object (expected an OCDS record)")
        sep = "." if path else ""
        if isinstance(rec.get("compiledRelease"), dict):
            add(rec["compiledRelease"], f"{path}{sep}compiledRelease")
            return
        embedded = [
            (i, r)
            for i, r in enumerate(rec.get("releases") or [])
            if isinstance(r, dict) and ("awards" in r or "parties" in r or "buyer" in r)
        ]
        if not embedded:
            linked_only += 1
        for i, r in embedded:
            r.setdefault("ocid", rec.get("ocid"))
            add(r, f"{path}{sep}releases[{i}]")

    if isinstance(doc, list):
        for i, item in enumerate(doc):
            package(item, f"[{i}].")
    else:
        package(doc, "")
    return found, linked_only


def _json_lines(text: str, source: str) -> tuple[list[_Release], int]:
    """JSON Lines (one package, record or release per line, as in OCDS bulk downloads).

    Record paths start with the line number: ``12:releases[0].awards[0].suppliers[1]``.
    """
    found: list[_Release] = []
    linked_only = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}:{number}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        releases, linked = _releases(doc, f"{source}:{number}")
        linked_only += linked
        for rel in releases:
            found.append(_Release(f"{number}:{rel.path}", rel.release, len(found)))
    return found, linked_only


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = html.unescape(html.unescape(str(value))).strip()
    return text or None


def _party_ids(party: dict) -> list[str]:
    """Org-ids of a party: its identifier then additional identifiers (``scheme-id``)."""
    ids = []
    for ident in [party.get("identifier"), *(party.get("additionalIdentifiers") or [])]:
        if not isinstance(ident, dict):
            continue
        scheme, local = _text(ident.get("scheme")), _text(ident.get("id"))
        if scheme and local:
            org = normalise_org_id(
                local if local.upper().startswith(scheme.upper() + "-") else f"{scheme}-{local}"
            )
            if org and org not in ids:
                ids.append(org)
    return ids


def _money(value: object) -> tuple[int | None, str | None, str | None]:
    """(minor units, currency, problem) of an OCDS Value object; (None, None, None) when absent."""
    if not isinstance(value, dict) or value.get("amount") is None:
        return None, None, None
    currency = _text(value.get("currency"))
    try:
        minor = number_to_minor(value["amount"])
    except ValueError as exc:
        return None, currency, str(exc)
    if not currency:
        return minor, None, "value has an amount but no currency"
    currency = currency.upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        return minor, currency, f"currency {currency} is not a three-letter ISO 4217 code"
    return minor, currency, None


def read_bytes(data: bytes, source: str, settings: SourceSettings = NO_SETTINGS) -> FileRead:
    """Read OCDS JSON bytes; ``source`` names the file in flows and errors."""
    text, note = decode_text(source, data)
    if not text.strip():
        raise InputError(f"{source}: file is empty")
    releases, linked_only = _parse(text, source)
    versions = Versions(releases=_release_versions(releases))
    latest = _latest_awards(releases, versions)
    tally = _Tally(non_money=linked_only)
    for rel in releases:
        _read_release(rel, latest, tally)
    notes = [note] if note else []
    notes += [FileNote.of(source, *counted) for counted in tally.counts() if counted[0]]
    flows = _flows(tally.rows, source)
    reject_frame = _reject_frame(tally.rejects, source)
    return FileRead(
        source,
        FORMAT,
        flows,
        reject_frame,
        records_read=flows.height + reject_frame.height + tally.non_money,
        non_money=tally.non_money,
        notes=notes,
        versions=versions,
    )


def _parse(text: str, source: str) -> tuple[list[_Release], int]:
    """The releases in a JSON document or JSON Lines text, and how many records had only linked releases."""
    try:
        doc = json.loads(text, parse_float=Decimal)
        return _releases(doc, source)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise InputError(
                f"{source}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        try:
            return _json_lines(text, source)
        except RecursionError:
            raise InputError(f"{source}: JSON nested too deeply") from None
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None


def _latest_awards(releases: list[_Release], versions: Versions) -> dict[tuple[str, str], tuple[str, int]]:
    """(release date, order) of the latest release of each (ocid, award id); records it in ``versions``."""
    latest: dict[tuple[str, str], tuple[str, int]] = {}
    for rel in releases:
        r = rel.release
        for award in r.get("awards") or []:
            if isinstance(award, dict) and award.get("id") is not None:
                key = (str(r.get("ocid")), str(award["id"]))
                stamp = (str(r.get("date") or ""), rel.order)
                if key not in latest or stamp >= latest[key]:
                    latest[key] = stamp
                    versions.awards[key] = (stamp[0], str(r["id"]) if r.get("id") is not None else None)
    return latest


@dataclass
class _Tally:
    """Flow rows, rejects and the counts behind a file's notes, gathered release by release."""

    non_money: int = 0
    superseded: int = 0
    shared_awards: int = 0
    shared_zero: int = 0
    shared_totals: dict[str, int] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)

    def count_shared(self, minor: int, currency: str | None) -> None:
        """Count an award whose one value several suppliers share (a ceiling, or 0 when none is stated)."""
        if minor:
            self.shared_awards += 1
            self.shared_totals[currency or "?"] = self.shared_totals.get(currency or "?", 0) + minor
        else:
            self.shared_zero += 1

    def counts(self) -> tuple[tuple[int, str, dict[str, int] | None, str], ...]:
        """(count, what, totals, detail) for each note the file may get."""
        undated = sum(1 for row in self.rows if row["date_basis"] is None)
        return (
            (undated, UNDATED, None, ""),
            (self.superseded, SUPERSEDED, None, ""),
            (self.shared_awards, SHARED, self.shared_totals, SHARED_DETAIL),
            (self.shared_zero, SHARED_ZERO, None, "; their flows have amount 0 and shared_award_value=yes"),
            (self.non_money - self.superseded, NO_MONEY, None, ""),
        )


@dataclass
class _Context:
    """What every award of one release shares: its parties, buyer, CPV code and tender title."""

    rel: _Release
    parties: dict[str, dict]
    buyer_name: str | None
    buyer_ids: list[str]
    cpv: str | None
    tender_title: str | None


def _context(rel: _Release) -> _Context:
    """The parties, buyer (by reference, else the first party in a payer role), CPV and tender title."""
    r = rel.release
    parties = {str(p.get("id")): p for p in r.get("parties") or [] if isinstance(p, dict)}
    buyer_ref = r.get("buyer") if isinstance(r.get("buyer"), dict) else None
    buyer_party = parties.get(str(buyer_ref.get("id"))) if buyer_ref else None
    if buyer_party is None:
        buyer_party = next(
            (
                p
                for role in PAYER_ROLES
                for p in parties.values()
                if isinstance(p.get("roles"), list) and role in p["roles"]
            ),
            None,
        )
    tender = r.get("tender") if isinstance(r.get("tender"), dict) else None
    items = (tender.get("items") or []) if tender else []
    cpv = next(
        (
            str(i["classification"].get("id"))
            for i in items
            if isinstance(i, dict)
            and isinstance(i.get("classification"), dict)
            and i["classification"].get("id")
        ),
        None,
    )
    return _Context(
        rel,
        parties,
        _text((buyer_ref or {}).get("name")) or _text((buyer_party or {}).get("name")),
        _party_ids(buyer_party) if buyer_party else [],
        cpv,
        _text(tender.get("title")) if tender else None,
    )


def _read_release(rel: _Release, latest: dict[tuple[str, str], tuple[str, int]], tally: _Tally) -> None:
    """Add one release's award-supplier flows and rejects to ``tally`` (a release without awards is
    counted as non-money)."""
    awards = rel.release.get("awards")
    if not isinstance(awards, list) or not awards:
        tally.non_money += 1
        return
    context = _context(rel)
    for a_index, award in enumerate(awards):
        apath = f"{rel.path}.awards[{a_index}]"
        if not isinstance(award, dict):
            tally.rejects.append({"line": apath, "reason": "award is not a JSON object", "record": award})
            continue
        _read_award(context, award, apath, latest, tally)


def _read_award(
    context: _Context, award: dict, apath: str, latest: dict[tuple[str, str], tuple[str, int]], tally: _Tally
) -> None:
    """Add one award's flows (one per supplier) to ``tally``, or count it as superseded or non-money."""
    r, rel = context.rel.release, context.rel
    suppliers = award.get("suppliers") if isinstance(award.get("suppliers"), list) else []
    key = (str(r.get("ocid")), str(award.get("id")))
    if award.get("id") is not None and latest.get(key) != (str(r.get("date") or ""), rel.order):
        tally.superseded += max(len(suppliers), 1)
        tally.non_money += max(len(suppliers), 1)
        return
    status = str(award.get("status") or "").lower()
    award_date = _award_date(award, r)
    minor, currency, problem = _money(award.get("value"))
    if not suppliers or status in NO_MONEY_STATUSES:
        tally.non_money += max(len(suppliers), 1)
        return
    per_supplier = []
    for s in suppliers:
        party = context.parties.get(str(s.get("id"))) if isinstance(s, dict) else None
        per_supplier.append(_money((party or {}).get("x_awardValue")) if party else (None, None, None))
    shared = len(suppliers) > 1
    if minor is None and problem is None and all(v[0] is None and v[2] is None for v in per_supplier):
        tally.non_money += len(suppliers)
        return
    if shared and minor is not None and any(v[0] is None for v in per_supplier):
        tally.count_shared(minor, currency)
    award_fields = _award_fields(context, award, status, award_date, minor, len(suppliers))
    for s_index, (supplier, own) in enumerate(zip(suppliers, per_supplier, strict=True)):
        spath = f"{apath}.suppliers[{s_index}]"
        record = {"award": {k: award.get(k) for k in ("id", "status", "date", "value")}, "supplier": supplier}
        if not isinstance(supplier, dict):
            tally.rejects.append({"line": spath, "reason": "supplier is not a JSON object", "record": record})
            continue
        row, reasons = _supplier_flow(context, supplier, own, (minor, currency, problem), shared)
        if reasons:
            tally.rejects.append({"line": spath, "reason": "; ".join(reasons), "record": record})
            continue
        tally.rows.append(award_fields | row | {"line": spath})


def _award_fields(
    context: _Context,
    award: dict,
    status: str,
    award_date: tuple[str, str | None],
    minor: int | None,
    suppliers: int,
) -> dict:
    """The columns every supplier's flow of one award shares: buyer, date, ids, titles, CPV, award value."""
    r = context.rel.release
    return {
        "payer_id_given": context.buyer_ids[0] if context.buyer_ids else None,
        "payer_name_given": context.buyer_name,
        "payer_other_ids": ";".join(context.buyer_ids[1:]) or None,
        "date_text": award_date[0],
        "date_basis": award_date[1],
        "reference": str(award.get("id")) if award.get("id") is not None else None,
        "ocid": str(r.get("ocid")) if r.get("ocid") is not None else None,
        "release_id": str(r.get("id")) if r.get("id") is not None else None,
        "award_title": _text(award.get("title")),
        "tender_title": context.tender_title,
        "cpv": context.cpv,
        "cpv_division": context.cpv[:2] if context.cpv else None,
        "award_status": status or None,
        "award_value": format_minor(minor) if minor is not None else None,
        "award_suppliers": str(suppliers),
    }


def _supplier_flow(
    context: _Context,
    supplier: dict,
    own: tuple[int | None, str | None, str | None],
    award_money: tuple[int | None, str | None, str | None],
    shared: bool,
) -> tuple[dict, list[str]]:
    """A supplier's own columns of a flow, and the reasons to reject it (none when it is a flow).

    The amount is the supplier's own value, else the award's (one supplier), else 0 (a shared award).
    """
    party = context.parties.get(str(supplier.get("id")))
    name = _text(supplier.get("name")) or _text((party or {}).get("name"))
    ids = _party_ids(party) if party else []
    reasons = []
    if not name and not ids:
        reasons.append(f"supplier {supplier.get('id')!r} has no name and is not among the release's parties")
    if not context.buyer_name and not context.buyer_ids:
        reasons.append("release has no buyer (no 'buyer', and no party with role buyer or procuringEntity)")
    own_minor, own_currency, own_problem = own
    minor, currency, problem = award_money
    if own_minor is not None or own_problem:
        amount, cur, why, basis = own_minor, own_currency, own_problem, "supplier"
    elif not shared:
        amount, cur, why, basis = minor, currency, problem, "award"
    else:
        amount, cur, why, basis = 0, currency, problem, "shared"
    if why:
        reasons.append(why)
    row = {
        "payee_id_given": ids[0] if ids else None,
        "payee_name_given": name,
        "payee_other_ids": ";".join(ids[1:]) or None,
        "amount_minor": amount,
        "currency": cur or "GBP",
        "value_basis": basis,
        "shared_award_value": "yes" if basis == "shared" else None,
        "supplier_sme": _flag((party or {}).get("sme")),
        "supplier_vco": _flag((party or {}).get("vco")),
    }
    return row, reasons


def _reject_frame(rejects: list[dict], source: str) -> pl.DataFrame:
    """The rejects as a frame (the record as JSON text)."""
    reject_frame = empty_rejects()
    if not rejects:
        return reject_frame
    return pl.DataFrame(
        {
            "source": [source] * len(rejects),
            "line": [r["line"] for r in rejects],
            "reason": [r["reason"] for r in rejects],
            "record": [json.dumps(r["record"], ensure_ascii=False, default=str) for r in rejects],
        },
        schema=reject_frame.schema,
    )


def _release_versions(releases: list[_Release]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(date, content digest) of each release with an ocid and an id."""
    return {
        (str(rel.release["ocid"]), str(rel.release["id"])): (
            str(rel.release.get("date") or ""),
            _digest(rel.release),
        )
        for rel in releases
        if rel.release.get("ocid") is not None and rel.release.get("id") is not None
    }


def _digest(release: dict) -> bytes:
    """A digest of a release's content (key order and JSON layout aside), to spot it in another file."""
    text = json.dumps(release, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


#: Where an award's date comes from, best first: (label, path inside the award or its contract).
DATE_SOURCES = (
    ("award date", ("award", "date")),
    ("contract dateSigned", ("contract", "dateSigned")),
    ("contract period start", ("contract", "period", "startDate")),
    ("award contractPeriod start", ("award", "contractPeriod", "startDate")),
)


def _award_date(award: dict, release: dict) -> tuple[str, str | None]:
    """(date text, which field it came from) for an award; ``("", None)`` when undated.

    An award without ``date`` takes its contract's ``dateSigned`` (the contract whose ``awardID`` is the
    award's id), then the contract's period start. Never the release date: that is when the data was
    published, often years after the award.
    """
    contracts = release.get("contracts") if isinstance(release.get("contracts"), list) else []
    contract = next(
        (
            c
            for c in contracts
            if isinstance(c, dict)
            and award.get("id") is not None
            and str(c.get("awardID")) == str(award["id"])
        ),
        {},
    )
    for label, (where, *path) in DATE_SOURCES:
        value: object = award if where == "award" else contract
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()[:10], label
    return "", None


def _flag(value: object) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return None


def _flows(rows: list[dict], source: str) -> pl.DataFrame:
    columns = [
        "payer_id_given", "payer_name_given", "payer_other_ids", "payee_id_given", "payee_name_given",
        "payee_other_ids", "currency", "date_text", "reference", "line", "ocid", "release_id", "award_title",
        "tender_title", "cpv", "cpv_division", "award_status", "value_basis", "award_value", "date_basis",
        "award_suppliers", "shared_award_value", "supplier_sme", "supplier_vco",
    ]  # fmt: skip
    frame = pl.DataFrame(
        {c: pl.Series(c, [r[c] for r in rows], dtype=pl.String) for c in columns}
        | {"amount_minor": pl.Series("amount_minor", [r["amount_minor"] for r in rows], dtype=pl.Int64)}
    )
    dates = parse_dates(frame["date_text"], label="award date")
    frame = frame.with_columns(
        provisional_id(frame, "payer_id_given", "payer_name_given").alias("payer_id"),
        provisional_id(frame, "payee_id_given", "payee_name_given").alias("payee_id"),
        pl.Series("date", dates.date),
    )
    return conform(
        frame.select(
            *funder_and_recipient(),
            "amount_minor",
            "currency",
            "date",
            pl.lit(None, pl.String).alias("stream_id"),
            "reference",
            pl.lit(source).alias("source"),
            "line",
            *[c for c in columns if c not in ("currency", "date_text", "reference", "line")],
        )
    )


IMPORTER = Importer(FORMAT, sniff, read_bytes, "OCDS contract awards (release/record packages, JSON Lines)")
