"""Neo4j Browser, served by the local server's own JVM: open it in real headless Chromium, log in with the
generated password, and run a query from the Cypher library.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from graphflows.cli.neo4j_cmds import browser_link
from graphflows.graph import read_graph
from graphflows.neo4j import load_graph
from graphflows.neo4j import server as local_server
from graphflows.neo4j.library import load_query

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]

DEMO = Path(__file__).parents[1] / "graphflows" / "data" / "demo" / "flows.csv"
CHROMIUM = "/usr/bin/chromium"


def one_line(cypher: str) -> str:
    """A library query as one line for the Browser's editor (comments dropped)."""
    return " ".join(
        line.strip() for line in cypher.splitlines() if line.strip() and not line.strip().startswith("//")
    )


def test_browser_connects_and_runs_a_library_query(neo4j_server, neo4j_runner) -> None:
    if not neo4j_server.managed:
        pytest.skip("the Browser is served by the test suite's own server (NEO4J_URI points elsewhere)")
    chromium = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if chromium is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("headless Chromium (/usr/bin/chromium) is required under CI=true", pytrace=False)
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    load_graph(neo4j_runner, read_graph([DEMO]))
    expected = neo4j_runner.run(load_query("convergence_points").text, {"limit": 3}).rows
    running = local_server.status(neo4j_server.data_dir)  # other tests may have restarted it (new HTTP port)
    assert running is not None and running.browser_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(browser_link(running.browser_url, neo4j_server.uri))
            # the link presets the server and the user; the owner types the password (never in a URL)
            username = page.get_by_test_id("username")
            username.wait_for(timeout=60_000)
            assert username.input_value() == "neo4j"
            page.get_by_test_id("password").fill(neo4j_server.settings().password or "")
            page.get_by_test_id("connect").click()
            page.get_by_text("You are connected as user").wait_for(timeout=60_000)
            editor = page.locator(".monaco-editor").first
            for command in (":param limit => 3",):
                editor.click()
                page.keyboard.type(command)
                page.keyboard.press("Control+Enter")
                page.get_by_text("Successfully set your parameter").last.wait_for(timeout=20_000)
            editor.click()
            page.keyboard.type(one_line(load_query("convergence_points").text))
            page.keyboard.press("Control+Enter")
            table = page.locator("[data-testid='frame'], article").filter(has_text="recipient_id").last
            for row in expected:
                table.get_by_text(row["recipient_name"]).first.wait_for(timeout=30_000)
            page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "graphflows-neo4j-browser.png"))
        finally:
            browser.close()
