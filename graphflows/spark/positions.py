"""Row positions over a whole Spark frame without moving every row to one task.

Spark keeps rows in order within each piece of a frame (a byte range of a file, a range of sorted ids), and
``monotonically_increasing_id`` numbers them consecutively there. Counting each piece's rows (one small row
per piece, on the driver) gives every piece its first position; the rest is a broadcast join.
"""

from __future__ import annotations


def positioned(frame, piece: str, at: str, name: str):
    """``frame`` with ``name``: 0, 1, 2... over pieces in order of ``piece``, rows in order of ``at`` within
    each (``at`` consecutive within a piece); the ``piece`` and ``at`` columns are dropped.

    Evaluate ``frame`` deterministically: it is read twice (counted, then numbered).
    """
    from pyspark.sql import functions as F

    counts = frame.groupBy(piece).agg(F.count("*").alias("rows"), F.min(at).alias("first")).collect()
    shifts, before = [], 0
    for row in sorted(counts, key=lambda r: r[piece]):
        shifts.append((int(row[piece]), before - int(row["first"])))
        before += int(row["rows"])
    shift = frame.sparkSession.createDataFrame(shifts or [(0, 0)], f"{piece} long, _shift long")
    numbered = frame.withColumn(piece, F.col(piece).cast("long")).join(F.broadcast(shift), piece)
    return numbered.withColumn(name, F.col(at) + F.col("_shift")).drop(piece, at, "_shift")
