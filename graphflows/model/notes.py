"""Notes about one file that say what they count, so a front end can combine notes of one kind from many
files (91 OCDS files with one shared award each become one line on the terminal).

A :class:`FileNote` *is* its text (a ``str``: summary.json and every list of notes keep it as before) and
also carries its file, its kind and its figures.

>>> note = FileNote.of("a.json", 2, "shared award(s)", {"GBP": 150}, "; not counted per supplier")
>>> note, note.kind, note.count, note.amounts
('a.json: 2 shared award(s): GBP 1.50 in all; not counted per supplier', 'shared award(s)', 2, {'GBP': 150})
"""

from __future__ import annotations

from collections.abc import Mapping

from graphflows.model.money import money_words


class FileNote(str):
    """A note's text, with the file it is about, what it counts (``kind``: the same words for every file)
    and the figures: ``count``, and ``amounts`` (minor units per currency) where it counts money;
    ``detail`` is what follows the figures (the same for every file)."""

    source: str
    kind: str
    count: int
    amounts: dict[str, int]
    detail: str

    def __new__(
        cls,
        text: str,
        source: str = "",
        kind: str = "",
        count: int = 0,
        amounts: Mapping[str, int] | None = None,
        detail: str = "",
    ) -> FileNote:
        note = super().__new__(cls, text)
        note.source, note.kind, note.count = source, kind, count
        note.amounts, note.detail = dict(amounts or {}), detail
        return note

    def __getnewargs__(self) -> tuple[str, str, str, int, dict[str, int], str]:  # type: ignore[override]
        return (str(self), self.source, self.kind, self.count, self.amounts, self.detail)

    @classmethod
    def of(
        cls, source: str, count: int, kind: str, amounts: Mapping[str, int] | None = None, detail: str = ""
    ) -> FileNote:
        """``SOURCE: COUNT KIND``, then the amounts if any (``: GBP 150.00 in all``), then ``detail``."""
        money = ", ".join(money_words(v, c) for c, v in sorted((amounts or {}).items()))
        text = f"{source}: {count} {kind}" + (f": {money} in all" if money else "") + detail
        return cls(text, source, kind, count, amounts, detail)
