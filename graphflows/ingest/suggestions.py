"""Likely-same organisations that the matching rules did not merge, as rows for the ``--org-map`` file.

Pairs of nodes are proposed when they share evidence, and each is scored by how alike their names are
(rapidfuzz's token-sort ratio of the names without their legal form, 0 to 1):

* the resolution's near misses: names the same apart from a legal form (``Softcat Ltd`` / ``Softcat
  PLC``), the same name under two org-ids, a name matching several org-ids, a number given for an
  organisation known under another name;
* the same postcode or the same VAT number (columns the file carries: ``Recipient Org:Postal Code``,
  ``Supplier Postcode``, ``VAT Registration Number``...), names at least :data:`NEAR` alike;
* the same payer, names at least :data:`SIMILAR` alike.

Two public bodies with their own register ids (two councils) are never suggested by name alone.

Every row has the action ``maybe``, which the mapping file reads and ignores: the analyst changes it to
``same`` or ``different``. Nothing is merged until they do.

>>> score("PROUD TRUST", "PROUD TRUST LTD"), score("SPIRE HEALTHCARE", "SPIRE HOSPITALS")
(1.0, 0.58)
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from graphflows.ingest.orgids import legal_form_keys, normalise_names
from graphflows.registers import lookup_id

#: The action written on every suggestion: read (and ignored) by the mapping-file reader.
UNDECIDED = "maybe"
#: Names of payees of one payer at least this alike (0-1) are suggested.
SIMILAR = 0.9
#: Names sharing a postcode or a VAT number at least this alike are suggested.
NEAR = 0.6
#: Columns of the flows holding a payee's postcode or VAT number (matched case-insensitively).
POSTCODE_COLUMNS = r"(?i)post\s*code"
VAT_COLUMNS = r"(?i)\bvat\b.*(no|num|reg)"
COLUMNS = {
    "action": pl.String,
    "key": pl.String,
    "other": pl.String,
    "name": pl.String,
    "score": pl.Float64,
    "evidence": pl.String,
    "other_name": pl.String,
}


def score(a: str, b: str) -> float:
    """How alike two normalised names are, legal forms aside (0 to 1, two decimals)."""
    bases = legal_form_keys(pl.Series([a, b]))["base_key"].to_list()
    return round(fuzz.token_sort_ratio(bases[0], bases[1]) / 100, 2)


def suggest(
    flows: pl.DataFrame,
    organisations: pl.DataFrame,
    candidates: list[tuple[str, str, str]],
    different: set[frozenset[str]] | None = None,
) -> pl.DataFrame:
    """Suggested pairs, best first: ``action, key, other, name, score, evidence, other_name``.

    ``different`` holds pairs of node ids already decided apart (left out).
    """
    nodes = organisations.filter(pl.col("match_method") != "redacted").select("id", "name", "records")
    if nodes.is_empty():
        return pl.DataFrame(schema=COLUMNS)
    keys = normalise_names(nodes["name"])
    base = dict(zip(nodes["id"], legal_form_keys(keys)["base_key"], strict=True))
    names = dict(zip(nodes["id"], nodes["name"], strict=True))
    records = dict(zip(nodes["id"], nodes["records"], strict=True))
    evidence: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, b, why in candidates:
        if a in base and b in base:
            evidence[tuple(sorted((a, b)))].append(why)
    shared = [(pair, f"same {label} {value}") for column, label in _evidence_columns(flows)
              for value, pair in _shared(flows, column, base, NEAR)]  # fmt: skip
    shared += [(pair, f"both paid by {payer}") for payer, pair in _same_payer(flows, base)]
    for pair, why in shared:
        if not (lookup_id(pair[0]) and lookup_id(pair[1])):  # two public bodies in a register: two bodies
            evidence[pair].append(why)
    rows = []
    for (a, b), whys in evidence.items():
        if different and frozenset((a, b)) in different:
            continue
        key, other = (a, b) if records.get(a, 0) >= records.get(b, 0) else (b, a)
        rows.append(
            {
                "action": UNDECIDED,
                "key": key,
                "other": other,
                "name": names[key],
                "score": round(fuzz.token_sort_ratio(base[a], base[b]) / 100, 2),
                "evidence": "; ".join(dict.fromkeys(whys)),
                "other_name": names[other],
            }
        )
    return pl.DataFrame(rows, schema=COLUMNS).sort(["score", "key", "other"], descending=[True, False, False])


def _evidence_columns(flows: pl.DataFrame) -> list[tuple[str, str]]:
    found = []
    for column, dtype in flows.schema.items():
        if dtype != pl.String:
            continue
        if pl.Series([column]).str.contains(POSTCODE_COLUMNS).item():
            found.append((column, "postcode"))
        elif pl.Series([column]).str.contains(VAT_COLUMNS).item():
            found.append((column, "VAT number"))
    return found


def _shared(
    flows: pl.DataFrame, column: str, base: dict[str, str], cutoff: float
) -> list[tuple[str, tuple[str, str]]]:
    """Pairs of payee nodes with the same (normalised) value in ``column`` and names ``cutoff`` alike."""
    value = pl.col(column).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    groups = (
        flows.select(pl.col("payee_id"), value.alias("_v"))
        .filter(pl.col("_v").str.len_chars() >= 5, pl.col("payee_id").is_in(list(base)))
        .unique()
        .group_by("_v")
        .agg(pl.col("payee_id").sort())
        .filter(pl.col("payee_id").list.len().is_between(2, 50))
    )
    found = []
    for shared, ids in groups.iter_rows():
        for a, b in _alike(ids, base, cutoff):
            found.append((shared, (a, b)))
    return found


def _same_payer(flows: pl.DataFrame, base: dict[str, str]) -> list[tuple[str, tuple[str, str]]]:
    """Pairs of payees of one payer with names :data:`SIMILAR` alike (compared within the same first
    word, so a payer with thousands of suppliers is still quick)."""
    payees = (
        flows.select("payer_name", "payee_id")
        .filter(pl.col("payee_id").is_in(list(base)))
        .unique()
        .with_columns(pl.col("payee_id").replace_strict(base, default="").str.extract(r"^(\S+)").alias("_w"))
        .group_by("payer_name", "_w")
        .agg(pl.col("payee_id").sort())
        .filter(pl.col("payee_id").list.len() >= 2)
    )
    found = []
    for payer, _word, ids in payees.iter_rows():
        for pair in _alike(ids, base, SIMILAR):
            found.append((payer, pair))
    return found


def _alike(ids: list[str], base: dict[str, str], cutoff: float) -> list[tuple[str, str]]:
    names = [base[i] for i in ids]
    scores = cdist(names, names, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff * 100, workers=1)
    return [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids)) if scores[i, j] > 0]
