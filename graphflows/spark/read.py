"""Flows into Spark: graphflows' native flows CSV, and the Parquet written by ``graphflows convert``.

Both give one DataFrame with the standard flow columns (:data:`graphflows.model.FLOW_COLUMNS`) and two
order columns, ``_file`` (position of the file on the command line) and ``_seq`` (position of the record
in its file), so "the first name seen for an id" is the same as in the in-memory engine.

The native CSV is checked as the in-memory reader checks it (required columns, plain decimal amounts with
at most two decimal places and 15 digits, ISO dates, three-letter currencies, known kinds and channels).
A bad record stops the run naming file and line (``flows.csv:5: amount 12,5O.00 is not a number``, the
line the record starts on, as the in-memory engine says), unless ``skip_invalid`` drops it (and counts it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from graphflows.classify import CHANNELS, ChannelMap
from graphflows.convert import CONVERTED_MARK, converted_channel_map, converted_notes, part_name
from graphflows.ingest.native import CHANNEL_COLUMNS, KNOWN, MAX_DIGITS, REQUIRED
from graphflows.model import InputError, Kind, RowProblem, money_words
from graphflows.outputs import read_manifest
from graphflows.spark.positions import positioned

KIND_WORDS = {k.value: k.value for k in Kind} | {
    "fundingstream": "stream",
    "funding_stream": "stream",
    "funding stream": "stream",
}
#: How many bad records an error names.
SHOWN = 5


@dataclass(frozen=True)
class SparkFlows:
    """Flows as a Spark DataFrame, with what the reading counted."""

    flows: object  # pyspark DataFrame
    organisations: object  # Spark frame of how records matched into organisations, or None
    records_read: int
    rejected: int
    files: list[dict[str, object]]
    non_money: int = 0
    #: Records of transactions already read in another file (set aside by ``convert``), and their money
    #: per currency in minor units.
    repeated: int = 0
    repeated_amount: dict[str, int] = field(default_factory=dict)
    #: Flows the inputs hold by their own counts (a converted folder's description): checked against the
    #: rows Spark reads.
    flows_expected: int = 0
    #: The reading notes ``convert`` kept (repeated lines, date order...).
    notes: list[str] = field(default_factory=list)
    #: With ``skip_invalid``: the records set aside (``source, line, reason, record`` and ``_file``,
    #: ``_seq`` for their order), as the in-memory engine's rejects table; None without.
    rejects: object = None
    #: The ``--channels`` mappings kept by ``convert``, as (folder, map), in the order of the inputs.
    channel_maps: list[tuple[str, ChannelMap]] = field(default_factory=list)


def norm(title: str) -> str:
    """A header title as a column name: ``" Payer ID"`` -> ``payer_id``."""
    return "_".join(title.strip().strip("\ufeff").strip('"').lower().split())


def read_flows_spark(spark, paths: list[Path | str], *, skip_invalid: bool = False) -> SparkFlows:
    """Read native flows CSV files and ``convert`` Parquet folders, in the order given; a ``str`` is a URL
    (``s3a://``, ``hdfs://``, ``file://``...) that only Spark reads."""
    from functools import reduce

    from pyspark.sql import functions as F

    parts, files, organisations, notes, rejects, maps = [], [], [], [], [], []
    spend: dict[int, list[str]] = {}  # input -> the spend files its converted folder holds
    figures = {"records_read": 0, "flows": 0, "rejected": 0, "non_money": 0, "repeated": 0}
    repeated_amount: dict[str, int] = {}
    for index, path in enumerate(paths):
        frame, counts, matched = _read_input(spark, path, index, skip_invalid)
        if matched is not None:
            organisations.append(matched.withColumn("_folder", F.lit(index)))
        parts.append(frame)
        files.append({"path": str(path), "format": counts["format"], **counts["figures"]})
        figures = {key: figures[key] + counts["figures"][key] for key in figures}
        notes += counts.get("notes", [])
        if counts.get("spend"):
            spend[index] = counts["spend"]
        for currency, minor in counts.get("repeated_amount", {}).items():
            repeated_amount[currency] = repeated_amount.get(currency, 0) + int(minor)
        if counts.get("rejects") is not None:
            rejects.append(counts["rejects"])
        if counts.get("channel_map") is not None:
            maps.append((str(path), counts["channel_map"]))
    if not parts:
        raise InputError("no input files given")
    flows = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)
    if len(spend) > 1:
        refuse_repeats_across_folders(flows, paths, spend)
    return SparkFlows(
        flows,
        _first_organisations(organisations),
        figures["records_read"],
        figures["rejected"],
        files,
        non_money=figures["non_money"],
        repeated=figures["repeated"],
        repeated_amount=dict(sorted(repeated_amount.items())),
        flows_expected=figures["flows"],
        notes=notes,
        rejects=reduce(lambda a, b: a.unionByName(b), rejects) if rejects else None,
        channel_maps=maps,
    )


def _read_input(spark, path: Path | str, index: int, skip_invalid: bool):
    """``(frame, counts, organisations or None)`` of one input: a URL, a ``convert`` folder or a native
    flows CSV file."""
    if isinstance(path, str):  # a URL (s3a://, hdfs://, file://...): every look at it goes through Spark
        return _url(spark, path, index, skip_invalid)
    if path.is_dir():
        frame, counts = _converted(spark, path, index, check_converted(path))
        matched = None
        if (path / "organisations.parquet").is_file():
            matched = spark.read.parquet(str(path / "organisations.parquet"))
        return frame, counts, matched
    if path.is_file():
        frame, counts = _native(spark, path, index, skip_invalid)
        return frame, counts, None
    raise InputError(f"{path}: no such file or folder")


def _first_organisations(organisations: list):
    """One Spark frame of how records matched into organisations, the first folder that matched an id
    winning; None without any."""
    from functools import reduce

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not organisations:
        return None
    every = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), organisations)
    first = F.row_number().over(Window.partitionBy("id").orderBy("_folder"))
    return every.withColumn("_first", first).filter(F.col("_first") == 1).drop("_first", "_folder")


#: What makes two spend lines one transaction: graphflows.ingest.repeats.TRANSACTION (payer, supplier,
#: date, amount), and its NUMBERED (payer, supplier, transaction number, amount: lines with a number).
TRANSACTION = ("payer_id", "payee_id", "amount_minor", "currency", "date", "reference")


def refuse_repeats_across_folders(flows, paths: list[Path | str], spend: dict[int, list[str]]) -> None:
    """Refuse converted folders whose spend files hold the same transactions (the same payer, supplier,
    date and amount; or payer, supplier, transaction number and amount): ``convert`` counts a transaction
    found in two files once, but only among the files it read together, and Spark does not compare
    folders. The error names both folders and tells to convert their files together."""
    from pyspark.sql import functions as F

    sources = sorted({source for files in spend.values() for source in files})
    rows = flows.filter(F.col("source").isin(sources)).withColumn("_folder", F.shiftright(F.col("_file"), 20))
    dated = rows.select(*TRANSACTION[:-1], F.lit(None).cast("string").alias("reference"), "_folder")
    numbered = rows.filter(F.trim(F.col("reference")) != "").select(
        *TRANSACTION[:-2],
        F.lit(None).cast(rows.schema["date"].dataType).alias("date"),
        "reference",
        "_folder",
    )
    per_folder = (
        dated.unionByName(numbered).groupBy(*TRANSACTION, "_folder").agg(F.count("*").alias("_lines"))
    )
    shared = (
        per_folder.groupBy(*TRANSACTION)
        .agg(
            F.count("*").alias("_folders"),
            F.min("_folder").alias("_a"),
            F.max("_folder").alias("_b"),
            (F.sum("_lines") - F.max("_lines")).alias("_again"),  # lines beyond one folder's copy
        )
        .filter(F.col("_folders") > 1)
    )
    found = shared.agg(
        F.max("_again").alias("n"), F.min(F.struct("_a", "_b", *TRANSACTION)).alias("e")
    ).first()
    if not found or not found["n"]:
        return
    example = found["e"]
    first, second = paths[example["_a"]], paths[example["_b"]]
    when = f"on {example['date']}" if example["date"] is not None else f"transaction {example['reference']}"
    raise InputError(
        f"{first} and {second}: spend lines repeat transactions of another converted folder (same payer, "
        f"supplier, date and amount, or transaction number and amount, e.g. {example['payer_id']} to "
        f"{example['payee_id']} {when}, {money_words(example['amount_minor'], example['currency'])}); a "
        "transaction in two files is counted once only among files converted together: run one "
        "`graphflows convert` on all their files and analyse that folder; nothing was analysed"
    )


def check_converted(folder: Path) -> str:
    """The description (``graphflows-flows.json``) of a local ``convert`` folder, once every file it lists
    is there: each part, and ``organisations.parquet`` when it was written; a part it does not list is
    refused too (Spark would read it). Old folders are checked against the folder manifests.

    An error names the folder and the files: ``bad1: part-00005.parquet written by graphflows convert is
    missing (convert again)``.
    """
    import json

    mark = folder / CONVERTED_MARK
    if not mark.is_file():
        if CONVERTED_MARK in read_manifest(folder):
            raise InputError(
                f"{folder}: {CONVERTED_MARK} written by `graphflows convert` is missing (convert again)"
            )
        raise InputError(f"{folder}: not a folder written by `graphflows convert` (no {CONVERTED_MARK})")
    text = mark.read_text(encoding="utf-8")
    try:
        info = json.loads(text)
        listed = set(info.get("part_rows") or [part_name(n) for n in range(int(info["parts"]))])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"{mark}: not a description written by `graphflows convert` (convert again)"
        ) from None
    parts = folder / "flows"
    present = (
        {p.name for p in parts.iterdir() if not p.name.startswith((".", "_"))} if parts.is_dir() else set()
    )
    missing = sorted(listed - present)
    written = info.get("organisations", "organisations.parquet" in read_manifest(folder))
    if written and not (folder / "organisations.parquet").is_file():
        missing.append("organisations.parquet")
    if missing:
        raise InputError(
            f"{folder}: {', '.join(missing)} written by `graphflows convert` "
            f"{'is' if len(missing) == 1 else 'are'} missing (convert again); nothing was analysed"
        )
    unlisted = sorted(present - listed)
    if unlisted:
        raise InputError(
            f"{folder}: {', '.join(f'flows/{n}' for n in unlisted)} not written by `graphflows convert` "
            "(remove it, or convert again); nothing was analysed"
        )
    return text


def _url(spark, url: str, index: int, skip_invalid: bool):
    """``(frame, counts, organisations or None)`` of a URL: a ``convert`` folder when it holds the mark,
    else a native flows CSV file."""
    from pyspark.errors import AnalysisException

    folder = url.rstrip("/")
    mark = _text(spark, f"{folder}/{CONVERTED_MARK}", whole=True)
    if mark is None:
        head = _text(spark, url, whole=False)
        if head is None:
            raise InputError(f"{url}: no such file, or Spark cannot read it (check the URL and credentials)")
        frame, counts = _native(spark, url, index, skip_invalid, head=head)
        return frame, counts, None
    frame, counts = _converted(spark, folder, index, mark)
    try:
        organisations = spark.read.parquet(f"{folder}/organisations.parquet")
    except AnalysisException:  # PATH_NOT_FOUND: the folder matched no organisations
        organisations = None
    return frame, counts, organisations


def _text(spark, url: str, *, whole: bool) -> str | None:
    """The text of ``url`` (``whole``) or its first line, through Spark; None when there is nothing there."""
    from pyspark.errors import AnalysisException

    try:
        row = spark.read.text(url, wholetext=whole).first()
    except AnalysisException:  # PATH_NOT_FOUND and friends
        return None
    return None if row is None else row[0]


def _converted(spark, folder: Path | str, index: int, mark: str):
    import json

    from pyspark.sql import functions as F

    info = json.loads(mark)
    frame = spark.read.parquet(f"{folder}/flows")
    # the folder's files keep their order through _file (within the folder) and _seq
    frame = frame.withColumn("_file", F.lit(index).cast("long") * (1 << 20) + F.col("_file"))
    figures = {k: info[k] for k in ("records_read", "flows", "rejected", "non_money")}
    figures["repeated"] = int(info.get("repeated", 0))  # folders converted before repeats were counted: 0
    return frame, {
        "format": "parquet",
        "figures": figures,
        "notes": converted_notes(info),
        "repeated_amount": info.get("repeated_amount", {}),
        "spend": [f["path"] for f in info.get("files", []) if f.get("format") == "spend"],
        "channel_map": converted_channel_map(info, folder),
    }


def _native(spark, path: Path | str, index: int, skip_invalid: bool, *, head: str | None = None):
    """A native flows CSV (``head``: its first line, when already read through Spark)."""
    from pyspark.sql import functions as F

    titles = _native_titles(path, head)
    raw, spans_lines = _numbered(spark, path, titles)
    raw = raw.withColumn("_file", F.lit(index).cast("long"))
    given = [c for c in raw.columns if not c.startswith("_")]
    raw = raw.filter(
        F.concat_ws("", *(F.trim(c) for c in given)) != ""
    )  # spacer lines (",,,,") are not records
    # one projection, not a column at a time: plans stay shallow (Spark Connect refuses deep ones)
    cleaned = [
        F.coalesce(F.trim(c), F.lit("")).alias(c) if c in raw.columns else F.lit("").alias(c) for c in KNOWN
    ]
    raw = raw.select(*[c for c in raw.columns if c not in KNOWN], *cleaned)
    checked = _checked(raw).localCheckpoint()  # computed once; later plans start here
    total = checked.count()
    bad = checked.filter(F.col("_problem").isNotNull())
    rejected = bad.count()
    if rejected and not skip_invalid:
        _refuse_invalid(path, bad, rejected, _record_lines(spark, path, spans_lines))
    extra = [c for c in raw.columns if c not in KNOWN and not c.startswith("_")]
    rejects = (
        _native_rejects(path, bad, _record_lines(spark, path, spans_lines), given) if skip_invalid else None
    )
    figures = {
        "records_read": total,
        "flows": total - rejected,
        "rejected": rejected,
        "non_money": 0,
        "repeated": 0,
    }
    return _native_flows(checked, path, titles, extra), {
        "format": "flows",
        "figures": figures,
        "rejects": rejects,
    }


def _native_titles(path: Path | str, head: str | None) -> list[str]:
    """The column names of a native flows CSV's header (read from the file when ``head`` is None); a
    header without the required columns is refused."""
    if head is None:
        with Path(path).open("rb") as file:
            head = file.readline().decode("utf-8-sig", errors="replace")
    titles = [norm(t) for t in head.rstrip("\r\n").split(",")]
    missing = [c for c in REQUIRED if c not in titles]
    if missing:
        raise InputError(f"{path}:1: wrong header: missing column(s) {', '.join(missing)}")
    return titles


def _refuse_invalid(path: Path | str, bad, rejected: int, lines) -> None:
    """Raise the error naming the first :data:`SHOWN` bad records by the file's line each starts on, as
    the in-memory engine words it."""
    shown = bad.orderBy("_seq").select("_seq", "_problem").limit(SHOWN)
    shown = shown.join(lines, "_seq", "left").orderBy("_seq").collect()
    raise InputError(
        f"{rejected} invalid record(s); nothing was written (fix them, or use --skip-invalid to set them "
        "aside with their reasons and go on)",
        [RowProblem(str(path), row["_line"], row["_problem"]) for row in shown],
        rejected,
    )


def _native_rejects(path: Path | str, bad, lines, given: list[str]):
    """The bad records as the in-memory rejects table (``source, line, reason, record``, with ``_file``
    and ``_seq``); to_json leaves out the columns a record lacks."""
    from pyspark.sql import functions as F

    return bad.join(lines, "_seq", "left").select(
        F.lit(str(path)).alias("source"),
        F.col("_line").cast("string").alias("line"),
        F.col("_problem").alias("reason"),
        F.to_json(F.struct(*(F.col(c) for c in given))).alias("record"),
        "_file",
        "_seq",
    )


def _native_flows(checked, path: Path | str, titles: list[str], extra: list[str]):
    """The good records as flows in the standard columns, extra columns kept, with ``_file`` and ``_seq``."""
    from pyspark.sql import functions as F

    return checked.filter(F.col("_problem").isNull()).select(
        "payer_id",
        "payee_id",
        *(F.col(f"_v_{c}").alias(c) for c in ("payer_name", "payer_kind", "payee_name", "payee_kind")),
        F.col("_v_amount_minor").alias("amount_minor"),
        F.col("_v_currency").alias("currency"),
        F.col("_v_date").alias("date"),
        F.col("_v_stream_id").alias("stream_id"),
        F.col("_v_reference").alias("reference"),
        *(F.col(f"_v_{c}").alias(c) for c in CHANNEL_COLUMNS if c in titles),
        F.lit(str(path)).alias("source"),
        (F.col("_seq") + 2).cast("string").alias("line"),
        *extra,
        "_file",
        "_seq",
    )


def _numbered(spark, path: Path | str, titles: list[str]):
    """The records of one CSV file as text columns, with ``_seq``: the record's position in the file; and
    whether a quoted value runs over a line break (then the file is read whole).

    Spark splits a large file into byte ranges read in parallel. Within a range, records come in file
    order; counting the records of each range (one small row per range) gives every range its first
    record number, so ``_seq`` is the record's number in the whole file however the file was split.
    A file with a quoted value running over a line break (a line with an odd number of ``"``) cannot be
    cut at any line end, so it is read whole, by one task. A record with more or fewer fields than the
    header keeps its text in ``_corrupt``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    names = list(dict.fromkeys(titles))
    if len(names) != len(titles):
        raise InputError(f"{path}:1: wrong header: a column title appears twice")
    schema = StructType([StructField(n, StringType()) for n in [*names, "_corrupt"]])
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    spans_lines = not spark.read.text(str(path)).filter(quotes % 2 == 1).isEmpty()
    text = (
        spark.read.schema(schema)
        .option("multiLine", spans_lines)
        .option("header", True)
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt")
        .option("enforceSchema", True)
        .csv(str(path))
        .select("*", F.input_file_block_start().alias("_block"), F.monotonically_increasing_id().alias("_at"))
    )  # read twice (counted, then numbered): the same splits in the same order both times
    return positioned(text, "_block", "_at", "_seq"), spans_lines


def _record_lines(spark, path: Path | str, spans_lines: bool):
    """``_seq, _line``: the line of the file (1 = the header) each record of :func:`_numbered` starts on.

    Spark's CSV reader skips the header, empty lines and (unless a quoted value spans lines) lines of
    only spaces; a record starts on a line outside quotes. Computed from the file's text lines, only for
    the records joined to it (the bad ones). A file whose values span lines is read by one task anyway,
    so the quotes before each line are counted in one ordered window.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    text = spark.read.text(str(path)).select(
        "value",
        F.input_file_block_start().alias("_block"),
        F.input_file_block_start().alias("_piece"),  # kept: positioned() drops _block
        F.monotonically_increasing_id().alias("_at"),
    )
    lines = positioned(text, "_block", "_at", "_index")  # 0 = the header
    starts = (F.col("_index") > 0) & F.col("value").rlike(r"[^\x00-\x20]")
    if spans_lines:
        quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
        before = F.sum(quotes).over(Window.orderBy("_index").rowsBetween(Window.unboundedPreceding, -1))
        outside = F.coalesce(before, F.lit(0)) % 2 == 0
        starts = (F.col("_index") > 0) & (F.length("value") > 0) & outside
        lines = lines.withColumn("_start", starts).filter("_start")
    else:
        lines = lines.filter(starts)
    records = lines.select(
        (F.col("_index") + 1).alias("_line"),
        F.col("_piece").alias("_block"),
        F.monotonically_increasing_id().alias("_at"),
    )
    return positioned(records, "_block", "_at", "_seq")


def _checked(raw):
    """Clean values (``_v_*``) and the first problem of each record (``_problem``, null when fine)."""
    from pyspark.sql import functions as F

    def blank_null(column: str):
        return F.when(F.col(column) == "", None).otherwise(F.col(column))

    def kind(column: str, default: str):
        word = F.lower(F.col(column))
        mapping = F.create_map(*[F.lit(x) for pair in KIND_WORDS.items() for x in pair])
        return F.when(word == "", F.lit(default)).otherwise(mapping[word])

    def channel(column: str):
        word = F.regexp_replace(F.lower(F.col(column)), r"[\s\-]+", "_")
        return F.when(word.isin(*CHANNELS), word)

    amount = F.col("amount")
    plain = amount.rlike(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
    whole = F.regexp_extract(amount, r"^[+-]?(\d*)", 1)
    frac = F.regexp_replace(F.regexp_extract(amount, r"\.(\d*)$", 1), "0+$", "")
    digits = F.length(F.regexp_replace(whole, "^0+", ""))
    magnitude = F.when(whole == "", F.lit(0)).otherwise(whole.cast("long")) * 100 + F.when(
        frac == "", F.lit(0)
    ).otherwise(F.rpad(frac, 2, "0").cast("long"))
    minor = F.when(amount.startswith("-"), -magnitude).otherwise(magnitude)
    iso = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"
    date_text = F.concat_ws(
        "-",
        F.regexp_extract("date", iso, 1),
        F.lpad(F.regexp_extract("date", iso, 2), 2, "0"),
        F.lpad(F.regexp_extract("date", iso, 3), 2, "0"),
    )
    date = F.when(F.col("date").rlike(iso), F.try_to_date(date_text, "yyyy-MM-dd"))
    currency = F.upper(F.col("currency"))
    values = raw.select(
        "*",
        *(blank_null(c).alias(f"_v_{c}") for c in ("payer_name", "payee_name", "stream_id", "reference")),
        kind("payer_kind", Kind.COMMISSIONER.value).alias("_v_payer_kind"),
        kind("payee_kind", Kind.PROVIDER.value).alias("_v_payee_kind"),
        F.when(currency == "", F.lit("GBP")).otherwise(currency).alias("_v_currency"),
        *(channel(c).alias(f"_v_{c}") for c in CHANNEL_COLUMNS),
        F.when(plain & (F.length(frac) <= 2) & (digits <= MAX_DIGITS), minor).alias("_v_amount_minor"),
        date.alias("_v_date"),
    )
    problems = [
        (F.col("_corrupt").isNotNull(), F.lit("its fields do not match the header's columns")),
        (F.col("payer_id") == "", F.lit("missing payer_id")),
        (F.col("payee_id") == "", F.lit("missing payee_id")),
        (amount == "", F.lit("missing amount")),
        (~plain, F.format_string("amount %s is not a number", amount)),
        (F.length(frac) > 2, F.format_string("amount %s has more than 2 decimal places", amount)),
        (digits > MAX_DIGITS, F.format_string("amount %s is too large", amount)),
        (
            (F.col("date") != "") & F.col("_v_date").isNull(),
            F.format_string("date %s is not an ISO 8601 date (YYYY-MM-DD)", F.col("date")),
        ),
        (
            (currency != "") & ~currency.rlike(r"^[A-Z]{3}$"),
            F.format_string("currency %s is not a three-letter ISO 4217 code", F.col("currency")),
        ),
        *(
            (F.col(f"_v_{c}").isNull(), F.format_string(f"unknown {c} %s", F.col(c)))
            for c in ("payer_kind", "payee_kind")
        ),
        *(
            ((F.col(c) != "") & F.col(f"_v_{c}").isNull(), F.format_string(f"unknown {c} %s", F.col(c)))
            for c in CHANNEL_COLUMNS
        ),
    ]
    return values.withColumn("_problem", F.coalesce(*(F.when(test, reason) for test, reason in problems)))
