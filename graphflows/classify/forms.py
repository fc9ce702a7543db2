"""Legal forms from identifiers and from the legal-form words in names.

Names are read with rigour's organisation-type table (``Ltd``, ``PLC``, ``LLP``, ``CIC``, ``GmbH``...),
plus the few UK forms it does not know: co-operatives and community benefit societies, charitable
incorporated organisations and "& Partners" practices.

>>> names_forms(pl.Series(["Foo Community Interest Company", "Foo Co-operative Limited", "Mind in Salford"]))
['cic', 'mutual_society', None]
"""

from __future__ import annotations

import re

import polars as pl
from rigour.names.org_types import extract_org_types

from graphflows.registers import name_keys

#: UK forms rigour does not know, tried first (on name keys).
UK_FORM_WORDS = (
    (
        "mutual_society",
        r"\bCO ?OPERATIVE\b|\bCO ?OP\b|\bCOMMUNITY BENEFIT SOCIETY\b|\bINDUSTRIAL AND PROVIDENT\b",
    ),
    ("charity", r"\bCHARITABLE INCORPORATED ORGANISATION\b|\bCIO$|\bREGISTERED CHARITY\b"),
    ("partnership", r"\bAND PARTNERS\b"),
)

#: rigour's type-specific forms that are not a company, and those ignored (GP = a general practice here).
_SPECIFIC = {"cic": "cic", "llp": "partnership", "lp": "partnership"}
_GENERIC = {"coop": "mutual_society", "ngo": "charity"}
_IGNORED = {"gp", "pc"}

#: Companies House number prefixes of companies (after Companies House's list of prefixes; a number
#: without a prefix is an England and Wales company). Royal Charter bodies (``RC``/``SR``/``NR``) and
#: unregistered companies (``ZC``/``SZ``/``NZ``, bodies set up by statute or charter that file with
#: Companies House) are not companies: their number says nothing of their form or channel.
COH_COMPANY = r"SC|NI|R0|FC|SF|NF|AC|SA|NA|SE|ES|EN|GE|GS|GN|FE"
COH_PARTNERSHIP = r"OC|SO|NC|LP|SL|NL|SG"  # LLPs, limited partnerships, Scottish qualifying partnerships
COH_SOCIETY = r"RS|IP|SP|NP"  # registered societies (co-operative and community benefit)
COH_CHARITY = r"CE|CS"  # charitable incorporated organisations

#: Org-id prefixes (with Companies House number prefixes) -> form; earlier entries rank first.
ID_FORMS = (
    ("public_body", r"^GB-(LAE|LAS|PLA|LANI|NHS|GOR|GOV|GOVUK)-"),
    ("charity", rf"^GB-(CHC|SC|NIC)-|^GB-COH-({COH_CHARITY})\d"),
    ("mutual_society", rf"^GB-MPR-|^GB-COH-({COH_SOCIETY})\d"),
    ("partnership", rf"^GB-COH-({COH_PARTNERSHIP})\d"),
    ("company", rf"^GB-COH-(\d|({COH_COMPANY})\d)"),
)


def names_forms(names: pl.Series, keys: pl.Series | None = None) -> list[str | None]:
    """The legal form each name states, or None (one entry per name, nulls allowed).

    ``keys`` are the names' :func:`~graphflows.registers.name_keys` when the caller has them already.
    """
    keys = (name_keys(names) if keys is None else keys).fill_null("")
    by_words = pl.DataFrame({"k": keys}).select(
        pl.coalesce([pl.when(pl.col("k").str.contains(rx)).then(pl.lit(form)) for form, rx in UK_FORM_WORDS])
    )[:, 0]
    return [
        (word or _rigour_form(name)) if name else word
        for name, word in zip(names.cast(pl.String).to_list(), by_words.to_list(), strict=True)
    ]


def _rigour_form(name: str) -> str | None:
    specific = extract_org_types(name)
    if not specific:
        return None
    generic = extract_org_types(name, generic=True)
    tail = name.rstrip(" .)").casefold()
    head = re.sub(r"(?i)^\W*(the\s+)?", "", name).casefold()
    for i, ((text, kind), (_, kind_generic)) in enumerate(zip(specific, generic, strict=False)):
        # Two-letter forms (AS, SA, In) are also English words: only believed at the end of a name.
        if kind in _IGNORED or (len(text.strip(".")) < 3 and not tail.endswith(text.casefold())):
            continue
        # A form that starts the name, with another after it, is the name: "ASC Ltd" is a company named ASC;
        # so is one word alone ("ASC": the Animals in Science Committee).
        starts = re.match(rf"{re.escape(text.casefold())}\b", head)
        alone = head.strip(" .") == text.casefold().strip(" .") and " " not in text.strip()
        if starts and (i < len(specific) - 1 or alone):
            continue
        return _SPECIFIC.get(kind) or _GENERIC.get(kind_generic, "company")
    return None
