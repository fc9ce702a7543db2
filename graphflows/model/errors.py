"""Errors raised by the library. Only the CLI turns them into messages for people."""

from __future__ import annotations

import re
from dataclasses import dataclass


class GraphflowsError(Exception):
    """Base class: something the user can act on (bad input, missing server...)."""


@dataclass(frozen=True)
class RowProblem:
    """One rejected record: where it is and what is wrong with it."""

    source: str
    line: int | str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class InputError(GraphflowsError):
    """An input file cannot be used: unreadable, wrong shape, or rows that fail validation.

    ``problems`` lists every bad record found (possibly more than are shown); ``total`` counts them.
    """

    #: The message for the command line when it differs from the library's (:class:`NoPayerError`).
    command_line_message: str | None = None

    def __init__(self, message: str, problems: list[RowProblem] | None = None, total: int | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.total = total if total is not None else len(self.problems)


@dataclass(frozen=True)
class UnnamedPayer:
    """A spend file that names no paying body: its header line and the titles found there."""

    source: str
    line: int | str
    found: tuple[str, ...]


def shown_titles(titles: tuple[str, ...]) -> str:
    """A header's titles as the file has them: polars' names for a repeated title (``Amount_duplicated_0``)
    and a blank one (``_duplicated_0``) lose the suffix, and a blank title is shown as ``(blank)``.

    >>> shown_titles(("Date", "", "Supplier", "_duplicated_0", "Amount_duplicated_0"))
    'Date, (blank), Supplier, (blank), Amount'
    """
    plain = (re.sub(r"_duplicated_\d+$", "", title) for title in titles)
    return ", ".join(title if title.strip() else "(blank)" for title in plain)


class NoPayerError(InputError):
    """Files that name no paying body. Readers gather every such file before raising, so that one message
    lists them all and the user gives every ``--payer`` at once.

    >>> error = NoPayerError([UnnamedPayer("a/x 01.csv", 1, ("Date",)), UnnamedPayer("a/x 02.csv", 1, ())])
    >>> error.command_line_message
    "2 files name no paying body (no Entity / Body Name / Organisation Name column): say who paid with \
--payer 'GLOB=NAME' for each, e.g. --payer 'x 0*=Name of the body', or a --sources manifest"
    >>> str(error).endswith("sources=graphflows.read_manifest('sources.csv'))")
    True
    """

    #: How many of the files are listed one per line before the rest are just counted.
    SHOWN = 20
    WHY = "no Entity / Body Name / Organisation Name column"

    #: How a Python caller says who paid (the command line's ``--payer`` and ``--sources``).
    IN_PYTHON = (
        " (in Python: read_flows(paths, sources=graphflows.SourceRules.from_options(payers=['GLOB=NAME'])) "
        "or sources=graphflows.read_manifest('sources.csv'))"
    )

    def __init__(self, files: list[UnnamedPayer]):
        self.files = files
        examples = " ".join(f"--payer '{glob}=Name of the body'" for glob in _payer_globs(files)[:4])
        problems: list[RowProblem] = []
        if len(files) == 1:
            only = files[0]
            message = (
                f"{only.source}:{only.line}: the file names no paying body ({self.WHY}; found: "
                f"{shown_titles(only.found)}); say who paid with --payer 'GLOB=NAME' (e.g. {examples}) "
                "or a --sources manifest"
            )
        else:
            problems = [
                RowProblem(f.source, f.line, f"names no paying body (found: {shown_titles(f.found)})")
                for f in files[: self.SHOWN]
            ]
            message = (
                f"{len(files)} files name no paying body ({self.WHY}): say who paid with --payer 'GLOB=NAME' "
                f"for each, e.g. {examples}, or a --sources manifest"
            )
        #: The message without the Python way, for the command line.
        self.command_line_message = message
        super().__init__(message + self.IN_PYTHON, problems, len(files) if problems else None)


def _payer_globs(files: list[UnnamedPayer]) -> list[str]:
    """A ``--payer`` glob for each folder's files: the common start of their names (``NCL *``) when it
    is at least 3 characters and matches no file of another folder, else each file's name."""
    from fnmatch import fnmatchcase
    from os.path import commonprefix
    from pathlib import PurePosixPath

    folders: dict[str, list[str]] = {}
    for f in files:
        where = PurePosixPath(f.source.replace("\\", "/").replace("!", "/"))
        folders.setdefault(str(where.parent), []).append(where.name)
    globs: list[str] = []
    for folder, names in folders.items():
        start = commonprefix(names)  # noqa: RUF071 (the common start of names, character by character)
        others = [n for other, more in folders.items() if other != folder for n in more]
        if len(names) > 1 and len(start) >= 3 and not any(fnmatchcase(n, f"{start}*") for n in others):
            globs.append(f"{start}*")
        else:
            globs.extend(dict.fromkeys(names))
    return globs
