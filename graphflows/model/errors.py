"""Errors raised by the library. Only the CLI turns them into messages for people."""

from __future__ import annotations

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

    def __init__(self, message: str, problems: list[RowProblem] | None = None, total: int | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.total = total if total is not None else len(self.problems)
