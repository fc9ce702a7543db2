"""The ``--channels FILE`` mapping: a person's own channel for named nodes, organisations or name patterns.

The file is a CSV with the header ``match,channel``; lines starting with ``#`` are comments::

    match,channel
    # exact node ids or org-ids
    GB-NHS-07L,nhs
    leicester-city-ccg,nhs
    # name patterns: * matches anything, case is ignored
    name:*Police and Crime Commissioner*,police_justice

Exact ids are tried before patterns; among each, the first matching line wins. The same id (in any case, for
an org-id) or pattern (in any case) on two lines with different channels is refused, naming both lines.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from graphflows.classify.channels import parse_channel
from graphflows.model.errors import InputError, RowProblem

NAME_PREFIX = "name:"


@dataclass(frozen=True)
class ChannelMap:
    """Parsed mapping lines: ``ids`` (match, channel, line) and ``patterns`` (glob, channel, line)."""

    ids: tuple[tuple[str, str, int], ...] = ()
    patterns: tuple[tuple[str, str, int], ...] = ()
    source: str = "<mapping>"

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str]], source: str = "<mapping>") -> ChannelMap:
        """A map from ``(match, channel)`` pairs (channels validated), numbered as file lines 2, 3..."""
        return _build([(line, m, c) for line, (m, c) in enumerate(rows, start=2)], source)

    def id_channels(self, nodes: pl.DataFrame) -> pl.Series:
        """Per node, the channel of the first id line matching its id or one of its org_ids (or null)."""
        if not self.ids:
            return pl.Series("map", [None] * nodes.height, dtype=pl.String)
        lines = pl.DataFrame(
            {
                "key": [m for m, _, _ in self.ids],
                "map": [c for _, c, _ in self.ids],
                "line": [n for _, _, n in self.ids],
            }
        ).unique("key", keep="first", maintain_order=True)
        ids = node_ids(nodes).with_columns(key=id_key_expr(pl.col("one_id")))
        hits = ids.join(lines, on="key").sort("line").group_by("row").agg(pl.col("map").first())
        rows = pl.DataFrame({"row": range(nodes.height)}, schema={"row": pl.UInt32})
        return rows.join(hits, on="row", how="left").sort("row")["map"]

    def pattern_channels(self, names: pl.Series) -> pl.Series:
        """Per name, the channel of the first name pattern it matches (or null)."""
        if not self.patterns:
            return pl.Series("map", [None] * len(names), dtype=pl.String)
        name = pl.col("name").fill_null("")
        expr = pl.coalesce(
            [pl.when(name.str.contains(_glob_regex(g))).then(pl.lit(c)) for g, c, _ in self.patterns]
        )
        return pl.DataFrame({"name": names.cast(pl.String)}).select(expr.alias("map"))["map"]

    def lines(self) -> list[tuple[int, str, str]]:
        """Every line as ``(number, match, channel)``, in file order, the match as a map file writes it.

        >>> ChannelMap.from_rows([("gb-lae-gla", "transport"), ("name:*Police*", "police_justice")]).lines()
        [(2, 'GB-LAE-GLA', 'transport'), (3, 'name:*Police*', 'police_justice')]
        """
        ids = [(n, m, c) for m, c, n in self.ids]
        return sorted(ids + [(n, NAME_PREFIX + g, c) for g, c, n in self.patterns])

    @classmethod
    def from_lines(cls, lines: list[tuple[int, str, str]], source: str) -> ChannelMap:
        """The map :meth:`lines` describes (as kept by ``graphflows convert``); channels validated."""
        rows = []
        for number, match, channel in lines:
            try:
                rows.append((int(number), str(match), parse_channel(str(channel))))
            except ValueError as exc:
                _fail(source, int(number), str(exc))
        return _build(rows, source)

    def matched_lines(self, nodes: pl.DataFrame) -> set[int]:
        """The line numbers matching a node of ``nodes`` (``id``, ``name``, optional ``org_ids``): an id line
        its id or one of its org_ids, a pattern line its name (whatever channel the node ends with)."""
        found: set[int] = set()
        if self.ids:
            keys = node_ids(nodes).select(id_key_expr(pl.col("one_id")))["one_id"]
            hit = pl.Series([m for m, _, _ in self.ids], dtype=pl.String).is_in(keys.implode())
            found |= {n for (_, _, n), matched in zip(self.ids, hit, strict=True) if matched}
        names = pl.DataFrame({"name": nodes["name"].cast(pl.String).fill_null("")}) if self.patterns else None
        for glob, _, number in self.patterns:
            if (
                names is not None
                and names.select(pl.col("name").str.contains(_glob_regex(glob)).any()).item()
            ):
                found.add(number)
        return found

    def unmatched(self, matched: set[int]) -> list[str]:
        """A note for each line not in ``matched`` (a typo in an id, a pattern no name fits): unused.

        >>> ChannelMap.from_rows([("GB-LAE-GLAX", "transport")], "ch.csv").unmatched(set())
        ['ch.csv:2: GB-LAE-GLAX matches no organisation read: the line was not used']
        """
        return [
            f"{self.source}:{number}: {match} matches no "
            f"{'name' if _is_pattern(match) else 'organisation'} read: the line was not used"
            for number, match, _ in self.lines()
            if number not in matched
        ]


def read_channel_map(path: str | Path) -> ChannelMap:
    """Read a mapping file; InputError (file:line) for a missing header, an empty match or a bad channel."""
    source = str(path)
    if not Path(path).is_file():
        raise InputError(f"{source}: no such channel mapping file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = list(enumerate(csv.reader(handle), start=1))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{source}: cannot read the channel mapping ({exc})") from None
    lines = [(n, cells) for n, cells in lines if cells and any(c.strip() for c in cells)]
    lines = [(n, cells) for n, cells in lines if not cells[0].lstrip().startswith("#")]
    if not lines or [c.strip().lower() for c in lines[0][1]] != ["match", "channel"]:
        line = lines[0][0] if lines else 1
        _fail(source, line, "the first line must be the header match,channel" + _separator_hint(lines))
    rows = []
    for number, cells in lines[1:]:
        if len(cells) != 2:
            _fail(source, number, f"expected 2 fields (match,channel), found {len(cells)}")
        match, channel_text = cells[0].strip(), cells[1].strip()
        if not match or (_is_pattern(match) and not match[len(NAME_PREFIX) :].strip()):
            _fail(source, number, "empty match")
        try:
            channel = parse_channel(channel_text)
        except ValueError as exc:
            _fail(source, number, str(exc))
        rows.append((number, match, channel))
    return _build(rows, source)


def _separator_hint(lines: list[tuple[int, list[str]]]) -> str:
    """`` (the file seems to use ';' separators: ...)`` when the header is one cell split by ``;`` or a tab.

    >>> _separator_hint([(1, ["match;channel"])])
    " (the file seems to use ';' separators: separate the two columns with a comma)"
    """
    if not lines or len(lines[0][1]) != 1:
        return ""
    for separator, shown in ((";", "';'"), ("\t", "tab")):
        if separator in lines[0][1][0]:
            return f" (the file seems to use {shown} separators: separate the two columns with a comma)"
    return ""


def _refuse_contradictions(rows: list[tuple[int, str, str]], source: str) -> None:
    """The same id or pattern on two lines with different channels: one line naming both.

    >>> _refuse_contradictions([(2, "GB-LAE-GLA", "nhs"), (3, "gb-lae-gla", "transport")], "ch.csv")
    Traceback (most recent call last):
    ...
    graphflows.model.errors.InputError: ch.csv:3: gb-lae-gla is given channel transport here but nhs on \
ch.csv:2: give one channel per id or pattern
    """
    first: dict[str, tuple[int, str]] = {}
    for number, match, channel in rows:
        key = match[len(NAME_PREFIX) :].strip().lower() if _is_pattern(match) else _id_key(match)
        key = ("name:" if _is_pattern(match) else "id:") + key
        earlier = first.setdefault(key, (number, channel))
        if earlier[1] != channel:
            _fail(
                source,
                number,
                f"{match} is given channel {channel} here but {earlier[1]} on {source}:{earlier[0]}: "
                "give one channel per id or pattern",
            )


def _build(rows: list[tuple[int, str, str]], source: str) -> ChannelMap:
    _refuse_contradictions(rows, source)
    ids = [(_id_key(m), c, n) for n, m, c in rows if not _is_pattern(m)]
    patterns = [(m[len(NAME_PREFIX) :].strip(), c, n) for n, m, c in rows if _is_pattern(m)]
    return ChannelMap(tuple(ids), tuple(patterns), source)


def node_ids(nodes: pl.DataFrame) -> pl.DataFrame:
    """One row per (node ``row``, identifier ``one_id``, ``order``): the id, then the ``;``-joined org_ids."""
    rows = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    own = nodes.select(rows, pl.col("id").cast(pl.String).alias("one_id"), pl.lit(0).alias("order"))
    parts = [own]
    if "org_ids" in nodes.columns:
        listed = nodes.select(rows, pl.col("org_ids").cast(pl.String).str.split(";").alias("one_id"))
        exploded = listed.explode("one_id").with_columns(order=pl.int_range(1, pl.len() + 1).over("row"))
        parts.append(exploded.select("row", "one_id", pl.col("order").cast(pl.Int32)))
    out = pl.concat([p.with_columns(pl.col("order").cast(pl.Int32)) for p in parts])
    out = out.with_columns(pl.col("one_id").str.strip_chars())
    return out.filter(pl.col("one_id").is_not_null() & (pl.col("one_id") != ""))


def _is_pattern(match: str) -> bool:
    return match.lower().startswith(NAME_PREFIX)


def _id_key(text: str) -> str:
    """Org-ids (``gb-nhs-07l``) compare upper-case; other node ids exactly."""
    text = text.strip()
    return text.upper() if re.match(r"^[A-Za-z]{2}-[A-Za-z]{2,8}-", text) else text


def id_key_expr(col: pl.Expr) -> pl.Expr:
    """:func:`_id_key` as an expression: org-id-shaped ids upper-cased, others unchanged."""
    return (
        pl.when(col.str.contains(r"^[A-Za-z]{2}-[A-Za-z]{2,8}-")).then(col.str.to_uppercase()).otherwise(col)
    )


def _glob_regex(glob: str) -> str:
    """``*Police*`` -> a case-insensitive whole-name regex."""
    return "(?i)^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$"


def _fail(source: str, line: int, reason: str):
    raise InputError(str(RowProblem(source, line, reason)))  # one line: the CLI prints the message once
