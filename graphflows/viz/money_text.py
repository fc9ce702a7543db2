"""Money as people read it in a view: ``£1,234.50`` in tooltips, ``£1.2m`` on labels.

Amounts stay exact integers in minor units until they are turned into text here.

>>> money_text(123456789, "GBP")
'£1,234,567.89'
>>> money_short(123456789, "GBP")
'£1.2m'
>>> money_text(-5, "XYZ")
'-0.05 XYZ'
"""

from __future__ import annotations

from graphflows.model import minor_to_decimal

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money_text(minor: int, currency: str) -> str:
    """Exact amount with thousands separators and the currency symbol (or code)."""
    text = f"{abs(minor_to_decimal(minor)):,}"
    sign = "-" if minor < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def money_short(minor: int, currency: str) -> str:
    """Rounded amount for labels: ``£950``, ``£12k``, ``£1.2m``, ``£3.4bn``."""
    value = abs(minor) / 100
    sign = "-" if minor < 0 else ""
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if value >= size:
            number = value / size
            body = f"{number:.1f}".removesuffix(".0") if number < 100 else f"{number:.0f}"
            body += suffix
            break
    else:
        body = f"{value:.0f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"
