"""Classify graph nodes by channel of government and by legal form.

Channel rules, strongest first (``channel_method``):

1. ``input``: ``channel_given`` (a channel the input file stated).
2. ``map``: the ``--channels`` mapping file (id lines, then name patterns).
3. ``register-id``: the node id or one of its ``org_ids`` is in the shipped registers.
4. ``register-name``: the name is in the registers (all bodies of that name share one channel).
5. ``org-id-scheme``: the identifier's scheme (:data:`SCHEME_CHANNELS`).
6. ``name-pattern``: programme names (for streams and names with a programme word), body names,
   then legal-form words, then generic words (see graphflows.classify.patterns).
7. ``register-id`` / ``org-id-scheme`` of the funder of a 360Giving programme stream
   (id ``<funder org-id> / <programme>``) whose programme name says nothing.
8. ``none``: ``unclassified``.

Form rules (``form_method``): ``org-id`` (scheme, Companies House number prefix, 360Giving individual),
``name`` (legal-form words), ``channel`` (a government channel from rules 3-7 means a public body), ``none``.
"""

from __future__ import annotations

import polars as pl

from graphflows.classify.channels import GOVERNMENT_CHANNELS
from graphflows.classify.forms import ID_FORMS, names_forms
from graphflows.classify.mapping import ChannelMap, id_key_expr, node_ids
from graphflows.classify.patterns import BODIES, GENERIC, PROGRAMME_WORDS, PROGRAMMES, Rule
from graphflows.registers import alias_table, body_table, name_keys, name_table

#: Org-id scheme -> channel, for identifiers not found in the registers.
SCHEME_CHANNELS = (
    ("nhs", r"^GB-(NHS|NHSE|NHSW|NHSS|NHSNI)-"),
    ("local_government", r"^GB-(LAE|LAS|PLA|LANI)-"),
    ("central_other", r"^GB-(GOR|GOV|GOVUK)-"),
    ("education", r"^GB-(EDU|WALEDU|SCOTEDU|NIEDU)-"),
    ("charitable", r"^GB-(CHC|SC|NIC)-|^GB-COH-(CE|CS)\d"),
    ("private", r"^GB-(COH|MPR)-"),
)
#: Name forms that put a body outside government, and their channel.
_FORM_CHANNEL = {
    "company": "private",
    "cic": "private",
    "partnership": "private",
    "mutual_society": "private",
    "charity": "charitable",
}
_BY_EVIDENCE = ("register-id", "register-name", "org-id-scheme", "name-pattern")


def classify_nodes(nodes: pl.DataFrame, channel_map: ChannelMap | None = None) -> pl.DataFrame:
    """``nodes`` (``id``, ``name``, ``kinds``; optional ``org_ids``, ``channel_given``, ``recipient_type``)
    with four String columns added: ``channel``, ``channel_method``, ``form``, ``form_method``.

    >>> frame = pl.DataFrame({"id": ["GB-LAE-TRF", "x"], "name": ["Trafford Council", "Public Health Grant"],
    ...                       "kinds": [["commissioner"], ["stream"]]})
    >>> classify_nodes(frame).select("channel", "channel_method", "form").rows()
    [('local_government', 'register-id', 'public_body'), ('public_health', 'name-pattern', 'public_body')]
    """
    channel_map = channel_map or ChannelMap()
    height = nodes.height
    ids = node_ids(nodes).filter(~pl.col("one_id").str.contains(r"\s"))  # a registered id has no spaces
    ids = ids.with_columns(key=id_key_expr(pl.col("one_id")))
    funders = _stream_funders(nodes)
    names = _optional(nodes, "name").fill_null("")
    # Per-row columns first (positional), then joins (which may reorder rows), then back in row order.
    facts = (
        pl.DataFrame(
            {
                "row": pl.Series(range(height), dtype=pl.UInt32),
                "map_id": channel_map.id_channels(nodes),
                "name": names,
                "given": _optional(nodes, "channel_given"),
                "individual": _optional(nodes, "recipient_type") == "individual",
                "is_stream": _is_stream(nodes),
            }
        )
        .join(_first_per_row(ids, _register_ids(), "register"), on="row", how="left")
        .join(_first_per_row(ids, None, "scheme", SCHEME_CHANNELS), on="row", how="left")
        .join(_first_per_row(ids, None, "id_form", ID_FORMS), on="row", how="left")
        .join(_first_per_row(funders, _register_ids(), "funder_register"), on="row", how="left")
        .join(_first_per_row(funders, None, "funder_scheme", SCHEME_CHANNELS), on="row", how="left")
        .join(_name_facts(names, channel_map), on="name", how="left")
        .sort("row")
        .with_columns(
            pattern=pl.when(pl.col("is_stream") | pl.col("programme_worded"))
            .then(pl.coalesce("programme", "pattern"))
            .otherwise(pl.col("pattern"))
        )
    )
    steps = [
        ("input", "given"),
        ("map", "map_id"),
        ("map", "map_name"),
        ("register-id", "register"),
        ("register-name", "register_name"),
        ("org-id-scheme", "scheme"),
        ("name-pattern", "pattern"),
        ("register-id", "funder_register"),
        ("org-id-scheme", "funder_scheme"),
    ]
    channel = pl.coalesce([pl.col(col) for _, col in steps] + [pl.lit("unclassified")])
    method = pl.coalesce(
        [pl.when(pl.col(col).is_not_null()).then(pl.lit(m)) for m, col in steps] + [pl.lit("none")]
    )
    facts = facts.with_columns(channel=channel, channel_method=method)
    public = pl.col("channel").is_in(list(GOVERNMENT_CHANNELS)) & pl.col("channel_method").is_in(_BY_EVIDENCE)
    # A company number with a name that says CIC/LLP/society: the name is the more precise form.
    name_refines = (pl.col("id_form") == "company") & pl.col("name_form").is_in(
        ["cic", "partnership", "mutual_society"]
    )
    form_steps = [
        ("org-id", pl.when(pl.col("individual").fill_null(False)).then(pl.lit("individual"))),
        ("name", pl.when(name_refines).then(pl.col("name_form"))),
        ("org-id", pl.col("id_form")),
        ("name", pl.col("name_form")),
        ("channel", pl.when(public).then(pl.lit("public_body"))),
    ]
    facts = facts.with_columns(
        form=pl.coalesce([e for _, e in form_steps] + [pl.lit("unknown")]),
        form_method=pl.coalesce(
            [pl.when(e.is_not_null()).then(pl.lit(m)) for m, e in form_steps] + [pl.lit("none")]
        ),
    )
    added = facts.select("channel", "channel_method", "form", "form_method")
    return nodes.drop([c for c in added.columns if c in nodes.columns]).hstack(added)


def _name_facts(names: pl.Series, channel_map: ChannelMap) -> pl.DataFrame:
    """Per distinct name: map pattern, register channel, legal form and name-pattern channel.

    Registers and generic words are also tried on the name without a trailing bracket, as finance
    systems write it: "EXETER CITY COUNCIL (FINANCE)", "PLYMOUTH CITY COUNCIL (RADIUS ACCOUNT".
    """
    distinct = names.cast(pl.String).unique()
    keys = name_keys(distinct).fill_null("")
    bracketed = distinct.str.contains(r"\S\s*\([^()]*\)?\s*$").fill_null(False)
    core = keys.clone().scatter(  # only names with a trailing bracket have a different core
        bracketed.arg_true(),
        name_keys(distinct.filter(bracketed).str.replace(r"(\S)\s*\([^()]*\)?\s*$", "$1")).fill_null(""),
    )
    forms = pl.Series("name_form", names_forms(distinct, keys), dtype=pl.String)
    frame = pl.DataFrame(
        {
            "name": distinct,
            "key": keys,
            "core": core,
            "name_form": forms,
            "map_name": channel_map.pattern_channels(distinct),
        }
    )
    register = _register_name_channels()
    programme = pl.coalesce([_rule(rule, "key") for rule in PROGRAMMES])
    pattern = pl.coalesce(
        [_rule(rule, "key") for rule in BODIES]
        + [pl.col("name_form").replace_strict(_FORM_CHANNEL, default=None, return_dtype=pl.String)]
        + [_rule(rule, "core") for rule in GENERIC]
    )
    return (
        frame.join(register, on="key", how="left")
        .join(register.rename({"key": "core", "register_name": "register_core"}), on="core", how="left")
        .with_columns(
            register_name=pl.coalesce("register_name", "register_core"),
            pattern=pl.when(pl.col("key") != "").then(pattern),
            programme=programme,
            programme_worded=pl.col("key").str.contains(PROGRAMME_WORDS),
        )
        .drop("key", "core", "register_core")
    )


def _register_name_channels() -> pl.DataFrame:
    """``key -> register_name``: the channel of every name key whose bodies all share one channel."""
    return (
        name_table()
        .join(body_table().select("org_id", "channel"), on="org_id")
        .group_by("key")
        .agg(pl.col("channel").unique())
        .filter(pl.col("channel").list.len() == 1)
        .select("key", register_name=pl.col("channel").list.first())
    )


def _rule(rule: Rule, column: str) -> pl.Expr:
    channel, pattern, unless = rule
    hit = pl.col(column).str.contains(pattern)
    if unless:
        hit = hit & ~pl.col(column).str.contains(unless)
    return pl.when(hit).then(pl.lit(channel))


def _register_ids() -> pl.DataFrame:
    """``key -> register`` channel for every org_id and alias id in the registers."""
    bodies = body_table().select(key="org_id", register="channel")
    aliases = (
        alias_table().join(bodies, left_on="org_id", right_on="key").select(key="alias", register="register")
    )
    return pl.concat([bodies, aliases])


def _first_per_row(
    ids: pl.DataFrame, table: pl.DataFrame | None, column: str, rules: tuple[tuple[str, str], ...] = ()
) -> pl.DataFrame:
    """Per node row, the value of its first identifier found in ``table`` or matching one of ``rules``
    (rules rank before identifier order)."""
    if table is not None:
        hits = ids.join(table.rename({"register": column}), on="key").with_columns(rank=pl.lit(0))
    else:
        value = pl.coalesce([pl.when(pl.col("key").str.contains(rx)).then(pl.lit(v)) for v, rx in rules])
        rank = pl.coalesce(
            [pl.when(pl.col("key").str.contains(rx)).then(pl.lit(i)) for i, (_, rx) in enumerate(rules)]
        )
        hits = ids.with_columns(value.alias(column), rank=rank).filter(pl.col(column).is_not_null())
    return hits.sort("row", "rank", "order").group_by("row").agg(pl.col(column).first())


def _stream_funders(nodes: pl.DataFrame) -> pl.DataFrame:
    """The funder of a 360Giving programme stream, whose id is ``<funder org-id> / <programme>``."""
    funder = pl.col("id").cast(pl.String).str.extract(r"^([A-Za-z]{2}-[A-Za-z]{2,8}-\S+) / ", 1)
    rows = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    found = nodes.select(rows, funder.alias("one_id"), pl.lit(0, pl.Int32).alias("order")).drop_nulls()
    return found.with_columns(key=id_key_expr(pl.col("one_id")))


def _is_stream(nodes: pl.DataFrame) -> pl.Series:
    if "kinds" not in nodes.columns or not isinstance(nodes["kinds"].dtype, pl.List):
        return pl.Series("is_stream", [False] * nodes.height)
    return nodes["kinds"].cast(pl.List(pl.String)).list.contains("stream").fill_null(False)


def _optional(nodes: pl.DataFrame, column: str) -> pl.Series:
    if column in nodes.columns:
        return nodes[column].cast(pl.String)
    return pl.Series(column, [None] * nodes.height, dtype=pl.String)
