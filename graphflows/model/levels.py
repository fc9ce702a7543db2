"""What an analysis counts and writes: names shared by the library and the command line.

Kept apart from :mod:`graphflows.analysis` so that the command line can offer them without loading the
numerical code (numpy, scipy) before it reads the input files.
"""

from __future__ import annotations

from typing import Literal

CountBy = Literal["channel", "payer_channel", "stovepipe"]
#: What ``count_by`` may be: origin channels, channels of the direct payers (contracts held), stovepipes.
COUNT_LEVELS: tuple[str, ...] = ("channel", "payer_channel", "stovepipe")

#: Default materiality: a channel or stovepipe counts when it brings at least 1% of a recipient's income.
DEFAULT_MIN_SHARE = 0.01

#: Levels of results an analysis can write: origin-level rows (attribution) and the channel table.
LEVELS = ("origin", "channel")

#: The file format of result tables.
ResultsFormat = Literal["csv", "parquet"]
