"""`graphflows load` on top of flows it does not contain is refused; when the file being loaded is one of
those the database's flows came from, the refusal says why its flows can differ (ids of organisations matched
by name depend on the files read with them). The database is a recording runner holding what a load of both
files wrote; the payee spellings are GLA's and TfL's for PwC in the London 2020-21 files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import graphflows as gf
from graphflows.neo4j.loader import STORED_FLOWS_QUERY, OtherFlowsInDatabase, flow_keys, load_graph
from graphflows.neo4j.runner import QueryResult

HEADER = "Body Name,Supplier Name,Amount,Date\n"


class HoldingRunner:
    """A database holding ``graph``'s flows (ids as a load writes them), answering the stored-flows query."""

    def __init__(self, graph: gf.FlowGraph) -> None:
        flows = graph.flows.with_columns(flow_id=pl.Series(flow_keys(graph.flows)))
        self.rows = [
            {"source": source, "flow_ids": group["flow_id"].to_list()}
            for (source,), group in flows.group_by("source", maintain_order=True)
        ]
        self.queries: list[str] = []

    def run(
        self, query: str, parameters: dict[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        self.queries.append(query)
        assert query == STORED_FLOWS_QUERY and not write  # nothing is written before the check
        return QueryResult(["source", "flow_ids"], self.rows)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gla = tmp_path / "gla.csv"
    gla.write_text(
        HEADER + "Greater London Authority,PRICEWATERHOUSECOOPERS LLP,1200.00,01/05/2020\n"
        "Greater London Authority,ONE HOUSING GROUP,500.00,02/05/2020\n"
    )
    tfl = tmp_path / "tfl.csv"
    tfl.write_text(HEADER + "Transport for London,PRICEWATERHOUSECOOPERS,3400.00,03/05/2020\n")
    return gla, tfl


def test_reloading_one_file_of_a_set_says_why_its_flows_differ_and_what_to_do(files) -> None:
    gla, tfl = files
    runner = HoldingRunner(gf.read_graph([gla, tfl]))
    with pytest.raises(OtherFlowsInDatabase) as refused:
        load_graph(runner, gf.read_graph([gla]))  # type: ignore[arg-type]
    message = str(refused.value)
    assert (
        "holds 2 flows that this load does not contain, from gla.csv (1 flows), tfl.csv (1 flows)" in message
    )
    assert (
        "(gla.csv is in this load too, but read with other files: an organisation matched by name" in message
    )
    assert "depends on the other files loaded with it" in message
    assert "(the same set of files as before), or add --replace" in message
    assert runner.queries == [STORED_FLOWS_QUERY]


def test_a_refusal_naming_only_other_files_gives_no_such_reason(files) -> None:
    gla, tfl = files
    runner = HoldingRunner(gf.read_graph([tfl]))
    with pytest.raises(OtherFlowsInDatabase) as refused:
        load_graph(runner, gf.read_graph([gla]))  # type: ignore[arg-type]
    assert "from tfl.csv (1 flows);" in str(refused.value) and "in this load too" not in str(refused.value)
