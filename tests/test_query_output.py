"""Query rows for people (money with its currency, shares as percentages, fitting the terminal) and for
machines (CSV and JSON with exact values). Rows shaped as the Cypher library returns them, with figures
from the real north-east London CCG spend files."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from graphflows.cli import neo4j_cmds
from graphflows.cli.main import cli
from graphflows.cli.query_output import (
    exact_cell,
    fit_table,
    heading,
    readable_cell,
    readable_table,
    write_json,
)
from graphflows.neo4j.runner import QueryResult

COLUMNS = [
    "recipient_id",
    "recipient_name",
    "stovepipe_count",
    "currency",
    "total_in_minor",
    "top_share",
    "hhi",
]
ROWS = [
    {
        "recipient_id": "name:BARTS HEALTH NHS TRUST",
        "recipient_name": "BARTS HEALTH NHS TRUST",
        "stovepipe_count": 3,
        "currency": "GBP",
        "total_in_minor": 13_114_164_600,
        "top_share": 0.6602251839512345,
        "hhi": 0.5017283749201234,
    },
    {
        "recipient_id": "name:LONDON AMBULANCE SERVICE NHS TRUST",
        "recipient_name": "LONDON AMBULANCE SERVICE NHS TRUST",
        "stovepipe_count": 3,
        "currency": "GBP",
        "total_in_minor": -4_205_481_020,
        "top_share": 0.374,
        "hhi": 0.336,
    },
]


def render(columns: list[str], rows: list[dict], width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(readable_table(columns, rows, width))
    return console.export_text()


def test_money_is_shown_with_its_currency_and_shares_as_percentages() -> None:
    assert readable_cell("total_in_minor", 115_000_000, {"currency": "GBP"}) == "GBP 1,150,000.00"
    assert readable_cell("amount_minor", -5, {"currency": "EUR"}) == "-EUR 0.05"
    assert readable_cell("total_minor", 123_456, {}) == "1,234.56"  # no currency column: the amount alone
    assert readable_cell("top_share", 0.6602251839512345, {}) == "66.0%"
    assert readable_cell("share", 1.0, {}) == "100.0%"
    assert readable_cell("hhi", 0.5017283749201234, {}) == "0.502"
    assert readable_cell("flows", 9411, {}) == "9,411"
    assert readable_cell("route_names", ["NHS Redbridge CCG", "BARTS HEALTH NHS TRUST"], {}) == (
        "NHS Redbridge CCG → BARTS HEALTH NHS TRUST"
    )
    payers = [
        {"payer_id": "name:NHS HAVERING CCG", "payer_name": "NHS Havering CCG", "paid_in_minor": 585535837}
    ]
    assert readable_cell("payers", payers, {"currency": "GBP"}) == "NHS Havering CCG: GBP 5,855,358.37"
    assert readable_cell("total_in_minor", None, {"currency": "GBP"}) == ""


def test_headings_are_words() -> None:
    assert [heading(c) for c in ("total_in_minor", "hhi", "top_stovepipe_id")] == [
        "Total in",
        "HHI",
        "Top stovepipe id",
    ]


def test_the_table_reads_as_money_and_fits_the_terminal() -> None:
    wide = render(COLUMNS, ROWS, 200)
    assert "GBP 131,141,646.00" in wide and "-GBP 42,054,810.20" in wide and "66.0%" in wide
    assert "13114164600" not in wide and "0.6602251839512345" not in wide
    assert "Currency" not in wide  # the amounts carry it
    assert "name:BARTS HEALTH NHS TRUST" in wide  # room enough: ids stay
    narrow = render(COLUMNS, ROWS, 80)
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert "name:BARTS" not in narrow and "Recipient id" not in narrow  # the names say it
    assert "GBP 131,141,646.00" in narrow  # money is never wrapped


def test_csv_and_json_keep_exact_values(tmp_path: Path) -> None:
    cells = [exact_cell(ROWS[0][c]) for c in COLUMNS]
    assert cells[4] == "13114164600" and cells[5] == "0.6602251839512345"
    assert exact_cell(["a", {"b": 1}]) == '["a", {"b": 1}]' and exact_cell(None) == ""
    write_json(tmp_path / "rows.json", COLUMNS, ROWS)
    document = json.loads((tmp_path / "rows.json").read_text(encoding="utf-8"))
    assert document["columns"] == COLUMNS
    assert document["rows"][1]["total_in_minor"] == -4_205_481_020
    assert document["rows"][0]["top_share"] == 0.6602251839512345


#: The columns of ``graphflows query convergence_points`` (cypher/convergence_points.cypher), in order.
CONVERGENCE_COLUMNS = [
    "rank", "recipient_id", "recipient_name", "kinds", "channel_count", "channels", "effective_channels",
    "payer_channels", "stovepipe_count", "currency", "total_in_minor", "top_stovepipe_id", "top_share", "hhi",
    "payer_count",
]  # fmt: skip
CONVERGENCE_ROWS = [
    {
        "rank": 1, "recipient_id": "GB-NHS-R1H", "recipient_name": "BARTS HEALTH NHS TRUST",
        "kinds": ["Provider"], "channel_count": 2, "channels": ["nhs", "local_government"],
        "effective_channels": 1.2801, "payer_channels": ["nhs", "local_government"], "stovepipe_count": 5,
        "currency": "GBP", "total_in_minor": 15_119_836_900, "top_stovepipe_id": "GB-NHS-07T",
        "top_share": 0.5850, "hhi": 0.4012, "payer_count": 6,
    },
    {
        "rank": 2, "recipient_id": "GB-NHS-RQX",
        "recipient_name": "HOMERTON UNIVERSITY HOSPITAL NHS FOUNDATION TRUST",
        "kinds": ["Provider"], "channel_count": 2, "channels": ["nhs", "local_government"],
        "effective_channels": 1.05, "payer_channels": ["nhs"], "stovepipe_count": 3, "currency": "GBP",
        "total_in_minor": 2_003_914_150, "top_stovepipe_id": "GB-NHS-07T", "top_share": 0.81, "hhi": 0.69,
        "payer_count": 3,
    },
]  # fmt: skip


def test_at_ordinary_widths_names_stay_readable_and_whole_columns_are_left_out() -> None:
    for width in (80, 100, 120, 160):
        fitted = fit_table(CONVERGENCE_COLUMNS, CONVERGENCE_ROWS, width)
        console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(fitted.table)
        text = console.export_text()
        assert all(len(line) <= width for line in text.splitlines())
        assert "BARTS HEALTH NHS" in text and "HOMERTON" in text  # the names, never drawn zero wide
        assert "…" not in text  # no number cut short
        left_out = fitted.left_out
        drawable = [c for c in CONVERGENCE_COLUMNS if c != "currency"]  # the money shows it
        assert not left_out or left_out == drawable[-len(left_out) :]  # whole columns, from the right
        if "total_in_minor" not in left_out:
            assert "GBP 151,198,369.00" in text
        notes = fitted.notes()
        assert len(notes) == bool(fitted.left_out)  # every amount has its currency: no note on that
        if notes:
            (note,) = notes
            assert ", ".join(fitted.left_out) in note and "--csv" in note and "--json" in note
    assert fit_table(CONVERGENCE_COLUMNS, CONVERGENCE_ROWS, 120).left_out  # 120 cannot show all 15
    assert not fit_table(CONVERGENCE_COLUMNS, CONVERGENCE_ROWS, 250).left_out


class OneQueryRunner:
    """Answers every query with the convergence rows, recording what it was asked."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
        self.queries.append(query)
        return QueryResult(CONVERGENCE_COLUMNS, CONVERGENCE_ROWS)


def answering_every_query(monkeypatch) -> OneQueryRunner:
    """The CLI's query commands talk to a :class:`OneQueryRunner` instead of a server."""
    runner = OneQueryRunner()

    @contextmanager
    def recording(_uri):
        yield runner

    monkeypatch.setattr(neo4j_cmds, "_runner", recording)
    return runner


def test_query_prints_the_table_and_says_which_columns_it_left_out(monkeypatch) -> None:
    runner = answering_every_query(monkeypatch)
    monkeypatch.setattr(neo4j_cmds.console, "width", 120)
    result = CliRunner().invoke(cli, ["query", "convergence_points"], catch_exceptions=False)
    assert result.exit_code == 0 and len(runner.queries) == 1
    lines = result.output.splitlines()
    assert all(len(line) <= 120 for line in lines[:-1])  # the table; then the note, one line
    assert "BARTS HEALTH NHS" in result.output and "2 row(s)" in lines
    note = lines[-1]  # one line, however narrow the terminal
    assert note.startswith("Left out to fit the terminal: ") and "--csv FILE or --json -" in note
    assert "payer_count" in note and "recipient_name" not in note


def test_csv_dash_writes_to_stdout_like_json_dash(monkeypatch) -> None:
    answering_every_query(monkeypatch)
    cli_runner = CliRunner()
    with cli_runner.isolated_filesystem() as folder:
        result = cli_runner.invoke(cli, ["query", "convergence_points", "--csv", "-"], catch_exceptions=False)
        assert result.exit_code == 0 and not (Path(folder) / "-").exists()
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(CONVERGENCE_COLUMNS) and len(lines) == 3
    assert lines[1].startswith("1,GB-NHS-R1H,BARTS HEALTH NHS TRUST,") and ",15119836900," in lines[1]


def test_a_list_of_payers_reads_as_one_line_per_cell() -> None:
    payers = [
        {"payer_name": "NHS Havering CCG", "paid_in_minor": 585535837},
        {"payer_name": "London Borough of Havering", "paid_in_minor": 100},
    ]
    cell = readable_cell("payers", payers, {"currency": "GBP"})
    assert cell == "NHS Havering CCG: GBP 5,855,358.37; London Borough of Havering: GBP 1.00"
    assert "\\x0a" not in render(["fund_name", "payers"], [{"fund_name": "BCF", "payers": payers}], 200)


def test_money_without_a_currency_column_says_so_and_expressions_keep_their_text() -> None:
    columns = ["p.name", "sum(f.amount_minor)"]
    rows = [{"p.name": "Turning Point", "sum(f.amount_minor)": 111_500_000}]
    fitted = fit_table(columns, rows, 120)
    text = render(columns, rows, 120)
    assert "1,115,000.00" in text and "111,500,000" not in text  # an unnamed sum of amounts is money
    assert "p.name" in text and "P.name" not in text  # an expression is its own heading
    assert fitted.notes() == [
        "sum(f.amount_minor): money in major units without its currency (return a `currency` column "
        "beside it to show it; never add two currencies)."
    ]
    with_currency = [{**rows[0], "currency": "GBP"}]
    assert fit_table([*columns, "currency"], with_currency, 120).notes() == []


def test_providers_by_form_shows_its_money_with_the_currency() -> None:
    from graphflows.neo4j.library import load_query

    text = load_query("providers_by_form").text
    assert "$currency AS currency" in text  # the row carries it, so the amounts are shown with it
    row = {"form": "charity", "currency": "GBP", "providers": 3, "total_in_minor": 361_400_000}
    assert "GBP 3,614,000.00" in render(list(row), [row], 120)


def test_cypher_write_prints_the_changes_on_one_line_without_an_empty_table(monkeypatch) -> None:
    from graphflows.neo4j.runner import changes

    class Counters:  # as the driver's SummaryCounters: private flags, zeros, counts
        def __init__(self) -> None:
            self._contains_updates = True
            self._contains_system_updates = False
            self.nodes_created = 1
            self.properties_set = 2
            self.labels_added = 0

    assert changes(Counters()) == {"nodes_created": 1, "properties_set": 2}

    class WritingRunner:
        def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
            return QueryResult([], [], changes(Counters()) if write else {})

    @contextmanager
    def connected(_uri):
        yield WritingRunner()

    monkeypatch.setattr(neo4j_cmds, "_runner", connected)
    result = CliRunner().invoke(cli, ["cypher", "CREATE (:Entity {id: 'x'})", "--write"])
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "Changes: nodes created: 1, properties set: 2\n"


def test_a_sum_of_amounts_named_without_minor_is_money_with_the_rows_currency(monkeypatch) -> None:
    # London 2020-21 as the review saw it: "GBP | 29,923 | 267,424,818,044" read as GBP 267 billion.
    query = (
        "MATCH ()-[f:FUNDS]->() RETURN f.currency AS currency, count(f) AS n, sum(f.amount_minor) AS total"
    )
    row = {"currency": "GBP", "n": 29_923, "total": 267_424_818_044}

    class Runner:
        def run(self, text: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
            assert text == query
            return QueryResult(list(row), [row], {})

    @contextmanager
    def connected(_uri):
        yield Runner()

    monkeypatch.setattr(neo4j_cmds, "_runner", connected)
    monkeypatch.setattr(neo4j_cmds.console, "width", 120)
    result = CliRunner().invoke(cli, ["cypher", query], catch_exceptions=False)
    assert result.exit_code == 0
    assert "GBP 2,674,248,180.44" in result.output and "267,424,818,044" not in result.output
    assert "29,923" in result.output and "without its currency" not in result.output


def test_a_currency_column_by_its_expression_shows_the_money_and_no_note() -> None:
    columns = ["f.currency", "sum(f.amount_minor)"]
    rows = [{"f.currency": "GBP", "sum(f.amount_minor)": 267_424_818_044}]
    fitted = fit_table(columns, rows, 120)
    assert fitted.notes() == []
    assert "GBP 2,674,248,180.44" in render(columns, rows, 120)
    aliased = fit_table(["total"], [{"total": 5}], 120, "RETURN sum(f.amount_minor) AS total")
    assert aliased.notes()[0].startswith("total: money in major units without its currency")
