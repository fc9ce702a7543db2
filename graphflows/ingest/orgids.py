"""Organisation identifiers (org-id.guide style) and normalised names, for matching across sources.

>>> [normalise_org_id(x) for x in (" gb-coh-1234567 ", "GB-SC-025599", "GB-NIC-NIC101104")]
['GB-COH-01234567', 'GB-SC-SC025599', 'GB-NIC-101104']
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
from rigour.names.org_types import replace_org_types_compare

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
    if prefix == "GB-NIC" and re.fullmatch(r"NIC?\d{5,6}", local):  # GB-NIC-NIC101104
        local = re.sub(r"^NIC?", "", local)
    if prefix in ("GB-CHC", "GB-NIC") and local.isdigit():
        local = str(int(local))
    if prefix == "GB-SC" and re.fullmatch(r"\d{6}", local):  # GB-SC-025599: the register's SC is implied
        local = f"SC{local}"
    return f"{prefix}-{local}"


#: The shape of a valid local part, by scheme (after :func:`normalise_org_id`). Anything else under these
#: prefixes is a placeholder or a slip (``GB-COH-n/a``, ``GB-COH-the-windmill-charlton``): not an identity.
ID_SHAPES = {
    "GB-COH": r"(\d{8}|[A-Z]{2}\d{6}|R\d{7})",  # 8 digits, or a 2-letter register prefix (SC, NI, OC, RS...)
    "GB-CHC": r"[1-9]\d{4,6}(-\d{1,2})?",  # England and Wales charity numbers (-1: a linked charity)
    "GB-SC": r"SC\d{6}",
    "GB-NIC": r"1\d{5}",  # Northern Ireland: NIC100002 -> 100002
    "GB-EDU": r"\d{6,7}",  # a school or college URN
    "GB-UKPRN": r"1\d{7}",
    "GB-LAE": r"[A-Z]{3,5}",
    "GB-LAS": r"[A-Z]{3,5}",
    "GB-PLA": r"[A-Z]{3,5}",
    "GB-LANI": r"[A-Z]{3,5}(-[A-Z]{1,2})?",
    "GB-GOR": r"[A-Z]{1,3}\d{1,5}",
    "GB-NHS": r"[A-Z0-9]{3,6}",
    "US-EIN": r"\d{2}-?\d{7}",
}
_PLACEHOLDER = re.compile(r"^(N/?A|NONE|NULL|NIL|UNKNOWN|TBC|TBA|NOT ?KNOWN|NOT ?APPLICABLE|X+|0+|-+|\?+)$")


def org_id_problem(org_id: str | None) -> str | None:
    """Why a registered-looking identifier is not one (a placeholder, or not the register's shape), else None.

    >>> org_id_problem("GB-COH-N/A"), org_id_problem("GB-COH-THE-WINDMILL-CHARLTON")
    ('a placeholder, not a number', 'not a GB-COH number')
    >>> org_id_problem("GB-COH-05585290"), org_id_problem("360G-trafford-the-windmill")
    (None, None)
    """
    m = _PREFIX.match((org_id or "").upper())
    if not m or m.group(1) not in REGISTERED_PREFIXES:
        return None
    prefix, local = m.group(1), org_id[len(m.group(1)) + 1 :]
    if _PLACEHOLDER.match(local.upper()) or re.fullmatch(r"[A-Z]{0,2}0+", local.upper()):
        return "a placeholder, not a number"
    shape = ID_SHAPES.get(prefix)
    if shape is None:
        return None if re.search(r"\d|[A-Z]{2}", local.upper()) else f"not a {prefix} identifier"
    return None if re.fullmatch(shape, local) else f"not a {prefix} number"


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


# ----------------------------------------------------------------------------------------- legal forms

#: rigour's forms that are not a legal form in UK payee names (GP = a general practice, PC = a police
#: constable or a computer shop; "Charity" is part of many charities' names).
_NOT_FORMS = {"gp", "pc", "ngo"}


def legal_form_keys(name_keys: pl.Series) -> pl.DataFrame:
    """Each normalised name split into its base and the legal form at its end (rigour's table of forms).

    Only a trailing form counts: ``CHARITABLE INCORPORATED ORGANISATION`` mid-name is not ``Inc``.

    >>> legal_form_keys(pl.Series(["PROUD TRUST LTD", "URBAN FITNESS COLLECTIVE COMMUNITY INTEREST COMPANY",
    ...     "PROUD TRUST", "SMITH GP"])).rows()
    [('PROUD TRUST', 'ltd'), ('URBAN FITNESS COLLECTIVE', 'cic'), ('PROUD TRUST', ''), ('SMITH GP', '')]
    """
    keys = name_keys.cast(pl.String).fill_null("")
    distinct = keys.unique().to_list()
    bases, forms = {}, {}
    for key in distinct:
        tokens = replace_org_types_compare(key).split() if key else []
        cut = len(tokens)
        while cut > 0 and tokens[cut - 1].islower() and tokens[cut - 1] not in _NOT_FORMS:
            cut -= 1
        base = " ".join(tokens[:cut]).upper()  # mid-name forms spelt one way in every variant
        bases[key], forms[key] = (base, " ".join(tokens[cut:])) if len(base) >= 3 else (key, "")
    return pl.DataFrame(
        {
            "base_key": keys.replace_strict(bases, return_dtype=pl.String),
            "form": keys.replace_strict(forms, return_dtype=pl.String),
        }
    )
