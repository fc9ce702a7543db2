"""Provisional node ids for the two sides of a flow, before organisations are resolved across files.

Each importer gives every payer and payee an id as printed in its file (possibly none) and a name. Until
:mod:`graphflows.ingest.organisations` matches them across files, the node id is the identifier in its
canonical spelling, else ``name:`` plus the normalised name. The given id and name are kept in
``payer_id_given`` / ``payer_name_given`` (and ``payee_…``) so resolution, and people, can see them.

>>> import polars as pl
>>> frame = pl.DataFrame({"i": ["gb-chc-0123", None], "n": ["A Trust", "KING`S FUND"]})
>>> frame.select(provisional_id(frame, "i", "n")).to_series().to_list()
['GB-CHC-123', 'name:KINGS FUND']
"""

from __future__ import annotations

import polars as pl

from graphflows.ingest.orgids import charity_id, company_id, normalise_names, normalise_org_id
from graphflows.model import Kind

#: Payee names that say the payee was withheld (personal data, commercial confidence...).
REDACTED_NAME = (
    r"(?i)^\W*$|redact|withheld|personal (data|information|details)|data protection|private individual|"
    r"not disclosed|undisclosed|confidential|sensitive|^individual$|^\*+$|^x+$|^name removed"
)


def canonical_ids(values: pl.Series) -> pl.Series:
    """:func:`normalise_org_id` applied once per distinct value (fast on a million rows)."""
    text = values.cast(pl.String)
    distinct = text.drop_nulls().unique().to_list()
    mapping = {v: normalise_org_id(v) for v in distinct}
    return text.replace_strict(mapping, default=None, return_dtype=pl.String)


def provisional_id(frame: pl.DataFrame, id_col: str | None, name_col: str) -> pl.Expr:
    """An expression: the canonical id where one is given, else ``name:<normalised name>``."""
    keys = normalise_names(frame[name_col])
    by_name = pl.when(keys.str.len_chars() > 0).then(pl.lit("name:") + pl.lit(keys)).otherwise(None)
    if id_col is None:
        return by_name.alias("_provisional")
    ids = canonical_ids(frame[id_col])
    return pl.coalesce(pl.lit(ids), by_name).alias("_provisional")


def funder_and_recipient() -> list[pl.Expr]:
    """Payer and payee columns of a grant or award: ids as resolved, names as given (else the given id)."""
    return [
        pl.col("payer_id"),
        pl.coalesce("payer_name_given", "payer_id_given").alias("payer_name"),
        pl.lit(Kind.COMMISSIONER.value).alias("payer_kind"),
        pl.col("payee_id"),
        pl.coalesce("payee_name_given", "payee_id_given").alias("payee_name"),
        pl.lit(Kind.PROVIDER.value).alias("payee_kind"),
    ]


def registered_ids(charity: pl.Series, company: pl.Series) -> pl.Series:
    """``GB-CHC-…;GB-COH-…`` from charity and company number columns (one pass per distinct value).

    >>> registered_ids(pl.Series(["1069969", None]), pl.Series(["1234567", ""])).to_list()
    ['GB-CHC-1069969;GB-COH-01234567', None]
    """

    def mapped(values: pl.Series, fn) -> pl.Series:
        distinct = values.drop_nulls().unique().to_list()
        return values.replace_strict({v: fn(v) for v in distinct}, default=None, return_dtype=pl.String)

    frame = pl.DataFrame({"a": mapped(charity, charity_id), "b": mapped(company, company_id)})
    joined = frame.select(pl.concat_str(["a", "b"], separator=";", ignore_nulls=True).alias("ids"))["ids"]
    return joined.replace("", None)
