"""Words for counts in messages and notes."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """The count (thousands separated) and the noun, with an ``s`` unless there is one.

    >>> plural(1, "convergence point"), plural(2_000, "flow")
    ('1 convergence point', '2,000 flows')
    """
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
