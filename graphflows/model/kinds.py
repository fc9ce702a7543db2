"""The three kinds of node and the fixed vocabulary of labels and relationship types.

>>> parse_kind(" Provider ")
<Kind.PROVIDER: 'provider'>
>>> Kind.STREAM.label
'FundingStream'
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What part an organisation or fund plays in a flow."""

    STREAM = "stream"
    COMMISSIONER = "commissioner"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        """The Neo4j label (and the name used in views) for this kind."""
        return LABELS[self]


LABELS: dict[Kind, str] = {
    Kind.STREAM: "FundingStream",
    Kind.COMMISSIONER: "Commissioner",
    Kind.PROVIDER: "Provider",
}

#: Relationship types: money flows, and the analysis written back.
EDGE_TYPES: tuple[str, ...] = ("FLOWS_TO", "ATTRIBUTED_TO")

_BY_TEXT = {k.value: k for k in Kind} | {LABELS[k].lower(): k for k in Kind} | {"funding_stream": Kind.STREAM}


def parse_kind(text: str) -> Kind:
    """Read a kind case- and space-insensitively; raise ValueError for anything else."""
    key = text.strip().lower()
    if key not in _BY_TEXT:
        raise ValueError(f"unknown kind {text!r} (expected stream, commissioner or provider)")
    return _BY_TEXT[key]
