"""One organisation, one node: match payers and payees across files and formats, and say why.

Rules, strongest first (each merge keeps its method and a confidence):

====================  ==========  ===================================================================
method                confidence  when
====================  ==========  ===================================================================
``user-map``          1.0         the ``--org-map`` file says two keys are the same organisation
``org-id``            1.0         records share a registered identifier (``GB-CHC-``, ``GB-COH-``, ...)
``charity+company``   1.0         one record gives both a charity and a company number
``local-id``          0.95        records share a publisher-minted id (``360G-…``, a native id)
``register``          0.9         a record without a registered id names exactly one public body in the
                                  shipped registers (:mod:`graphflows.registers`: councils, NHS, police,
                                  government): "Trafford Council" is ``GB-LAE-TRF``
``exact-name``        0.9         records without a registered id have the same name (case, spaces)
``name``              0.8         ... the same name after normalising punctuation, ``&``/``and``,
                                  HTML entities, ``Limited``/``Ltd`` and vendor-code prefixes
``name->org-id``      0.8         a record without a registered id has the name of exactly one
                                  organisation that has one (two or more: not merged, reported)
``legal-form``        0.75        names differ only by a trailing legal form (rigour's table: ``Ltd``,
                                  ``CIC``, ``LLP``, ``PLC``...): "The Proud Trust" / "The Proud Trust
                                  Ltd"; not when two different forms (Ltd and PLC) or two org-ids share
                                  the rest of the name (reported, and suggested)
====================  ==========  ===================================================================

Organisations with *different* registered ids are never merged automatically, even with the same name
(reported as possible duplicates). A registered id that is a placeholder or not its register's shape
(``GB-COH-n/a``, ``GB-COH-the-windmill-charlton``: :func:`~graphflows.ingest.orgids.org_id_problem`)
is ignored with a note and the record matched by name; a bare charity number beside a ``GB-NIC`` id is
that Northern Ireland number. A node's ``match_method`` is its weakest merge and ``match_confidence``
that merge's confidence; ``match_reasons`` lists every merge. Flows from an organisation to itself are
kept and counted in the notes.

**Mapping file** (``--org-map``, CSV with a header): ``action,key,other,name``.
``same`` forces ``key`` and ``other`` into one node (``name``, optional, sets its display name);
``different`` forbids any merge that would put them together. A key is an org-id
(``GB-COH-01234567``, ``360G-…``) or ``name:`` followed by a name (matched after normalisation); text
with spaces and no ``id:`` prefix is taken as a name. Lines starting with ``#`` are comments; ``maybe``
rows (suggestions not yet decided, :mod:`graphflows.ingest.suggestions`) have no effect; columns after
``name`` are ignored.

>>> import polars as pl
>>> flows = pl.DataFrame({"payer_id": ["name:CCG A", "name:CCG B"], "payer_name": ["CCG A", "CCG B"],
...     "payee_id": ["name:SPIRE HEALTHCARE LTD", "GB-COH-09084066"],
...     "payee_name": ["Spire Healthcare Limited", "SPIRE HEALTHCARE LTD"]})
>>> resolved = resolve(flows)
>>> resolved.flows["payee_id"].to_list()
['GB-COH-09084066', 'GB-COH-09084066']
>>> resolved.organisations.filter(pl.col("id") == "GB-COH-09084066")["match_method"].item()
'name->org-id'
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from graphflows.ingest.orgids import (
    id_rank,
    is_registered,
    legal_form_keys,
    normalise_names,
    normalise_org_id,
    org_id_problem,
)
from graphflows.model import InputError
from graphflows.model.notes import FileNote
from graphflows.model.schema import SELF_PAYMENT
from graphflows.registers import PublicBody, lookup_codes, lookup_id, names_matches

CONFIDENCE = {
    "user-map": 1.0,
    "org-id": 1.0,
    "charity+company": 1.0,
    "local-id": 0.95,
    "exact-name": 0.9,
    "register": 0.9,
    "name": 0.8,
    "name->org-id": 0.8,
    "legal-form": 0.75,
    "single": 1.0,
}
ORG_COLUMNS = {
    "id": pl.String(),
    "name": pl.String(),
    "match_method": pl.String(),
    "match_confidence": pl.Float64(),
    "match_reasons": pl.String(),
    "org_ids": pl.String(),
    "names_seen": pl.String(),
    "records": pl.Int64(),
}


# ------------------------------------------------------------------------------------------ mapping file


@dataclass(frozen=True)
class OrgMap:
    """Forced merges (``same``) and forbidden ones (``different``) from a user's mapping file."""

    same: list[tuple[str, str, str | None]] = field(default_factory=list)
    different: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""
    #: Rows still marked ``maybe`` (suggestions from ``graphflows orgs --suggest`` not yet decided).
    undecided: list[tuple[str, str]] = field(default_factory=list)


def map_key(text: str) -> str:
    """A mapping-file key as a resolution key: ``id:<org-id>`` or ``name:<normalised name>``.

    >>> map_key("gb-coh-2150618"), map_key("name:King's Fund"), map_key("Kings Fund Ltd")
    ('id:GB-COH-02150618', 'name:KINGS FUND', 'name:KINGS FUND LTD')
    """
    text = text.strip()
    lowered = text.lower()
    if lowered.startswith("name:"):
        return "name:" + normalise_names(pl.Series([text[5:]]))[0]
    if lowered.startswith("id:"):
        return "id:" + (normalise_org_id(text[3:]) or "")
    if " " in text:
        return "name:" + normalise_names(pl.Series([text]))[0]
    return "id:" + (normalise_org_id(text) or "")


def read_org_map(path: str | Path) -> OrgMap:
    """Read a mapping file; InputError naming the file and line for anything it cannot use."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such organisation map file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: organisation map is not UTF-8 text") from None
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1) if not line.lstrip().startswith("#")
    ]
    try:
        rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    except csv.Error as exc:
        raise InputError(f"{path}: organisation map is not a readable CSV file ({exc})") from None
    if not rows:
        raise InputError(f"{path}: organisation map is empty (expected a header: action,key,other,name)")
    header = [h.strip().lower() for h in rows[0]]
    if header[:3] != ["action", "key", "other"]:
        raise InputError(
            f"{path}:{lines[0][0]}: organisation map header must start action,key,other "
            f"(found {','.join(header)})"
        )
    org_map = OrgMap(source=str(path))
    for (number, _), row in zip(lines[1:], rows[1:], strict=False):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + ["", "", "", ""]
        action, key, other, name = cells[0].lower(), cells[1], cells[2], cells[3] or None
        if action not in ("same", "different", "maybe"):
            raise InputError(
                f"{path}:{number}: action must be 'same', 'different' or 'maybe' (undecided), "
                f"not {cells[0]!r}"
            )
        if not key or not other:
            raise InputError(f"{path}:{number}: both key and other are needed")
        a, b = map_key(key), map_key(other)
        if a in ("id:", "name:") or b in ("id:", "name:"):
            raise InputError(f"{path}:{number}: a key is blank after normalising")
        if action == "same":
            org_map.same.append((a, b, name))
        elif action == "maybe":
            org_map.undecided.append((a, b))
        else:
            org_map.different.append((a, b))
    return org_map


def unmatched_map_keys(org_map: OrgMap, keys_in_input: set[str]) -> list[str]:
    """A note for each key of a ``same`` or ``different`` row that no payer or payee of the input has
    (a typo, or a name given where the records carry an org-id).

    >>> unmatched_map_keys(OrgMap(same=[("name:KPMG LLP", "name:KPMG LLPP", None)], source="m.csv"),
    ...                    {"name:KPMG LLP"})
    ["org map m.csv: 'same' row name:KPMG LLP / name:KPMG LLPP: name:KPMG LLPP matches no payer or payee"]
    """
    rows = [("same", a, b) for a, b, _ in org_map.same] + [("different", a, b) for a, b in org_map.different]
    notes = []
    for action, a, b in rows:
        missing = [_shown_key(k) for k in dict.fromkeys((a, b)) if k not in keys_in_input]
        if missing:
            notes.append(
                f"org map {org_map.source}: {action!r} row {_shown_key(a)} / {_shown_key(b)}: "
                f"{' and '.join(missing)} {'matches' if len(missing) == 1 else 'match'} no payer or payee"
            )
    return notes


def _shown_key(key: str) -> str:
    """A resolution key as a map file would give it: ``id:GB-CHC-1`` -> ``GB-CHC-1``; names keep ``name:``."""
    return key[3:] if key.startswith("id:") else key


# ------------------------------------------------------------------------------------------- resolution


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class Resolution:
    """Flows with resolved node ids, one row per organisation node, and how each identity was matched."""

    flows: pl.DataFrame
    organisations: pl.DataFrame
    identities: pl.DataFrame  # one row per distinct (given id, other ids, name): node id, method, reason
    notes: list[str] = field(default_factory=list)
    #: Pairs of nodes the rules did not merge but that may be one organisation: (node, other, evidence).
    candidates: list[tuple[str, str, str]] = field(default_factory=list)


def _similar(a: str, b: str) -> bool:
    """Two normalised names share at least half the words of the shorter one.

    >>> _similar("AGE UK TRAFFORD", "AGE UK TRAFFORD URMSTON COMMUNITY HUB")
    True
    >>> _similar("ROYAL BIRMINGHAM CONSERVATOIRE", "ROYAL ACADEMY OF MUSIC")
    False
    """
    wa, wb = set(a.split()), set(b.split())
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= 0.5


def _side_mentions(flows: pl.DataFrame, side: str) -> pl.DataFrame:
    """(row, id_given, other_ids, name) for one side of every flow."""

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in flows.columns else pl.lit(None, pl.String)

    id_given = col(f"{side}_id_given")
    name_given = col(f"{side}_name_given")
    native = id_given.is_null() & name_given.is_null()
    if side == "payer":
        coded = payer_codes(flows)
        if coded is not None:
            id_given = pl.coalesce(id_given, pl.lit(coded[0]))
    redacted = (
        (pl.col("payee_redacted") == "yes").fill_null(False)
        if side == "payee" and "payee_redacted" in flows.columns
        else pl.lit(False)
    )
    return flows.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        pl.lit(side).alias("side"),
        pl.when(native & ~col(f"{side}_id").str.starts_with("name:"))
        .then(col(f"{side}_id"))
        .otherwise(id_given)
        .alias("id_given"),
        col(f"{side}_other_ids").alias("other_ids"),
        pl.coalesce(name_given, col(f"{side}_name")).alias("name_given"),
        redacted.alias("redacted"),
        (native & ~col(f"{side}_id").str.starts_with("name:")).fill_null(False).alias("fixed"),
    )


#: Columns that may hold the paying council's code or URI (LGTC ``OrganisationURI``, Calderdale's ``Body``).
PAYER_CODE_COLUMNS = r"(?i)^\s*(body|organi[sz]ation|entity)\s*(uri|url|code|id)?\s*$"


def payer_codes(flows: pl.DataFrame) -> tuple[pl.Series, str] | None:
    """The council each flow's payer is by a code or URI column (``http://…/local-authority-district/00CY``
    -> ``GB-LAE-CLD``), and that column's title; None when no such column resolves any value."""
    for column in flows.columns:
        if flows.schema[column] != pl.String or not re.match(PAYER_CODE_COLUMNS, column):
            continue
        values = flows[column]
        distinct = values.drop_nulls().unique()
        bodies = lookup_codes(distinct)
        mapping = {v: b.org_id for v, b in zip(distinct.to_list(), bodies, strict=True) if b is not None}
        if mapping:
            return values.replace_strict(mapping, default=None, return_dtype=pl.String), column
    return None


def _payer_code_note(flows: pl.DataFrame) -> list[str]:
    coded = payer_codes(flows)
    if coded is None:
        return []
    ids, column = coded
    own = flows["payer_id_given"] if "payer_id_given" in flows.columns else pl.Series([None] * flows.height)
    used = flows.select(pl.col(column), pl.col("payer_name_given").alias("name")).with_columns(
        ids.alias("_id"), own.alias("_own")
    )
    used = used.filter(pl.col("_id").is_not_null() & pl.col("_own").is_null())
    if used.is_empty():
        return []
    value, name, org_id = used.row(0)[:3]
    return [
        f"{used.height} payer record(s) identified by the council code or URI in the column {column!r} "
        f"(e.g. {value!r} -> {org_id}, named {name!r})"
    ]


def resolve(flows: pl.DataFrame, org_map: OrgMap | None = None) -> Resolution:
    """Match every payer and payee to one node; rewrite ids, names and programme streams in ``flows``."""
    org_map = org_map or OrgMap()
    if flows.is_empty():
        return Resolution(flows, pl.DataFrame(schema=ORG_COLUMNS), pl.DataFrame(), [])
    mentions = pl.concat([_side_mentions(flows, "payer"), _side_mentions(flows, "payee")])
    identities = _identities(mentions)
    notes = _undecided_note(org_map)
    candidates: list[tuple[str, str, str]] = []  # (key, other key, evidence): near misses for --suggest
    uf = _UnionFind()
    evidence = _gather_evidence(identities, uf)
    notes.extend(evidence.checks.notes())
    notes.extend(_payer_code_note(flows))
    notes.extend(_register_ambiguity_notes(evidence.register_ambiguous))

    ordered = _ordered_merges(org_map, evidence, notes, candidates)
    automatic = ordered[len(org_map.same) :]
    notes.extend(
        unmatched_map_keys(org_map, {*evidence.anchors, *(k for a, b, *_ in automatic for k in (a, b))})
    )
    reasons = _merge(uf, ordered, org_map.different, notes)
    _add_name_reasons(evidence, reasons)

    roots = [uf.find(a) for a in evidence.anchors]
    organisations, node_of_root = _organisations(uf, roots, identities, reasons, org_map)
    notes.extend(_possible_duplicates(organisations, candidates))
    table = _identity_table(identities, [node_of_root[r] for r in roots], evidence.matched_by, organisations)
    resolved = _apply(flows, mentions, table)
    organisations = pl.concat([organisations, redacted_nodes(resolved)])
    notes.extend(self_payment_notes(resolved))
    return Resolution(resolved, organisations, table, notes, _candidate_pairs(uf, node_of_root, candidates))


def _identity_table(
    identities: pl.DataFrame, nodes: list[str], matched_by: list[str], organisations: pl.DataFrame
) -> pl.DataFrame:
    """Each identity with its node id, how it was matched, and its node's name and match method."""
    return (
        identities.drop("fixed")
        .with_columns(
            pl.Series("id", nodes, dtype=pl.String),
            pl.Series("matched_by", matched_by, dtype=pl.String),
        )
        .join(
            organisations.select("id", pl.col("name").alias("node_name"), "match_method", "match_confidence"),
            on="id",
        )
    )


def _identities(mentions: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct unredacted (given id, other ids, name), with its record count and name keys."""
    live = mentions.filter(~pl.col("redacted"))
    identities = live.group_by("id_given", "other_ids", "name_given", maintain_order=True).agg(
        pl.len().alias("records"), pl.col("fixed").all()
    )
    return identities.with_columns(
        pl.Series("name_key", normalise_names(identities["name_given"])),
        pl.col("name_given")
        .str.to_uppercase()
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .alias("exact_key"),
    )


def _undecided_note(org_map: OrgMap) -> list[str]:
    """The note on org-map rows still marked 'maybe' (none when there are none)."""
    if not org_map.undecided:
        return []
    return [
        f"org map {org_map.source}: {len(org_map.undecided)} row(s) still 'maybe' (no effect until "
        "changed to 'same' or 'different')"
    ]


@dataclass
class _Evidence:
    """What the identities say, gathered in one pass: each one's anchor key, and the indexes the merge
    rules read (registered ids by name, by name without legal form, register bodies by name, ...)."""

    checks: _IdChecks = field(default_factory=lambda: _IdChecks())
    anchors: list[str] = field(default_factory=list)
    matched_by: list[str] = field(default_factory=list)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (a, b, method, why)
    #: (own id, other number's id, name key, name)
    extra_links: list[tuple[str, str, str, str]] = field(default_factory=list)
    primary_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    strong_by_name: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    strong_by_base: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    strong_forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    register_by_name: dict[str, dict[str, PublicBody]] = field(default_factory=lambda: defaultdict(dict))
    register_ambiguous: dict[str, tuple[PublicBody, ...]] = field(default_factory=dict)
    base_of: dict[str, tuple[str, str]] = field(default_factory=dict)
    exact_by_name_key: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    name_records: Counter = field(default_factory=Counter)
    nameable: dict[str, None] = field(default_factory=dict)  # ordered set

    def add(self, row: tuple, fixed: bool, base_key: str, form: str, body: tuple[PublicBody, ...]) -> str:
        """Record one identity (a row of ids, names and count) and return its anchor key."""
        id_given, other_ids, name_given, name_key, exact_key, records = row
        given = normalise_org_id(id_given) if id_given else None
        others = [normalise_org_id(x) for x in (other_ids or "").split(";") if x.strip()]
        given, others, dropped = self.checks.check(given, others, name_given, records)
        strong = [x for x in [given, *others] if x and is_registered(x)]
        strong = list(dict.fromkeys(strong))
        weak = given if given and not is_registered(given) else None
        anchor = self._anchor(given, strong, weak, fixed, name_key, name_given, base_key, form)
        if name_key and not strong and not fixed:
            self._add_nameable(name_key, exact_key, records, base_key, form, body)
        self.anchors.append(anchor)
        self.matched_by.append(_matched_by(anchor, name_key, dropped))
        return anchor

    def _anchor(
        self,
        given: str | None,
        strong: list[str],
        weak: str | None,
        fixed: bool,
        name_key: str | None,
        name_given: str | None,
        base_key: str,
        form: str,
    ) -> str:
        """The key an identity starts from (its own id, first registered id, local id or name), noting
        the links and indexes that key brings."""
        name_node = f"name:{name_key}" if name_key else None
        if fixed:
            anchor = f"id:{given}" if given else "name:"
            if given and is_registered(given) and name_key:
                self.strong_by_name[name_key].add(anchor)
            return anchor
        if strong:
            anchor = f"id:{strong[0]}"
            if given and is_registered(given) and name_key:
                self.primary_names[f"id:{given}"].add(name_key)
            for other in strong[1:]:
                self.extra_links.append((anchor, f"id:{other}", name_key, name_given))
            if name_key:
                self.strong_by_name[name_key].add(anchor)
                self.strong_by_base[base_key].add(anchor)
                self.strong_forms[base_key].add(form)
            return anchor
        if weak:
            anchor = f"id:{weak}"
            if name_node:
                self.edges.append((anchor, name_node, "local-id", f"local id {weak} is named {name_given!r}"))
            return anchor
        return name_node or "name:"

    def _add_nameable(
        self, name_key: str, exact_key: str | None, records: int, base_key: str, form: str, body: tuple
    ) -> None:
        """Index a name given without a registered id, for the name and legal-form merges."""
        self.nameable[name_key] = None
        self.base_of[name_key] = (base_key, form)
        self.exact_by_name_key[name_key].add(exact_key or "")
        self.name_records[name_key] += records
        if len(body) == 1:
            self.register_by_name[name_key][f"id:{body[0].org_id}"] = body[0]
        elif body:
            self.register_ambiguous[name_key] = body


def _matched_by(anchor: str, name_key: str | None, dropped: list[tuple[str, str]]) -> str:
    """How an identity was matched: ``org-id GB-CHC-1``, ``id 123`` or ``name 'X'``, with ids ignored."""
    how = (
        f"org-id {anchor[3:]}"
        if anchor.startswith("id:") and is_registered(anchor[3:])
        else f"id {anchor[3:]}"
        if anchor.startswith("id:")
        else f"name {name_key!r}"
    )
    return how + "".join(f" ({bad} ignored: {why})" for bad, why in dropped)


def _gather_evidence(identities: pl.DataFrame, uf: _UnionFind) -> _Evidence:
    """Anchor every identity (adding each anchor to ``uf`` in order) and index what the merge rules need."""
    rows = identities.select("id_given", "other_ids", "name_given", "name_key", "exact_key", "records").rows()
    forms = legal_form_keys(identities["name_key"])
    bodies = names_matches(identities["name_given"])
    evidence = _Evidence()
    for row, fixed, base_key, form, body in zip(
        rows, identities["fixed"].to_list(), forms["base_key"], forms["form"], bodies, strict=True
    ):
        uf.find(evidence.add(row, fixed, base_key, form, body))
    return evidence


def _register_ambiguity_notes(register_ambiguous: dict[str, tuple[PublicBody, ...]]) -> list[str]:
    """Notes on names that are several public bodies in the shipped registers."""
    return [
        f"name {name_key!r} is several public bodies in the registers "
        f"({', '.join(f'{b.org_id} {b.name}' for b in several)}); not merged (use --org-map to decide)"
        for name_key, several in register_ambiguous.items()
    ]


def _extra_number_links(
    evidence: _Evidence, notes: list[str], candidates: list[tuple[str, str, str]]
) -> list[tuple[str, str, str, str]]:
    """Links from a record's own id to a charity or company number given beside it, unless one of the
    record's numbers belongs to an organisation known under an unrelated name (a publisher's slip: then
    none of that record's extra numbers is trusted, and the clash is noted)."""
    by_record: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for anchor, other, name_key, name_given in evidence.extra_links:
        by_record[(anchor, name_key or "", name_given)].append(other)
    primary_names = evidence.primary_names
    edges = []
    for (anchor, name_key, name_given), others in by_record.items():
        clash = next(
            (
                (o, primary_names[o])
                for o in others
                if primary_names.get(o)
                and name_key
                and not any(_similar(name_key, n) for n in primary_names[o])
            ),
            None,
        )
        if clash:
            notes.append(
                f"not merged: {name_given!r} ({anchor[3:]}) gives the number {clash[0][3:]}, which other "
                f"records give for {' / '.join(sorted(clash[1]))!r}; check the publisher's data "
                "or use --org-map"
            )
            candidates.append((anchor, clash[0], f"{name_given!r} gives the number {clash[0][3:]}"))
            continue
        for other in others:
            edges.append(
                (anchor, other, "charity+company", f"one record gives both {anchor[3:]} and {other[3:]}")
            )
    return edges


def _ordered_merges(
    org_map: OrgMap, evidence: _Evidence, notes: list[str], candidates: list[tuple[str, str, str]]
) -> list[tuple[str, str, str, str]]:
    """Every merge to try, in order: the user's forced ones first, then local ids, extra numbers, names
    and legal forms (a forbidden pair later stops any merge joining it)."""
    ordered = [
        (a, b, "user-map", f"org map {org_map.source}: same") for a, b, _ in org_map.same
    ] + evidence.edges
    ordered += _extra_number_links(evidence, notes, candidates)
    ordered += _name_merges(
        evidence.nameable, evidence.strong_by_name, evidence.register_by_name, notes, candidates
    )
    ordered += _legal_form_merges(
        evidence.nameable,
        evidence.base_of,
        evidence.strong_by_base,
        evidence.strong_forms,
        evidence.strong_by_name,
        evidence.register_by_name,
        notes,
        candidates,
    )
    return ordered


def _merge(
    uf: _UnionFind,
    ordered: list[tuple[str, str, str, str]],
    forbidden: list[tuple[str, str]],
    notes: list[str],
) -> dict[str, list[tuple[str, str]]]:
    """Apply the merges in order, skipping any that would join a pair the org map calls different;
    returns key -> [(method, why)] for the merges made."""
    reasons: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a, b, method, why in ordered:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        blocked = next(
            ((x, y) for x, y in forbidden if {uf.find(x), uf.find(y)} == {ra, rb}),
            None,
        )
        if blocked:
            notes.append(
                f"not merged ({method}: {why}): the org map says {blocked[0]} and {blocked[1]} are different"
            )
            continue
        uf.union(a, b)
        reasons[a].append((method, why))
    return reasons


def _add_name_reasons(evidence: _Evidence, reasons: dict[str, list[tuple[str, str]]]) -> None:
    """Add the reason records share a name node: names that normalise alike, or one exact name repeated."""
    for name_key, exacts in evidence.exact_by_name_key.items():
        if len(exacts) > 1:
            reasons[f"name:{name_key}"].append(
                ("name", f"names {' / '.join(sorted(exacts))} normalise to {name_key!r}")
            )
        elif evidence.name_records[name_key] > 1:
            reasons[f"name:{name_key}"].append(("exact-name", f"same name {name_key!r}"))


def _organisations(
    uf: _UnionFind,
    roots: list[str],
    identities: pl.DataFrame,
    reasons: dict[str, list[tuple[str, str]]],
    org_map: OrgMap,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """One organisation row per cluster (``roots`` holds each identity's cluster), and each cluster
    root's node id."""
    members: dict[str, set[str]] = defaultdict(set)
    seen_roots = set(roots)  # keys named only in the org map make no node of their own
    for key in list(uf.parent):
        if uf.find(key) in seen_roots:
            members[uf.find(key)].add(key)
    display_override = {}
    for a, _b, name in org_map.same:
        if name:
            display_override[uf.find(a)] = name
    name_counts: dict[str, Counter] = defaultdict(Counter)
    record_counts: Counter = Counter()
    for root, name_given, records in zip(
        roots, identities["name_given"].to_list(), identities["records"].to_list(), strict=True
    ):
        if name_given:
            name_counts[root][name_given.strip()] += records
        record_counts[root] += records
    node_of_root: dict[str, str] = {}
    org_rows = []
    for root, keys in members.items():
        row = _organisation_row(
            keys,
            reasons,
            name_counts.get(root) or Counter(),
            record_counts.get(root, 0),
            display_override.get(root),
        )
        node_of_root[root] = row["id"]
        org_rows.append(row)
    return pl.DataFrame(org_rows, schema=ORG_COLUMNS), node_of_root


def _organisation_row(
    keys: set[str],
    reasons: dict[str, list[tuple[str, str]]],
    counted: Counter,
    records: int,
    display_override: str | None,
) -> dict:
    """The organisation row for one cluster of keys: node id (best org-id, else first name), name shown
    (the map's, else the most used), and the weakest merge as its method."""
    ids = sorted((k[3:] for k in keys if k.startswith("id:") and k != "id:"), key=id_rank)
    names = [k[5:] for k in keys if k.startswith("name:") and k != "name:"]
    if ids:
        node = ids[0]
    elif names:
        node = "name:" + sorted(names)[0]
    else:
        node = "name:"
    merges = [m for k in sorted(keys) for m in reasons.get(k, [])]  # the same order on every run
    if merges:
        weakest = min(merges, key=lambda m: CONFIDENCE[m[0]])
        method, confidence = weakest[0], CONFIDENCE[weakest[0]]
    else:
        method, confidence = (
            ("org-id" if ids and is_registered(ids[0]) else "local-id" if ids else "single"),
            1.0,
        )
    display = display_override or (
        sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counted else node
    )
    return {
        "id": node,
        "name": display,
        "match_method": method,
        "match_confidence": confidence,
        "match_reasons": "; ".join(dict.fromkeys(f"{m}: {w}" for m, w in merges)) or None,
        "org_ids": ";".join(ids) or None,
        "names_seen": ";".join(sorted(counted)) or None,
        "records": int(records),
    }


def _candidate_pairs(
    uf: _UnionFind, node_of_root: dict[str, str], candidates: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """The near misses as pairs of distinct node ids (first evidence kept for each pair)."""
    node_of = {key: node_of_root[uf.find(key)] for key in uf.parent if uf.find(key) in node_of_root}
    pairs = {}
    for a, b, evidence in candidates:
        na, nb = (k[5:] if k.startswith("node:") else node_of.get(k) for k in (a, b))
        if na and nb and na != nb:
            pairs.setdefault(tuple(sorted((na, nb))), evidence)
    return [(a, b, e) for (a, b), e in pairs.items()]


def _possible_duplicates(organisations: pl.DataFrame, candidates: list[tuple[str, str, str]]) -> list[str]:
    """Notes (and candidate pairs) for organisations with different org-ids whose names are the same, or
    the same apart from a legal form."""
    registered = organisations.filter(pl.col("org_ids").is_not_null())
    keys = normalise_names(registered["name"])
    named = registered.select("id").with_columns(
        pl.Series("_k", keys), legal_form_keys(keys)["base_key"].alias("_base")
    )
    found = []
    for (base,), group in named.group_by("_base", maintain_order=True):
        if group.height < 2 or not base:
            continue
        ids = sorted(group["id"])
        if group["_k"].n_unique() == 1:
            found.append(
                f"possible duplicate: {group.height} organisations named {group['_k'][0]!r} have different "
                f"org-ids ({', '.join(ids)}); not merged"
            )
            evidence = "same name, different org-ids"
        else:
            found.append(
                f"possible duplicate: {group.height} organisations named "
                f"{' / '.join(sorted(set(group['_k'])))!r} (the same apart from a legal form) "
                f"have different org-ids ({', '.join(ids)}); not merged"
            )
            evidence = "same name apart from the legal form, different org-ids"
        candidates.extend(
            (f"node:{a}", f"node:{b}", evidence) for i, a in enumerate(ids) for b in ids[i + 1 :]
        )
    return found


def self_payment_notes(flows: pl.DataFrame) -> list[str]:
    """Flows whose payer and payee are one node (a funder granting to its own id, a council paying
    itself), counted per file: kept in the flows, and reported (an analysis leaves them out of income)."""
    same = flows.filter(SELF_PAYMENT)
    if same.is_empty():
        return []
    per_file = same.group_by("source", maintain_order=True).agg(
        pl.len(), pl.col("line").first(), pl.col("payer_name").first()
    )
    detail = (
        "; kept in the flows but not counted as income: check whether they are internal transfers or a slip "
        "in the publisher's ids"
    )
    return [
        FileNote(
            f"{source}: {count} {SELF_PAYMENTS} (e.g. line {line}, {name!r}){detail}",
            source,
            SELF_PAYMENTS,
            count,
            detail=detail,
        )
        for source, count, line, name in per_file.iter_rows()
    ]


#: What the note on flows from an organisation to itself counts (the same words for every file).
SELF_PAYMENTS = "flow(s) paid by an organisation to itself"


class _IdChecks:
    """Drop placeholder and malformed registered ids, read a bare charity number beside a ``GB-NIC`` id as
    that Northern Ireland number, and take a register's current code for a body's old one; counts for notes.
    """

    def __init__(self) -> None:
        self.malformed: Counter = Counter()
        self.examples: dict[str, str] = {}
        self.nic = 0
        self.aliases: dict[str, str] = {}

    def check(
        self, given: str | None, others: list[str | None], name: str | None, records: int
    ) -> tuple[str | None, list[str], list[tuple[str, str]]]:
        dropped = []
        kept: list[str | None] = []
        for org_id in [given, *others]:
            problem = org_id_problem(org_id)
            if problem:
                dropped.append((org_id, problem))
                self.malformed[org_id] += records
                self.examples.setdefault(org_id, f"{org_id} for {name!r} ({problem})")
                org_id = None
            body = lookup_id(org_id) if org_id and is_registered(org_id) else None
            if body is not None and body.org_id != org_id:
                self.aliases[org_id] = body.org_id
                org_id = body.org_id
            kept.append(org_id)
        given, rest = kept[0], [x for x in kept[1:] if x]
        nic = {x[len("GB-NIC-") :] for x in [given, *rest] if x and x.startswith("GB-NIC-")}
        if nic and any(x.startswith("GB-CHC-") and x[len("GB-CHC-") :] in nic for x in rest):
            self.nic += records
            rest = [x if not (x.startswith("GB-CHC-") and x[7:] in nic) else f"GB-NIC-{x[7:]}" for x in rest]
        return given, list(dict.fromkeys(rest)), dropped

    def notes(self) -> list[str]:
        found = []
        if self.malformed:
            shown = "; ".join(self.examples[k] for k in sorted(self.malformed)[:3])
            found.append(
                f"ignored {len(self.malformed)} malformed or placeholder identifier(s) on "
                f"{sum(self.malformed.values())} record(s), e.g. {shown}: those records were matched by name"
            )
        if self.nic:
            found.append(
                f"{self.nic} record(s) give a GB-NIC id and the same bare charity number: read as the "
                "Northern Ireland number, not an England and Wales one"
            )
        if self.aliases:
            pairs = ", ".join(f"{a} -> {b}" for a, b in sorted(self.aliases.items())[:5])
            found.append(f"register codes replaced by the body's current code: {pairs}")
        return found


def _name_merges(
    nameable: dict[str, None],
    strong_by_name: dict[str, set[str]],
    register_by_name: dict[str, dict[str, PublicBody]],
    notes: list[str],
    candidates: list[tuple[str, str, str]],
) -> list[tuple[str, str, str, str]]:
    """A name without an id joins the one organisation with that name: a registered id given by another
    record (``name->org-id``) or a public body in the shipped registers (``register``); never two."""
    merges = []
    for name_key in nameable:
        registered = strong_by_name.get(name_key, set())
        bodies = register_by_name.get(name_key, {})
        ids = registered | set(bodies)
        if len(ids) == 1:
            (only,) = ids
            if only in bodies:
                body = bodies[only]
                why = f"name {name_key!r} is {body.name} ({only[3:]}) in the {body.register} register"
                merges.append((f"name:{name_key}", only, "register", why))
            else:
                merges.append(
                    (f"name:{name_key}", only, "name->org-id", f"name {name_key!r} matches {only[3:]}")
                )
        elif len(ids) > 1:
            notes.append(
                f"name {name_key!r} matches several org-ids ({', '.join(sorted(i[3:] for i in ids))}); "
                "records with that name and no id were not merged (use --org-map to decide)"
            )
            candidates.extend(
                (f"name:{name_key}", i, "the name matches several org-ids") for i in sorted(ids)
            )
    return merges


def _legal_form_merges(
    nameable: dict[str, None],
    base_of: dict[str, tuple[str, str]],
    strong_by_base: dict[str, set[str]],
    strong_forms: dict[str, set[str]],
    strong_by_name: dict[str, set[str]],
    register_by_name: dict[str, dict[str, PublicBody]],
    notes: list[str],
    candidates: list[tuple[str, str, str]],
) -> list[tuple[str, str, str, str]]:
    """Names that differ only by a trailing legal form ("The Proud Trust" / "The Proud Trust Ltd") join,
    when the form is the only difference and the base names one organisation; an ambiguous base (two
    registered ids, or two different forms such as Ltd and CIC) never merges and is reported."""
    by_base: dict[str, list[str]] = defaultdict(list)
    for name_key in nameable:
        by_base[base_of[name_key][0]].append(name_key)
    merges = []
    for base, keys in by_base.items():
        strong = strong_by_base.get(base, set())
        resolved = [k for k in keys if k in strong_by_name or k in register_by_name]
        loose = [k for k in keys if k not in resolved]
        if not loose or len(strong) + len(keys) < 2 or (resolved and not strong):
            continue
        forms = ({base_of[k][1] for k in keys} | strong_forms.get(base, set())) - {""}
        target = next(iter(strong)) if len(strong) == 1 else f"name:{loose[0]}"
        if len(forms) > 1 or len(strong) > 1:
            why = f"legal forms {', '.join(sorted(forms))}" if len(forms) > 1 else "several org-ids"
            notes.append(
                f"names {' / '.join(sorted(keys))} differ only by a legal form but were not merged ({why}; "
                "use --org-map to decide)"
            )
            others = sorted(strong) + [f"name:{k}" for k in keys]
            candidates.extend(
                (a, b, f"same name apart from the legal form ({why})")
                for i, a in enumerate(others)
                for b in others[i + 1 :]
            )
            continue
        for key in loose:
            if f"name:{key}" != target:
                other = target.split(":", 1)[1]
                why = f"{key!r} and {other!r} differ only by a legal form"
                merges.append((f"name:{key}", target, "legal-form", why))
    return merges


def _apply(flows: pl.DataFrame, mentions: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """Rewrite payer/payee ids and names (and programme streams) with the resolved nodes.

    ``mentions`` holds every payer, then every payee, in flow order, so the resolved columns line up
    with ``flows`` without joining the (wide) flow table.
    """
    keyed = mentions.select("id_given", "other_ids", "name_given").join(
        table.select("id_given", "other_ids", "name_given", "id", "node_name"),
        on=["id_given", "other_ids", "name_given"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    n = flows.height
    out = flows
    for side in ("payer", "payee"):
        for suffix in ("id_given", "name_given"):
            if f"{side}_{suffix}" not in out.columns:
                out = out.with_columns(pl.lit(None, pl.String).alias(f"{side}_{suffix}"))
        native = pl.col(f"{side}_id_given").is_null() & pl.col(f"{side}_name_given").is_null()
        if out.select(native.any()).item():
            out = out.with_columns(
                pl.when(native & ~pl.col(f"{side}_id").str.starts_with("name:"))
                .then(pl.col(f"{side}_id"))
                .otherwise(pl.col(f"{side}_id_given"))
                .alias(f"{side}_id_given"),
                pl.when(native)
                .then(pl.col(f"{side}_name"))
                .otherwise(pl.col(f"{side}_name_given"))
                .alias(f"{side}_name_given"),
            )
    out = out.with_columns(
        keyed["id"].slice(0, n).alias("_payer_node"),
        keyed["node_name"].slice(0, n).alias("_payer_node_name"),
        keyed["id"].slice(n, n).alias("_payee_node"),
        keyed["node_name"].slice(n, n).alias("_payee_node_name"),
    )
    out = out.with_columns(
        pl.coalesce("_payer_node", "payer_id").alias("payer_id"),
        pl.coalesce("_payer_node_name", "payer_name").alias("payer_name"),
        pl.coalesce("_payee_node", "payee_id").alias("payee_id"),
        pl.coalesce("_payee_node_name", "payee_name").alias("payee_name"),
    ).drop("_payer_node", "_payer_node_name", "_payee_node", "_payee_node_name")
    if "payee_redacted" in out.columns and (out["payee_redacted"] == "yes").any():
        out = out.with_columns(
            pl.when(pl.col("payee_redacted") == "yes")
            .then(pl.lit("redacted:") + pl.col("payer_id"))
            .otherwise(pl.col("payee_id"))
            .alias("payee_id")
        )
    if "programme" in out.columns:
        out = out.with_columns(
            pl.when(pl.col("programme").is_not_null())
            .then(pl.format("{} / {}", pl.col("payer_id"), pl.col("programme")))
            .otherwise(pl.col("stream_id"))
            .alias("stream_id")
        )
    return out


def redacted_nodes(flows: pl.DataFrame) -> pl.DataFrame:
    """Organisation rows for the per-payer redacted-payee nodes."""
    if "payee_redacted" not in flows.columns:
        return pl.DataFrame(schema=ORG_COLUMNS)
    red = flows.filter(pl.col("payee_redacted") == "yes")
    if red.is_empty():
        return pl.DataFrame(schema=ORG_COLUMNS)
    return (
        red.group_by("payee_id")
        .agg(
            pl.col("payee_name").first(),
            pl.len().cast(pl.Int64).alias("records"),
            pl.col("payee_name_given").unique().sort().str.join(";"),
        )
        .select(
            pl.col("payee_id").alias("id"),
            pl.col("payee_name").alias("name"),
            pl.lit("redacted").alias("match_method"),
            pl.lit(None, pl.Float64).alias("match_confidence"),
            pl.lit("payee withheld by the publisher: one node per payer, never matched across payers").alias(
                "match_reasons"
            ),
            pl.lit(None, pl.String).alias("org_ids"),
            pl.col("payee_name_given").alias("names_seen"),
            "records",
        )
    )


def record_report(flows: pl.DataFrame, identities: pl.DataFrame, organisations: pl.DataFrame) -> pl.DataFrame:
    """One row per payer and payee of every flow: what the file said, the node it became, and why.

    Columns: source, line, side, id_given, other_ids, name_given, node_id, node_name, matched_by,
    match_method, match_confidence, match_reasons.
    """
    mentions = pl.concat([_side_mentions(flows, "payer"), _side_mentions(flows, "payee")])
    located = flows.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"), "source", "line", "payer_id", "payee_id"
    )
    keyed = mentions.join(located, on="_row").join(
        identities.select("id_given", "other_ids", "name_given", pl.col("id").alias("_node"), "matched_by"),
        on=["id_given", "other_ids", "name_given"],
        how="left",
        nulls_equal=True,
    )
    node = (
        pl.when(pl.col("redacted"))
        .then(pl.col("payee_id"))
        .when(pl.col("side") == "payer")
        .then(pl.coalesce("_node", "payer_id"))
        .otherwise(pl.coalesce("_node", "payee_id"))
    )
    report = keyed.with_columns(
        node.alias("node_id"),
        pl.when(pl.col("redacted"))
        .then(pl.lit("redacted payee"))
        .otherwise(pl.col("matched_by"))
        .alias("matched_by"),
    ).join(
        organisations.select(
            pl.col("id").alias("node_id"),
            pl.col("name").alias("node_name"),
            "match_method",
            "match_confidence",
            "match_reasons",
        ),
        on="node_id",
        how="left",
    )
    return report.sort("_row", "side", descending=[False, True]).select(
        "source", "line", "side", "id_given", "other_ids", "name_given", "node_id", "node_name",
        "matched_by", "match_method", "match_confidence", "match_reasons",
    )  # fmt: skip
