"""Organisation identifiers (org-id.guide style) and normalised names, for matching across sources.

>>> normalise_org_id(" gb-coh-1234567 ")
'GB-COH-01234567'
>>> is_registered("360G-trafford-be_active"), is_registered("GB-CHC-1015648")
(False, True)
>>> normalise_name("UK0479435601 : King`s College Hospital NHS Foundation Trust")
'KINGS COLLEGE HOSPITAL NHS FOUNDATION TRUST'
>>> normalise_name("L&amp;Q Group Limited") == normalise_name("L and Q Group Ltd.")
True
"""

from __future__ import annotations

import html
import re

import polars as pl

#: Registers whose identifiers name one legal body wherever they appear (org-id.guide prefixes).
#: Identifiers with another prefix (``360G-…`` minted by a publisher, a buyer hash) are *local*.
REGISTERED_PREFIXES = (
    "GB-CHC", "GB-SC", "GB-NIC", "GB-COH", "GB-EDU", "GB-LAE", "GB-LAS", "GB-LANI", "GB-PLA", "GB-GOR",
    "GB-NHS", "GB-UKPRN", "GB-REV", "GB-MPR", "GB-CQC", "GB-SRS", "GB-GOVUK", "GB-UKCAT", "GB-LAS", "GB-UTH",
    "GB-WALEDU", "GB-SCOTEDU", "GB-NIEDU", "GB-NHSE", "GB-NHSW", "GB-NHSNI", "GB-NHSS", "GB-RSL", "GB-PRN",
    "XI-GRID", "XI-ROR", "XI-LEI", "US-EIN", "IE-CHY", "IE-CRO", "NL-KVK",
)  # fmt: skip
#: Charity registers rank before the company register when one body has both numbers.
_RANK = {"GB-CHC": 0, "GB-SC": 0, "GB-NIC": 0, "GB-COH": 1}
_PREFIX = re.compile(r"^([A-Z]{2}-[A-Z]{2,8})-(.+)$")


def normalise_org_id(raw: object) -> str | None:
    """An identifier in one canonical spelling: upper-case prefix, no spaces, company numbers padded to 8.

    Returns None for blanks. Identifiers without a known prefix are returned stripped, unchanged.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or text.lower() in {"none", "null", "n/a", "na", "-"}:
        return None
    compact = re.sub(r"\s+", "", text)
    m = _PREFIX.match(compact.upper())
    if not m or m.group(1) not in REGISTERED_PREFIXES:
        return text
    prefix, local = m.group(1), m.group(2)
    if prefix == "GB-COH" and local.isdigit() and len(local) < 8:
        local = local.zfill(8)
    if prefix in ("GB-CHC", "GB-NIC") and local.isdigit():
        local = str(int(local))
    return f"{prefix}-{local}"


def is_registered(org_id: str | None) -> bool:
    """True when ``org_id`` comes from a public register (so it names the same body in every file)."""
    if not org_id:
        return False
    m = _PREFIX.match(org_id.upper())
    return bool(m and m.group(1) in REGISTERED_PREFIXES)


def id_rank(org_id: str) -> tuple[int, str]:
    """Sort key choosing a node's id among its identifiers: charity, then company, then other registers."""
    m = _PREFIX.match(org_id.upper())
    if m and m.group(1) in REGISTERED_PREFIXES:
        return (_RANK.get(m.group(1), 2), org_id)
    return (3, org_id)


def charity_id(number: object) -> str | None:
    """A charity number as an org-id: ``SC025599`` -> ``GB-SC-SC025599``, ``1069969`` -> ``GB-CHC-1069969``.

    >>> charity_id(1069969), charity_id("SC025599"), charity_id(""), charity_id("13-3458820")
    ('GB-CHC-1069969', 'GB-SC-SC025599', None, None)
    """
    text = _number_text(number)
    if not text:
        return None
    if re.fullmatch(r"SC\d{6}", text):
        return f"GB-SC-{text}"
    if re.fullmatch(r"NIC?\d{5,6}", text):
        return f"GB-NIC-{re.sub(r'^NIC?', '', text)}"
    if re.fullmatch(r"\d{5,7}(-\d{1,2})?", text):
        return f"GB-CHC-{int(text.split('-')[0])}"
    return None


def company_id(number: object) -> str | None:
    """A UK company number as an org-id, padded to 8 characters (``1234567`` -> ``GB-COH-01234567``)."""
    text = _number_text(number)
    if not text or not re.fullmatch(r"([A-Z]{2}\d{1,6}|\d{1,8})", text):
        return None
    return f"GB-COH-{text.zfill(8)}"


def _number_text(number: object) -> str:
    if number is None or isinstance(number, bool):
        return ""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    text = re.sub(r"\s+", "", str(number)).upper()
    return "" if text in {"NONE", "NULL", "N/A", "NA", "-", "0"} else text


# ------------------------------------------------------------------------------------------------- names

#: A vendor or supplier code some finance systems put before the name: ``UK0479435601 : NAME``.
_VENDOR_PREFIX = r"^\s*[A-Z]{0,4}\d[\w/-]{3,}\s*[:|]\s*"
_SUFFIXES = [
    (r"\bLIMITED\b", "LTD"),
    (r"\bPUBLIC LIMITED COMPANY\b", "PLC"),
    (r"\bCOMMUNITY INTEREST COMPANY\b", "CIC"),
    (r"\bLIMITED LIABILITY PARTNERSHIP\b", "LLP"),
]


def normalise_name(name: object) -> str:
    """A name without case, punctuation, HTML entities, ``&``/``and``, vendor codes, ``Limited``/``Ltd``."""
    if name is None:
        return ""
    return normalise_names(pl.Series([str(name)]))[0] or ""


def normalise_names(names: pl.Series) -> pl.Series:
    """:func:`normalise_name` for a whole column, computed once per distinct name."""
    text = names.cast(pl.String).rename("n")
    distinct = text.drop_nulls().unique()
    if distinct.str.contains("&", literal=True).any():
        plain = [html.unescape(html.unescape(t)) for t in distinct]
    else:
        plain = distinct.to_list()
    expr = pl.col("plain").str.to_uppercase().str.replace(_VENDOR_PREFIX, "")
    expr = expr.str.replace_all(r"[`'’‘´]", "")  # KING`S == KINGS
    expr = expr.str.replace_all(r"\+", " & ")
    expr = expr.str.replace_all(r"[^\w&]+", " ")
    expr = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    for pattern, repl in _SUFFIXES:
        expr = expr.str.replace_all(pattern, repl)
    expr = expr.str.replace_all(r"&", " AND ").str.replace_all(r"\s+", " ").str.strip_chars()
    expr = expr.str.replace(r"^THE ", "")
    keys = pl.DataFrame({"n": distinct, "plain": pl.Series(plain, dtype=pl.String)}).select(
        "n", expr.alias("name_key")
    )
    joined = pl.DataFrame({"n": text}).join(keys, on="n", how="left", maintain_order="left")
    return joined["name_key"]
