"""The registered input formats. Adding a format: write one module that builds an
:class:`~graphflows.ingest.importer.Importer` named ``IMPORTER``, and register it here with one line.

Order matters: the first importer whose ``sniff`` accepts a file reads it.
"""

from __future__ import annotations

from graphflows.ingest import giving360, native, ocds, spend
from graphflows.ingest.importer import Registry

IMPORTERS = Registry()
IMPORTERS.register(native.IMPORTER)
IMPORTERS.register(giving360.IMPORTER)
IMPORTERS.register(ocds.IMPORTER)
IMPORTERS.register(spend.IMPORTER)
