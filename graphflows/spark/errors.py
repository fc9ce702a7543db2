"""Spark's errors (Java exceptions through Py4J or Spark Connect) as one line for people.

A damaged part, a URL whose filesystem Spark lacks, an unknown host: each becomes a
:class:`~graphflows.model.InputError` naming the input and the cause, never a Java stack trace:

>>> spark_message(["hdfs://nowhere:8020/f/"], "java.net.UnknownHostException: nowhere")
'hdfs://nowhere:8020/f/: host nowhere not found (check the URL)'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from graphflows.model import InputError

#: Longest piece of a Java message shown.
SHOWN_CHARS = 300

_NO_FILESYSTEM = re.compile(
    r'No FileSystem for scheme "?(\w+)"?|Class org\.apache\.hadoop\.fs\.(\w+)\.\w*FileSystem not found'
)
_UNKNOWN_HOST = re.compile(r"UnknownHostException: ([^\s:]+)")
_NOT_PARQUET = re.compile(r"(\S+) is not a Parquet file")
_FAILED_FILE = re.compile(r"while reading file (\S+?)\.?\s")


def spark_message(inputs: Sequence[Path | str], text: str) -> str:
    """One line for a Spark error whose text (Java message and causes) is ``text``."""
    named = ", ".join(str(i) for i in inputs) or "the input"
    if found := _NO_FILESYSTEM.search(text):
        scheme = found.group(1) or found.group(2)
        url = next((str(i) for i in inputs if str(i).startswith(f"{scheme}:")), named)
        return (
            f"{url}: this Spark has no filesystem for the scheme {scheme} (add its connector to Spark, "
            "e.g. hadoop-aws for s3a)"
        )
    if found := _UNKNOWN_HOST.search(text):
        host = found.group(1)
        url = next((str(i) for i in inputs if host in str(i)), named)
        return f"{url}: host {host} not found (check the URL)"
    if found := _NOT_PARQUET.search(text) or _FAILED_FILE.search(text):
        return f"{local(found.group(1))}: not a readable Parquet file (re-run graphflows convert)"
    return f"{named}: Spark could not read or analyse it: {first_line(text)}"


def local(path: str) -> str:
    """``file:/tmp/x`` or ``file:///tmp/x`` -> ``/tmp/x``; other URLs as they are."""
    return re.sub(r"^file:(//)?(?=/)", "", path)


def first_line(text: str) -> str:
    """The first line of a Java message without the Py4J preamble, shortened to :data:`SHOWN_CHARS`."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("\t")]
    if lines and lines[0].startswith("An error occurred while calling") and len(lines) > 1:
        lines = lines[1:]
    line = lines[0].lstrip(": ") if lines else text.strip()
    return line if len(line) <= SHOWN_CHARS else line[: SHOWN_CHARS - 3] + "..."


def java_errors() -> tuple[type[BaseException], ...]:
    """The exception classes that carry a Java (or Spark Connect server) error."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    found: list[type[BaseException]] = [Py4JJavaError, CapturedException]
    try:
        from pyspark.errors.exceptions.connect import SparkConnectException
    except ImportError:  # without the connect extra
        pass
    else:
        found.append(SparkConnectException)
    return tuple(found)


@contextmanager
def spark_errors(inputs: Sequence[Path | str]) -> Iterator[None]:
    """Turn the Java errors of the work inside into one :class:`InputError` line naming the input."""
    errors = java_errors()
    try:
        yield
    except errors as exc:
        raise InputError(spark_message(inputs, str(exc))) from None
