"""Money is kept as integers in minor units (pence, cents): exact, and fast to sum.

>>> to_minor("1,234.5")
123450
>>> format_minor(-5)
'-0.05'
"""

from __future__ import annotations

import re
from decimal import Decimal

#: Every amount is stored with two decimal places (pence, cents). More precision is refused, not rounded.
SCALE = 2
#: ASCII digits only (``\d`` would also take Arabic-Indic and other scripts' digits, which are not amounts).
_AMOUNT = re.compile(r"^\s*([+-]?)([0-9][0-9,]*)?(?:\.([0-9]*))?\s*$")


def to_minor(text: str | int | Decimal) -> int:
    """Parse an amount (thousands separators allowed) into exact minor units; ValueError if not exact."""
    if isinstance(text, int):
        return text * 100
    if isinstance(text, Decimal):
        value = text * 100
        if value != value.to_integral_value():
            raise ValueError(f"amount {text} has more than {SCALE} decimal places")
        return int(value)
    m = _AMOUNT.match(text)
    if not m or not (m.group(2) or m.group(3)):
        raise ValueError(f"amount {text!r} is not a number")
    whole = (m.group(2) or "0").replace(",", "")
    frac = (m.group(3) or "").rstrip("0")
    if len(frac) > SCALE:
        raise ValueError(f"amount {text.strip()!r} has more than {SCALE} decimal places")
    value = int(whole) * 100 + int(frac.ljust(SCALE, "0") or 0)
    return -value if m.group(1) == "-" else value


#: The largest amount accepted, in minor units (text amounts: 16 digits before the point).
MAX_MINOR = 10**18 - 1
#: The currency of an amount given without one (blank in a flows file, absent on a networkx edge).
DEFAULT_CURRENCY = "GBP"
#: A currency as stored: a three-letter ISO 4217 code, upper case (read in any case).
CURRENCY_CODE = r"^[A-Z]{3}$"


def parse_currency(text: object) -> str:
    """A currency code from user text: upper-cased, blank -> ``GBP``; ValueError if not three letters.

    >>> parse_currency(" eur "), parse_currency(None)
    ('EUR', 'GBP')
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return DEFAULT_CURRENCY
    code = text.strip().upper() if isinstance(text, str) else None
    if code is None or not re.match(CURRENCY_CODE, code):
        raise ValueError(f"currency {text!r} is not a three-letter ISO 4217 code")
    return code


def minor_to_decimal(minor: int) -> Decimal:
    """Minor units back to an exact Decimal with two places."""
    return Decimal(int(minor)).scaleb(-SCALE).quantize(Decimal("0.01"))


def format_minor(minor: int) -> str:
    """Minor units as plain text with two places, for CSV and JSON (no thousands separators)."""
    return str(minor_to_decimal(minor))


def money_words(minor: int, currency: str) -> str:
    """Minor units as people read them in messages and notes: code, thousands separators, two places.

    >>> money_words(123456789, "GBP"), money_words(-5, "EUR")
    ('GBP 1,234,567.89', '-EUR 0.05')
    """
    return f"{'-' if minor < 0 else ''}{currency} {abs(minor_to_decimal(minor)):,}"
