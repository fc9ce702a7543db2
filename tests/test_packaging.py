"""A wheel carries what an installed graphflows needs: the Cypher library, server sources, demo data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graphflows.neo4j import library

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("graphflows-*.whl")
    return built


def test_the_wheel_holds_the_cypher_library_server_sources_and_demo(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shared = "/data/share/graphflows/cypher/"
    installed = {n.rsplit("/", 1)[1] for n in names if shared in n and n.endswith(".cypher")}
    assert installed == {path.name for path in (ROOT / "cypher").glob("*.cypher")}
    for path in (ROOT / "graphflows" / "neo4j" / "server").iterdir():
        assert f"graphflows/neo4j/server/{path.name}" in names
    assert "graphflows/data/demo/flows.csv" in names


def test_an_installed_library_is_found_without_the_source_tree(
    wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "prefix"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if "/data/share/graphflows/cypher/" in name:
                target = prefix / name.split("/data/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    monkeypatch.delenv("GRAPHFLOWS_CYPHER_DIR", raising=False)
    monkeypatch.setattr(library, "SOURCE_TREE_CYPHER", tmp_path / "no-checkout" / "cypher")
    monkeypatch.setattr(library, "INSTALLED_CYPHER", prefix / "share" / "graphflows" / "cypher")
    assert library.cypher_dir() == prefix / "share" / "graphflows" / "cypher"
    installed = {q.name: q.text for q in library.list_queries()}
    assert installed and installed == {
        path.stem: path.read_text(encoding="utf-8")
        for path in (ROOT / "cypher").glob("*.cypher")
        if path.stem != "schema"
    }
