"""Shares of income as people write them: ``0.01`` or ``1%`` (one parser for the CLI options and the Cypher
library's ``share`` parameters).

>>> [parse_share(given) for given in ("1%", "0.05", "0.5%", "100%", 0.8)]
[0.01, 0.05, 0.005, 1.0, 0.8]
>>> parse_share("80")
Traceback (most recent call last):
...
ValueError: 80 would be the whole income or more; did you mean 0.8 (80%)? Give a share between 0 and 1 or \
a percentage (the whole income is 100%).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_share(value: str | float) -> float:
    """A share from 0 to 1, given as a fraction or a percentage. A plain number from 1 to 100 is refused with
    the share it may mean (``1`` is most often meant as 1%; the whole income is written ``100%``); the
    ValueError's text is the message for people."""
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = Decimal(text.removesuffix("%").strip()) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a share: give one between 0 and 1 (0.01) or a percentage (1%).")
    if not percent and 1 <= number <= 100:
        meant = f"{(number / 100).normalize():f} ({number}%)"
        raise ValueError(
            f"{text} would be the whole income or more; did you mean {meant}? Give a share between 0 and 1 "
            "or a percentage (the whole income is 100%)."
        )
    share = number / 100 if percent else number
    if not 0 <= share <= 1:
        raise ValueError(f"{text!r}: give a share between 0 and 1 (0.01) or a percentage (1%).")
    return float(share)
