"""The local server is for its owner: a password is required, file imports are off, the password is private.

Also the one resolution order (argument, environment, the local server's data folder, default) that the CLI,
the Python API and the notebooks share. Uses the session server of tests/fixtures/neo4j_server.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError

from graphflows.cli.main import main
from graphflows.neo4j import CypherError, Neo4jError, Neo4jSettings, connect
from graphflows.neo4j import server as local_server

pytestmark = pytest.mark.neo4j


@pytest.fixture
def managed(neo4j_server):
    if not neo4j_server.managed:
        pytest.skip("needs the test suite's own local server (NEO4J_URI points elsewhere)")
    return neo4j_server


def _login(uri: str, auth: tuple[str, str] | None) -> None:
    with GraphDatabase.driver(uri, auth=auth) as driver:
        driver.verify_connectivity()


def test_a_connection_without_credentials_is_refused(managed) -> None:
    with pytest.raises(AuthError):
        _login(managed.uri, None)


def test_a_wrong_password_is_refused(managed) -> None:
    # Neo4j locks a user for 5 s after 3 failures in a row: one failure for neo4j, the others for another user
    with pytest.raises(AuthError):
        _login(managed.uri, ("neo4j", "wrong-password"))
    with pytest.raises(Neo4jError, match="refused the credentials for user 'analyst'") as refused:
        connect(Neo4jSettings(uri=managed.uri, user="analyst", password="wrong-password"))
    assert "wrong-password" not in str(refused.value)
    _login(managed.uri, managed.settings().auth())  # the right one still works (and resets the count)


def test_the_fixture_logs_in_with_the_generated_password(managed, neo4j_runner) -> None:
    settings = managed.settings()
    assert settings.user == "neo4j" and settings.password and len(settings.password) >= 24
    assert settings.password not in repr(settings)
    row = neo4j_runner.run("SHOW CURRENT USER YIELD user, passwordChangeRequired").rows[0]
    assert row == {"user": "neo4j", "passwordChangeRequired": False}


def test_load_csv_cannot_read_files_on_the_machine(neo4j_runner) -> None:
    for url in ("file:///etc/passwd", "file:///../../../../etc/passwd", "file:etc/passwd"):
        with pytest.raises(CypherError) as refused:
            neo4j_runner.run(f"LOAD CSV FROM '{url}' AS line RETURN line LIMIT 1")
        assert "root:" not in str(refused.value)
        assert "allow_csv_import_from_file_urls' is false" in str(refused.value)
        assert not str(refused.value).endswith("()")  # Neo4j's empty brackets are left out


def test_password_file_and_data_folder_are_private(managed) -> None:
    password_file = managed.data_dir / local_server.PASSWORD_FILE
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(managed.data_dir.stat().st_mode) == 0o700
    assert not (managed.data_dir / "data" / "dbms" / "auth.ini").exists()  # the initial-user file is gone


def test_the_password_is_in_no_log_or_state_file(managed, neo4j_runner) -> None:
    neo4j_runner.run("RETURN 1 AS one")  # some activity in the logs
    password = managed.settings().password
    assert password
    for path in managed.data_dir.rglob("*"):
        if path.is_file() and path.name != local_server.PASSWORD_FILE and path.stat().st_size < 50_000_000:
            assert password.encode() not in path.read_bytes(), path


def test_neo4j_env_prints_lines_a_shell_can_use(managed, neo4j_runner, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["GRAPHFLOWS_NEO4J_DATA"] = str(managed.data_dir)
    cli = f"{sys.executable} -m graphflows.cli.main neo4j env"
    check = (
        "import os; from graphflows.neo4j import Neo4jSettings, connect; "
        "s = Neo4jSettings.from_env(); r = connect(s); "
        "print(s.uri, s.user, r.run('RETURN 42 AS x').rows[0]['x']); r.close()"
    )
    done = subprocess.run(
        ["sh", "-c", f'eval "$({cli})" && {sys.executable} -c "{check}"'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [managed.uri, "neo4j", "42"]
    # with --data, the same; and an explanation (exit 2) where no server runs
    done = subprocess.run(
        [*cli.split(), "--data", str(tmp_path / "none")], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "no Neo4j server is running" in done.stderr and not done.stdout


def test_one_resolution_order(managed, monkeypatch) -> None:
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    password = managed.settings().password
    # the local server (GRAPHFLOWS_NEO4J_DATA, set by the fixture) and its password
    found = Neo4jSettings.resolve()
    assert (found.uri, found.user, found.password) == (managed.uri, "neo4j", password)
    with connect() as runner:  # the Python API with nothing set
        assert runner.run("RETURN 1 AS x").rows == [{"x": 1}]
    # the same server under another loopback name still gets its password
    same = Neo4jSettings.resolve(f"neo4j://localhost:{managed.port}")
    assert same.password == password
    # the environment wins over the local server, and then the local password is not sent elsewhere
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example.org:7687")
    elsewhere = Neo4jSettings(uri="bolt://db.example.org:7687", local_elsewhere=managed.uri)
    assert Neo4jSettings.resolve() == elsewhere  # no password: the local one is never sent elsewhere
    monkeypatch.setenv("NEO4J_PASSWORD", "from-env")
    monkeypatch.setenv("NEO4J_URI", managed.uri)
    assert Neo4jSettings.resolve().password == "from-env"
    # an argument wins over everything
    assert Neo4jSettings.resolve("bolt://other:1", password="arg").uri == "bolt://other:1"
    # no local server on the folder: the default URI, no credentials
    monkeypatch.delenv("NEO4J_URI")
    monkeypatch.delenv("NEO4J_PASSWORD")
    monkeypatch.setenv("GRAPHFLOWS_NEO4J_DATA", str(managed.data_dir / "elsewhere"))
    # (and which folder has no server, for the error when nothing answers there)
    assert Neo4jSettings.resolve() == Neo4jSettings(no_local_server=managed.data_dir / "elsewhere")


def test_the_cli_finds_the_local_server_and_its_password(managed, monkeypatch, capsys) -> None:
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    assert main(["cypher", "RETURN 'found' AS it"]) == 0
    assert "found" in capsys.readouterr().out
    monkeypatch.setenv("NEO4J_USER", "analyst")  # not neo4j: no lock-out of the user the other tests use
    monkeypatch.setenv("NEO4J_PASSWORD", "not-the-password")
    assert main(["cypher", "RETURN 1 AS x"]) == 2
    err = capsys.readouterr().err
    assert "refused the credentials" in err and "not-the-password" not in err


def test_a_uri_left_from_an_earlier_start_is_named_with_where_the_server_runs_now(
    managed, monkeypatch, capsys
) -> None:
    """``eval "$(graphflows neo4j env)"``, then a restart on another port: the error says where it went."""
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    stale = f"bolt://127.0.0.1:{local_server.free_port(avoid={managed.port})}"  # nothing listens there
    monkeypatch.setenv("NEO4J_URI", stale)
    monkeypatch.setenv("NEO4J_USER", "neo4j")
    monkeypatch.setenv("NEO4J_PASSWORD", managed.settings().password)
    assert main(["query", "convergence_points"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"graphflows: cannot reach Neo4j at {stale}: ")
    assert f"graphflows' local server runs at {managed.uri}, not there" in err
    assert "Unset it" in err and "start one" not in err and len(err.strip().splitlines()) == 1
    assert managed.settings().password not in err and "):" not in err
