"""Format detection and reading many files into one :class:`IngestResult`.

Formats: ``flows`` (native CSV), ``360giving`` (CSV/XLSX/XLS/ODS/JSON), ``ocds`` (JSON packages,
records, releases) and ``spend`` (transparency spend CSVs separated by commas, semicolons or tabs, and
workbooks). A ``.zip`` is read member by member without unpacking it to disk (members are named
``archive.zip!member.csv`` in flows and errors).

When any file is not in the native format (or an organisation map is given), payers and payees are
matched across all files so one organisation is one node (:mod:`graphflows.ingest.organisations`);
``IngestResult.organisations`` says how each node was matched.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from os import PathLike
from pathlib import Path, PurePosixPath

import polars as pl

from graphflows.ingest import native
from graphflows.ingest.base import (
    DATA_SUFFIXES,
    FileRead,
    check_member_size,
    check_readable,
    empty_rejects,
    is_documentation,
    refuse_utf16,
)
from graphflows.ingest.formats import IMPORTERS
from graphflows.ingest.importer import NO_SETTINGS, Sample, SourceSettings
from graphflows.ingest.organisations import OrgMap, Resolution, read_org_map, resolve
from graphflows.ingest.repeats import (
    SeenBytes,
    drop_repeated_grants,
    drop_repeated_releases,
    drop_repeated_transactions,
)
from graphflows.ingest.sources import SourceRules
from graphflows.ingest.unrecognised import why_not_recognised
from graphflows.ingest.workbook import is_ods
from graphflows.model import InputError, NoPayerError, RowProblem, UnnamedPayer
from graphflows.model.notes import FileNote
from graphflows.model.schema import empty_flows

#: Importers by format name (:mod:`graphflows.ingest.formats`); the first whose ``sniff`` says yes reads
#: a file.
FORMATS = IMPORTERS
#: What the note on lines repeated within a file counts (the same words for every file, so notes combine).
REPEATED_LINES = "line(s) repeating an earlier line of their file exactly"
#: What the note on a zip's skipped members counts.
SKIPPED_MEMBERS = "non-data member(s) of zips skipped"

#: How many bad records an error message shows before it just counts the rest.
SHOWN_PROBLEMS = 20


@dataclass
class IngestResult:
    """Flows from every file read, the records rejected, and counts that reconcile.

    ``records_read == flows.height + rejects.height + non_money + repeated``.
    """

    flows: pl.DataFrame
    rejects: pl.DataFrame
    records_read: int
    non_money: int
    files: list[FileRead] = field(default_factory=list)
    #: One row per organisation node (id, name, match_method, match_confidence, match_reasons, org_ids,
    #: names_seen, records); None when only native files were read.
    organisations: pl.DataFrame | None = None
    #: Each distinct (given id, other ids, name) seen in the files -> the node it became, and why.
    identities: pl.DataFrame | None = None
    org_notes: list[str] = field(default_factory=list)
    #: Pairs of nodes the rules did not merge that may be one organisation: (node, other, evidence).
    org_candidates: list[tuple[str, str, str]] = field(default_factory=list)

    #: Settings that matched nothing (--payer/--column globs, manifest rows, see SourceRules.unmatched).
    setting_notes: list[str] = field(default_factory=list)

    @property
    def repeated(self) -> int:
        """Records of transactions already read in another file, not counted (see FileRead.repeated)."""
        return sum(f.repeated for f in self.files)

    def repeated_amount(self) -> dict[str, int]:
        """The money of the repeated records per currency, in minor units (never adds two currencies)."""
        totals: dict[str, int] = {}
        for f in self.files:
            for currency, minor in f.repeated_amount.items():
                totals[currency] = totals.get(currency, 0) + minor
        return dict(sorted(totals.items()))

    @property
    def notes(self) -> list[str]:
        return [note for f in self.files for note in f.notes] + self.setting_notes + self.org_notes

    def file_counts(self) -> list[dict[str, object]]:
        """Per file read: ``path, format, records_read, flows, rejected, non_money, repeated`` (as summaries
        say)."""
        return [
            {
                "path": f.source,
                "format": f.format,
                "records_read": f.records_read,
                "flows": f.flows.height,
                "rejected": f.rejects.height,
                "non_money": f.non_money,
                "repeated": f.repeated,
            }
            for f in self.files
        ]

    def totals(self) -> dict[str, int]:
        """Sum of accepted amounts per currency, in minor units (never adds two currencies)."""
        if self.flows.is_empty():
            return {}
        grouped = self.flows.group_by("currency").agg(pl.col("amount_minor").cast(pl.Int128).sum())
        return {currency: int(total) for currency, total in grouped.sort("currency").iter_rows()}


def detect_format(path: Path, settings: SourceSettings = NO_SETTINGS) -> str:
    """The name of the format that reads ``path`` (``"zip"`` for an archive); InputError if none does."""
    check_readable(path)
    with path.open("rb") as handle:
        head = handle.read(65536)
    if not head.strip(b"\xef\xbb\xbf \t\r\n") and path.stat().st_size <= len(head):
        raise InputError(f"{path}: file is empty")
    if _is_zip_archive(path):
        return "zip"
    return _detect(path, head, str(path), settings=settings)


def _detect(
    path: Path, head: bytes, source: str, data: bytes | None = None, settings: SourceSettings = NO_SETTINGS
) -> str:
    refuse_utf16(head, source)
    sample = Sample(path.name, head, None, source, settings)
    if sample.is_workbook:
        sample.data = data if data is not None else path.read_bytes()
    name = FORMATS.detect(sample)
    if name is None and settings.columns:  # columns named by the user: the importer taking them says why
        name = next(n for n, importer in FORMATS.items() if importer.uses_settings)
    if name is not None:
        return name
    if sample.is_workbook:
        raise InputError(
            f"{source}: workbook not recognised: no sheet has a 360Giving header (Amount Awarded...) or a "
            "spend header (Supplier, Amount...) in its first rows"
        )
    raise InputError(
        why_not_recognised(path.name, head, source, settings, FORMATS.detect)
        or f"{source}: format not recognised (known formats: {', '.join(FORMATS)}); "
        "check the header row, or force one with --format (or name its columns with --column)"
    )


def _is_zip_archive(path: Path) -> bool:
    """A ``.zip`` (or any zip that is not an Excel workbook)."""
    if not zipfile.is_zipfile(path):
        return False
    if path.suffix.lower() == ".zip":
        return True
    with path.open("rb") as handle:
        if is_ods(path.name, handle.read(200)):  # a spreadsheet, not an archive: detection says so
            return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" not in archive.namelist()
    except zipfile.BadZipFile:
        return False


def read_file(
    path: str | Path, format: str | None = None, settings: SourceSettings = NO_SETTINGS
) -> FileRead:
    """Read one file in the given (or detected) format (a ``.zip``: use :func:`read_files`)."""
    reads = read_files(path, format, SourceRules([]) if not settings else _only(settings))
    if len(reads) != 1:
        raise InputError(f"{path}: holds {len(reads)} data files; read it with read_flows")
    return reads[0]


def _only(settings: SourceSettings) -> SourceRules:
    from graphflows.ingest.sources import Rule

    return SourceRules([Rule("*", settings)])


def read_files(
    path: str | Path,
    format: str | None = None,
    rules: SourceRules | None = None,
    seen: SeenBytes | None = None,
) -> list[FileRead]:
    """Read one file, or every data file inside a ``.zip``, in the given (or detected) format.

    ``rules`` (from ``--payer``, ``--column``, ``--sources``) give each file its settings by name. A file
    (or member) with the same bytes as one ``seen`` read before is not read again: it comes back empty,
    with a note naming the file read (without ``seen``, only a zip's members are compared).
    """
    path = Path(path)
    if format is not None:
        FORMATS.get_or_fail(format)
    check_readable(path)
    rules = rules or SourceRules()
    if _is_zip_archive(path):
        return _read_zip(path, format, rules, seen if seen is not None else SeenBytes())
    settings = rules.settings_for(str(path))
    data = path.read_bytes()
    if not (format or settings.format) and len(data) <= 65536 and not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError(f"{path}: file is empty")
    read = partial(_detect_and_read, path, data, str(path), settings, format)
    if seen is None:  # a file read on its own repeats nothing: its bytes are not hashed
        return [read()]
    return [seen.read_once(data, str(path), settings, read)]


def _detect_and_read(
    named: Path, data: bytes, source: str, settings: SourceSettings, format: str | None
) -> FileRead:
    """Read bytes in the given format, else the file's settings' format, else the one detected."""
    name = format or settings.format or _detect(named, data[:65536], source, data, settings)
    return _read_bytes(name, data, source, settings)


def _read_bytes(name: str, data: bytes, source: str, settings: SourceSettings) -> FileRead:
    """Read bytes with the named importer, giving it the file's settings if it uses them."""
    importer = FORMATS.get_or_fail(name)
    refuse_utf16(data, source)  # also when --format skipped detection
    if settings and not importer.uses_settings:
        read = importer.read(data, source, NO_SETTINGS)
        text = f"{source}: --payer/--column settings ignored: {name} files name their own payer"
        read.notes.append(
            FileNote(text, source, f"{name} file(s) whose --payer/--column settings were ignored", 1)
        )
        return read
    return importer.read(data, source, settings)


def _read_zip(path: Path, format: str | None, rules: SourceRules, seen: SeenBytes) -> list[FileRead]:
    reads: list[FileRead] = []
    skipped: list[str] = []
    unnamed: list[UnnamedPayer] = []
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a readable zip archive ({exc})") from None
    with archive:
        for info in archive.infolist():
            member = info.filename
            base = PurePosixPath(member).name
            if info.is_dir() or member.startswith("__MACOSX/") or base.startswith((".", "~$")):
                continue
            if not member.lower().endswith(DATA_SUFFIXES) or is_documentation(member):
                skipped.append(member)
                continue
            source = f"{path}!{member}"
            data = _member_bytes(archive, info, source)
            if not data.strip():
                raise InputError(f"{source}: file is empty")
            settings = rules.settings_for(source)
            read = partial(_detect_and_read, Path(base), data, source, settings, format)
            try:
                reads.append(seen.read_once(data, source, settings, read))
            except NoPayerError as exc:
                unnamed += exc.files
    if unnamed:
        raise NoPayerError(unnamed)
    if not reads:
        raise InputError(f"{path}: zip archive holds no data files (.csv, .json, .xlsx, .xls, .ods)")
    if skipped:
        text = f"{path}: skipped {len(skipped)} non-data member(s): {', '.join(skipped[:5])}"
        reads[0].notes.append(FileNote(text, str(path), SKIPPED_MEMBERS, len(skipped)))
    return reads


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    """A member's bytes, refusing a member too large or expanding too much (a zip bomb) before reading it."""
    check_member_size(info, source)
    try:
        with archive.open(info) as member:  # zipfile stops at the stated size and checks the CRC
            return member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, zlib.error, EOFError) as exc:
        raise InputError(f"{source}: cannot be read from the archive ({exc})") from None


def read_flows(
    paths: str | Path | Iterable[str | Path],
    *,
    format: str | None = None,
    skip_invalid: bool = False,
    progress: Callable[[Path], None] | None = None,
    org_map: str | Path | OrgMap | None = None,
    sources: SourceRules | None = None,
) -> IngestResult:
    """Read every file; by default any rejected record raises :class:`InputError` naming file and line.

    With ``skip_invalid=True`` rejected records are returned in ``rejects`` instead. ``org_map`` (a
    mapping file or :class:`OrgMap`) forces or forbids organisation merges. ``sources`` (see
    :class:`~graphflows.ingest.sources.SourceRules`) names payers and columns by file name; the files its
    manifest lists are read after ``paths``. ``paths`` may be one path (``"flows.csv"``) or a list.
    """
    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    if org_map is not None and not isinstance(org_map, OrgMap):
        org_map = read_org_map(org_map)
    sources = sources or SourceRules()
    files, documents = _data_files(_expand([*paths, *sources.files]))
    reads = _read_all(files, format, sources, progress)
    drop_repeated_grants(reads)
    drop_repeated_releases(reads)
    drop_repeated_transactions(reads)
    _note_repeated_lines(reads)
    rejects = _checked_rejects(reads, skip_invalid)
    flows = pl.concat([r.flows for r in reads if r.flows.height] or [empty_flows()], how="diagonal_relaxed")
    resolution: Resolution | None = None
    if org_map is not None or any(r.format != native.FORMAT for r in reads):
        resolution = resolve(flows, org_map)
        flows = resolution.flows
    return IngestResult(
        flows=flows,
        rejects=rejects,
        records_read=sum(r.records_read for r in reads),
        non_money=sum(r.non_money for r in reads),
        files=reads,
        organisations=resolution.organisations if resolution else None,
        identities=resolution.identities if resolution else None,
        org_notes=resolution.notes if resolution else [],
        org_candidates=resolution.candidates if resolution else [],
        setting_notes=[*_skipped(documents), *sources.skipped, *sources.unmatched(r.source for r in reads)],
    )


def _data_files(given: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The files to read, and the documentation files given with them (README.md caught by a shell glob),
    which are skipped; documentation given alone is read (and refused there)."""
    files = list(given)
    documents = [f for f in files if is_documentation(f.name) and f.is_file()]
    if len(documents) < len(files):
        return [f for f in files if f not in documents], documents
    return files, []


def _read_all(
    files: list[Path], format: str | None, sources: SourceRules, progress: Callable[[Path], None] | None
) -> list[FileRead]:
    """Every file read in order; all files naming no payer are listed in one :class:`NoPayerError`."""
    reads: list[FileRead] = []
    seen = SeenBytes() if len(files) > 1 else None  # one file (a zip's members are compared in it)
    unnamed: list[UnnamedPayer] = []
    for path in files:
        if progress is not None:
            progress(path)
        try:
            reads.extend(read_files(path, format, sources, seen))
        except NoPayerError as exc:
            unnamed += exc.files
    if unnamed:
        raise NoPayerError(unnamed)
    if not reads:
        raise InputError("no input files given")
    return reads


def _checked_rejects(reads: list[FileRead], skip_invalid: bool) -> pl.DataFrame:
    """Every file's rejected records; without ``skip_invalid`` any of them raises :class:`InputError`
    showing the first :data:`SHOWN_PROBLEMS`."""
    rejects = pl.concat([r.rejects for r in reads] or [empty_rejects()], how="vertical")
    if rejects.height and not skip_invalid:
        problems = [RowProblem(s, ln, why) for s, ln, why in rejects.head(SHOWN_PROBLEMS).select(
            "source", "line", "reason").iter_rows()]  # fmt: skip
        raise InputError(
            f"{rejects.height} invalid record(s); nothing was written "
            "(fix them, or use --skip-invalid to set them aside with their reasons and go on)",
            problems,
            rejects.height,
        )
    return rejects


def _skipped(documents: list[Path]) -> list[str]:
    """The note on documentation files given with the data (README.md, notes.txt): not read."""
    if not documents:
        return []
    shown = ", ".join(map(str, documents[:5])) + (", ..." if len(documents) > 5 else "")
    return [f"skipped {len(documents)} file(s) given that document data rather than hold it: {shown}"]


def _note_repeated_lines(reads: list[FileRead]) -> None:
    """Lines repeated identically within one file (every field but the line number) are kept, as the
    publisher gave them, and counted in the file's notes: they may be two equal payments or one listed
    twice."""
    for read in reads:
        if read.flows.height < 2:
            continue
        fields = read.flows.drop("line", "source", strict=False)
        hashes = fields.hash_rows()
        maybe = hashes.is_duplicated()  # fast; rows sharing a hash are then compared exactly
        if not maybe.any():
            continue
        suspects = fields.filter(maybe)
        again = suspects.select(~pl.struct(pl.all()).is_first_distinct()).to_series()
        count = int(again.sum())
        if count:
            line = read.flows.filter(maybe).filter(again)["line"][0]
            detail = "; kept: check whether they are separate payments or listed twice"
            text = f"{read.source}: {count} line(s) repeat an earlier line exactly (e.g. line {line}){detail}"
            read.notes.append(FileNote(text, read.source, REPEATED_LINES, count, detail=detail))


def _expand(paths: Iterable[str | Path]) -> Sequence[Path]:
    """Paths as given, each once (a file given and also listed by a manifest is read once)."""
    seen: set[Path] = set()
    out = []
    for p in map(Path, paths):
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
