"""The importer contract: what every input format implements, and the registry that lists them.

An importer is a name, a ``sniff`` that says whether it reads a file (from its first bytes and name), and
a ``read`` that turns the file's bytes into a :class:`~graphflows.ingest.base.FileRead`. Every format,
the native flows CSV included, is one module that builds an :class:`Importer` and registers it with one
line in :mod:`graphflows.ingest.formats`. What the user said about a file (``--payer``, ``--column``, a
sources manifest) reaches ``read`` as :class:`SourceSettings`.

>>> from graphflows.ingest.formats import IMPORTERS
>>> list(IMPORTERS)
['flows', '360giving', 'ocds', 'spend']
>>> IMPORTERS["spend"].sniff(Sample("x.csv", b"Date,Supplier,Amount\\n1/4/2020,ACME,5\\n"))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from graphflows.ingest.base import FileRead
from graphflows.model import InputError

#: Fields a column override may name (``--column 'GLOB=payee:Supplier Name'``), with what each means.
OVERRIDE_FIELDS: dict[str, str] = {
    "payer": "the paying body's name",
    "payer_id": "the paying body's id",
    "payee": "the supplier / beneficiary name",
    "payee_id": "the supplier's id (an org-id)",
    "company_number": "the supplier's Companies House number",
    "charity_number": "the supplier's charity number",
    "amount": "the amount paid",
    "date": "the payment date",
    "reference": "the transaction number",
    "area": "the service area / department (kept as expense_area)",
    "type": "the expense type / purpose (kept as expense_type)",
}


@dataclass(frozen=True)
class SourceSettings:
    """What the user said about one file: who paid, and which header holds which field.

    ``columns`` maps a field of :data:`OVERRIDE_FIELDS` to a header title as printed in the file.
    """

    payer_name: str | None = None
    payer_id: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    format: str | None = None

    def __bool__(self) -> bool:
        return bool(self.payer_name or self.payer_id or self.columns)


NO_SETTINGS = SourceSettings()


@dataclass
class Sample:
    """What ``sniff`` sees: the file's name, its first bytes and (for workbooks) its sheets' top rows."""

    name: str
    head: bytes
    data: bytes | None = None  # the whole file, only for workbooks (a zip needs its end to be read)
    source: str = ""
    settings: SourceSettings = NO_SETTINGS  # column overrides the user gave for this file

    @property
    def is_workbook(self) -> bool:
        """An Excel (``.xlsx``, ``.xls``) or OpenDocument (``.ods``) workbook, by content and name."""
        from graphflows.ingest.workbook import looks_like_workbook

        return looks_like_workbook(self.name, self.head)

    @cached_property
    def header_rows(self) -> list[set[str]]:
        """The titles of the first rows of every sheet of a workbook (read once, shared by all sniffs)."""
        from graphflows.ingest.workbook import header_rows

        if not self.is_workbook or self.data is None:
            return []
        return header_rows(self.data, self.source or self.name)


@dataclass(frozen=True)
class Importer:
    """One input format.

    * ``name``: the format's name (``--format NAME``);
    * ``sniff(sample) -> bool``: True when this importer reads the file (asked in registration order);
    * ``read(data, source, settings) -> FileRead``: read the bytes; ``source`` names the file (or
      ``archive.zip!member``) in flows and errors; raise :class:`InputError` for a file it cannot read;
    * ``summary``: one line for help texts;
    * ``uses_settings``: False when the format always names its payer and columns (settings are then
      ignored with a note).
    """

    name: str
    sniff: Callable[[Sample], bool]
    read: Callable[[bytes, str, SourceSettings], FileRead]
    summary: str = ""
    uses_settings: bool = False


class Registry(dict[str, Importer]):
    """Importers by name, in the order their ``sniff`` is asked."""

    def register(self, importer: Importer) -> Importer:
        if importer.name in self:
            raise ValueError(f"an importer named {importer.name!r} is already registered")
        self[importer.name] = importer
        return importer

    def detect(self, sample: Sample) -> str | None:
        """The first importer whose ``sniff`` accepts ``sample``, or None."""
        return next((name for name, importer in self.items() if importer.sniff(sample)), None)

    def get_or_fail(self, name: str) -> Importer:
        if name not in self:
            raise InputError(f"unknown format {name!r} (known formats: {', '.join(self)})")
        return self[name]
