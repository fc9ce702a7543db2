"""Notebooks are committed without outputs (CI executes them with nbmake as part of the test run)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_committed_notebooks_are_what_the_generator_writes(tmp_path):
    """tools/make_notebooks.py is the source: a notebook edited by hand (or not regenerated) is refused."""
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.main(tmp_path)
    written = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    assert written == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_there_are_notebooks_to_run():
    assert len(NOTEBOOKS) >= 3, [n.name for n in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
    assert "widgets" not in notebook.get("metadata", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_use_the_public_api_only(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    private = [line for line in source.splitlines() if "graphflows." in line and "import" in line]
    allowed = ("from graphflows import viz", "from graphflows import neo4j")
    assert all(line.strip().startswith(allowed) for line in private), private


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_never_turn_amounts_into_floats(path):
    """Money is exact in the teaching notebooks too: pence are never divided (``minor / 100``) for show."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    divided = [line for line in source.splitlines() if re.search(r"(minor|amount\w*)\s*/\s*100\b", line)]
    assert divided == [], divided
