"""UK public-body reference tables shipped with graphflows: councils, NHS bodies, police, government.

>>> lookup_name("Trafford Council").org_id
'GB-LAE-TRF'
>>> lookup_id("gb-nhs-04c").name  # a CCG until 2022, now a sub-ICB location
'NHS Leicester, Leicestershire and Rutland ICB - 04C'
>>> lookup_name("Buckinghamshire") is None  # the county council (to 2020) or the unitary council: ambiguous
True

Tables are derived by ``tools/make_registers.py``; sources and licences are in
``graphflows/data/registers/README.md``. Everything loads on first use and is cached.
"""

from __future__ import annotations

from graphflows.registers.keys import name_key, name_keys
from graphflows.registers.tables import (
    REGISTERS,
    PublicBody,
    alias_table,
    body_table,
    code_table,
    lookup_codes,
    lookup_id,
    lookup_name,
    lookup_names,
    name_matches,
    name_table,
    names_matches,
)

__all__ = [
    "REGISTERS",
    "PublicBody",
    "alias_table",
    "body_table",
    "code_table",
    "lookup_codes",
    "lookup_id",
    "lookup_name",
    "lookup_names",
    "name_key",
    "name_keys",
    "name_matches",
    "name_table",
    "names_matches",
]
