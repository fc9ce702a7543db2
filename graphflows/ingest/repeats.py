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
* **a spend transaction read again** (a quarter's file and one of its months, a month published twice): a
  line of a spend file with the same payer, supplier, date, amount and currency (and transaction number,
  when both files give one) as a line of an earlier file is a repeated record, not counted
  (:func:`drop_repeated_transactions`); lines repeated *within* one file are kept (two equal payments on
  one day happen).

Repeated records (``FileRead.repeated``, with their money in ``repeated_amount``) are neither flows nor
non-money records: ``records_read = flows + rejected + non_money + repeated``. One copy is kept (the one
read first, or the latest OCDS release), so a total never counts one payment twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

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


#: What makes two lines of spend files one transaction (with ``reference``, the transaction number, when
#: both files give one).
TRANSACTION = ("payer_id", "payee_id", "date", "amount_minor", "currency")
#: The words of the note on transactions read again (the same for every file, so the notes combine).
REPEATED_TRANSACTIONS = "line(s) repeat transactions already read in another file"


def drop_repeated_transactions(reads: list[FileRead]) -> None:
    """A spend line that repeats a transaction of an earlier spend file from the same payer is counted once.

    Files are compared in the order read, each with the lines kept from every earlier file: a transaction
    found ``n`` times in an earlier file takes the first ``n`` equal lines of a later file as repeats
    (``FileRead.repeated``), so equal payments listed twice in both files stay two payments. One note per
    pair of files names both, the lines repeated and their money.
    """
    spend_reads = [r for r in reads if r.format == spend.FORMAT and r.flows.height]
    for later, earlier in _sharing_pairs(spend_reads):
        if spend_reads[later].flows.height:
            _drop_transactions_of(spend_reads[later], spend_reads[earlier])


def _sharing_pairs(reads: list[FileRead]) -> list[tuple[int, int]]:
    """``(later, earlier)`` positions of the files that share at least one transaction key (found by one
    hash of every line, so files that share none, such as the months of one payer, are never compared),
    in reading order."""
    if len(reads) < 2:
        return []
    keys = pl.concat(
        [r.flows.select(*TRANSACTION).with_columns(_file=pl.lit(n, pl.Int32)) for n, r in enumerate(reads)]
    )
    files = (
        keys.select(pl.struct(*TRANSACTION).hash().alias("_key"), "_file")
        .unique()
        .filter(pl.col("_key").is_duplicated())
        .group_by("_key")
        .agg(pl.col("_file").sort())
    )
    pairs = {(b, a) for shared in files["_file"] for i, a in enumerate(shared) for b in shared[i + 1 :]}
    return sorted(pairs)


def _drop_transactions_of(read: FileRead, before: FileRead) -> None:
    """Move ``read``'s lines repeating transactions ``before`` holds to ``read.repeated``, with a note."""
    numbered = _has_references(read.flows) and _has_references(before.flows)
    key = [*TRANSACTION, "reference"] if numbered else list(TRANSACTION)
    theirs = before.flows.group_by(key).agg(pl.len().alias("_there"))
    mine = read.flows.select(key).with_columns(_nth=pl.int_range(pl.len()).over(key))
    found = mine.join(theirs, on=key, how="left", nulls_equal=True, maintain_order="left")
    repeated = found.select(pl.col("_nth") < pl.col("_there").fill_null(0)).to_series()
    count = int(repeated.sum())
    if not count:
        return
    moved = read.flows.filter(repeated)
    read.flows = read.flows.filter(~repeated)
    amounts = count_repeated(read, moved)
    money = ", ".join(money_words(v, c) for c, v in amounts.items())
    same = "supplier, date, amount" + (" and transaction number" if numbered else "")
    detail = "; each transaction is counted once"
    text = (
        f"{read.source}: {count} line(s) repeat transactions already read in {before.source} (same payer, "
        f"{same}; e.g. line {moved['line'][0]}): {money} in all, not counted again; {read.flows.height} "
        f"other line(s) here are counted{detail}"
    )
    read.notes.append(FileNote(text, read.source, REPEATED_TRANSACTIONS, count, amounts, detail))


def count_repeated(read: FileRead, moved: pl.DataFrame) -> dict[str, int]:
    """Count ``moved`` (flows taken out of ``read`` as read in another file) in ``read.repeated`` and its
    money per currency in ``read.repeated_amount``; returns that money (never adds two currencies)."""
    totals = moved.group_by("currency").agg(pl.col("amount_minor").cast(pl.Int128).sum()).sort("currency")
    amounts = {currency: int(total) for currency, total in totals.iter_rows()}
    read.repeated += moved.height
    for currency, minor in amounts.items():
        read.repeated_amount[currency] = read.repeated_amount.get(currency, 0) + minor
    return amounts


def _has_references(flows: pl.DataFrame) -> bool:
    return "reference" in flows.columns and flows["reference"].is_not_null().any()
