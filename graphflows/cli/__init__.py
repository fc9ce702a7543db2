"""The command line: a thin layer over the library. The only place library errors become messages."""

from __future__ import annotations

import _thread
import sys
import threading
from typing import Any


def run() -> int:
    """The ``graphflows`` console script: Ctrl-C while the command modules load ends without a traceback."""
    sys.unraisablehook = interrupt_again  # first: a Ctrl-C can land in the import machinery's callbacks
    try:
        from graphflows.cli.main import run_script
    except KeyboardInterrupt:
        sys.stderr.write("graphflows: interrupted\n")
        return 130
    run_script()


def interrupt_again(unraisable: Any) -> None:
    """A Ctrl-C that lands where Python cannot raise it (an object's ``__del__``, such as a ``ZipFile`` freed
    by the garbage collector, or a callback of the import lock while modules load) cannot stop the command
    there: Python would print "Exception ignored in ... KeyboardInterrupt" and go on. The interrupt is
    delivered again a moment later, from a timer thread, to whatever the command is doing then (delivered
    now, it would land in this hook; once Ctrl-C is ignored, see :func:`graphflows.cli.main.leave`, it does
    nothing); any other such exception is printed as Python does."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        again = threading.Timer(0.05, _thread.interrupt_main)
        again.daemon = True
        again.start()
        return
    sys.__unraisablehook__(unraisable)
