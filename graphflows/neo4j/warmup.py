"""Warm a freshly started server up for loading: the schema, then every query a load sends, once, in a
transaction that is rolled back (nothing is written).

Right after start a JVM interprets Neo4j's code and Cypher plans nothing yet: a small first load cost the
server about 8 s of CPU against 2 s once warm (benchmarks/README.md). Running each of the loader's and the
write-back's query texts once with one-row batches fills Neo4j's plan cache (keyed by the query text) and
lets the JIT compile the paths a load takes, so the first real load starts warm.

>>> with connect() as runner:                   # doctest: +SKIP
...     warm_up(runner)
"""

from __future__ import annotations

import itertools
from typing import Any

from graphflows.model import LABELS, Kind

from . import loader, writeback
from .runner import BoltRunner, translate_errors
from .schema import apply_schema

WARM_ID = "graphflows-warm-up"


def warm_up(runner: BoltRunner) -> int:
    """Create the schema if missing, then run the load's queries once and roll back; returns how many ran."""
    apply_schema(runner)
    a, b = f"{WARM_ID}-a", f"{WARM_ID}-b"
    batch = loader.flow_batch_of_one(a, b)
    recipient = [b, 1, 100, "GBP", 1.0, 1.0, a, 1, True, 1, ["nhs"], 1.0, 1.0, 0, "nhs", 1.0, ["nhs"]]
    queries: list[tuple[str, dict[str, Any]]] = [
        (loader.HAS_FLOWS_QUERY, {}),
        (loader.STORED_FLOWS_QUERY, {}),
        (loader.HAS_PROCEDURE_QUERY, {"name": loader.CREATE_FLOWS_PROCEDURE}),
    ]
    kinds = sorted(Kind, key=lambda k: k.value)
    for size in (1, 2, 3):
        for combination in itertools.combinations(kinds, size):
            labels = [LABELS[k] for k in combination]
            for extras in (False, True):
                row: list[Any] = [a, "warm-up", {"channel": "nhs"}] if extras else [a, "warm-up"]
                queries.append((loader.nodes_query(labels, extras=extras), {"rows": [row, [b, *row[1:]]]}))
    queries += [
        (loader.CREATE_FLOWS_CALL, {"batch": batch}),
        (loader.CREATE_FLOWS_QUERY, {"batch": batch}),
        (loader.FLOWS_QUERY, {"batch": batch}),
        (writeback.CLEAR_ATTRIBUTIONS, {"limit": 1}),
        (writeback.CLEAR_CHANNELS, {"limit": 1}),
        (writeback.CLEAR_OTHER_STOVEPIPES, {}),
        (writeback.CLEAR_RECIPIENTS, {"limit": 1}),
        (writeback.RECIPIENTS_QUERY, {"rows": [recipient]}),
        (writeback.CHANNELS_QUERY, {"rows": [[b, "nhs", "GBP", 100, 1.0]]}),
        (writeback.ATTRIBUTIONS_QUERY, {"rows": [[b, a, "GBP", 100, 1.0]]}),
        (writeback.MERGE_ATTRIBUTIONS_QUERY, {"rows": [[b, a, "GBP", 100, 1.0]]}),
        (writeback.OTHER_STOVEPIPES_NODE, {"id": WARM_ID, "name": WARM_ID}),
        (writeback.REMAINDERS_QUERY, {"rows": [[b, "GBP", 1, 0.001, 2]], "id": WARM_ID, "min_share": 0.01}),
        (loader.DATABASE_TOTALS_QUERY, {}),
    ]
    procedure = loader.has_procedure(runner, loader.CREATE_FLOWS_PROCEDURE)
    ran = 0
    with translate_errors(runner.settings), runner.session() as session:
        tx = session.begin_transaction()
        try:
            for query, parameters in queries:
                if query == loader.CREATE_FLOWS_CALL and not procedure:
                    continue
                tx.run(query, parameters).consume()
                ran += 1
        finally:
            tx.rollback()
    return ran
