from decimal import Decimal

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from graphflows.model import format_minor, minor_to_decimal, to_minor


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("0", 0),
        ("12", 1200),
        ("12.3", 1230),
        ("12.30", 1230),
        ("-0.05", -5),
        ("1,234.56", 123456),
        (".5", 50),
        ("+7.10", 710),
        ("12.3400", 1234),
    ],
)
def test_to_minor_reads_exact_amounts(text, minor):
    assert to_minor(text) == minor


@pytest.mark.parametrize("text", ["", "abc", "1.234", "12.5.1", "£5", "1e3", "-"])
def test_to_minor_refuses_what_is_not_an_exact_amount(text):
    with pytest.raises(ValueError):
        to_minor(text)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_minor_units_round_trip_through_text(minor):
    assert to_minor(format_minor(minor)) == minor
    assert minor_to_decimal(minor) == Decimal(minor) / 100


@given(
    st.lists(
        st.from_regex(r"\A[+-]?(\d{1,17}(\.\d{0,4})?|\.\d{1,3})\Z", fullmatch=True)
        | st.sampled_from(["", "x"]),
        min_size=1,
        max_size=30,
    )
)
@example(texts=["0."])  # a point with no digit after it: refused both ways
def test_plain_amounts_read_row_by_row_equal_the_careful_reading(texts):
    from graphflows.ingest.parsing import parse_amounts

    series = pl.Series(texts, dtype=pl.String)
    fast = parse_amounts(series, plain=True, max_digits=15)  # the per-row path when every value is plain
    careful = parse_amounts(pl.Series([*texts, "x"]), plain=True, max_digits=15)  # "x" forces the stages
    assert fast[0].to_list() == careful[0].to_list()[:-1]
    assert fast[1].to_list() == careful[1].to_list()[:-1]
    for text, minor in zip(texts, fast[0].to_list(), strict=True):
        if minor is not None:
            assert minor == to_minor(text)


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=50), st.integers(1, 3))
@example([2**63 - 1, -(2**63), -1, 0, 1], 1)
def test_minor_units_become_exact_two_place_decimals_for_the_results(minors, step):
    """Every int64, negative ones included (the sign is extended into 128 bits), from strided arrays too."""
    import numpy as np

    from graphflows.export import minor_as_decimal

    every = np.array(minors * 3, dtype=np.int64)[::step]  # a strided view, as a block's column can be
    written = minor_as_decimal(every)
    assert written.dtype == pl.Decimal(20, 2)
    assert written.to_list() == [Decimal(int(m)) / 100 for m in every]
