"""Neo4j: a local server for development and tests, the loader, the write-back and the Cypher library.

Example (with ``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD`` set, or a local server)::

    from graphflows.neo4j import connect, load_graph, run_named
    with connect() as runner:
        load_graph(runner, graph)
        run_named(runner, "convergence_points", {"limit": 10}).rows
"""

from graphflows.neo4j.library import LibraryQuery, list_queries, load_query, run_named
from graphflows.neo4j.loader import LoadReport, WriteBackReport, load_graph
from graphflows.neo4j.runner import (
    BoltRunner,
    CypherError,
    CypherRunner,
    Neo4jError,
    Neo4jSettings,
    Neo4jUnavailable,
    QueryResult,
    connect,
)
from graphflows.neo4j.schema import SCHEMA_STATEMENTS, apply_schema
from graphflows.neo4j.writeback import clear_write_back, write_analysis, write_attribution

__all__ = [
    "SCHEMA_STATEMENTS",
    "BoltRunner",
    "CypherError",
    "CypherRunner",
    "LibraryQuery",
    "LoadReport",
    "Neo4jError",
    "Neo4jSettings",
    "Neo4jUnavailable",
    "QueryResult",
    "WriteBackReport",
    "apply_schema",
    "clear_write_back",
    "connect",
    "list_queries",
    "load_graph",
    "load_query",
    "run_named",
    "write_analysis",
    "write_attribution",
]
