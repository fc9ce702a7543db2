"""The command line: a thin layer over the library. The only place library errors become messages."""

from __future__ import annotations

import sys


def run() -> int:
    """The ``graphflows`` console script: Ctrl-C while the command modules load ends without a traceback."""
    try:
        from graphflows.cli.main import run_script
    except KeyboardInterrupt:
        sys.stderr.write("graphflows: interrupted\n")
        return 130
    run_script()
