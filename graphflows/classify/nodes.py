"""Classify graph nodes by channel of government and by legal form.

Channel rules, strongest first (``channel_method``):

1. ``input``: ``channel_given`` (a channel the input file stated).
2. ``map``: the ``--channels`` mapping file (id lines; after 2a, name patterns).
   2a. ``redacted``: a redacted payee (id ``redacted:<payer id>``) is ``unclassified``, form ``unknown``.
3. ``register-id``: the node id or one of its ``org_ids`` is in the shipped registers.
4. ``register-name``: the name is in the registers (all bodies of that name share one channel); also
   without a trailing bracket, without ``Ltd``/``PLC`` or a leading "The Corporation of" / "The Trustees
   of", or an NHS trust's name without "NHS Trust" (never an abbreviation: only "CPS" alone is the CPS).
5. ``org-id-scheme``: the identifier's scheme (:data:`SCHEME_CHANNELS`); a company number with a
   charitable company's name is left to the name.
6. ``name-pattern``: programme names (for streams and names with a programme word), body names,
   then legal-form words, then generic words (see graphflows.classify.patterns), on the name without a
   trading-as suffix.
7. ``register-id`` / ``org-id-scheme`` of the funder of a 360Giving programme stream
   (id ``<funder org-id> / <programme>``) whose programme name says nothing.
8. ``none``: ``unclassified``.

Form rules (``form_method``): ``org-id`` (scheme, Companies House number prefix, 360Giving individual),
``name`` (legal-form words), ``channel`` (a government channel from rules 3-7 means a public body, except
from a GB-EDU URN or a school, college or university name), ``redacted``, ``none``.
"""

from __future__ import annotations

import polars as pl

from graphflows.classify.channels import GOVERNMENT_CHANNELS
from graphflows.classify.forms import (
    COH_COMPANY,
    COH_PARTNERSHIP,
    COH_SOCIETY,
    ID_FORMS,
    names_forms,
)
from graphflows.classify.mapping import ChannelMap, id_key_expr, node_ids
from graphflows.classify.patterns import (
    BODIES,
    CHARITABLE_COMPANY,
    CHARITABLE_WORDS,
    EDUCATION_WORDS,
    GENERIC,
    LEGAL_FORM_TAIL,
    LEGAL_NAME_HEAD,
    PROGRAMME_WORDS,
    PROGRAMMES,
    TRADING_AS,
    Rule,
)
from graphflows.registers import alias_table, body_table, name_keys, name_table

#: Org-id scheme -> channel, for identifiers not found in the registers.
SCHEME_CHANNELS = (
    ("nhs", r"^GB-(NHS|NHSE|NHSW|NHSS|NHSNI)-"),
    ("local_government", r"^GB-(LAE|LAS|PLA|LANI)-"),
    ("central_other", r"^GB-(GOR|GOV|GOVUK)-"),
    ("education", r"^GB-(EDU|WALEDU|SCOTEDU|NIEDU)-"),
    ("charitable", r"^GB-(CHC|SC|NIC)-|^GB-COH-(CE|CS)\d"),
    ("private", rf"^GB-MPR-|^GB-COH-(\d|({COH_COMPANY}|{COH_PARTNERSHIP}|{COH_SOCIETY})\d)"),
)
#: Nodes whose payee a spend file redacted (``redacted:<payer id>``): possibly a person, never classified by
#: the placeholder name.
REDACTED_PREFIX = "redacted:"
#: Name forms that put a body outside government, and their channel.
_FORM_CHANNEL = {
    "company": "private",
    "cic": "private",
    "partnership": "private",
    "mutual_society": "private",
    "charity": "charitable",
}
#: The suffix of an NHS trust's name, and the words that make the rest of it (its stem) a hospital's name.
_TRUST_SUFFIX = r"( NHS)?( FOUNDATION)? (TRUST|FT)$"
_HOSPITAL_STEM = r"\b(HOSPITALS?|HEALTHCARE|AMBULANCE SERVICE|INFIRMARY)\b"
#: A foundation trust's name written without "NHS" ("Mid and South Essex Foundation Trust"): the register is
#: asked about its stem, as "The Rayne Foundation Trust" (a charity) is no NHS body.
_FOUNDATION_SUFFIX = r" (FOUNDATION TRUST|FT)$"
#: Register names that are only a place (a council's short name: "TRAFFORD") are not tried for "<name> Ltd".
_BODY_WORDS = r"\b(COUNCIL|AUTHORITY|CORPORATION|BOROUGH)\b"


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
    redacted = _optional(nodes, "id").str.starts_with(REDACTED_PREFIX).fill_null(False)
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
                "redacted": redacted.replace_strict(
                    {True: "unclassified"}, default=None, return_dtype=pl.String
                ),
            }
        )
        .join(_first_per_row(ids, _register_ids(), "register"), on="row", how="left")
        .join(_first_per_row(ids, None, "scheme", SCHEME_CHANNELS), on="row", how="left")
        .join(_first_per_row(ids, None, "id_form", ID_FORMS), on="row", how="left")
        .join(_first_per_row(funders, _register_ids(), "funder_register"), on="row", how="left")
        .join(_first_per_row(funders, None, "funder_scheme", SCHEME_CHANNELS), on="row", how="left")
        .join(_first_per_row(funders, None, "funder_form", ID_FORMS), on="row", how="left")
        .join(_name_facts(names, channel_map), on="name", how="left")
        .sort("row")
        .with_columns(
            pattern=pl.when(pl.col("is_stream") | pl.col("programme_worded"))
            .then(pl.coalesce("programme", "pattern"))
            .otherwise(pl.col("pattern")),
            pattern_public=pl.when(
                (pl.col("is_stream") | pl.col("programme_worded")) & pl.col("programme").is_not_null()
            )
            .then(True)
            .otherwise(pl.col("pattern_public")),
            # A company number with a charitable name (a charitable company) is not private by its number.
            scheme=pl.when(
                (pl.col("scheme") == "private") & (pl.col("id_form") == "company") & pl.col("charitable_name")
            )
            .then(None)
            .otherwise(pl.col("scheme")),
        )
    )
    # (method, column, whether a government channel from it makes a public body)
    steps = [
        ("input", "given", pl.lit(False)),
        ("map", "map_id", pl.lit(False)),
        ("redacted", "redacted", pl.lit(False)),
        ("map", "map_name", pl.lit(False)),
        ("register-id", "register", pl.lit(True)),
        ("register-name", "register_name", pl.lit(True)),
        ("org-id-scheme", "scheme", pl.col("id_form") == "public_body"),
        ("name-pattern", "pattern", pl.col("pattern_public")),
        ("register-id", "funder_register", pl.lit(True)),
        ("org-id-scheme", "funder_scheme", pl.col("funder_form") == "public_body"),
    ]
    decided = [pl.col(col).is_not_null() for _, col, _ in steps]
    facts = facts.with_columns(
        channel=pl.coalesce([pl.col(col) for _, col, _ in steps] + [pl.lit("unclassified")]),
        channel_method=pl.coalesce(
            [pl.when(hit).then(pl.lit(m)) for hit, (m, _, _) in zip(decided, steps, strict=True)]
            + [pl.lit("none")]
        ),
        # Whether the registers, schemes and names (not the user's channel) find a body of government: a
        # channel given in the input or a map says where money comes from, and keeps the body's form.
        public=pl.coalesce(
            [
                pl.when(hit).then(p.fill_null(False) & pl.col(col).is_in(list(GOVERNMENT_CHANNELS)))
                for hit, (method, col, p) in zip(decided, steps, strict=True)
                if method not in ("input", "map", "redacted")
            ]
            + [pl.lit(False)]
        )
        & pl.col("redacted").is_null(),  # a redacted payee's placeholder name is not about the payee
    )
    public = pl.col("channel").is_in(list(GOVERNMENT_CHANNELS)) & pl.col("public")
    # A company number with a name that says CIC/LLP/society: the name is the more precise form.
    name_refines = (pl.col("id_form") == "company") & pl.col("name_form").is_in(
        ["cic", "partnership", "mutual_society"]
    )
    is_redacted = pl.col("redacted").is_not_null() & pl.col("given").is_null() & pl.col("map_id").is_null()
    form_steps = [
        ("redacted", pl.when(is_redacted).then(pl.lit("unknown"))),
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

    The legal body is classified: a trading-as suffix is cut off first ("Hertfordshire County Council t/a
    Herts Fullstop"). Registers and generic words are also tried on the name without a trailing bracket,
    as finance systems write it: "EXETER CITY COUNCIL (FINANCE)", "PLYMOUTH CITY COUNCIL (RADIUS ACCOUNT";
    registers also on a company's name without "Ltd"/"PLC", on a legal name without "The Corporation of"
    ("The Corporation of Trinity House") and on an NHS trust's name without "NHS (Foundation) Trust"
    ("Countess Of Chester Hospital"), and on a foundation trust's name written without "NHS" ("Mid and South
    Essex Foundation Trust" is the register's "Mid and South Essex NHS FT").
    """
    tiers = _pattern_tiers()
    return (
        _with_register_names(_name_variants(names.cast(pl.String).unique(), channel_map))
        .with_columns(
            pattern=pl.when(pl.col("key") != "").then(pl.coalesce([e for e, _ in tiers])),
            pattern_public=pl.coalesce([pl.when(e.is_not_null()).then(pl.lit(p)) for e, p in tiers]),
            programme=pl.coalesce([_rule(rule, "key") for rule in PROGRAMMES]),
            programme_worded=pl.col("key").str.contains(PROGRAMME_WORDS),
        )
        .select(
            "name",
            "name_form",
            "map_name",
            "register_name",
            "pattern",
            "pattern_public",
            "programme",
            "programme_worded",
            "charitable_name",
        )
    )


def _name_variants(distinct: pl.Series, channel_map: ChannelMap) -> pl.DataFrame:
    """Per distinct name: its key, the key of its legal body's name without a trailing bracket (``core``)
    and the shorter names the registers are also asked about, its legal form and its map pattern."""
    legal = distinct.str.replace(TRADING_AS, "")
    keys = name_keys(legal).fill_null("")
    bracketed = legal.str.contains(r"\S\s*\([^()]*\)?\s*$").fill_null(False)
    core = keys.clone().scatter(  # only names with a trailing bracket have a different core
        bracketed.arg_true(),
        name_keys(legal.filter(bracketed).str.replace(r"(\S)\s*\([^()]*\)?\s*$", "$1")).fill_null(""),
    )
    forms = pl.Series("name_form", names_forms(legal, keys), dtype=pl.String)
    return pl.DataFrame(
        {
            "name": distinct,
            "key": keys,
            "core": core,
            "name_form": forms,
            "map_name": channel_map.pattern_channels(distinct),
        }
    ).with_columns(
        company_core=pl.when(pl.col("core").str.contains(f"{LEGAL_FORM_TAIL}|{LEGAL_NAME_HEAD}")).then(
            pl.col("core").str.replace(LEGAL_FORM_TAIL, "").str.replace(LEGAL_NAME_HEAD, "")
        ),
        stem=pl.col("core").str.replace(_TRUST_SUFFIX, ""),
        foundation_stem=pl.when(
            pl.col("core").str.contains(_FOUNDATION_SUFFIX) & ~pl.col("core").str.contains(r"\bNHS\b")
        ).then(pl.col("core").str.replace(_FOUNDATION_SUFFIX, "")),
        charitable_name=_rule(CHARITABLE_COMPANY, "core").is_not_null(),
    )


def _with_register_names(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``register_name``: the registers' channel of its key, else of its shorter names."""
    return (
        frame.join(_register_name_channels(), on="key", how="left")
        .join(_renamed(_register_full_name_channels(), "core"), on="core", how="left")
        .join(_renamed(_register_company_channels(), "company_core"), on="company_core", how="left")
        .join(_renamed(_register_stem_channels(), "stem"), on="stem", how="left")
        .join(_renamed(_register_foundation_stems(), "foundation_stem"), on="foundation_stem", how="left")
        .with_columns(
            register_name=pl.coalesce(
                "register_name",
                "register_core",
                "register_company_core",
                "register_stem",
                "register_foundation_stem",
            )
        )
    )


def _pattern_tiers() -> list[tuple[pl.Expr, bool]]:
    """The name patterns in order, each with whether its channel makes a public body: bodies, a legal form
    (a charitable company is charitable), generic words, then education and charitable words."""
    form_channel = pl.col("name_form").replace_strict(_FORM_CHANNEL, default=None, return_dtype=pl.String)
    charitable_company = (pl.col("name_form") == "company") & pl.col("charitable_name")
    return (
        [(_rule(rule, "key"), True) for rule in BODIES]
        + [(pl.when(charitable_company).then(pl.lit("charitable")).otherwise(form_channel), False)]
        + [(_rule(rule, "core"), True) for rule in GENERIC]
        + [(_rule(rule, "core"), False) for rule in EDUCATION_WORDS + CHARITABLE_WORDS]
    )


def _renamed(register: pl.DataFrame, column: str) -> pl.DataFrame:
    return register.rename({"key": column, "register_name": f"register_{column}"})


def _register_names(abbreviations: bool = True) -> pl.DataFrame:
    """``key, channel, register, org_id, kind`` for every known name of a registered body (without the
    keys known only as abbreviations when ``abbreviations`` is false)."""
    names = name_table() if abbreviations else name_table().filter(pl.col("kind") == "name")
    return names.join(body_table().select("org_id", "channel", "register"), on="org_id")


def _unanimous(names: pl.DataFrame) -> pl.DataFrame:
    """``key -> register_name``: the channel of every key whose bodies all share one channel."""
    return (
        names.group_by("key")
        .agg(pl.col("channel").unique())
        .filter(pl.col("channel").list.len() == 1)
        .select("key", register_name=pl.col("channel").list.first())
    )


def _register_name_channels() -> pl.DataFrame:
    """``key -> register_name``: the channel of every name key whose bodies all share one channel."""
    return _unanimous(_register_names())


def _register_full_name_channels() -> pl.DataFrame:
    """``key -> register_name`` for the names that are more than an abbreviation: the only ones tried on
    part of a name ("CPS" alone is the Crown Prosecution Service, "CPS Ltd" or "CPS (Finance)" is not)."""
    return _unanimous(_register_names(abbreviations=False))


def _register_company_channels() -> pl.DataFrame:
    """Register names a company ("The Financial Reporting Council Limited") may carry before its legal form,
    or a body after "The Corporation of": all but abbreviations ("CPS Ltd") and a council's bare place
    name ("Trafford Ltd" is not Trafford Council)."""
    names = _register_names(abbreviations=False)
    place = (pl.col("register") == "local-authority") & ~pl.col("key").str.contains(_BODY_WORDS)
    return _unanimous(names.filter(~place))


def _register_stem_channels() -> pl.DataFrame:
    """NHS trusts' names without "NHS (Foundation) Trust", when the rest names a hospital: "COUNTESS OF
    CHESTER HOSPITAL". A stem that is also another register name is not used."""
    names = _register_names(abbreviations=False)
    trusts = names.filter(
        (pl.col("register") == "nhs") & pl.col("key").str.contains(_TRUST_SUFFIX)
    ).with_columns(key=pl.col("key").str.replace(_TRUST_SUFFIX, ""))
    trusts = trusts.filter(pl.col("key").str.contains(_HOSPITAL_STEM))
    taken = names.filter(pl.col("register") != "nhs").select("key")
    return _unanimous(trusts.join(taken, on="key", how="anti"))


def _register_foundation_stems() -> pl.DataFrame:
    """NHS foundation trusts' names without "NHS FT" ("MID AND SOUTH ESSEX"), tried only on names ending in
    "Foundation Trust" or "FT" without "NHS". A stem that is also another register name is not used."""
    names = _register_names(abbreviations=False)
    trusts = names.filter(
        (pl.col("register") == "nhs") & pl.col("key").str.ends_with(" NHS FT")
    ).with_columns(key=pl.col("key").str.strip_suffix(" NHS FT"))
    taken = names.filter(pl.col("register") != "nhs").select("key")
    return _unanimous(trusts.join(taken, on="key", how="anti"))


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
