"""The Spark engine gives the in-memory engine's results, row for row (Spark in local[2]).

Each case runs ``graphflows analyse`` with both engines and compares the CSV files they write.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from graphflows.cli.main import main
from graphflows.demo import demo_path
from tests.helpers import write_flows

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parent.parent
CCG = sorted((ROOT / "tests/data/real/nhs-ccg-spend-nel").glob("*.zip"))
COMPARED = ("attribution.csv", "convergence.csv", "channels.csv", "organisations.csv")


def generated(path: Path, flows: int, seed: int) -> Path:
    """A seeded layered graph: pools, declared streams, returned transfers (cycles) and credit lines."""
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks/generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.layered_flows(flows, seed).write_csv(path)
    return path


def analyse(out: Path, inputs: list[Path], *options: str) -> Path:
    code = main(["analyse", *map(str, inputs), "--out", str(out), "--top", "0", *options])
    assert code == 0
    return out


def assert_same(memory: Path, spark: Path) -> None:
    """Every line the same, in the same order (attribution.csv too: the in-memory engine's solving order)."""
    for name in COMPARED:
        left, right = (memory / name).read_text(), (spark / name).read_text()
        assert left.count("\n") > 1, name
        assert left == right, name


def test_demo_same_as_memory(spark, tmp_path):
    memory = analyse(tmp_path / "memory", [demo_path()])
    fast = analyse(tmp_path / "spark", [demo_path()], "--engine", "spark")
    assert_same(memory, fast)
    summary = json.loads((fast / "summary.json").read_text())
    assert summary["engine"] == "spark"
    assert (
        summary["convergence_points"]
        == json.loads((memory / "summary.json").read_text())["convergence_points"]
    )
    parquet = pl.read_parquet(fast / "attribution.parquet")
    assert (
        parquet["amount_minor"].sum() == pl.read_parquet(fast / "convergence.parquet")["total_in_minor"].sum()
    )


def test_spark_tells_people_what_the_in_memory_engine_tells_them(spark, tmp_path, capsys):
    """A financial year's flows left out, the forms of the convergence points and the negative pairs: in
    summary.json and on the terminal, as the in-memory engine gives them."""
    said = {}
    for engine in ("memory", "spark"):
        out = tmp_path / engine
        code = main(["analyse", str(demo_path()), "--out", str(out), "--financial-year", "2019/20",
                     "--engine", engine])  # fmt: skip
        assert code == 0
        said[engine] = " ".join(capsys.readouterr().out.split())
        said[f"{engine}-summary"] = json.loads((out / "summary.json").read_text())["analysis"]
    for key in ("flows_in_period", "amount_in_period", "flows_outside_period", "amount_outside_period"):
        assert said["spark-summary"][key] == said["memory-summary"][key]
    assert said["memory-summary"]["flows_outside_period"] > 0
    for line in (
        "Financial year 2019/20: 44 of 47 flows are dated in it",
        "Convergence points by provider form",
        "pair(s) net below zero: listed in negative_net.csv",
    ):
        assert line in said["memory"] and line in said["spark"]


def test_generated_graph_with_cycles_pools_streams_and_credits(spark, tmp_path):
    flows = generated(tmp_path / "flows.csv", 4000, seed=3)
    memory = analyse(tmp_path / "memory", [flows], "--min-share", "0")
    fast = analyse(tmp_path / "spark", [flows], "--min-share", "0", "--engine", "spark")
    assert_same(memory, fast)
    summary = json.loads((fast / "summary.json").read_text())
    assert summary["analysis"]["cycles"] > 0  # the returned transfers were solved as cycles
    assert (fast / "negative_net.csv").read_text() == (memory / "negative_net.csv").read_text()


def test_parquet_results_and_the_channel_level_as_the_memory_engine_writes_them(spark, tmp_path):
    flows = generated(tmp_path / "flows.csv", 3000, seed=5)
    for options in (("--results-format", "parquet"), ("--levels", "channel", "--results-format", "parquet")):
        memory = analyse(tmp_path / "memory", [flows], *options)
        fast = analyse(tmp_path / "spark", [flows], *options, "--engine", "spark")
        names = {p.name for p in memory.iterdir() if not p.name.startswith(".")}
        assert names == {p.name for p in fast.iterdir() if not p.name.startswith(".")}
        assert ("attribution.parquet" in names) == ("channel" not in options)
        for name in sorted(names - {"summary.json"}):
            left, right = pl.read_parquet(memory / name), pl.read_parquet(fast / name)
            # exact everywhere but the float shares, which Spark sums in another order (1e-12)
            assert_frame_equal(left, right, check_exact=False, rel_tol=1e-12, abs_tol=1e-15)
        summary = json.loads((fast / "summary.json").read_text())["analysis"]
        assert summary["results_format"] == "parquet"
        assert summary["levels"] == (["channel"] if "channel" in options else ["channel", "origin"])


def test_by_stream_and_financial_year(spark, tmp_path):
    flows = generated(tmp_path / "flows.csv", 2500, seed=11)
    options = ("--by", "stream", "--financial-year", "2019/20", "--count-by", "stovepipe")
    memory = analyse(tmp_path / "memory", [flows], *options)
    fast = analyse(tmp_path / "spark", [flows], *options, "--engine", "spark")
    assert_same(memory, fast)


def test_self_payments_are_left_out_of_income_by_both_engines(spark, tmp_path):
    """A trust paying itself (and a credit back to itself): the same rows, payer counts, note and
    reconciling summary figures from both engines."""
    flows = write_flows(
        tmp_path / "flows.csv",
        [
            "ccg,CCG,commissioner,trust,Trust,provider,1000.00,GBP,2020-05-01",
            "council,Council,commissioner,trust,Trust,provider,400.00,GBP,2020-05-01",
            "trust,Trust,provider,trust,Trust,provider,250.50,GBP,2020-06-01",
            "trust,Trust,provider,trust,Trust,provider,-0.50,GBP,2020-06-02",
            "trust,Trust,provider,lab,Lab,provider,300.00,GBP,2020-07-01",
            "council,Council,commissioner,lab,Lab,provider,30.00,GBP,2020-07-01",
        ],
    )
    memory = analyse(tmp_path / "memory", [flows], "--min-share", "0")
    fast = analyse(tmp_path / "spark", [flows], "--min-share", "0", "--engine", "spark")
    assert_same(memory, fast)
    left, right = (json.loads((out / "summary.json").read_text()) for out in (memory, fast))
    for key in ("self_payments", "self_payment_amount", "attributed_amount", "negative_net_amount", "notes"):
        assert left[key] == right[key], key
    assert right["self_payment_amount"] == {"GBP": "250.00"}
    assert any("left out of income" in note for note in right["notes"])


def test_real_ccg_files_through_convert(spark, tmp_path):
    assert main(["convert", *map(str, CCG), "--out", str(tmp_path / "parquet")]) == 0
    parts = sorted((tmp_path / "parquet" / "flows").glob("part-*.parquet"))
    assert len(parts) >= len(CCG)
    assert pl.read_parquet(parts[0]).select("source", "line").null_count().row(0) == (0, 0)
    memory = analyse(tmp_path / "memory", CCG)
    fast = analyse(tmp_path / "spark", [tmp_path / "parquet"], "--engine", "spark")
    assert_same(memory, fast)


def test_a_channel_mapping_given_to_convert_is_the_one_spark_classifies_with(spark, tmp_path, capsys):
    """convert --channels keeps the mapping in its folder: Spark finds the convergence the in-memory engine
    finds with the same mapping (public health and MHCLG money as nhs: 13 points become 5), notes the
    same unused line and prints the same money; a mapping given to analyse replaces the kept one."""
    channels = tmp_path / "ch.csv"
    channels.write_text(
        "match,channel\ndhsc-public-health-grant,nhs\nname:*(MHCLG)*,nhs\nleicester-city-councill,transport\n"
    )
    folder = tmp_path / "parquet"
    assert main(["convert", str(demo_path()), "--channels", str(channels), "--out", str(folder)]) == 0
    capsys.readouterr()
    memory = analyse(tmp_path / "memory", [demo_path()], "--channels", str(channels))
    fast = analyse(tmp_path / "spark", [folder], "--engine", "spark")
    assert_same(memory, fast)
    plain = json.loads((analyse(tmp_path / "plain", [demo_path()]) / "summary.json").read_text())
    said = {e: json.loads((tmp_path / e / "summary.json").read_text()) for e in ("memory", "spark")}
    assert (plain["convergence_points"], said["spark"]["convergence_points"]) == (13, 5)
    unused = f"{channels}:4: leicester-city-councill matches no organisation read: the line was not used"
    assert unused in said["memory"]["notes"] and unused in said["spark"]["notes"]
    printed = " ".join(capsys.readouterr().out.split())
    assert printed.count("47 flows (GBP 22,197,000.00)") == 3  # memory, spark, plain
    other = tmp_path / "other.csv"
    other.write_text("match,channel\ndhsc-public-health-grant,nhs\n")
    replaced = analyse(tmp_path / "replaced", [folder], "--engine", "spark", "--channels", str(other))
    assert_same(analyse(tmp_path / "memory-other", [demo_path()], "--channels", str(other)), replaced)
    assert (
        f"{folder}: the channel mapping {channels} given to `graphflows convert` is not used: --channels "
        f"{other} replaces it"
    ) in json.loads((replaced / "summary.json").read_text())["notes"]


def test_urls_are_read_by_spark_itself(spark, tmp_path, capsys):
    """s3a://, hdfs:// and file:// inputs go to Spark untouched (tested with file://)."""
    memory = analyse(tmp_path / "memory", [demo_path()])
    as_url = Path(demo_path()).resolve().as_uri()
    assert as_url.startswith("file:///")
    assert_same(memory, analyse(tmp_path / "csv-url", [as_url], "--engine", "spark"))
    assert main(["convert", str(demo_path()), "--out", str(tmp_path / "parquet")]) == 0
    folder = (tmp_path / "parquet").resolve().as_uri() + "/"
    assert_same(memory, analyse(tmp_path / "folder-url", [folder], "--engine", "spark"))
    capsys.readouterr()
    missing = (tmp_path / "nowhere.csv").resolve().as_uri()
    assert main(["analyse", missing, "--engine", "spark", "--out", str(tmp_path / "none")]) == 2
    assert f"{missing}: no such file, or Spark cannot read it" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


@pytest.fixture
def small_splits(spark):
    """Spark cuts every file into 16 kB ranges read by separate tasks, as it cuts large files into 128 MB."""
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, "16384")
    yield
    spark.conf.set(key, before)


def test_a_file_read_in_many_pieces_gives_the_same_results(spark, small_splits, tmp_path):
    from graphflows.spark.read import read_flows_spark

    flows = generated(tmp_path / "flows.csv", 3000, seed=5)
    assert read_flows_spark(spark, [flows]).flows.rdd.getNumPartitions() > 4
    memory = analyse(tmp_path / "memory", [flows])
    fast = analyse(tmp_path / "spark", [flows], "--engine", "spark")
    assert_same(memory, fast)


def errors_of_both_engines(flows: Path, out: Path, capsys) -> tuple[str, str]:
    """What each engine prints about a file with bad records (both stop with exit 2)."""
    said = []
    for engine in ("memory", "spark"):
        assert main(["analyse", str(flows), "--out", str(out / engine), "--engine", engine]) == 2
        said.append(capsys.readouterr().err)
    return said[0], said[1]


def test_a_bad_record_deep_in_a_split_file_is_named_by_its_line(spark, small_splits, tmp_path, capsys):
    flows = generated(tmp_path / "flows.csv", 3000, seed=5)
    lines = flows.read_text().splitlines()
    assert flows.stat().st_size > 5 * 16384
    header = lines[0].split(",")
    cells = dict.fromkeys(header, "") | {"payer_id": "org-1", "payee_id": "org-60", "amount": "12.345"}
    lines.insert(2500, ",".join(cells[c] for c in header))  # file line 2501
    lines[1200:1200] = ["", "   ", ",,,"]  # an empty, a blank and a spacer line before it: not records
    flows.write_text("\n".join(lines) + "\n")
    memory, fast = errors_of_both_engines(flows, tmp_path, capsys)
    assert f"{flows}:2504: amount 12.345 has more than 2 decimal places" in memory
    assert f"{flows}:2504: amount 12.345 has more than 2 decimal places" in fast
    assert ": record " not in fast


def test_a_bad_record_after_a_name_over_two_lines_is_named_by_its_line(spark, tmp_path, capsys):
    flows = tmp_path / "flows.csv"
    flows.write_text(
        'payer_id,payee_id,payee_name,amount\nA,B,"Two\nLines Trust",10.00\n\nA,C,C Ltd,12,5O.00\nA,D,,x\n'
    )
    memory, fast = errors_of_both_engines(flows, tmp_path, capsys)
    for line, problem in ((5, "its fields do not match"), (6, "amount x is not a number")):
        assert f"{flows}:{line}: {problem}" in fast
        assert f"{flows}:{line}: " in memory


def test_a_name_over_two_lines_is_read_whole(spark, small_splits, tmp_path):
    flows = generated(tmp_path / "flows.csv", 3000, seed=5)
    text = flows.read_text()
    payer, name = text.splitlines()[1].split(",")[:2]  # the first name seen of a stream
    flows.write_text(text.replace(f"\n{payer},{name},", f'\n{payer},"{name}\nTrust",', 1))
    memory = analyse(tmp_path / "memory", [flows])
    fast = analyse(tmp_path / "spark", [flows], "--engine", "spark")
    assert_same(memory, fast)
    assert f'"{name}\nTrust"' in (fast / "organisations.csv").read_text()


def test_spark_connect_gives_the_same_results(spark, tmp_path):
    """``--spark-remote``: the same analysis through Spark Connect (``local[2]``: a server PySpark starts)."""
    memory = analyse(tmp_path / "memory", [demo_path()])
    command = ["analyse", str(demo_path()), "--out", str(tmp_path / "connect"), "--top", "0"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphflows.cli.main",
            *command,
            "--engine",
            "spark",
            "--spark-remote",
            "local[2]",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same(memory, tmp_path / "connect")


def test_a_local_spark_run_prints_its_results_and_no_spark_logging(tmp_path):
    """Only the JVM's own incubator warning may reach stderr: no log4j lines, no "Setting default log
    level" from PySpark's gateway, no progress bars."""
    command = ["analyse", str(demo_path()), "--out", str(tmp_path / "out"), "--engine", "spark"]
    done = subprocess.run(
        [sys.executable, "-m", "graphflows.cli.main", *command, "--spark-master", "local[1]"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Results written to" in done.stdout
    spoken = [line for line in done.stderr.splitlines() if "Using incubator modules" not in line]
    assert spoken == []


def test_spark_refuses_formats_parsed_in_python(tmp_path, capsys):
    code = main(["analyse", str(CCG[0]), "--out", str(tmp_path / "out"), "--engine", "spark"])
    assert code == 2
    assert "convert it first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_spark_names_a_bad_record(spark, tmp_path, capsys):
    bad = tmp_path / "flows.csv"
    bad.write_text("payer_id,payee_id,amount\nA,B,10.00\nA,C,12.345\n")
    code = main(["analyse", str(bad), "--out", str(tmp_path / "out"), "--engine", "spark"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: amount 12.345 has more than 2 decimal places" in err
    assert not (tmp_path / "out").exists()


def test_default_path_never_imports_spark():
    code = (
        "import sys, graphflows, graphflows.cli.main, graphflows.analysis, graphflows.convert; "
        "print('pyspark' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"


def spend_file_with_notes(folder: Path) -> Path:
    """NHS Barking and Dagenham CCG's May 2020 spend (real lines), with a repeated line, a blank line and a
    'Total' line added, as publishers leave them."""
    import zipfile

    with zipfile.ZipFile(CCG[0]) as archive:
        lines = archive.read("NEBD/NEBD 02 - May.csv").decode("utf-8-sig").splitlines()[:30]
    total = 'Department of Health,NHS Barking And Dagenham CCG,,,Total,,,"1,000,000.00"'
    spend = folder / "NEBD May.csv"
    spend.write_text("\n".join([*lines, lines[5], ",,,,,,,", total]) + "\n")
    return spend


def test_spark_counts_and_notes_of_a_converted_spend_file_are_the_memory_engines(spark, tmp_path, capsys):
    """Blank and 'Total' lines are not flows, and the reading notes (a repeated line) reach the analyst:
    printed by convert, kept in its folder, and in the Spark run's summary.json and terminal."""
    spend = spend_file_with_notes(tmp_path)
    assert main(["convert", str(spend), "--out", str(tmp_path / "parquet")]) == 0
    said = capsys.readouterr().out
    assert "2 without money" in said
    assert "Note:" in said and "repeat an earlier line exactly" in " ".join(said.split())
    summaries = {}
    for engine, source in (("memory", spend), ("spark", tmp_path / "parquet")):
        out = analyse(tmp_path / engine, [source], "--engine", engine, "--financial-year", "2020/21")
        summaries[engine] = json.loads((out / "summary.json").read_text())
        printed = " ".join(capsys.readouterr().out.split())
        assert "repeat an earlier line exactly" in printed, engine
    memory, fast = summaries["memory"], summaries["spark"]
    assert memory["non_money"] == 2
    for key in ("records_read", "flows", "rejected", "non_money", "total_amount", "notes"):
        assert fast[key] == memory[key], key
    for key in ("flows_in_period", "flows_outside_period", "amount_in_period", "amount_outside_period"):
        assert fast["analysis"][key] == memory["analysis"][key], key
    assert fast["analysis"]["flows_outside_period"] == 0
    assert_same(tmp_path / "memory", tmp_path / "spark")


def test_a_convert_folder_with_a_file_missing_or_changed_is_refused(spark, tmp_path, capsys):
    import shutil

    folder = tmp_path / "parquet"
    assert main(["convert", str(CCG[0]), "--out", str(folder)]) == 0
    parts = sorted((folder / "flows").glob("part-*.parquet"))
    assert len(parts) > 2 and (folder / "organisations.parquet").is_file()
    capsys.readouterr()

    def refused(damage) -> str:
        copy = tmp_path / f"copy-{len(list(tmp_path.glob('copy-*')))}"  # new paths: Spark caches listings
        shutil.copytree(folder, copy)
        damage(copy)
        code = main(["analyse", str(copy), "--engine", "spark", "--out", str(tmp_path / "out")])
        assert code == 2
        assert not (tmp_path / "out").exists()
        err = capsys.readouterr().err
        assert "internal error" not in err and "Traceback" not in err
        return err

    assert f"{tmp_path / 'copy-0'}: part-00001.parquet written by `graphflows convert` is missing" in refused(
        lambda copy: (copy / "flows/part-00001.parquet").unlink()
    )
    assert "organisations.parquet written by `graphflows convert` is missing" in refused(
        lambda copy: (copy / "organisations.parquet").unlink()
    )
    assert "flows/part-99999.parquet not written by `graphflows convert`" in refused(
        lambda copy: shutil.copy(copy / "flows/part-00000.parquet", copy / "flows/part-99999.parquet")
    )
    rows = pl.read_parquet(parts[0]).height
    swapped = refused(
        lambda copy: shutil.copy(copy / "flows/part-00002.parquet", copy / "flows/part-00000.parquet")
    )
    assert "graphflows-flows.json counts" in swapped and "Spark read" in swapped
    assert rows != pl.read_parquet(parts[2]).height  # the swap changed the rows read
    damaged = refused(
        lambda copy: (copy / "flows/part-00001.parquet").write_bytes(parts[1].read_bytes()[:500])
    )
    assert f"{tmp_path / 'copy-4' / 'flows' / 'part-00001.parquet'}: not a readable Parquet file" in damaged


def test_a_url_spark_has_no_filesystem_for_is_one_line(spark, tmp_path, capsys):
    url = "s3a://no-such-bucket-graphflows/flows.csv"
    assert main(["analyse", url, "--engine", "spark", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"graphflows: {url}: this Spark has no filesystem for the scheme s3a" in err
    assert "Py4J" not in err and len(err.splitlines()) == 1


def test_skip_invalid_on_spark_writes_the_rejects_file_of_the_memory_engine(spark, tmp_path):
    lines = Path(demo_path()).read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index("amount")] = "12O.00"
    lines[4] = ",".join(cells)
    bad = tmp_path / "flows.csv"
    bad.write_text("\n".join(lines) + "\n")
    memory = analyse(tmp_path / "memory", [bad], "--skip-invalid")
    fast = analyse(tmp_path / "spark", [bad], "--skip-invalid", "--engine", "spark")
    rejects = (fast / "rejects.csv").read_text()
    assert rejects == (memory / "rejects.csv").read_text()
    assert f"{bad},5,amount 12O.00 is not a number" in rejects
    assert_same(memory, fast)


def quarter_and_its_first_month(folder: Path) -> tuple[Path, Path]:
    """NHS Barking and Dagenham CCG's spend for April to June 2020 (real lines) as one file, and April's."""
    import zipfile

    with zipfile.ZipFile(CCG[0]) as archive:
        months = [
            archive.read(f"NEBD/NEBD 0{n}.csv").decode("utf-8-sig").splitlines()
            for n in ("1 - April", "2 - May", "3 - June")
        ]
    quarter, april = folder / "Q1.csv", folder / "April.csv"
    quarter.write_text("\n".join([months[0][0], *(line for m in months for line in m[1:])]) + "\n")
    april.write_text("\n".join(months[0]) + "\n")
    return quarter, april


def two_months_sharing_a_transaction(folder: Path) -> tuple[Path, Path]:
    """NHS Barking and Dagenham CCG's August and September 2020 spend (real files): KCOM's transaction
    33624846 is in both, dated at each month's end."""
    import zipfile

    paths = []
    with zipfile.ZipFile(CCG[0]) as archive:
        for name in ("NEBD 05 - August.csv", "NEBD 06 - September.csv"):
            paths.append(folder / name)
            paths[-1].write_bytes(archive.read(f"NEBD/{name}"))
    return paths[0], paths[1]


#: Files holding the same spend transactions, with what is set aside as repeated: all of April's lines
#: (132, GBP 79,683,973.99), or KCOM's transaction 33624846 (GBP 29,520.97, the only one in both months).
SHARING = [
    (quarter_and_its_first_month, 132, "79683973.99", "transaction 31863771, GBP 36,121.63"),
    (two_months_sharing_a_transaction, 1, "29520.97", "transaction 33624846, GBP 29,520.97"),
]


@pytest.mark.parametrize(("files", "repeated", "money", "example"), SHARING)
def test_spend_repeated_across_files_converted_together_is_counted_as_in_memory(
    spark, tmp_path, files, repeated, money, example
):
    paths = files(tmp_path)
    assert main(["convert", *map(str, paths), "--out", str(tmp_path / "conv")]) == 0
    memory = analyse(tmp_path / "memory", list(paths))
    fast = analyse(tmp_path / "spark", [tmp_path / "conv"], "--engine", "spark")
    left, right = (json.loads((out / "summary.json").read_text()) for out in (memory, fast))
    assert (left["repeated"], left["repeated_amount"]) == (repeated, {"GBP": money})
    for key in ("records_read", "flows", "non_money", "repeated", "repeated_amount", "total_amount", "notes"):
        assert right[key] == left[key], key
    assert_same(memory, fast)


@pytest.mark.parametrize(("files", "repeated", "money", "example"), SHARING)
def test_converted_folders_holding_the_same_spend_transactions_are_refused(
    spark, tmp_path, capsys, files, repeated, money, example
):
    folders = [str(tmp_path / name) for name in ("first", "second")]
    for folder, path in zip(folders, files(tmp_path), strict=True):
        assert main(["convert", str(path), "--out", folder]) == 0
    capsys.readouterr()
    assert main(["analyse", *folders, "--engine", "spark", "--out", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{folders[0]} and {folders[1]}: spend lines repeat transactions of another converted" in err
    assert example in err and "run one `graphflows convert` on all their files" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("group_first", [True, False], ids=["group-first", "body-first"])
def test_a_body_and_its_group_without_numbers_are_counted_once_by_both_engines_in_either_order(
    spark, tmp_path, group_first
):
    """Oxford City Council's real Q3 2017/18 file and its Housing Services lines as a file of their own
    (fewer than half of the quarter's), without transaction numbers, read as one payer: converted together
    and analysed with Spark, the Housing Services lines are repeats in either order, as in memory."""
    from tests.test_ingest_repeats import in_area, oxford_file, oxford_money

    quarter, rows = oxford_file(tmp_path / "Q3 2017-18.csv")
    housing, lines = oxford_file(tmp_path / "Housing Services.csv", in_area("Housing Services"))
    paths = [quarter, housing] if group_first else [housing, quarter]
    payer = ["--payer", "*.csv=Oxford City Council"]
    assert main(["convert", *map(str, paths), *payer, "--out", str(tmp_path / "conv")]) == 0
    memory = analyse(tmp_path / "memory", paths, *payer)
    fast = analyse(tmp_path / "spark", [tmp_path / "conv"], "--engine", "spark")
    left, right = (json.loads((out / "summary.json").read_text()) for out in (memory, fast))
    assert (left["repeated"], left["repeated_amount"]) == (len(lines), {"GBP": f"{oxford_money(lines):.2f}"})
    assert left["total_amount"] == {"GBP": f"{oxford_money(rows):.2f}"} and left["flows"] == len(rows)
    for key in ("records_read", "flows", "non_money", "repeated", "repeated_amount", "total_amount", "notes"):
        assert right[key] == left[key], key
    assert_same(memory, fast)


def test_equal_lines_of_files_that_do_not_repeat_each_other_are_counted_by_both_engines(spark, tmp_path):
    """TfL's period file split by its Entity column, without document numbers, read as one payer: the
    equal lines of two bodies' files are two payments (both engines count them, with the same notes)."""
    from tests.test_ingest_repeats import tfl_by_entity

    paths, total = tfl_by_entity(tmp_path)
    payer = ["--payer", "tfl_*=Transport for London"]
    assert main(["convert", *map(str, paths), *payer, "--out", str(tmp_path / "conv")]) == 0
    memory = analyse(tmp_path / "memory", paths, *payer)
    fast = analyse(tmp_path / "spark", [tmp_path / "conv"], "--engine", "spark")
    left, right = (json.loads((out / "summary.json").read_text()) for out in (memory, fast))
    assert left["repeated"] == 0 and left["total_amount"] == {"GBP": f"{total:.2f}"}
    assert any("do not repeat each other" in n for n in left["notes"])
    for key in ("records_read", "flows", "non_money", "repeated", "total_amount", "notes"):
        assert right[key] == left[key], key
    assert_same(memory, fast)
