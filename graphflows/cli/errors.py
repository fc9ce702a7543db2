"""Turn library errors into short messages for people: no traceback ever reaches a user."""

from __future__ import annotations

import os

import click

from graphflows.cli.display import SafeConsole
from graphflows.model import GraphflowsError, InputError

#: Exit status for bad input or a usage problem the user can fix.
EXIT_INPUT = 2
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def run_safely(group: click.Group, argv: list[str]) -> int:
    """Run a click group; map errors to exit codes and one-line (or one-block) messages on stderr."""
    try:
        group.main(args=argv, prog_name="graphflows", standalone_mode=False)
    except click.exceptions.Abort as exc:
        err_console.print("graphflows: interrupted" if came_from_ctrl_c(exc) else "graphflows: aborted")
        return 130
    except click.UsageError as exc:
        err_console.print(usage_line(exc), markup=False)
        return EXIT_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_INPUT if exc.exit_code == 2 else exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except InputError as exc:
        report_input_error(exc)
        return EXIT_INPUT
    except GraphflowsError as exc:
        err_console.print(f"graphflows: {exc}", markup=False)
        return EXIT_INPUT
    except KeyboardInterrupt:
        err_console.print("graphflows: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, and how to see more
        if came_from_ctrl_c(exc):  # e.g. Python's RuntimeError around an interrupted __set_name__
            err_console.print("graphflows: interrupted")
            return 130
        if os.environ.get("GRAPHFLOWS_DEBUG"):
            raise
        err_console.print(
            f"graphflows: internal error: {type(exc).__name__}: {exc} "
            "(set GRAPHFLOWS_DEBUG=1 to see the traceback, and please report it)",
            markup=False,
        )
        return 1
    return 0


def came_from_ctrl_c(exc: BaseException) -> bool:
    """True when a Ctrl-C caused ``exc``: a ``KeyboardInterrupt`` in its chain of causes, as when Python
    wraps one that landed in a class's ``__set_name__`` in a ``RuntimeError`` while a module loads."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def usage_line(exc: click.UsageError) -> str:
    """A usage mistake in one line: ``graphflows analyse: Missing option '--out'. See 'graphflows analyse
    --help'.`` (the command is ``graphflows`` when the mistake was made inside a command's own checks)."""
    command = exc.ctx.command_path if exc.ctx is not None else "graphflows"
    message = " ".join(exc.format_message().split())
    if not message.endswith((".", "?", ")")):
        message += "."
    return f"{command}: {message} See '{command} --help'."


def report_input_error(exc: InputError) -> None:
    """Print each bad record as ``FILE:LINE: reason`` (up to the cap), then the summary line."""
    for problem in exc.problems:
        err_console.print(str(problem), markup=False)
    hidden = exc.total - len(exc.problems)
    if hidden > 0:
        err_console.print(f"... and {hidden} more", markup=False)
    message = exc.command_line_message or str(exc)  # a NoPayerError names its options
    err_console.print(f"graphflows: {message}", markup=False)
