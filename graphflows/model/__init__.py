"""Kinds of node, money in exact minor units, and the errors the library raises."""

from graphflows.model.errors import GraphflowsError, InputError, NoPayerError, RowProblem, UnnamedPayer
from graphflows.model.kinds import EDGE_TYPES, LABELS, Kind, parse_kind
from graphflows.model.money import (
    CURRENCY_CODE,
    DEFAULT_CURRENCY,
    MAX_MINOR,
    format_minor,
    minor_to_decimal,
    money_words,
    parse_currency,
    to_minor,
)
from graphflows.model.schema import FLOW_COLUMNS, NODE_COLUMNS

__all__ = [
    "CURRENCY_CODE",
    "DEFAULT_CURRENCY",
    "EDGE_TYPES",
    "FLOW_COLUMNS",
    "LABELS",
    "MAX_MINOR",
    "NODE_COLUMNS",
    "GraphflowsError",
    "InputError",
    "Kind",
    "NoPayerError",
    "RowProblem",
    "UnnamedPayer",
    "format_minor",
    "minor_to_decimal",
    "money_words",
    "parse_currency",
    "parse_kind",
    "to_minor",
]
