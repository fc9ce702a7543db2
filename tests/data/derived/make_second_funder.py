"""Rebuild ``360giving-second-funder.csv`` from the real Trafford 360Giving CSV (run from the repo root).

No real pair of 360Giving files in tests/data shares a recipient *by org-id* (Trafford and the Andrew
Lloyd Webber Foundation share none), so this derives a small second-funder file: 12 real Trafford
recipients that have a registered id, each given one grant by an obviously synthetic funder
(``360G-graphflows-test-funder``). Recipients that Trafford lists under their company number
(``GB-COH-…``) while also giving a charity number are written here under the *charity* number
(``GB-CHC-…``), so matching has to use both numbers. Amounts and dates are copied from the Trafford grant.
"""

import csv
from pathlib import Path

SOURCE = Path("tests/data/real/trafford-council-360giving/trafford_council_voluntary_sector_grants.csv")
TARGET = Path("tests/data/derived/360giving-second-funder.csv")
TITLES = [
    "Identifier", "Title", "Currency", "Amount Awarded", "Award Date", "Recipient Org:Identifier",
    "Recipient Org:Name", "Funding Org:Identifier", "Funding Org:Name", "Grant Programme:Title",
]  # fmt: skip


def main() -> None:
    rows = list(csv.DictReader(SOURCE.open(encoding="utf-8-sig", newline="")))
    both = [
        r
        for r in rows
        if r["Recipient Org:Identifier"].startswith("GB-COH-") and r["Recipient Org:Charity Number"]
    ]
    charities = [r for r in rows if r["Recipient Org:Identifier"].startswith("GB-CHC-")]
    chosen: list[dict[str, str]] = []
    for group in (both, charities):  # 6 recipients listed with both numbers, then 6 plain charities
        ids = {r["Recipient Org:Identifier"] for r in chosen}
        picked = []
        for r in group:
            if r["Recipient Org:Identifier"] not in ids and len(picked) < 6:
                ids.add(r["Recipient Org:Identifier"])
                picked.append(r)
        chosen += picked
    with TARGET.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(TITLES)
        for n, r in enumerate(chosen, start=1):
            rid = r["Recipient Org:Identifier"]
            if rid.startswith("GB-COH-") and r["Recipient Org:Charity Number"]:
                rid = f"GB-CHC-{r['Recipient Org:Charity Number'].strip()}"
            out.writerow([
                f"360G-graphflows-derived-{n}", f"Derived test grant to {r['Recipient Org:Name']}", "GBP",
                r["Amount Awarded"], r["Award Date"], rid, r["Recipient Org:Name"],
                "360G-graphflows-test-funder", "Derived Test Funder (synthetic, not a real funder)",
                "Derived test programme",
            ])  # fmt: skip


if __name__ == "__main__":
    main()
