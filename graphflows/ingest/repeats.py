"""The same money read twice across files is counted once, and every time it happens a note says so.

Four kinds of repeat, from the coarsest:

* **the same bytes** (a download saved twice, ``April (1).csv``): the later file is not parsed at all
  (:class:`SeenBytes`); it is listed with 0 records and a note naming the file read;
* **a 360Giving grant identifier read again** (the same dataset as CSV and JSON, overlapping downloads):
  later copies are repeated records (non-money records when in the same file); copies that disagree with
  the one kept (amount, currency, recipient, funder or award date) get a note of their own
  (:func:`drop_repeated_grants`);
* **an OCDS release read again** (same ``ocid`` and release ``id``, from overlapping bulk downloads): the
  other copies are repeated records; a copy with different content gets a note of its own; and an award
  updated by a later release in another file is counted from the latest only, the older version's records
  being non-money records (:func:`drop_repeated_releases`);
* **a spend transaction read again** (a quarter's file and one of its months, a month published twice, a
  payment listed in two months' files): a line of a spend file with the same payer, supplier, transaction
  number, amount and currency as a line of an earlier file is a repeated record whatever its date; without
  transaction numbers, the same payer, supplier, date, amount and currency, where the two files overlap as
  publications do, whichever was read first (:func:`drop_repeated_transactions`); lines repeated *within*
  one file are kept (two equal payments on one day happen).

Repeated records (``FileRead.repeated``, with their money in ``repeated_amount``) are neither flows nor
non-money records: ``records_read = flows + rejected + non_money + repeated``. One copy is kept (the one
read first, or the latest OCDS release), so a total never counts one payment twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from graphflows.ingest import giving360, ocds, spend
from graphflows.ingest.base import FileRead, empty_rejects
from graphflows.ingest.importer import SourceSettings
from graphflows.model.money import money_words
from graphflows.model.notes import FileNote
from graphflows.model.schema import FLOW_COLUMNS, empty_flows

#: What the note on a file with the same bytes as one read before counts (the same words for every file).
SAME_BYTES = "file(s) with the same bytes as a file already read (each read once)"


class SeenBytes:
    """Digests of the bytes of every file read so far: a file with the same bytes as one read before is
    read once.

    >>> seen = SeenBytes()
    >>> read = lambda: FileRead("a.csv", "spend", empty_flows(), empty_rejects(), records_read=0)
    >>> seen.read_once(b"x", "a.csv", SourceSettings(), read).source
    'a.csv'
    >>> seen.read_once(b"x", "copy.csv", SourceSettings(), read).notes
    ['copy.csv: the same bytes as a.csv (read once)']
    """

    def __init__(self) -> None:
        self._first: dict[bytes, tuple[str, str, SourceSettings]] = {}

    def read_once(
        self, data: bytes, source: str, settings: SourceSettings, read: Callable[[], FileRead]
    ) -> FileRead:
        """``read()`` the bytes, unless the same bytes were read before: then an empty read with a note."""
        digest = hashlib.sha256(data).digest()
        first = self._first.get(digest)
        if first is None:
            result = read()
            self._first[digest] = (source, result.format, settings)
            return result
        first_source, format_, first_settings = first
        unused = "; its --payer/--column settings were not used" if settings != first_settings else ""
        return FileRead(
            source,
            format_,
            empty_flows(),
            empty_rejects(),
            records_read=0,
            notes=[
                FileNote(
                    f"{source}: the same bytes as {first_source} (read once{unused})", source, SAME_BYTES, 1
                )
            ],
        )


#: Fields two copies of one grant must agree on, with the words a note uses for them.
GRANT_FIELDS = {
    "amount_minor": "amount",
    "currency": "currency",
    "payee_id": "recipient",
    "payer_id": "funder",
    "date": "award date",
}


def drop_repeated_grants(reads: list[FileRead]) -> None:
    """A 360Giving grant identifier is globally unique: a grant read again is counted once (the copy read
    first); later copies become repeated records (non-money records within one file), and those that
    disagree with it are noted apart."""
    first = pl.DataFrame(
        schema={"reference": pl.String, "first_source": pl.String}
        | {f"{name}_first": FLOW_COLUMNS[name] for name in GRANT_FIELDS}
    )
    for read in reads:
        if read.format != giving360.FORMAT or read.flows.is_empty():
            continue
        refs = read.flows["reference"]
        again = refs.is_not_null() & (refs.is_in(first["reference"].implode()) | ~refs.is_first_distinct())
        kept = read.flows.filter(~again)
        first = pl.concat(
            [
                first,
                kept.filter(pl.col("reference").is_not_null()).select(
                    "reference",
                    pl.lit(read.source).alias("first_source"),
                    *[pl.col(name).alias(f"{name}_first") for name in GRANT_FIELDS],
                ),
            ]
        )
        if not again.any():
            continue
        repeats = read.flows.filter(again).join(first, on="reference", how="left")
        differs = [pl.col(name).ne_missing(pl.col(f"{name}_first")) for name in GRANT_FIELDS]
        repeats = repeats.with_columns(pl.any_horizontal(differs).alias("_differs"))
        same, other = repeats.filter(~pl.col("_differs")), repeats.filter(pl.col("_differs"))
        read.flows = kept
        elsewhere = repeats.filter(pl.col("first_source") != read.source)
        read.non_money += repeats.height - elsewhere.height
        count_repeated(read, elsewhere)
        if same.height:
            example = same.row(0, named=True)
            read.notes.append(
                f"{read.source}: {same.height} grant(s) already read (same 360Giving identifier, e.g. "
                f"{example['reference']} in {example['first_source']}); each grant is counted once"
            )
        if other.height:
            read.notes.append(_disagreeing_grants(read.source, other))


def _disagreeing_grants(source: str, other: pl.DataFrame) -> str:
    """The note for grants read again with a different amount, currency, recipient, funder or date."""
    example = other.row(0, named=True)
    fields = [word for name, word in GRANT_FIELDS.items() if example[name] != example[f"{name}_first"]]
    earlier = example["first_source"]

    def amount(suffix: str) -> str:
        return money_words(example["amount_minor" + suffix], example["currency" + suffix])

    return (
        f"{source}: {other.height} grant(s) already read with the same 360Giving identifier DIFFER from the "
        f"copy read first (amount, currency, recipient, funder or award date), e.g. {example['reference']} "
        f"(different {', '.join(fields)}): {amount('_first')} in {earlier}, {amount('')} in {source}; "
        f"the copy read first ({earlier}) is kept and {source}'s is not counted, so totals depend on the "
        "order of the files: check which file is current"
    )


@dataclass(frozen=True)
class _Copy:
    """One file's copy of an OCDS release: where it was read, its ``date`` and its content digest."""

    order: int
    read: FileRead
    date: str
    digest: bytes


def drop_repeated_releases(reads: list[FileRead]) -> None:
    """An OCDS release (``ocid`` + release ``id``) found in several files is counted once; the other copies'
    award-supplier records become repeated records.

    Identical copies: the copy read first is kept. Copies whose content differs: as with several
    versions of an award in one file, the one with the latest release ``date`` is kept (the copy read
    first when the dates are equal), and a note names both files and the money in each.
    """
    copies: dict[tuple[str, str], list[_Copy]] = {}
    for order, read in enumerate(reads):
        if read.format == ocds.FORMAT:
            for key, (date, digest) in read.versions.releases.items():
                copies.setdefault(key, []).append(_Copy(order, read, date, digest))
    set_aside: dict[int, list[tuple[tuple[str, str], _Copy, _Copy]]] = {}
    for key, found in copies.items():
        if len(found) > 1:
            kept = max(found, key=lambda c: (c.date, -c.order))
            for copy in found:
                if copy is not kept:
                    set_aside.setdefault(copy.order, []).append((key, copy, kept))
    for order, repeats in set_aside.items():
        _set_aside(reads[order], repeats)
    _drop_superseded_awards(reads)


def _drop_superseded_awards(reads: list[FileRead]) -> None:
    """An award (``ocid`` + award ``id``) counted from one release in a file and from an older release in
    another is counted from the latest release only (as within one file: by release date, the file read
    later when the dates are equal); the older version's records become non-money records."""
    latest: dict[tuple[str, str], tuple[str, int, str | None]] = {}
    for order, read in enumerate(reads):
        if read.format == ocds.FORMAT:
            for key, (date, release_id) in read.versions.awards.items():
                if key not in latest or (date, order) >= latest[key][:2]:
                    latest[key] = (date, order, release_id)
    for order, read in enumerate(reads):
        if read.format != ocds.FORMAT:
            continue
        older = [
            (key, date, latest[key])
            for key, (date, release_id) in read.versions.awards.items()
            if latest[key][1] != order and (release_id is None or release_id != latest[key][2])
        ]
        if not older:
            continue
        superseded = _keys(read.flows, "reference").is_in([_joined(key) for key, _, _ in older])
        count = int(superseded.sum())
        read.flows = read.flows.filter(~superseded)
        read.non_money += count
        if count:
            (ocid, award), date, (later, where, _) = older[0]
            read.notes.append(
                f"{read.source}: {count} award-supplier record(s) superseded by a later release of the same "
                f"award in another file (e.g. {ocid} award {award}: release date {later or '(none)'} in "
                f"{reads[where].source}, {date or '(none)'} here); only the latest is counted"
            )


def _set_aside(read: FileRead, repeats: list[tuple[tuple[str, str], _Copy, _Copy]]) -> None:
    """Move the flows of ``read``'s copies of repeated releases to its repeated records, with notes."""
    same = [r for r in repeats if r[1].digest == r[2].digest]
    other = [r for r in repeats if r[1].digest != r[2].digest]
    repeated = _keys(read.flows).is_in([_joined(key) for key, _, _ in repeats])
    moved = read.flows.filter(repeated)
    read.flows = read.flows.filter(~repeated)
    count_repeated(read, moved)
    if same:
        (ocid, release_id), _, kept = same[0]
        read.notes.append(
            f"{read.source}: {len(same)} release(s) already read (same ocid, release id and content, "
            f"e.g. {ocid} release {release_id} in {kept.read.source}); each release is counted once "
            f"({_count(moved, same)} award-supplier record(s) here not counted)"
        )
    if other:
        (ocid, release_id), copy, kept = other[0]
        there = _money(kept.read.flows, (ocid, release_id))
        here = _money(moved, (ocid, release_id))
        why = (
            f"its release date {kept.date or '(none)'} is later than {copy.date or '(none)'}"
            if kept.date != copy.date
            else "the release dates are equal, so the copy read first is kept (totals depend on file order)"
        )
        read.notes.append(
            f"{read.source}: {len(other)} release(s) have the same ocid and release id as one in another "
            f"file but DIFFERENT content, e.g. {ocid} release {release_id}: {there} in {kept.read.source} "
            f"(kept), {here} in {read.source} (not counted); {why}: check which file is current"
        )


def _keys(flows: pl.DataFrame, column: str = "release_id") -> pl.Series:
    """``ocid`` and ``column`` (a release or award id) of each flow, joined as one key."""
    if "ocid" not in flows.columns or column not in flows.columns:
        return pl.Series([None] * flows.height, dtype=pl.String)
    return flows.select(pl.concat_str("ocid", column, separator="\x1f")).to_series()


def _joined(key: tuple[str, str]) -> str:
    return "\x1f".join(key)


def _count(moved: pl.DataFrame, repeats: list[tuple[tuple[str, str], _Copy, _Copy]]) -> int:
    return int(_keys(moved).is_in([_joined(key) for key, _, _ in repeats]).sum())


def _money(flows: pl.DataFrame, key: tuple[str, str]) -> str:
    """The money a release's flows carry, per currency (``no money`` when none was counted)."""
    mine = flows.filter(_keys(flows) == _joined(key))
    totals = mine.group_by("currency").agg(pl.col("amount_minor").sum()).sort("currency")
    money = [money_words(total, currency) for currency, total in totals.iter_rows()]
    return ", ".join(money) or "no money"


#: What makes two lines of spend files one transaction when either file gives no transaction number.
TRANSACTION = ("payer_id", "payee_id", "date", "amount_minor", "currency")
#: ... when both give one: the date may differ (CCG files date every line at its month's end, so a
#: transaction listed in two months' files carries two dates).
NUMBERED = ("payer_id", "payee_id", "reference", "amount_minor", "currency")
#: The words of the note on transactions read again (the same for every file, so the notes combine).
REPEATED_TRANSACTIONS = "line(s) repeat transactions already read in another file"
#: ... on a transaction number read before that comes back with another amount (both counted).
OTHER_AMOUNT = "line(s) carry a transaction number read in another file with another amount"
#: ... on lines equal to lines of a file that the file does not repeat (counted).
EQUAL_NOT_REPEATED = "line(s) without transaction number equal lines of a file this file does not repeat"
#: The columns two lines are matched on (``_ref``: the transaction number where both files give them;
#: ``_when``: the date where a line has no transaction number).
_KEY = ["payer_id", "payee_id", "amount_minor", "currency", "_ref", "_when"]


def drop_repeated_transactions(reads: list[FileRead]) -> None:
    """A spend line that repeats a transaction of an earlier spend file from the same payer is counted once.

    Files are compared in the order read, each with the lines kept from every earlier file. When both
    files give transaction numbers, a line with the payer, supplier, transaction number and amount of a
    line of the earlier file is a repeat, whatever its date (a note says how many carry another date); a
    transaction number that comes back with another amount is counted, with a note naming both lines.
    Without transaction numbers, equal lines (payer, supplier, date, amount) are repeats only when the
    files overlap as publications do (a quarter and its month, a month published twice, a body's file and
    its group's), in either order: at least half of the lines of *either* file dated within the dates
    both files cover equal lines of the other (:func:`_overlapping`); the later file's equal lines are
    then the repeats, so each transaction is counted once whatever the order of the files. Otherwise
    they are counted, with a note. A transaction found ``n`` times in an earlier file takes at
    most the first ``n`` equal lines of a later file (``FileRead.repeated``), so equal payments listed
    twice in both files stay two payments.
    """
    spend_reads = [r for r in reads if r.format == spend.FORMAT and r.flows.height]
    noted: dict[int, set[str]] = {}  # per file, the lines already noted as equal to lines of another file
    for later, earlier in _sharing_pairs(spend_reads):
        if spend_reads[later].flows.height:
            seen = noted.setdefault(later, set())
            _drop_transactions_of(spend_reads[later], spend_reads[earlier], seen)


def _sharing_pairs(reads: list[FileRead]) -> list[tuple[int, int]]:
    """``(later, earlier)`` positions of the files that share a transaction key (payer, supplier, date
    and amount; or payer, supplier and transaction number), found by hashes of every line, so files
    that share none, such as the months of one payer, are never compared; in reading order."""
    if len(reads) < 2:
        return []
    dated = pl.struct(*TRANSACTION).hash()
    numbered = pl.struct(pl.lit("#").alias("_numbered"), "payer_id", "payee_id", "reference").hash()
    keys = []
    for n, read in enumerate(reads):
        keys.append(read.flows.select(dated.alias("_key"), _file=pl.lit(n, pl.Int32)))
        if "reference" in read.flows.columns:
            refs = read.flows.filter(_number().is_not_null())
            keys.append(refs.select(numbered.alias("_key"), _file=pl.lit(n, pl.Int32)))
    files = (
        pl.concat(keys)
        .unique()
        .filter(pl.col("_key").is_duplicated())
        .group_by("_key")
        .agg(pl.col("_file").sort())
    )
    pairs = {(b, a) for shared in files["_file"] for i, a in enumerate(shared) for b in shared[i + 1 :]}
    return sorted(pairs)


def _number() -> pl.Expr:
    """A line's transaction number; none when blank (a file may leave the column empty on some lines)."""
    return pl.when(pl.col("reference").str.strip_chars() != "").then(pl.col("reference"))


def _keyed(flows: pl.DataFrame, numbered: bool) -> pl.DataFrame:
    """The lines of ``flows`` with their matching key (:data:`_KEY`) and ``_nth``, their rank among the
    lines of the file with that key."""
    ref = _number() if numbered else pl.lit(None, pl.String)
    keyed = flows.select(
        "payer_id", "payee_id", "amount_minor", "currency", "date", "line", ref.alias("_ref")
    ).with_columns(_when=pl.when(pl.col("_ref").is_null()).then(pl.col("date")))
    return keyed.with_columns(_nth=pl.int_range(pl.len()).over(_KEY))


def _drop_transactions_of(read: FileRead, before: FileRead, noted: set[str]) -> None:
    """Move ``read``'s lines repeating transactions ``before`` holds to ``read.repeated``, with notes
    (``noted``: ``read``'s lines already noted as equal to lines of a file it does not repeat, noted once)."""
    numbered = _has_references(read.flows) and _has_references(before.flows)
    theirs = _keyed(before.flows, numbered).select(
        *_KEY, "_nth", pl.col("date").alias("_date_there"), pl.col("line").alias("_line_there")
    )
    found = _keyed(read.flows, numbered).join(
        theirs, on=[*_KEY, "_nth"], how="left", nulls_equal=True, maintain_order="left"
    )
    found = found.with_columns(_equal=pl.col("_line_there").is_not_null())
    loose = found.filter(pl.col("_equal") & pl.col("_ref").is_null())
    if loose.height and not _overlapping(read.flows, before.flows, found, loose.height, numbered):
        unnoted = loose.filter(~pl.col("line").is_in(list(noted)))
        noted.update(unnoted["line"])
        if unnoted.height:
            _note_equal_not_repeated(read, before, unnoted)
        found = found.with_columns(_equal=pl.col("_equal") & pl.col("_ref").is_not_null())
    if numbered:
        _note_other_amounts(read, before, found)
    repeated = found["_equal"]
    count = int(repeated.sum())
    if not count:
        return
    matched = found.filter(repeated)
    moved = read.flows.filter(repeated)
    read.flows = read.flows.filter(~repeated)
    amounts = count_repeated(read, moved)
    money = ", ".join(money_words(v, c) for c, v in amounts.items())
    same = "supplier, transaction number and amount" if numbered else "supplier, date, amount"
    example = matched.row(0, named=True)
    redated = matched.filter(pl.col("date").ne_missing(pl.col("_date_there")))
    if redated.height:
        other = redated.row(0, named=True)
        same += (
            f"; {redated.height} of them with another date, e.g. line {other['line']} dated "
            f"{other['date']} here, {other['_date_there']} on line {other['_line_there']} there"
        )
    else:
        same += f"; e.g. line {example['line']} = line {example['_line_there']} there"
    detail = "; each transaction is counted once"
    text = (
        f"{read.source}: {count} line(s) repeat transactions already read in {before.source} (same payer, "
        f"{same}): {money} in all, not counted again; {read.flows.height} other line(s) here are "
        f"counted{detail}"
    )
    read.notes.append(FileNote(text, read.source, REPEATED_TRANSACTIONS, count, amounts, detail))


def _overlapping(
    flows: pl.DataFrame, earlier: pl.DataFrame, found: pl.DataFrame, equal: int, numbered: bool
) -> bool:
    """Whether two files without transaction numbers repeat each other as publications do, whichever was
    read first (a month and its quarter, a month published twice, a body's file and its group's): of
    either file's lines without a number dated within the dates both files cover (or undated), at least
    half are among the ``equal`` lines (each line of one file paired with at most one of the other).

    ``found``: ``flows``' lines keyed as :func:`_keyed` keys them (with ``numbered``), ``earlier``'s are
    keyed the same way here."""
    low = max(flows["date"].min() or _NEVER, earlier["date"].min() or _NEVER)
    high = min(flows["date"].max() or _NEVER, earlier["date"].max() or _NEVER)
    compared = pl.col("_ref").is_null() & (pl.col("date").is_null() | pl.col("date").is_between(low, high))
    here = found.filter(compared).height
    there = _keyed(earlier, numbered).filter(compared).height
    return 2 * equal >= min(here, there)


_NEVER = date.min


def _note_equal_not_repeated(read: FileRead, before: FileRead, loose: pl.DataFrame) -> None:
    example = loose.row(0, named=True)
    says = (
        f"line(s) equal lines of {before.source} (same payer, supplier, date and amount, no transaction "
        f"number; e.g. line {example['line']} = line {example['_line_there']} there), but in neither file do "
        "half of the lines dated within the dates both files cover equal lines of the other"
    )
    _append_note(read, EQUAL_NOT_REPEATED, loose, says, "; counted, as the files do not repeat each other")


def _note_other_amounts(read: FileRead, before: FileRead, found: pl.DataFrame) -> None:
    """A note on ``read``'s lines whose transaction number (with payer and supplier) ``before`` gives with
    other amounts: both are counted, since which is current cannot be known."""
    number = ["payer_id", "payee_id", "_ref"]
    there = (
        _keyed(before.flows, True)
        .filter(pl.col("_ref").is_not_null())
        .group_by(number)
        .agg(
            pl.col("line").first().alias("_line_there"),
            pl.col("amount_minor").first().alias("_there"),
            pl.col("amount_minor").alias("_amounts"),
        )
    )
    other = found.filter(~pl.col("_equal") & pl.col("_ref").is_not_null()).drop("_line_there")
    other = other.join(there, on=number, how="inner", maintain_order="left").filter(
        ~pl.col("_amounts").list.contains(pl.col("amount_minor"))
    )
    if not other.height:
        return
    e = other.row(0, named=True)
    here, earlier = (money_words(e[name], e["currency"]) for name in ("amount_minor", "_there"))
    says = (
        f"line(s) carry a transaction number of {before.source} with another amount (same payer and "
        f"supplier; e.g. transaction {e['_ref']}: {here} on line {e['line']} here, {earlier} on line "
        f"{e['_line_there']} of {before.source})"
    )
    _append_note(
        read,
        OTHER_AMOUNT,
        other,
        says,
        "; counted, as which is right cannot be known: check which is current",
    )


def _append_note(read: FileRead, kind: str, lines: pl.DataFrame, says: str, detail: str) -> None:
    """Note ``SOURCE: N SAYS: MONEY in all DETAIL`` on ``read`` about ``lines`` (of the kind ``kind``)."""
    amounts = _money_of(lines)
    text = f"{read.source}: {lines.height} {says}: {_words(amounts)} in all{detail}"
    read.notes.append(FileNote(text, read.source, kind, lines.height, amounts, detail))


def _money_of(lines: pl.DataFrame) -> dict[str, int]:
    """The money of ``lines`` per currency, in minor units."""
    totals = lines.group_by("currency").agg(pl.col("amount_minor").cast(pl.Int128).sum()).sort("currency")
    return {currency: int(total) for currency, total in totals.iter_rows()}


def _words(amounts: dict[str, int]) -> str:
    return ", ".join(money_words(v, c) for c, v in amounts.items())


def count_repeated(read: FileRead, moved: pl.DataFrame) -> dict[str, int]:
    """Count ``moved`` (flows taken out of ``read`` as read in another file) in ``read.repeated`` and its
    money per currency in ``read.repeated_amount``; returns that money (never adds two currencies)."""
    amounts = _money_of(moved)
    read.repeated += moved.height
    for currency, minor in amounts.items():
        read.repeated_amount[currency] = read.repeated_amount.get(currency, 0) + minor
    return amounts


def _has_references(flows: pl.DataFrame) -> bool:
    return "reference" in flows.columns and flows.select(_number().is_not_null().any()).item()
