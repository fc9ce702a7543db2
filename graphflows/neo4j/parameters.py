"""The Cypher library's parameter types: text from the command line to checked values, and the checks
only the database can answer (does this id name a node, does this currency have flows).

Each query's header declares its parameters with one of :data:`TYPES`; the types carry the checks, so no
query needs code of its own::

    //   min_share (share, default 0.5): ...     0.8 or 80% (80 is refused: "did you mean 0.8 (80%)?")
    //   limit (count, default 25): ...          a whole number, 0 or more
    //   currency (currency, default GBP): ...   an ISO 4217 code, upper-cased; must have flows
    //   provider_id (id): ...                   must be the id of a node in the database

>>> Parameter("min_share", "share", "").convert("0.8"), Parameter("currency", "currency", "").convert("gbp")
(0.8, 'GBP')
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphflows.model import GraphflowsError, parse_currency
from graphflows.model.shares import parse_share

from .runner import CypherRunner

#: Neo4j integers are 64-bit.
INT64 = (-(2**63), 2**63 - 1)

#: Each type and what a value of it is, as the error messages say ("'abc' is not an integer").
TYPES: dict[str, str] = {
    "string": "text",
    "integer": "an integer",
    "count": "a whole number, 0 or more",
    "float": "a number",
    "share": "a share from 0 to 1",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "currency": "a three-letter ISO 4217 currency code",
    "id": "the id of an organisation in the database",
}


class LibraryError(GraphflowsError):
    """An unknown query name, a missing or unknown parameter, or a value of the wrong type."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its name, type, default (None = required unless ``optional``) and help."""

    name: str
    type: str
    help: str
    default: Any = None
    optional: bool = False

    def convert(self, value: Any) -> Any:
        """A value from the command line (text) or from Python, converted to this type and checked.

        >>> Parameter("limit", "count", "").convert("-1")
        Traceback (most recent call last):
        ...
        graphflows.neo4j.parameters.LibraryError: parameter limit: '-1' is not a whole number, 0 or more
        """
        if self.type == "share":
            try:
                return parse_share(value)
            except ValueError as exc:
                raise LibraryError(f"parameter {self.name}: {exc}") from None
        try:
            converted = _CONVERTERS[self.type](value)
        except (ValueError, TypeError, OverflowError):
            raise LibraryError(f"parameter {self.name}: {value!r} is not {TYPES[self.type]}") from None
        return converted


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _string(value: Any) -> Any:
    """Text as it is (values from Python pass through: Neo4j says if they do not fit)."""
    return value


def _integer(value: Any, low: int = INT64[0]) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(value)
    number = int(value)
    if not low <= number <= INT64[1]:
        raise ValueError(value)
    return number


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(value)
    return text in ("true", "yes", "1")


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(_text(value).strip())


def _id(value: Any) -> str:
    """Node ids are text: a number from Python (a networkx node ``2``) is the id ``"2"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not _text(value).strip():
        raise ValueError(value)
    return value


_CONVERTERS = {
    "string": _string,
    "integer": _integer,
    "count": lambda v: _integer(v, 0),
    "float": _number,
    "boolean": _boolean,
    "date": _date,
    "currency": lambda v: parse_currency(_text(v)),
    "id": _id,
}

#: One query for everything the database must confirm: which of ``$ids`` name no node, which of
#: ``$currencies`` have no flows, and (only then) the nodes and currencies there are, for the message.
CHECK_QUERY = """
WITH [id IN $ids WHERE NOT EXISTS { MATCH (:Entity {id: id}) }] AS missing_ids,
     [c IN $currencies WHERE NOT EXISTS { MATCH ()-[f:FLOWS_TO]->() WHERE f.currency = c }]
       AS missing_currencies
CALL (missing_ids) {
  WITH missing_ids WHERE size(missing_ids) > 0
  MATCH (n:Entity)
  WITH n LIMIT $known_limit
  RETURN collect([n.id, n.name]) AS known
}
CALL (missing_currencies) {
  WITH missing_currencies WHERE size(missing_currencies) > 0
  MATCH ()-[f:FLOWS_TO]->()
  RETURN collect(DISTINCT f.currency) AS held
}
RETURN missing_ids, missing_currencies, known, held
"""
#: At most this many nodes are compared with an unknown id for a suggestion.
KNOWN_LIMIT = 200_000


def check_in_database(
    runner: CypherRunner, parameters: Sequence[Parameter], values: Mapping[str, Any]
) -> None:
    """Refuse (:class:`LibraryError`, one line) an ``id`` value that names no node, or a ``currency`` with
    no flows, suggesting close matches; one query, run only when the query has such parameters."""
    given = [(p, values.get(p.name)) for p in parameters if p.type in ("id", "currency")]
    given = [(p, v) for p, v in given if v is not None]
    if not given:
        return
    ids = sorted({v for p, v in given if p.type == "id"})
    currencies = sorted({v for p, v in given if p.type == "currency"})
    row = runner.run(CHECK_QUERY, {"ids": ids, "currencies": currencies, "known_limit": KNOWN_LIMIT}).rows[0]
    for param, value in given:
        if param.type == "id" and value in row["missing_ids"]:
            hint = suggest(value, row["known"])
            raise LibraryError(
                f"parameter {param.name}: no organisation with id {value!r} in the database"
                + (f" (did you mean {hint}?)" if hint else "")
            )
        if param.type == "currency" and value in row["missing_currencies"]:
            held = ", ".join(sorted(c for c in row["held"] if c)) or "none"
            raise LibraryError(
                f"parameter {param.name}: no flows in {value} in the database (its currencies: {held})"
            )


def suggest(wanted: str, known: Iterable[Sequence[Any]], most: int = 3) -> str:
    """Up to ``most`` nodes (``id (name)``) whose id or name contains ``wanted`` (shortest names first),
    else whose id or name is closest to it (difflib's ratio, at least 0.6).

    >>> suggest("barts", [["GB-NHS-R1H", "BARTS HEALTH NHS TRUST"], ["GB-NHS-RQX", "HOMERTON"]])
    "'GB-NHS-R1H' (BARTS HEALTH NHS TRUST)"
    """
    names: dict[str, str] = {}
    for node_id, name in known:
        names[str(node_id)] = str(name or "")
    needle = wanted.strip().lower()
    found = [i for i in names if needle and (needle in i.lower() or needle in names[i].lower())]
    found.sort(key=lambda i: (len(names[i] or i), i))
    if not found:
        by_text: dict[str, str] = {}
        for node_id, name in names.items():
            by_text.setdefault(node_id.lower(), node_id)
            if name:
                by_text.setdefault(name.lower(), node_id)
        scored = [(difflib.SequenceMatcher(None, needle, text).ratio(), text) for text in by_text]
        best = max((score for score, _ in scored), default=0.0)
        closest = sorted(text for score, text in scored if score == best and score >= 0.6)
        found = list(dict.fromkeys(by_text[text] for text in closest))
    shown = (f"{i!r}" + (f" ({names[i]})" if names[i] and names[i] != i else "") for i in found[:most])
    return " or ".join(shown)
