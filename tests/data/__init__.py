"""Paths to the test data files (see README.md in this folder for provenance and licences)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent
REAL = DATA / "real"
TRAFFORD_CSV = REAL / "trafford-council-360giving" / "trafford_council_voluntary_sector_grants.csv"
TRAFFORD_JSON = REAL / "trafford-council-360giving" / "trafford_council_voluntary_sector_grants.json"
ALWF_XLSX = REAL / "alwf-360giving-xlsx" / "a003W000001B7PzQAK.xlsx"
CCG_ZIPS = {code: REAL / "nhs-ccg-spend-nel" / f"{code}.zip" for code in ("NEBD", "NEHV", "NERD")}
OCDS_ZIP = REAL / "contracts-finder-ocds-bluetail" / "json_1_1_raw.zip"
SECOND_FUNDER = DATA / "derived" / "360giving-second-funder.csv"
COUNCILS_ZIP = REAL / "lgtc-councils" / "councils.zip"
LONDON = REAL / "london-2020-21"
LONDON_ZIPS = {channel: LONDON / f"{channel}.zip" for channel in ("nhs", "gla", "tfl")}
LONDON_SOURCES = LONDON / "sources.csv"
CHECKSUMS = REAL / "SHA256SUMS"


def zip_member(archive: Path, name: str) -> bytes:
    """The bytes of one member of a test zip."""
    import zipfile

    with zipfile.ZipFile(archive) as z:
        return z.read(name)


def zip_members(archive: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(archive) as z:
        return sorted(n for n in z.namelist() if not n.endswith("/"))
