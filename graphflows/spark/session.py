"""Start (or reach) Spark: ``local[*]`` by default, a cluster master URL, or Spark Connect.

In local mode the Python workers run the driver's own interpreter (so they import the same pandas and
pyarrow), nothing listens beyond the machine, and the web UI is off unless asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from graphflows.model import GraphflowsError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Spark's logging in local runs: errors only, without the start-up lines (GRAPHFLOWS_DEBUG=1: Spark's own).
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
#: Shuffle partitions when not given: Spark's 200 is far too many for one machine.
LOCAL_SHUFFLE_PARTITIONS = 8


def missing_spark() -> GraphflowsError:
    return GraphflowsError(
        "the Spark engine needs PySpark: pip install 'graphflows[spark]' (and Java 17 or later)"
    )


#: PySpark warns in each Python process that it "does not yet fully support pandas >= 3.0.0"; graphflows'
#: Spark results are tested equal to the in-memory engine's with the pandas installed, so the warning is
#: silenced for local workers (the CLI silences it in the driver).
PANDAS_3_MESSAGE = "PySpark does not yet fully support pandas"


@contextmanager
def spark_session(
    master: str | None = None,
    remote: str | None = None,
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    config: dict[str, str] | None = None,
) -> Iterator[SparkSession]:
    """A Spark session for the analysis, stopped afterwards when this call started it.

    ``master``: ``local[*]`` (default), ``spark://HOST:7077``, ``yarn``...; ``remote``: a Spark Connect
    address ``sc://HOST:15002`` (then ``master`` is ignored). Under ``spark-submit`` the master and
    settings it was given are kept (``master`` overrides them only when given).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise missing_spark() from None
    active = SparkSession.getActiveSession() if not remote else None
    if active is not None:  # a session the caller started (a notebook, the tests): used, not stopped
        yield active
        return
    builder = SparkSession.builder.appName("graphflows")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **(config or {}),
    }
    if remote:
        builder = builder.remote(remote)
    else:
        submitted = master is None and "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit set the master
        local = not submitted and (master is None or master.startswith("local"))
        if local:  # the workers run this Python; a cluster's executors run their own
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            settings.setdefault("spark.pyspark.python", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            settings.setdefault("spark.driver.host", "127.0.0.1")
            settings.setdefault("spark.driver.bindAddress", "127.0.0.1")
            settings.setdefault("spark.ui.enabled", "false")
            settings.setdefault("spark.ui.showConsoleProgress", "false")  # no [Stage 6:===> ] bars
            if not os.environ.get("GRAPHFLOWS_DEBUG") and " " not in str(LOG_CONFIG):
                settings.setdefault(
                    "spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={LOG_CONFIG}"
                )
            quiet = f"ignore:{PANDAS_3_MESSAGE}:FutureWarning"
            settings.setdefault("spark.executorEnv.PYTHONWARNINGS", quiet)
        if shuffle_partitions or local:
            settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions or LOCAL_SHUFFLE_PARTITIONS)
        if driver_memory:
            settings["spark.driver.memory"] = driver_memory
        if not submitted:
            builder = builder.master(master or "local[*]")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # Java missing, master unreachable: one line for people
        raise GraphflowsError(f"cannot start Spark ({master or remote or 'local[*]'}): {exc}") from None
    try:
        yield spark
    finally:
        if not remote:
            spark.stop()
