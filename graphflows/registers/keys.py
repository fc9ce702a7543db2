"""Name keys for matching organisation names against the public-body registers.

A key ignores case, punctuation, ``&``/``and``, a leading "The", the long forms of common NHS words
(``NHS Foundation Trust`` is ``NHS FT``) and of "United Kingdom", and the short form ``Hosp`` of "Hospital"
(finance systems cut long names: "Whittington Hosp Nhs Trust"), so spellings from different publishers meet:

>>> name_key("NHS Leicester City Clinical Commissioning Group") == name_key("NHS LEICESTER CITY CCG")
True
>>> name_key("Royal Free London NHS Foundation Trust") == name_key("Royal Free London Nhs Ft")
True
>>> name_key("Whittington Hosp Nhs Trust") == name_key("The Whittington Hospital NHS Trust")
True
>>> name_key("The Mayor's Office for Policing & Crime")
'MAYORS OFFICE FOR POLICING AND CRIME'
"""

from __future__ import annotations

import html

import polars as pl

#: Long forms folded into the short form every register uses.
_FOLDS = (
    (r"\bCLINICAL COMMISSIONING GROUP\b", "CCG"),
    (r"\bINTEGRATED CARE BOARD\b", "ICB"),
    (r"\bLIMITED\b", "LTD"),
    (r"\bSAINT\b", "ST"),
    (r"\bN H S\b|\bNATIONAL HEALTH SERVICE\b", "NHS"),  # "N.H.S.", as some finance systems spell it
    (r"\bNHS FOUNDATION TRUST\b", "NHS FT"),  # "Royal Free London Nhs Ft" in a trust's spend file
    (r"\bUNITED KINGDOM\b", "UK"),
    (r"\bHOSP\b", "HOSPITAL"),  # no register name has the word HOSP: "Whittington Hosp Nhs Trust"
    (r"\bHOSPS\b", "HOSPITALS"),  # "United Kingdom Atomic Energy Authority" is the register's "UK ..."
)


def name_key(name: object) -> str:
    """The matching key of one name ("" for blanks)."""
    if name is None:
        return ""
    return name_keys(pl.Series([str(name)]))[0] or ""


def name_keys(names: pl.Series) -> pl.Series:
    """:func:`name_key` for a whole column (vectorised; nulls stay null)."""
    text = names.cast(pl.String)
    if text.str.contains(r"&#?\w+;").any():  # HTML entities, as some finance systems export them
        text = pl.Series(
            [html.unescape(html.unescape(t)) if t else t for t in text.to_list()], dtype=pl.String
        )
    expr = pl.col("n").str.to_uppercase().str.replace_all(r"[`'’‘´]", "")
    expr = expr.str.replace_all(r"[&+]", " AND ").str.replace_all(r"[^\w]+|_", " ")
    expr = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    for pattern, short in _FOLDS:
        expr = expr.str.replace_all(pattern, short)
    expr = expr.str.replace(r"^THE ", "")
    return pl.DataFrame({"n": text}).select(expr.alias("key"))["key"]
