"""``graphflows`` console script: one click group; each command lives in its own module.

Library errors (:class:`~graphflows.model.GraphflowsError`) become one-line messages with exit status 2;
nothing else reaches a user as a traceback (unexpected errors are reported in one line, exit 1).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import NoReturn

import click

from graphflows.cli import interrupt_again
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


#: ``allowed``: set by a command that finished and leaves nothing for exit handlers to do (see
#: :func:`leave`). ``script``: this process is the console script (not a test calling :func:`main`).
_quick_exit = {"allowed": False, "script": False}


def allow_quick_exit() -> None:
    """Let :func:`leave` skip the interpreter's teardown after this command (all its files are closed).

    In the console script a Ctrl-C from now on is ignored: the outputs are committed and only the
    freeing of memory is left, where an interrupt could only show a traceback from some ``__del__``.
    """
    _quick_exit["allowed"] = True
    if _quick_exit["script"]:
        _ignore_interrupts()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_script(argv: list[str] | None = None) -> NoReturn:
    """The console script: run the CLI, then :func:`leave` with its exit status."""
    _quick_exit["script"] = True
    sys.unraisablehook = interrupt_again  # as run() set it (run_script may be called on its own)
    leave(main(argv))


def leave(code: int) -> NoReturn:
    """Exit the process with ``code``.

    After a command that allowed it (``analyse`` on the memory engine), the interpreter's teardown is
    skipped once the streams are flushed: freeing a gigabyte of arrays and frames one by one takes a good
    part of a second, the system reclaims the whole process at once. The command is over: a Ctrl-C during
    the interpreter's teardown is ignored (it could only interrupt some object's ``__del__``, printing
    "Exception ignored in ... KeyboardInterrupt").
    """
    _ignore_interrupts()
    if code == 0 and _quick_exit["allowed"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    sys.exit(code)


if __name__ == "__main__":  # as the console script, with this module imported once (its state is shared)
    from graphflows.cli import run

    run()
