"""What the user says about input files: who paid (``--payer``), which header is which (``--column``),
and a sources manifest that does both for many files.

A rule is a glob and :class:`~graphflows.ingest.importer.SourceSettings`. A glob matches a file's path as
given, its name, or (inside a zip) the member's path or name, so ``WHIT*.csv`` matches
``data/WHIT 01 - April.csv`` and ``spend.zip!2020/WHIT 01 - April.csv``.

The manifest is a CSV with a header; only ``path`` is required::

    path,format,payer_name,payer_id,payee_column,date_column
    nhs_whittington_health/*.csv,spend,Whittington Health NHS Trust,GB-NHS-RKE,,
    oxford/*.csv,,Oxford City Council,,Supplier Name,Paid Date

``path`` is a glob relative to the manifest's folder (the files it matches are read); ``format`` forces a
format; ``payer_name`` / ``payer_id`` name the paying body; a ``<field>_column`` column, for a field of
:data:`~graphflows.ingest.importer.OVERRIDE_FIELDS` (``payee``, ``amount``, ``date``, ``payer``,
``reference``, ``area``, ``type``, ``company_number``...), says which header of the file holds it.

>>> rules = SourceRules.from_options(payers=["WHIT*=Whittington Health NHS Trust|GB-NHS-RKE"])
>>> rules.settings_for("spend.zip!WHIT 01 - April.csv").payer_id
'GB-NHS-RKE'
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from graphflows.ingest.base import check_readable, decode_utf8, is_documentation
from graphflows.ingest.importer import NO_SETTINGS, OVERRIDE_FIELDS, SourceSettings
from graphflows.model import InputError

MANIFEST_COLUMNS = ("path", "format", "payer_name", "payer_id", *(f"{f}_column" for f in OVERRIDE_FIELDS))


@dataclass(frozen=True)
class Rule:
    """Settings for the files ``pattern`` matches (``folder``: where a manifest's relative globs start)."""

    pattern: str
    settings: SourceSettings
    folder: Path | None = None
    origin: str = ""

    def matches(self, source: str) -> bool:
        outer, _, member = source.partition("!")
        names = {source, outer, Path(outer).name}
        if member:
            names |= {member, PurePosixPath(member).name}
        patterns = {self.pattern}
        if self.folder is not None and not Path(self.pattern).is_absolute():
            patterns.add(str(self.folder / self.pattern))
            names.add(str(Path(outer).resolve()))
        return any(fnmatchcase(name, p) for name in names for p in patterns)

    def unused(self) -> str:
        """The note for a rule that matched no file read."""
        if self.folder is not None:  # a manifest row: origin is FILE:LINE
            return f"{self.origin}: path {self.pattern!r} matches no file read: the row was not used"
        return f"{self.origin or 'rule'} {self.pattern!r}=... matches no file read: its setting was not used"


@dataclass
class SourceRules:
    """Every rule from ``--payer``, ``--column`` and ``--sources``; the first rule that sets a field wins."""

    rules: list[Rule] = field(default_factory=list)
    #: Files the manifest's globs matched on disk (read in addition to the files given).
    files: list[Path] = field(default_factory=list)
    #: Notes on files the manifest's globs matched that were not read (README.md, notes.txt...).
    skipped: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def settings_for(self, source: str) -> SourceSettings:
        """The settings of every rule matching ``source``, merged (earlier rules win)."""
        matching = [r.settings for r in self.rules if r.matches(source)]
        if not matching:
            return NO_SETTINGS
        columns: dict[str, str] = {}
        for settings in reversed(matching):
            columns.update(settings.columns)
        payer = next((s for s in matching if s.payer_name or s.payer_id), NO_SETTINGS)
        return SourceSettings(
            payer_name=payer.payer_name,
            payer_id=payer.payer_id,
            columns=columns,
            format=next((s.format for s in matching if s.format), None),
        )

    def unmatched(self, sources: Iterable[str]) -> list[str]:
        """A note for each rule that matches none of ``sources`` (the files read): its setting was unused.

        >>> SourceRules.from_options(payers=["nomatch*.csv=Foo"]).unmatched(["spend.csv"])
        ["--payer 'nomatch*.csv'=... matches no file read: its setting was not used"]
        """
        read = list(sources)
        return [rule.unused() for rule in self.rules if not any(rule.matches(source) for source in read)]

    @classmethod
    def from_options(
        cls,
        payers: Iterable[str] = (),
        columns: Iterable[str] = (),
        manifest: str | Path | None = None,
        formats: Sequence[str] | None = None,
    ) -> SourceRules:
        """Rules from ``--payer GLOB=NAME[|ID]``, ``--column GLOB=FIELD:TITLE`` and a manifest file."""
        rules = [_payer_rule(text) for text in payers] + [_column_rule(text) for text in columns]
        found = cls(rules)
        if manifest is not None:
            loaded = read_manifest(manifest, formats)
            found.rules += loaded.rules
            found.files += loaded.files
            found.skipped += loaded.skipped
        return found


def _split(text: str, option: str, example: str) -> tuple[str, str]:
    pattern, sep, rest = text.partition("=")
    if not sep or not pattern.strip() or not rest.strip():
        raise InputError(f"{option} {text!r}: expected {example}")
    return pattern.strip(), rest.strip()


def _payer_rule(text: str) -> Rule:
    example = "GLOB=NAME or GLOB=NAME|ORG-ID, e.g. 'WHIT*.csv=Whittington Health'"
    pattern, rest = _split(text, "--payer", example)
    name, _, org_id = (part.strip() for part in rest.partition("|"))
    return Rule(pattern, SourceSettings(payer_name=name or None, payer_id=org_id or None), origin="--payer")


def _column_rule(text: str) -> Rule:
    example = "GLOB=FIELD:TITLE, e.g. 'oxford*.csv=payee:Supplier Name'"
    pattern, rest = _split(text, "--column", example)
    name, sep, title = (part.strip() for part in rest.partition(":"))
    if not sep or not title:
        raise InputError(f"--column {text!r}: expected {example}")
    if name not in OVERRIDE_FIELDS:
        raise InputError(f"--column {text!r}: unknown field {name!r} (known: {', '.join(OVERRIDE_FIELDS)})")
    return Rule(pattern, SourceSettings(columns={name: title}), origin="--column")


def read_manifest(path: str | Path, formats: Sequence[str] | None = None) -> SourceRules:
    """Rules and files from a sources manifest (see the module docstring for its columns)."""
    path = Path(path)
    check_readable(path)
    text = decode_utf8(path, path.read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    titles = [t.strip() for t in reader.fieldnames or []]
    if "path" not in titles:
        raise InputError(f"{path}:1: a sources manifest needs a 'path' column (found: {', '.join(titles)})")
    unknown = [t for t in titles if t and t not in MANIFEST_COLUMNS]
    if unknown:
        raise InputError(
            f"{path}:1: unknown manifest column(s) {', '.join(unknown)} "
            f"(known: {', '.join(MANIFEST_COLUMNS)})"
        )
    folder = path.resolve().parent
    found = SourceRules()
    for row in reader:
        line = reader.line_num
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue
        pattern = cells.get("path", "")
        if not pattern:
            raise InputError(f"{path}:{line}: no path (a file name or glob, relative to the manifest)")
        fmt = cells.get("format") or None
        if fmt and formats is not None and fmt not in formats:
            raise InputError(f"{path}:{line}: unknown format {fmt!r} (known formats: {', '.join(formats)})")
        settings = SourceSettings(
            payer_name=cells.get("payer_name") or None,
            payer_id=cells.get("payer_id") or None,
            columns={f: cells[f"{f}_column"] for f in OVERRIDE_FIELDS if cells.get(f"{f}_column")},
            format=fmt,
        )
        found.rules.append(Rule(pattern, settings, folder, origin=f"{path}:{line}"))
        target = pattern if Path(pattern).is_absolute() else str(folder / pattern)
        documents = []
        for match in sorted(glob.glob(target, recursive=True)):
            file = Path(match)
            if file.is_file() and is_documentation(file.name):
                documents.append(file.name)
            elif file.is_file() and file not in found.files:
                found.files.append(file)
        if documents:
            shown = ", ".join(documents[:5]) + (", ..." if len(documents) > 5 else "")
            found.skipped.append(
                f"{path}:{line}: skipped {len(documents)} file(s) path {pattern!r} matches that document "
                f"data rather than hold it: {shown}"
            )
    return found
