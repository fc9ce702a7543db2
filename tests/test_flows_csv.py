"""The native flows CSV: what is accepted, and every class of bad input."""

from __future__ import annotations

import json
from datetime import date

import pytest

from graphflows.ingest import read_flows
from graphflows.model import InputError
from tests.helpers import write_flows


def test_reads_all_columns_and_keeps_extras(tmp_path):
    path = write_flows(
        tmp_path / "f.csv",
        ["CCG,NHS City CCG,commissioner,IH,Inclusion Healthcare,Provider,1234.56,,2019-06-28,PH,ref-1,block"],
        header="payer_id,payer_name,payer_kind,payee_id,payee_name,payee_kind,amount,currency,date,"
        "stream_id,reference,contract_type",
    )
    result = read_flows([path])
    row = result.flows.row(0, named=True)
    assert row["payer_id"] == "CCG" and row["payee_kind"] == "provider"
    assert row["amount_minor"] == 123456 and row["currency"] == "GBP"
    assert row["date"] == date(2019, 6, 28) and row["stream_id"] == "PH"
    assert row["contract_type"] == "block"
    assert (row["source"], row["line"]) == (str(path), "2")


def test_only_required_columns_with_defaults(tmp_path):
    path = write_flows(tmp_path / "f.csv", ["A,B,-3.5"], header="payer_id,payee_id,amount")
    row = read_flows([path]).flows.row(0, named=True)
    assert (row["payer_kind"], row["payee_kind"], row["amount_minor"]) == ("commissioner", "provider", -350)
    assert row["date"] is None


def test_header_titles_are_matched_case_and_space_insensitively(tmp_path):
    path = write_flows(tmp_path / "f.csv", ["A,B,10"], header=" Payer_ID ,PAYEE_ID, Amount")
    assert read_flows([path]).flows.height == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (",B,10", "missing payer_id"),
        ("A,,10", "missing payee_id"),
        ("A,B,", "missing amount"),
        ("A,B,ten", "amount ten is not a number"),
        ("A,B,1.005", "more than 2 decimal places"),
        ("A,B,10,31/12/2019", "not an ISO 8601 date"),
        ("A,B,10,2019-02-30", "not an ISO 8601 date"),
        ("A,B,10,,council", "unknown payer_kind council"),
        ("A,B,10,,,Pounds", "currency Pounds is not a three-letter"),
    ],
)
def test_each_bad_row_is_named_with_file_line_and_reason(tmp_path, line, reason):
    path = write_flows(
        tmp_path / "f.csv", ["A,B,1", line], header="payer_id,payee_id,amount,date,payer_kind,currency"
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    problems = caught.value.problems
    assert len(problems) == 1
    assert problems[0].source == str(path) and problems[0].line == "3"
    assert reason in problems[0].reason


def test_skip_invalid_keeps_every_rejected_record_and_counts_reconcile(tmp_path):
    path = write_flows(
        tmp_path / "f.csv", ["A,B,1", "A,,2", "A,B,x", "C,D,4"], header="payer_id,payee_id,amount"
    )
    result = read_flows([path], skip_invalid=True)
    assert result.records_read == 4
    assert result.flows.height + result.rejects.height + result.non_money == result.records_read
    assert result.rejects["line"].to_list() == ["3", "4"]
    assert json.loads(result.rejects["record"][1]) == {"payer_id": "A", "payee_id": "B", "amount": "x"}
    assert result.totals() == {"GBP": 500}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"   \n\n", "file is empty"),
        (b"from,to,value\nA,B,1\n", "wrong header: missing column(s) payer_id, payee_id, amount"),
        (b"payer_id,payee_id,amount\nA,B,1\nA,\xff\xfeB,2\n", ":3: not valid UTF-8"),
    ],
)
def test_unusable_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.csv") as caught:
        read_flows([path], format="flows")
    assert message in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_flows([tmp_path / "nope.csv"])
    with pytest.raises(InputError, match="is a folder"):
        read_flows([tmp_path])


def test_amounts_are_never_added_across_currencies(tmp_path):
    path = write_flows(
        tmp_path / "f.csv",
        ["A,B,10,GBP", "A,B,5,eur", "A,C,2.50,GBP"],
        header="payer_id,payee_id,amount,currency",
    )
    assert read_flows([path]).totals() == {"EUR": 500, "GBP": 1250}


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        (["A,B,10,Invoice 123"], "2", "4 fields where the header has 5"),
        (["A,B,10,s,r,extra"], "2", "6 fields where the header has 5"),
        (["A,B,10,,r", "A,B,184467440737095517,,"], "3", "too large"),
        (['A,B,10,,"two\nlines"', "A,C,xx,,"], "4", "amount xx is not a number"),
    ],
)
def test_row_shape_and_size_problems_name_the_right_line(tmp_path, rows, line, reason):
    path = write_flows(
        tmp_path / "f.csv", rows, header="payer_id,payee_id,amount,stream_id,reference", pad=False
    )
    with pytest.raises(InputError) as caught:
        read_flows([path])
    (problem,) = caught.value.problems
    assert problem.line == line and reason in problem.reason


@pytest.mark.parametrize("header", ["payer_id,Payer ID,payee_id,amount", "payer_id,payee_id,amount,amount"])
def test_a_column_named_twice_is_refused(tmp_path, header):
    path = write_flows(tmp_path / "f.csv", ["A,A,B,1"], header=header, pad=False)
    with pytest.raises(InputError, match="duplicate column"):
        read_flows([path])


def test_blank_lines_are_not_records_and_a_header_alone_is_an_error(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("payer_id,payee_id,amount\r\nA,B,10\r\n\r\n")
    result = read_flows([path])
    assert (result.records_read, result.flows.height) == (1, 1)
    path.write_text("payer_id,payee_id,amount\n")
    with pytest.raises(InputError, match="no data rows"):
        read_flows([path])
