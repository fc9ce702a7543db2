"""``graphflows`` console script: one click group; each command lives in its own module.

Library errors (:class:`~graphflows.model.GraphflowsError`) become one-line messages with exit status 2;
nothing else reaches a user as a traceback (unexpected errors are reported in one line, exit 1).
"""

from __future__ import annotations

import importlib
import sys

import click

from graphflows.cli.errors import run_safely

#: Each command and the module that defines it (with ``register(group)``); add a line to give the CLI a new
#: command. A module is imported only when one of its commands runs (or ``--help`` lists them all), so
#: ``graphflows analyse`` never loads the views, Neo4j or Spark code.
COMMAND_MODULES = {
    "analyse": "graphflows.cli.analyse",
    "demo": "graphflows.cli.analyse",
    "neo4j": "graphflows.cli.neo4j_cmds",
    "load": "graphflows.cli.neo4j_cmds",
    "query": "graphflows.cli.neo4j_cmds",
    "cypher": "graphflows.cli.neo4j_cmds",
    "view": "graphflows.cli.view",
    "orgs": "graphflows.cli.orgs",
    "convert": "graphflows.cli.spark_cmds",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module the first time the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            _register(self, COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


def _register(group: click.Group, name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != name:
            raise
        return
    module.register(group)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphflows")
def cli() -> None:
    """Follow public money across stovepipes: funding data as a graph, and where it converges."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning library errors into messages."""
    return run_safely(cli, argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
