"""nbmake runs the notebooks here; the Neo4j notebook needs the test suite's server, so a test runs it.

See tests/test_notebook_neo4j.py: it gets the server from the Neo4j fixture (which fails under CI=true when
no server can be had) and executes every notebook with no NEO4J_* variable set: they find the local server.
"""

collect_ignore = ["03-neo4j.ipynb"]
