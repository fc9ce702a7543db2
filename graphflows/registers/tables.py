"""Loading the shipped register tables and looking bodies up by identifier or name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl

from graphflows.registers.keys import name_key, name_keys

#: The registers a :class:`PublicBody` can come from.
REGISTERS = ("local-authority", "nhs", "police", "government-organisation")


@dataclass(frozen=True)
class PublicBody:
    """One public body: ``org_id`` (``GB-LAE-TRF``, ``GB-NHS-RJ1``, ``GB-GOR-D6``, ``pcc:kent``), its name,
    the register it comes from and its channel of government (see graphflows.classify.CHANNELS)."""

    org_id: str
    name: str
    register: str
    channel: str


@cache
def body_table() -> pl.DataFrame:
    """Every body: ``org_id, name, register, channel`` (one row per canonical org_id)."""
    return _read("bodies.csv")


@cache
def name_table() -> pl.DataFrame:
    """Every known name as a key: ``key, org_id, kind`` (a key may name several bodies: ambiguous).

    ``kind`` is ``name`` or ``abbreviation`` (a key known only as a GOV.UK or IfG abbreviation: ``CPS``)."""
    return _read("names.csv")


@cache
def alias_table() -> pl.DataFrame:
    """Other identifiers of the same bodies: ``alias, org_id`` (e.g. ``GB-LAE-NYUA -> GB-LAE-NYE``)."""
    return _read("ids.csv")


_BARE_CODE = re.compile(r"^([ENSW]\d{8}|\d{2}[A-Z]{2})$")


@cache
def code_table() -> pl.DataFrame:
    """Councils' statistical codes and URIs: ``code, org_id`` (GSS, former GSS, SNAC, opendatacommunities)."""
    return _read("codes.csv")


@cache
def _codes() -> dict[str, str]:
    return dict(code_table().iter_rows())


def lookup_codes(values: pl.Series) -> list[PublicBody | None]:
    """The council each value names by a code or URI as LGTC spend files print them, or None.

    >>> [b and b.org_id for b in lookup_codes(pl.Series([
    ...     "http://statistics.data.gov.uk/doc/local-authority-district/00CY",
    ...     "http://opendatacommunities.org/id/metropolitan-district-council/calderdale",
    ...     "E08000033", "18", None]))]
    ['GB-LAE-CLD', 'GB-LAE-CLD', 'GB-LAE-CLD', None, None]
    """
    codes, bodies = _codes(), _bodies()
    found: dict[str, PublicBody | None] = {}
    for value in values.drop_nulls().unique().to_list():
        text = re.sub(r"(?i)^https?://", "", value.strip()).rstrip("/")
        tail = text.rsplit("/", 1)[-1].upper()
        if "/" in text:  # a URI: the whole of it (opendatacommunities), else its last part (a code)
            org_id = codes.get(text.lower()) or codes.get(tail)
        else:  # a bare value only in a code's own shape (GSS E08000033, SNAC 00CY): "18" alone is no code
            org_id = codes.get(tail) if _BARE_CODE.match(tail) else None
        found[value] = bodies.get(org_id) if org_id else None
    return [found.get(v) if v is not None else None for v in values.to_list()]


@cache
def _aliases() -> dict[str, str]:
    return dict(alias_table().iter_rows())


@cache
def _bodies() -> dict[str, PublicBody]:
    return {row[0]: PublicBody(*row) for row in body_table().iter_rows()}


@cache
def _names() -> dict[str, tuple[str, ...]]:
    grouped = name_table().group_by("key").agg(pl.col("org_id").unique().sort())
    return {key: tuple(ids) for key, ids in grouped.iter_rows()}


def lookup_id(org_id: str | None) -> PublicBody | None:
    """The body with this identifier (any case and spacing), or None.

    >>> lookup_id("GB-LAE-TRF").name
    'Trafford Metropolitan Borough Council'
    """
    if not org_id:
        return None
    text = re.sub(r"\s+", "", str(org_id))
    key = text.upper() if re.match(r"(?i)^[a-z]{2}-", text) else text.lower()
    bodies = _bodies()
    return bodies.get(key) or bodies.get(_aliases().get(key, ""))


def name_matches(name: str | None) -> tuple[PublicBody, ...]:
    """All bodies that go by this name (by :func:`name_key`); several when the name is ambiguous."""
    ids = _names().get(name_key(name), ())
    return tuple(_bodies()[i] for i in ids)


def lookup_name(name: str | None) -> PublicBody | None:
    """The one body that goes by this name, or None when no body or several do (never a guess).

    >>> lookup_name("NHS Leicester City CCG").org_id, lookup_name("Department for Education").channel
    ('GB-NHS-04C', 'education')
    """
    matches = name_matches(name)
    return matches[0] if len(matches) == 1 else None


def lookup_names(names: pl.Series) -> list[PublicBody | None]:
    """:func:`lookup_name` for a whole column (keys computed once, vectorised).

    >>> [b and b.org_id for b in lookup_names(pl.Series(["Trafford Council", "Footlights", None]))]
    ['GB-LAE-TRF', None, None]
    """
    return [found[0] if len(found) == 1 else None for found in names_matches(names)]


def names_matches(names: pl.Series) -> list[tuple[PublicBody, ...]]:
    """:func:`name_matches` for a whole column: every body each name may be (several: ambiguous)."""
    table, bodies = _names(), _bodies()
    return [tuple(bodies[i] for i in table.get(key or "", ())) for key in name_keys(names).to_list()]


def _read(filename: str) -> pl.DataFrame:
    path = resources.files("graphflows") / "data" / "registers" / filename
    with resources.as_file(path) as real:
        return pl.read_csv(real, infer_schema=False)
