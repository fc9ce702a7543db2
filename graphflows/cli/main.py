"""``graphflows`` console script: one click group; each command lives in its own module.

Library errors (:class:`~graphflows.model.GraphflowsError`) become one-line messages with exit status 2;
nothing else reaches a user as a traceback (unexpected errors are reported in one line, exit 1).
"""

from __future__ import annotations

import importlib
import sys

import click

from graphflows.cli.errors import run_safely

#: Modules that each define ``register(group)``; add a line to give the CLI a new command.
COMMAND_MODULES = (
    "graphflows.cli.analyse",
    "graphflows.cli.neo4j_cmds",
    "graphflows.cli.view",
    "graphflows.cli.orgs",
    "graphflows.cli.spark_cmds",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphflows")
def cli() -> None:
    """Follow public money across stovepipes: funding data as a graph, and where it converges."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command module not written yet
        if _exc.name != _name:
            raise
        continue
    _module.register(cli)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning library errors into messages."""
    return run_safely(cli, argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
