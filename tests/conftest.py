"""Test configuration: fixtures for real parts live in tests/fixtures/ (one module each)."""

from __future__ import annotations

import importlib.util

pytest_plugins = [
    name
    for name in ("tests.fixtures.neo4j_server", "tests.fixtures.browser", "tests.fixtures.spark")
    if importlib.util.find_spec(name) is not None
]
