"""The columns every importer produces: one flow table, one node table (schema as data).

A flow table is a polars DataFrame with :data:`FLOW_COLUMNS` (plus any extra columns from the source,
kept as text). Importers for every format produce it; the graph is built from it.
"""

from __future__ import annotations

import polars as pl

FLOW_COLUMNS: dict[str, pl.DataType] = {
    "payer_id": pl.String(),
    "payer_name": pl.String(),
    "payer_kind": pl.String(),  # a Kind value
    "payee_id": pl.String(),
    "payee_name": pl.String(),
    "payee_kind": pl.String(),
    "amount_minor": pl.Int64(),  # exact amount in pence/cents
    "currency": pl.String(),  # ISO 4217 code, upper case
    "date": pl.Date(),
    "stream_id": pl.String(),
    "reference": pl.String(),
    "source": pl.String(),  # file the flow came from
    "line": pl.String(),  # line number (CSV) or record path (JSON/XLSX) within the file
}

NODE_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.String(),
    "name": pl.String(),
    "kinds": pl.List(pl.String()),  # sorted Kind values
}


#: A flow whose payer is its payee (an organisation paying itself): ``flows.filter(SELF_PAYMENT)``, and
#: ``~SELF_PAYMENT`` for the others. The Spark engine writes its own (a different expression type).
SELF_PAYMENT = pl.col("payer_id") == pl.col("payee_id")


def empty_flows() -> pl.DataFrame:
    """A flow table with no rows and the standard columns."""
    return pl.DataFrame(schema=FLOW_COLUMNS)
