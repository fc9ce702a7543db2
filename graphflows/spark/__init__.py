"""The Spark engine: the same analysis as :mod:`graphflows.analysis`, run as Spark jobs.

Needs the ``spark`` extra (``pip install 'graphflows[spark]'``); nothing in the default path imports it.

>>> from graphflows.spark import spark_session, analyse_spark     # doctest: +SKIP
>>> with spark_session() as spark:                                # doctest: +SKIP
...     result = analyse_spark(spark, ["flows.csv"])
"""

from graphflows.spark.engine import SparkAnalysis, analyse_spark
from graphflows.spark.session import spark_session

__all__ = ["SparkAnalysis", "analyse_spark", "spark_session"]
