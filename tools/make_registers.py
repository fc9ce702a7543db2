"""Derive graphflows' compact public-body tables from the shared register copies.

    python3 tools/make_registers.py [/work/shared/data/registers] [graphflows/data/registers]

Reads the files described in the source folder's README.md / MANIFEST.tsv and writes four CSVs:

- ``bodies.csv``  ``org_id,name,register,channel``: one row per public body.
- ``names.csv``   ``key,org_id,kind``: every known name of a body as a matching key (registers.keys);
  ``kind`` is ``name``, or ``abbreviation`` for a key known only as a GOV.UK or IfG abbreviation (``CPS``).
- ``ids.csv``     ``alias,org_id``: other codes for the same body (digital-land codes of post-2020 councils).
- ``codes.csv``   ``code,org_id``: councils' statistical codes and URIs as spend files print them (GSS
  ``E08000033``, former GSS, SNAC ``00CY``, opendatacommunities.org URIs); a code naming two bodies
  is left out.

Same input, same output (rows sorted). See graphflows/data/registers/README.md for sources and licences.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import polars as pl

from graphflows.registers.keys import name_keys

LA = "local-authorities"
MYSOC = f"{LA}/mysociety__uk_local_authority_names_and_codes/data"
ARCHIVE = "openregister__registers-data-archive"
ODS_NAMES = {0: "code", 1: "name", 10: "opened", 11: "closed"}
NATION_PREFIX = {"England": "GB-LAE", "Scotland": "GB-LAS", "Wales": "GB-PLA", "Northern Ireland": "GB-LANI"}
REGISTER_PREFIX = {
    "local-authority-eng": "GB-LAE", "local-authority-sct": "GB-LAS",
    "principal-local-authority": "GB-PLA", "local-authority-nir": "GB-LANI",
}  # fmt: skip

#: GOV.UK slugs of the organisations that define a channel; their child bodies inherit it.
DEPARTMENT_CHANNELS = {
    "department-of-health": "nhs",
    "department-of-health-and-social-care": "nhs",
    "nhs-commissioning-board": "nhs",
    "public-health-england": "public_health",
    "home-office": "police_justice",
    "ministry-of-justice": "police_justice",
    "youth-justice-board-for-england-and-wales": "police_justice",
    "department-for-communities-and-local-government": "housing_communities",
    "ministry-of-housing-communities-and-local-government": "housing_communities",
    "department-for-levelling-up-housing-and-communities": "housing_communities",
    "homes-england": "housing_communities",
    "department-for-education": "education",
    "education-and-skills-funding-agency": "education",
    "department-for-work-pensions": "welfare_employment",
    "department-for-transport": "transport",
    # Lottery distributors are charitable funders, whichever department sponsors them.
    "big-lottery-fund": "charitable",
    "the-national-lottery-community-fund": "charitable",
    "heritage-lottery-fund": "charitable",
    "national-lottery-heritage-fund": "charitable",
}

#: GOV.UK abbreviations that are everyday words: a payee called "ICE" or "LEASE" is not a public body.
COMMON_WORDS = {"ARB", "BIG", "CAT", "COM", "COT", "ECO", "FEE", "GEM", "ICE", "LEASE", "PAT", "SPA", "VAM"}

#: Small words kept lower-case when ODS upper-case names are title-cased.
_SMALL = {"AND", "OF", "THE", "FOR", "UPON", "ON", "IN", "WITH", "AT"}
_UPPER = {"NHS", "CCG", "ICB", "UK", "II"}


def main(source: Path, target: Path) -> None:
    bodies: list[dict] = []
    names: list[tuple[str, str, str]] = []
    aliases: list[tuple[str, str]] = []
    for part in (local_authorities, nhs_bodies, police_bodies, government_organisations):
        b, n, a, abbreviations = part(source)
        bodies += b
        names += [(name, org_id, "name") for name, org_id in n]
        names += [(name, org_id, "abbreviation") for name, org_id in abbreviations]
        aliases += a
    body_frame = pl.DataFrame(bodies).unique("org_id", keep="first", maintain_order=True).sort("org_id")
    known = set(body_frame["org_id"])
    name_frame = pl.DataFrame(names, schema=["name", "org_id", "kind"], orient="row").filter(
        pl.col("org_id").is_in(known)
    )
    name_frame = (
        name_frame.with_columns(key=name_keys(name_frame["name"]))
        .filter(pl.col("key") != "")
        # a key that is also one of the body's names is a name (descending: "name" before "abbreviation")
        .sort("key", "org_id", "kind", descending=[False, False, True])
        .unique(["key", "org_id"], keep="first", maintain_order=True)
        .select("key", "org_id", "kind")
    )
    alias_frame = (
        pl.DataFrame(aliases, schema=["alias", "org_id"], orient="row")
        .filter(pl.col("org_id").is_in(known) & ~pl.col("alias").is_in(known))
        .unique()
        .sort("alias")
    )
    target.mkdir(parents=True, exist_ok=True)
    body_frame.write_csv(target / "bodies.csv")
    name_frame.write_csv(target / "names.csv")
    alias_frame.write_csv(target / "ids.csv")
    current = dict(alias_frame.iter_rows())  # digital-land's codes of new councils -> the canonical id
    code_frame = (
        pl.DataFrame(council_codes(source), schema=["code", "org_id"], orient="row")
        .with_columns(pl.col("org_id").replace(current))
        .filter(pl.col("org_id").is_in(known))
        .unique()
        .filter(pl.col("code").is_unique())
        .sort("code")
    )
    code_frame.write_csv(target / "codes.csv")
    print(
        f"{body_frame.height} bodies, {name_frame.height} names, {alias_frame.height} id aliases -> {target}"
    )


# ----------------------------------------------------------------------------------------- local authorities


def local_authorities(source: Path):
    las = pl.read_csv(source / MYSOC / "uk_local_authorities.csv", infer_schema=False)
    prefix_of: dict[str, str] = {}
    bodies, names = [], []
    for row in las.iter_rows(named=True):
        org_id = f"{NATION_PREFIX[row['nation']]}-{row['local-authority-code']}"
        prefix_of[row["local-authority-code"]] = org_id
        bodies.append(_body(org_id, row["official-name"], "local-authority", "local_government"))
        names += [(row["official-name"], org_id), (row["nice-name"], org_id)]
    lookup = pl.read_csv(
        source / MYSOC / "packages/uk_la_past_current/lookup_name_to_registry.csv", infer_schema=False
    )
    names += [(n, prefix_of[c]) for n, c in lookup.iter_rows() if c in prefix_of]
    # The retired GOV.UK registers and their name map (openregister), same codes.
    for register, prefix in REGISTER_PREFIX.items():
        records = pl.read_csv(source / LA / ARCHIVE / register / "records.csv", infer_schema=False)
        for row in records.iter_rows(named=True):
            org_id = f"{prefix}-{row['key']}"
            names += [(row.get("official-name"), org_id), (row.get("name"), org_id)]
            bodies.append(
                _body(org_id, row.get("official-name") or row["name"], "local-authority", "local_government")
            )
    name_map = source / LA / "openregister__local-authority-data/maps/name.tsv"
    words_of: dict[str, set[str]] = {}
    for name, org_id in names:
        words_of.setdefault(org_id, set()).update(_place_words(name))
    for row in _tsv(name_map):
        register, _, code = row["local-authority"].partition(":")
        org_id = f"{REGISTER_PREFIX.get(register)}-{code}"
        # the map gives some names a neighbour's code (braintree -> BRT, Broxtowe): a name must share a
        # word with the body's own names to be kept
        if register in REGISTER_PREFIX and _place_words(row["name"]) & words_of.get(org_id, set()):
            names.append((row["name"], org_id))
    # digital-land's own codes for councils created after the register was retired (NYUA, CUA...).
    aliases = []
    dl = pl.read_csv(
        source / LA / "digital-land__organisation-collection/data/local-authority.csv", infer_schema=False
    )
    for row in dl.iter_rows(named=True):
        code = row["reference"]
        match = [o for n, o in names if n and n == row["name"]]
        if code and match and code not in prefix_of:
            aliases.append((f"GB-LAE-{code}", match[0]))
    return bodies, [(n, o) for n, o in names if n], aliases, []


def council_codes(source: Path) -> list[tuple[str, str]]:
    """(code, org_id) for councils: GSS codes (current and former), SNAC / old ONS codes and the
    opendatacommunities.org URI (scheme-less, lower case), as LGTC spend files print them."""
    las = pl.read_csv(source / MYSOC / "uk_local_authorities.csv", infer_schema=False)
    codes = []
    for row in las.iter_rows(named=True):
        org_id = f"{NATION_PREFIX[row['nation']]}-{row['local-authority-code']}"
        found = [row["gss-code"], row["snac"], (row["old-ons-la-code"] or "").replace("-", "")]
        found += (row["former-gss-codes"] or "").split(",")
        codes += [(c.strip().upper(), org_id) for c in found if c and c.strip()]
    dl = pl.read_csv(
        source / LA / "digital-land__organisation-collection/data/local-authority.csv", infer_schema=False
    )
    for row in dl.iter_rows(named=True):
        uri, code = row["opendatacommunities-uri"], row["reference"]
        if uri and code:
            codes.append((re.sub(r"^https?://", "", uri.strip()).rstrip("/").lower(), f"GB-LAE-{code}"))
    return codes


# ----------------------------------------------------------------------------------------------------- NHS


def nhs_bodies(source: Path):
    """Trusts (etr), CCGs / sub-ICB locations (eccg, CCG register) and ICBs, newest name first."""
    files = [
        "mayaallek__HDSModule4/etr.csv", "jhau__nhs-spend/data/etr.csv",
        "ebmdatalab__scmd-rheumatology/data/etr.csv", "jhau__nhs-spend/data/eccg.csv",
    ]  # fmt: skip
    bodies, names = [], []
    for file in files:
        ods = pl.read_csv(source / "nhs" / file, has_header=False, infer_schema=False)
        for row in ods.iter_rows():
            org_id = f"GB-NHS-{row[0]}"
            bodies.append(_body(org_id, _title(row[1]), "nhs", "nhs"))
            names.append((row[1], org_id))
    icbs = pl.read_csv(source / "nhs/jhau__nhs-spend/data/icb_names_codes_dec_2024.csv", infer_schema=False)
    for row in icbs.iter_rows(named=True):
        org_id = f"GB-NHS-{row['ICB24CDH']}"
        bodies.append(_body(org_id, row["ICB24NM"], "nhs", "nhs"))
        names.append((row["ICB24NM"], org_id))
    ccgs = pl.read_csv(
        source / "nhs" / ARCHIVE / "clinical-commissioning-group/records.csv", infer_schema=False
    )
    for row in ccgs.iter_rows(named=True):
        org_id = f"GB-NHS-{row['key']}"
        bodies.append(_body(org_id, _title(row["name"]), "nhs", "nhs"))
        names.append((row["name"], org_id))
    # "NHS Foo CCG" is also written "Foo CCG".
    names += [(n[4:], o) for n, o in names if n.upper().startswith("NHS ") and n.upper().endswith(" CCG")]
    return bodies, names, [], []


# -------------------------------------------------------------------------------------------------- police


def police_bodies(source: Path):
    """The 44 forces (register keys ``police-force:<slug>``) and their commissioners (``pcc:<slug>``)."""
    bodies, names = [], []
    for row in _tsv(source / "police/openregister__police-data/data/police-force/police-force.tsv"):
        slug, force = row["police-force"], row["name"]
        force_id = f"police-force:{slug}"
        bodies.append(_body(force_id, force, "police", "police_justice"))
        names.append((force, force_id))
        area = force
        for word in (" Police Service", " Constabulary", " Police"):
            area = area.removesuffix(word)
        if slug == "metropolitan":
            pcc, pcc_names = "Mayor's Office for Policing and Crime", ["MOPAC"]
        elif slug in ("city-of-london", "northern-ireland"):
            continue  # policed by the City of London Corporation / the Northern Ireland Policing Board
        else:
            pcc = f"{area} Police and Crime Commissioner"
            pcc_names = [
                f"Police and Crime Commissioner for {area}",
                f"Office of the Police and Crime Commissioner for {area}",
                f"{area} Office of the Police and Crime Commissioner",
                f"{area} OPCC",
                f"{area} Police, Fire and Crime Commissioner",
                f"Police, Fire and Crime Commissioner for {area}",
            ]
        bodies.append(_body(f"pcc:{slug}", pcc, "police", "police_justice"))
        names += [(n, f"pcc:{slug}") for n in [pcc, *pcc_names]]
    return bodies, names, [], []


# -------------------------------------------------------------------------------------- central government


def government_organisations(source: Path):
    """GB-GOR bodies: GOV.UK 2017 list (slugs, parents, abbreviations), 2020 register, 2024 departments."""
    cg = source / "central-government"
    govuk = list(_tsv(cg / "openregister__government-organisation-data/lists/govuk/list.tsv"))
    slug_of = {r["government-organisation"]: r["govuk"] for r in govuk}
    parents = {r["govuk"]: [p for p in r["parent-govuks"].split(";") if p] for r in govuk}
    records = pl.read_csv(cg / ARCHIVE / "government-organisation/records.csv", infer_schema=False)
    for row in records.iter_rows(named=True):
        slug = (row["website"] or "").rstrip("/").rsplit("/", 1)[-1]
        slug_of.setdefault(row["key"], slug)
    digital_land = pl.read_csv(cg / "digital-land__organisation-collection/data/government-organisation.csv")
    for row in digital_land.iter_rows(named=True):
        slug_of.setdefault(row["reference"], (row["website"] or "").rstrip("/").rsplit("/", 1)[-1])

    names: list[tuple[str, str]] = []
    abbreviations: list[tuple[str, str]] = []
    latest: dict[str, str] = {}
    alpha = cg / "openregister__government-organisation-data/data/government-organisation"
    alpha = alpha / "government-organisation.tsv"
    for row in _tsv(alpha):
        latest[row["government-organisation"]] = row["name"]
    for row in govuk:
        latest[row["government-organisation"]] = row["name"]
        if _is_acronym(row["abbreviation"]):
            abbreviations.append((row["abbreviation"], f"GB-GOR-{row['government-organisation']}"))
    for row in records.iter_rows(named=True):
        latest[row["key"]] = row["name"]
    for row in digital_land.sort("entry-date").iter_rows(named=True):
        latest[row["reference"]] = row["name"]
    names += [(n, f"GB-GOR-{c}") for c, n in latest.items()]
    for row in _tsv(alpha):
        names.append((row["name"], f"GB-GOR-{row['government-organisation']}"))
    for row in records.iter_rows(named=True):
        names.append((row["name"], f"GB-GOR-{row['key']}"))
    for row in digital_land.iter_rows(named=True):
        names.append((row["name"], f"GB-GOR-{row['reference']}"))
    # IfG ministerial departments: abbreviations (DfE, DWP, DCLG...) of departments whose names we know.
    code_by_name = {n: o for n, o in names}
    ifg = pl.read_csv(
        cg / "instituteforgov__ifg-ministers-database-public/data/organisation.csv", infer_schema=False
    )
    for row in ifg.iter_rows(named=True):
        if row["name"] in code_by_name and _is_acronym(row["short_name"]):
            abbreviations.append((row["short_name"], code_by_name[row["name"]]))

    bodies = [
        _body(
            f"GB-GOR-{code}", name, "government-organisation", _department_channel(slug_of.get(code), parents)
        )
        for code, name in latest.items()
    ]
    return bodies, names, [], abbreviations


_NOT_PLACE = {"council", "borough", "district", "county", "of", "the", "and", "metropolitan", "ua", "boro"}


def _place_words(name: str | None) -> set[str]:
    """The words of a council's name that name its place (``Braintree District Council`` -> braintree)."""
    return set(re.sub(r"[^a-z]+", " ", (name or "").lower()).split()) - _NOT_PLACE


def _is_acronym(text: str | None) -> bool:
    """A usable abbreviation: ``DWP``, ``DfE``, ``NS&I``; not a word the GOV.UK list also puts there
    ("Police", "Education", "Tate") nor an acronym that is an everyday word (``ICE``, ``LEASE``)."""
    return bool(
        text
        and re.fullmatch(r"[A-Z0-9&]{3,}|[A-Z][a-z]?[A-Z][A-Za-z0-9]*", text)
        and text.upper() not in COMMON_WORDS
    )


def _department_channel(slug: str | None, parents: dict[str, list[str]], depth: int = 0) -> str:
    """The channel of a department, or inherited from its parents when they agree; else central_other."""
    if not slug or depth > 5:
        return "central_other"
    if slug in DEPARTMENT_CHANNELS:
        return DEPARTMENT_CHANNELS[slug]
    inherited = {_department_channel(p, parents, depth + 1) for p in parents.get(slug, [])}
    return inherited.pop() if len(inherited) == 1 else "central_other"


# ------------------------------------------------------------------------------------------------ helpers


def _body(org_id: str, name: str, register: str, channel: str) -> dict:
    return {"org_id": org_id, "name": name, "register": register, "channel": channel}


def _tsv(path: Path):
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle, delimiter="\t")


def _title(upper: str) -> str:
    """ODS names are upper-case: ``NHS STOKE-ON-TRENT CCG`` -> ``NHS Stoke-on-Trent CCG``."""

    def word(part: str, first: bool) -> str:
        if part in _UPPER or any(c.isdigit() for c in part):
            return part
        return part.lower() if part in _SMALL and not first else part.capitalize()

    return " ".join(
        "-".join(word(part, i == 0 and j == 0) for j, part in enumerate(token.split("-")))
        for i, token in enumerate(upper.split(" "))
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else Path("/work/shared/data/registers"),
        Path(args[1])
        if len(args) > 1
        else Path(__file__).resolve().parent.parent / "graphflows/data/registers",
    )
