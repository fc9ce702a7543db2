"""The analysts' contract in Neo4j: labels, relationship types, constraints and indexes.

Every node has the label ``Entity`` (one uniqueness constraint on ``id`` that the loader MERGEs on)
plus one or more of ``Commissioner``, ``FundingStream``, ``Provider`` (each also unique on ``id``).
Each input flow is one ``(payer)-[:FLOWS_TO]->(payee)`` relationship with a ``flow_id`` (see the loader).
There is deliberately no index on relationships: the loader finds an existing flow between its two (indexed)
nodes, and each relationship index would slow loading down (measured: about 3x for a uniqueness constraint).
The write-back adds ``ConvergencePoint``, ``(recipient)-[:ATTRIBUTED_TO]->(stovepipe)``, ``Channel`` nodes
and ``(recipient)-[:ATTRIBUTED_TO_CHANNEL]->(channel)``.
``cypher/schema.cypher`` holds the same statements for people; a test checks they agree.

>>> SCHEMA_STATEMENTS[0]
'CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE'
"""

from __future__ import annotations

from graphflows.model import LABELS

from .runner import CypherRunner

#: The label every loaded node carries (MERGE key); kind labels come from :data:`graphflows.model.LABELS`.
ENTITY = "Entity"
#: Added by the write-back to recipients where at least two stovepipes converge.
CONVERGENCE_LABEL = "ConvergencePoint"
#: One node per channel of government (``nhs``, ``public_health`` ...), written back with the analysis.
CHANNEL_LABEL = "Channel"
#: The one node standing for "every stovepipe below the load's materiality threshold" (not an Entity).
OTHER_STOVEPIPES = "OtherStovepipes"
OTHER_STOVEPIPES_ID = "below_min_share"
FLOWS_TO = "FLOWS_TO"
ATTRIBUTED_TO = "ATTRIBUTED_TO"
#: ``(recipient)-[:ATTRIBUTED_TO_CHANNEL]->(:Channel)``: a recipient's income by channel (channels.csv).
ATTRIBUTED_TO_CHANNEL = "ATTRIBUTED_TO_CHANNEL"
NODE_LABELS: tuple[str, ...] = (ENTITY, *LABELS.values(), CONVERGENCE_LABEL, CHANNEL_LABEL, OTHER_STOVEPIPES)


def _snake(label: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(label))


SCHEMA_STATEMENTS: tuple[str, ...] = (
    f"CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:{ENTITY}) REQUIRE n.id IS UNIQUE",
    *(
        f"CREATE CONSTRAINT {_snake(label)}_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE"
        for label in LABELS.values()
    ),
    f"CREATE CONSTRAINT channel_id IF NOT EXISTS FOR (n:{CHANNEL_LABEL}) REQUIRE n.id IS UNIQUE",
    f"CREATE INDEX entity_name IF NOT EXISTS FOR (n:{ENTITY}) ON (n.name)",
    f"CREATE INDEX entity_channel IF NOT EXISTS FOR (n:{ENTITY}) ON (n.channel)",
    f"CREATE INDEX convergence_stovepipes IF NOT EXISTS FOR (n:{CONVERGENCE_LABEL}) ON (n.stovepipe_count)",
)


EXISTING_SCHEMA = "SHOW INDEXES YIELD name RETURN collect(name) AS names"


def apply_schema(runner: CypherRunner) -> None:
    """Create the constraints and indexes that are missing, then wait until they are online.

    One round trip when they all exist (each constraint's index has the constraint's name).
    """
    rows = runner.run(EXISTING_SCHEMA).rows
    existing = set(rows[0]["names"]) if rows else set()
    missing = [s for s in SCHEMA_STATEMENTS if s.split(" IF NOT EXISTS")[0].rsplit(" ", 1)[1] not in existing]
    for statement in missing:
        runner.run(statement, write=True)
    if missing:
        runner.run("CALL db.awaitIndexes(300)")
