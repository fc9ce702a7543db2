"""Read funding files into one flow table. One module per source format.

Formats: ``flows`` (native CSV), ``360giving`` (CSV, XLSX, JSON), ``ocds`` (release/record packages),
``spend`` (transparency spend CSVs and workbooks); ``.zip`` archives are read member by member. Each format
is an :class:`~graphflows.ingest.importer.Importer` registered in :mod:`graphflows.ingest.formats`.
:class:`SourceRules` (``--payer``, ``--column``, ``--sources``) name payers and columns by file name.
Payers and payees are matched across files so one organisation is one node
(:mod:`graphflows.ingest.organisations`).

>>> from graphflows.ingest import read_flows
>>> result = read_flows(["grants.csv", "spend.zip"], org_map="orgs-map.csv")   # doctest: +SKIP
>>> result.flows.height, result.records_read, result.organisations.height        # doctest: +SKIP
"""

from __future__ import annotations

from graphflows.ingest.base import FileRead
from graphflows.ingest.importer import Importer, Sample, SourceSettings
from graphflows.ingest.organisations import OrgMap, read_org_map, record_report
from graphflows.ingest.reader import FORMATS, IngestResult, detect_format, read_file, read_files, read_flows
from graphflows.ingest.sources import SourceRules, read_manifest

__all__ = [
    "FORMATS",
    "FileRead",
    "Importer",
    "IngestResult",
    "OrgMap",
    "Sample",
    "SourceRules",
    "SourceSettings",
    "detect_format",
    "read_file",
    "read_files",
    "read_flows",
    "read_manifest",
    "read_org_map",
    "record_report",
]
