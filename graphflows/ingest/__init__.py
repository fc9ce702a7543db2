"""Read funding files into one flow table. One module per source format.

>>> from graphflows.ingest import read_flows
>>> result = read_flows(["flows.csv"])            # doctest: +SKIP
>>> result.flows.height, result.records_read      # doctest: +SKIP
"""

from __future__ import annotations

from graphflows.ingest.base import FileRead
from graphflows.ingest.reader import FORMATS, IngestResult, detect_format, read_file, read_flows

__all__ = ["FORMATS", "FileRead", "IngestResult", "detect_format", "read_file", "read_flows"]
