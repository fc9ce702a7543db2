"""Run notebooks/03-neo4j.ipynb against the real Neo4j server the tests start (in an empty database)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-neo4j.ipynb"


@pytest.mark.neo4j
def test_neo4j_notebook_runs_against_the_test_server(neo4j_server, neo4j_runner, monkeypatch):
    monkeypatch.setenv("NEO4J_URI", neo4j_server.uri)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "nodes and" in text and "flows loaded" in text
