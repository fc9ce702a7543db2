"""Run every notebook against the local server the tests start, as a reader would: no NEO4J_* variable set.

The notebooks find the server by themselves (``graphflows.neo4j.connect()`` resolves the local server of
``graphflows neo4j start`` and its generated password; the fixture points ``GRAPHFLOWS_NEO4J_DATA`` at it).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.neo4j


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_the_local_server_with_no_neo4j_variables(
    path, neo4j_server, neo4j_runner, monkeypatch
):
    if not neo4j_server.managed:
        pytest.skip("needs the test suite's own local server (NEO4J_URI points elsewhere)")
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if path.name == "03-neo4j.ipynb":
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        assert f"Neo4j: {neo4j_server.uri}" in text
        assert "nodes and" in text and "flows loaded" in text
        assert "of which already in the database: 0 nodes, 0 flows" in text  # an empty database


def test_notebook_03_stops_at_the_load_on_a_database_holding_other_data(
    neo4j_server, neo4j_runner, monkeypatch
):
    """An analyst's own data stays as it was: the load cell refuses, naming the files already there."""
    if not neo4j_server.managed:
        pytest.skip("needs the test suite's own local server (NEO4J_URI points elsewhere)")
    from graphflows.graph import read_graph
    from graphflows.neo4j import load_graph
    from tests.test_neo4j_load import NEBD, snapshot

    nebd = read_graph([NEBD])
    load_graph(neo4j_runner, nebd)
    before = snapshot(neo4j_runner)
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    path = next(p for p in NOTEBOOKS if p.name == "03-neo4j.ipynb")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}}
    )
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    assert "OtherFlowsInDatabase" in str(stopped.value)
    held = f"already holds {nebd.flows.height:,} flows that this load does not contain, from NEBD.zip"
    assert held in str(stopped.value)
    assert "neo4j.load_graph(runner, graph)" in str(stopped.value)  # the load cell, not a later one
    assert "replace=True from Python" in str(stopped.value)  # the reader's way, beside the command's
    assert snapshot(neo4j_runner) == before
