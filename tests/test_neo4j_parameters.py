"""The Cypher library's parameters are checked before a query runs: shares 0 to 1, counts 0 or more,
currencies as ISO 4217 codes with flows in the database, ids that name a node (with a suggestion when they
do not). The database's side is answered here by a recording runner; tests/test_neo4j_truth.py asks a real
server. Ids and names from the real north-east London CCG spend files."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pytest

from graphflows.cli import neo4j_cmds
from graphflows.neo4j import QueryResult, run_named
from graphflows.neo4j.library import LibraryError, list_queries, load_query
from graphflows.neo4j.parameters import CHECK_QUERY, Parameter, suggest
from graphflows.neo4j.runner import NeedsGds

KNOWN = [
    ["GB-NHS-R1H", "BARTS HEALTH NHS TRUST"],
    ["GB-NHS-RQX", "HOMERTON UNIVERSITY HOSPITAL NHS FOUNDATION TRUST"],
    ["GB-NHS-08N", "NHS Redbridge CCG"],
    ["GB-NHS-08F", "NHS Havering CCG"],
]


class CheckingRunner:
    """Answers :data:`CHECK_QUERY` as a database holding :data:`KNOWN` and GBP flows would; records every
    query; every other query returns no rows (or raises ``fail``)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> QueryResult:
        params = dict(parameters or {})
        self.calls.append((query, params))
        if query == CHECK_QUERY:
            ids = {i for i, _ in KNOWN}
            missing_ids = [i for i in params["ids"] if i not in ids]
            missing_currencies = [c for c in params["currencies"] if c != "GBP"]
            row = {
                "missing_ids": missing_ids,
                "missing_currencies": missing_currencies,
                "known": KNOWN if missing_ids else [],
                "held": ["GBP"] if missing_currencies else [],
            }
            return QueryResult(list(row), [row])
        if self.fail:
            raise self.fail
        return QueryResult(["n"], [])


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("share", "0.8", 0.8),
        ("share", "0", 0.0),
        ("share", "100%", 1.0),
        ("count", "0", 0),
        ("count", "25", 25),
        ("integer", "-3", -3),
        ("currency", "gbp", "GBP"),
        ("currency", " eur ", "EUR"),
        ("id", "GB-NHS-R1H", "GB-NHS-R1H"),
        ("id", 2, "2"),  # a networkx node 2 is the id "2"
        ("boolean", "yes", True),
        ("float", "1e3", 1000.0),
        ("share", "80%", 0.8),  # as analyse --min-share 80%
        ("share", "0.5%", 0.005),
        ("share", 0.8, 0.8),
    ],
)
def test_parameters_convert_to_their_type(kind: str, text: Any, value: Any) -> None:
    assert Parameter("p", kind, "").convert(text) == value


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            "share",
            "80",
            "parameter p: 80 would be the whole income or more; did you mean 0.8 (80%)? Give a share between "
            "0 and 1 or a percentage (the whole income is 100%).",
        ),
        (
            "share",
            2.5,
            "parameter p: 2.5 would be the whole income or more; did you mean 0.025 (2.5%)? Give a "
            "share between 0 and 1 or a percentage (the whole income is 100%).",
        ),
        ("share", "-0.1", "parameter p: '-0.1': give a share between 0 and 1 (0.01) or a percentage (1%)."),
        (
            "share",
            "nan",
            "parameter p: 'nan' is not a share: give one between 0 and 1 (0.01) or a percentage (1%).",
        ),
        ("share", "250", "parameter p: '250': give a share between 0 and 1 (0.01) or a percentage (1%)."),
        ("share", "180%", "parameter p: '180%': give a share between 0 and 1 (0.01) or a percentage (1%)."),
        ("count", "-1", "parameter p: '-1' is not a whole number, 0 or more"),
        ("count", "2.5", "parameter p: '2.5' is not a whole number, 0 or more"),
        ("count", str(2**63), f"parameter p: '{2**63}' is not a whole number, 0 or more"),
        ("count", True, "parameter p: True is not a whole number, 0 or more"),
        ("integer", "abc", "parameter p: 'abc' is not an integer"),
        ("float", "inf", "parameter p: 'inf' is not a number"),
        ("currency", "pounds", "parameter p: 'pounds' is not a three-letter ISO 4217 currency code"),
        ("id", " ", "parameter p: ' ' is not the id of an organisation in the database"),
        ("date", "31/03/2021", "parameter p: '31/03/2021' is not a date (YYYY-MM-DD)"),
        ("boolean", "maybe", "parameter p: 'maybe' is not true or false"),
    ],
)
def test_wrong_values_are_one_line_naming_the_parameter(kind: str, text: Any, message: str) -> None:
    with pytest.raises(LibraryError) as caught:
        Parameter("p", kind, "").convert(text)
    assert str(caught.value) == message


def test_share_count_currency_and_id_parameters_are_declared_in_the_headers() -> None:
    kinds = {(q.name, p.name): p.type for q in list_queries() for p in q.parameters}
    assert kinds[("provider_dependency", "min_share")] == "share"
    assert {t for (_, name), t in kinds.items() if name == "limit" or name.startswith("min_")} <= {
        "count",
        "share",
    }
    assert {t for (_, name), t in kinds.items() if name.endswith("_id")} == {"id"}
    assert {t for (_, name), t in kinds.items() if name == "currency"} == {"currency"}


def test_the_checks_happen_before_any_query_is_sent() -> None:
    runner = CheckingRunner()
    with pytest.raises(
        LibraryError, match=r"min_share: 80 would be the whole income or more; did you mean 0.8 \(80%\)\?"
    ):
        run_named(runner, "provider_dependency", {"min_share": "80"})
    with pytest.raises(LibraryError, match="limit: -1 is not a whole number"):
        run_named(runner, "convergence_points", {"limit": -1})  # from Python, typed values are checked too
    assert runner.calls == []


def test_an_unknown_id_is_refused_with_a_close_match_in_one_query() -> None:
    runner = CheckingRunner()
    with pytest.raises(LibraryError) as caught:
        run_named(runner, "provider_funding_mix", {"provider_id": "GB-NHS-R1J"})
    assert str(caught.value) == (
        "parameter provider_id: no organisation with id 'GB-NHS-R1J' in the database "
        "(did you mean 'GB-NHS-R1H' (BARTS HEALTH NHS TRUST)?)"
    )
    assert [q for q, _ in runner.calls] == [CHECK_QUERY]  # one query, and the library query never ran
    assert runner.calls[0][1]["ids"] == ["GB-NHS-R1J"] and runner.calls[0][1]["currencies"] == []
    with pytest.raises(LibraryError, match=r"no organisation with id 'no-such-org' in the database$"):
        run_named(runner, "provider_funding_mix", {"provider_id": "no-such-org"})


def test_a_known_id_and_a_held_currency_run_the_query() -> None:
    runner = CheckingRunner()
    run_named(runner, "provider_funding_mix", {"provider_id": "GB-NHS-R1H"})
    run_named(runner, "providers_by_form", {"currency": "gbp"})
    library = [(q, p) for q, p in runner.calls if q != CHECK_QUERY]
    assert [p for _, p in library] == [{"provider_id": "GB-NHS-R1H"}, {"currency": "GBP"}]
    # every id of a query in the one check; an optional id not given is not checked
    runner.calls.clear()
    run_named(runner, "stovepipe_paths", {"stovepipe_id": "GB-NHS-08N", "provider_id": "GB-NHS-R1H"})
    run_named(runner, "flows_by_financial_year", {})
    checks = [p for q, p in runner.calls if q == CHECK_QUERY]
    assert checks == [{"ids": ["GB-NHS-08N", "GB-NHS-R1H"], "currencies": [], "known_limit": 200_000}]
    runner.calls.clear()
    run_named(runner, "convergence_points", {})  # nothing to check: no check query
    assert len(runner.calls) == 1 and runner.calls[0][0] != CHECK_QUERY


def test_a_currency_without_flows_names_the_currencies_there_are() -> None:
    with pytest.raises(LibraryError) as caught:
        run_named(CheckingRunner(), "provider_pagerank", {"currency": "eur"})
    assert str(caught.value) == "parameter currency: no flows in EUR in the database (its currencies: GBP)"


def test_suggestions_by_part_of_a_name_or_a_close_id() -> None:
    assert suggest("barts", KNOWN) == "'GB-NHS-R1H' (BARTS HEALTH NHS TRUST)"
    assert suggest("havering", KNOWN) == "'GB-NHS-08F' (NHS Havering CCG)"
    both = "'GB-NHS-08F' (NHS Havering CCG) or 'GB-NHS-08N' (NHS Redbridge CCG)"
    assert suggest("ccg", KNOWN) == both
    assert suggest("gb-nhs-08x", KNOWN) == both
    assert suggest("zzzz", KNOWN) == ""


def test_a_gds_query_without_gds_names_itself_and_how_to_get_gds() -> None:
    runner = CheckingRunner(fail=NeedsGds("bolt://127.0.0.1:39863"))
    with pytest.raises(NeedsGds) as caught:
        run_named(runner, "provider_pagerank", {})
    assert str(caught.value).startswith(
        "provider_pagerank needs Neo4j Graph Data Science, which the server at bolt://127.0.0.1:39863"
    )
    assert "`graphflows neo4j start --gds`" in str(caught.value)


def test_gds_queries_return_no_rows_when_nothing_is_projected() -> None:
    for name in ("provider_pagerank", "commissioner_communities"):
        text = load_query(name).text
        project, guard, call = (
            text.index("gds.graph.project("),
            text.index("WHERE projected.graphName IS NOT NULL"),
            text.index("CALL gds."),
        )
        assert project < guard < call


def test_the_command_line_gives_one_line_and_exit_2(monkeypatch, capsys) -> None:
    from graphflows.cli.main import main

    runner = CheckingRunner()

    @contextmanager
    def connected(_uri):
        yield runner

    monkeypatch.setattr(neo4j_cmds, "_runner", connected)
    cases = {
        ("provider_dependency", "min_share=80"): "did you mean 0.8 (80%)?",
        ("provider_funding_mix", "provider_id=no-such-org"): "no organisation with id 'no-such-org'",
        ("providers_by_form", "currency=EUR"): "no flows in EUR in the database",
        ("convergence_points", "limit=-1"): "'-1' is not a whole number, 0 or more",
    }
    for (name, param), expected in cases.items():
        assert main(["query", name, "--param", param]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and expected in captured.err and len(captured.err.splitlines()) == 1
    # a percentage, as analyse --min-share 80% takes it
    assert main(["query", "provider_dependency", "--param", "min_share=80%"]) == 0
    assert runner.calls[-1][1]["min_share"] == 0.8
