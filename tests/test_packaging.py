"""A wheel carries what an installed graphflows needs: Cypher library, server sources, demo data, registers.

The wheel is built from a copy of the files git tracks or would track (no stale ``build/`` folder can leak
in) and installed into a temporary folder (``--target``: the environment's own install is left alone); a
fresh interpreter then finds the library there, away from the source checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def tracked_files() -> list[str]:
    """Files git tracks or would track (new, not ignored): no build/ or egg-info leftovers."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listing = subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    return [name for name in listing.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
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
    for name in tracked_files():
        if name.startswith(
            ("graphflows/neo4j/server/", "graphflows/data/demo/", "graphflows/data/registers/")
        ):
            assert name in names


def test_an_installed_graphflows_finds_its_cypher_library(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "GRAPHFLOWS_CYPHER_DIR"}
    env["PYTHONPATH"] = str(target)
    probe = (
        "import json, graphflows; from graphflows.neo4j.library import cypher_dir, list_queries; "
        "print(json.dumps([graphflows.__file__, str(cypher_dir()), sorted(q.name for q in list_queries())]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    module, folder, queries = json.loads(out.stdout)
    assert Path(module).is_relative_to(target)  # the installed copy, not the checkout
    assert Path(folder) == target.resolve() / "share" / "graphflows" / "cypher"
    assert queries == sorted(p.stem for p in (ROOT / "cypher").glob("*.cypher") if p.stem != "schema")
