from decimal import Decimal

import pytest
from hypothesis import given
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
