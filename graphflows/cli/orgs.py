"""``graphflows orgs FILE...``: which records became which organisation node, and why.

Prints the nodes that bring together more than one identity (different ids, spellings or files), weakest
match first (``--top``, 30 by default), with the method and confidence of the match, then the notes
(ambiguous names, possible duplicates). With ``--report orgs.csv`` every payer and payee of every record
is written with the node it became.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import polars as pl
from rich.table import Table

from graphflows.cli.display import console, safe_text, steps
from graphflows.cli.inputs import input_options, input_paths, raw_csv_option, read_input_graph, read_paths
from graphflows.export import organisations_table
from graphflows.ingest.organisations import ORG_COLUMNS, map_key, read_org_map, record_report
from graphflows.ingest.suggestions import suggest as suggest_pairs
from graphflows.outputs import OutputFiles, write_csv_to

MAP_HELP = """
Organisation map (--org-map): a CSV with header action,key,other,name.

\b
  action,key,other,name
  same,GB-COH-02150618,name:KCOM Group PLC,KCOM Group PLC
  different,GB-COH-11111111,GB-COH-22222222,
  maybe,name:Softcat PLC,name:Softcat Ltd,Softcat PLC

'same' forces two keys into one node (name optional: the node's display name); 'different' forbids any
merge that would put them together; 'maybe' (what --suggest writes) does nothing until you decide. A
key is an org-id (GB-CHC-1015648, 360G-...) or name:<a name>, matched after normalising case,
punctuation, &/and, HTML entities and Ltd/Limited. Lines starting with # are comments; columns after
name (score, evidence) are ignored.
"""


def register(group: click.Group) -> None:
    group.add_command(orgs)


@click.command(
    short_help="List the organisations in FILES: which records were merged, and why.",
    epilog=MAP_HELP,
)
@input_options(
    skip_invalid_help="Go on past bad records: their count is printed, and they are written with their "
    "reason to NAME.rejects.csv beside the first of --report, --nodes, --suggest given (NAME.csv)."
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write one row per payer and payee of every record (source, line, what the file said, the "
    "node it became, method, confidence, reasons) to this CSV file.",
)
@click.option(
    "--nodes",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the organisation table (one row per node) to this CSV file.",
)
@click.option(
    "--suggest",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write likely-same organisations the rules did not merge (same name apart from the legal form, "
    "same postcode, VAT number or payer), scored 0-1, to this CSV file: an --org-map file whose rows "
    "say 'maybe' until you change them to 'same' or 'different'.",
)
@click.option(
    "--top",
    type=click.IntRange(0),
    default=30,
    show_default=True,
    help="Merged nodes to print, weakest match first (0: none; --nodes writes every node).",
)
@raw_csv_option
def orgs(
    files: tuple[Path, ...],
    format_: str | None,
    skip_invalid: bool,
    org_map: Path | None,
    channels: Path | None,
    report: Path | None,
    nodes: Path | None,
    suggest: Path | None,
    top: int,
    raw_csv: bool,
    **input_extras: Any,
) -> None:
    """List the organisations found in FILES: which records were merged into one node, and why."""
    outputs = OutputFiles(
        inputs=input_paths(files, org_map, input_extras.get("sources"), channels), create_folders=True
    )
    beside = next((p for p in (report, nodes, suggest) if p is not None), None)
    rejects = beside.with_name(beside.stem + ".rejects.csv") if skip_invalid and beside is not None else None
    outputs.check_all(report, nodes, suggest, rejects)
    with steps("Reading input files and matching organisations"):
        ingest, graph = read_input_graph(
            files, format_, skip_invalid, channels, org_map=org_map, **input_extras
        )
    outputs.inputs.extend(read_paths(ingest))
    organisations = ingest.organisations
    if organisations is None:  # only native files: ids are taken as given
        organisations = _native_nodes(ingest.flows)
    with outputs:
        if report is not None:
            if ingest.identities is not None:
                records = record_report(ingest.flows, ingest.identities, organisations)
            else:
                records = _native_records(ingest.flows)
            write_csv_to(outputs.stage(report), records, raw=raw_csv)
        if nodes is not None:
            write_csv_to(outputs.stage(nodes), organisations_table(graph), raw=raw_csv)
        suggestions = None
        if suggest is not None:
            suggestions = suggest_pairs(
                ingest.flows, organisations, ingest.org_candidates, _decided_apart(org_map, ingest)
            )
            write_csv_to(outputs.stage(suggest), suggestions, raw=raw_csv)
        if rejects is not None and ingest.rejects.height:
            write_csv_to(outputs.stage(rejects), ingest.rejects, raw=raw_csv)
    merged = organisations.filter(
        (pl.col("match_method") != "redacted")
        & (
            (pl.col("names_seen").str.count_matches(";").fill_null(0) > 0)
            | (pl.col("org_ids").str.count_matches(";").fill_null(0) > 0)
            | pl.col("match_method").is_in(
                ["user-map", "name->org-id", "name", "charity+company", "register", "legal-form"]
            )
        )
    ).sort(["match_confidence", "records"], descending=[False, True], nulls_last=True)
    console.print(
        f"{ingest.flows.height} flows from {len(ingest.files)} file(s)"
        + _rejected(ingest.rejects.height, rejects)
        + f": {organisations.height} organisation nodes; {merged.height} bring together several names "
        "or ids.",
        markup=False,
    )
    counts = organisations.group_by("match_method").len().sort("len", descending=True)
    console.print(
        "By weakest match: " + ", ".join(f"{m} {n}" for m, n in counts.iter_rows()),
        markup=False,
    )
    if top and merged.height:
        console.print(_merged_table(merged.head(top), merged.height))
    for note in ingest.setting_notes + ingest.org_notes:
        console.print(f"Note: {note}", markup=False)
    if report is not None:
        console.print(f"Record-by-record report written to {report}", markup=False)
    if nodes is not None:
        console.print(f"Organisation table written to {nodes}", markup=False)
    if suggestions is not None:
        console.print(
            f"{suggestions.height} suggested pair(s) written to {suggest}: change 'maybe' to 'same' or "
            "'different' and pass the file as --org-map",
            markup=False,
        )


def _rejected(count: int, rejects: Path | None) -> str:
    """`` (2 bad records left out, listed in x.rejects.csv)``, or nothing when none were left out."""
    if not count:
        return ""
    where = f"listed in {rejects}" if rejects is not None else "give --report FILE to list them"
    return f" ({count} bad record(s) left out, {where})"


def _decided_apart(org_map: Path | None, ingest: Any) -> set[frozenset[str]]:
    """Node pairs the map already keeps apart (its ``different`` rows), so they are not suggested again."""
    if org_map is None or ingest.identities is None:
        return set()
    nodes = {}
    for id_given, name, node in ingest.identities.select("id_given", "name_given", "id").iter_rows():
        if id_given:
            nodes.setdefault(map_key(id_given), node)
        if name:
            nodes.setdefault(map_key(f"name:{name}"), node)
    return {
        frozenset((nodes[a], nodes[b]))
        for a, b in read_org_map(org_map).different
        if a in nodes and b in nodes
    }


def _merged_table(shown: pl.DataFrame, total: int) -> Table:
    grid = Table(title=f"Merged organisations, weakest matches first ({shown.height} of {total})")
    grid.add_column("Node id", ratio=2, overflow="fold")
    grid.add_column("Names seen", ratio=3, overflow="fold")
    grid.add_column("Method", no_wrap=True)
    grid.add_column("Conf.", justify="right", no_wrap=True)
    grid.add_column("Records", justify="right", no_wrap=True)
    grid.add_column("Why", ratio=4, overflow="fold")
    for row in shown.iter_rows(named=True):
        confidence = "" if row["match_confidence"] is None else f"{row['match_confidence']:.2f}"
        grid.add_row(
            safe_text(row["id"]),
            safe_text(str(row["names_seen"] or "").replace(";", " | ")),
            row["match_method"],
            confidence,
            str(row["records"]),
            safe_text(row["match_reasons"] or ""),
        )
    return grid


def _native_nodes(flows: pl.DataFrame) -> pl.DataFrame:
    sides = pl.concat(
        [
            flows.select(pl.col("payer_id").alias("id"), pl.col("payer_name").alias("name")),
            flows.select(pl.col("payee_id").alias("id"), pl.col("payee_name").alias("name")),
        ]
    )
    return (
        sides.group_by("id", maintain_order=True)
        .agg(pl.col("name").drop_nulls().first(), pl.len().cast(pl.Int64).alias("records"))
        .select(
            "id",
            pl.col("name").fill_null(pl.col("id")),
            pl.lit("native-id").alias("match_method"),
            pl.lit(1.0).alias("match_confidence"),
            pl.lit("ids as given in a flows file").alias("match_reasons"),
            pl.lit(None, pl.String).alias("org_ids"),
            pl.col("name").alias("names_seen"),
            "records",
        )
        .cast(ORG_COLUMNS)  # type: ignore[arg-type]
    )


def _native_records(flows: pl.DataFrame) -> pl.DataFrame:
    """The record report for native flows files: each id is its own node, as given."""
    sides = [
        flows.select(
            "source",
            "line",
            pl.lit(side).alias("side"),
            pl.col(f"{side}_id").alias("id_given"),
            pl.lit(None, pl.String).alias("other_ids"),
            pl.col(f"{side}_name").alias("name_given"),
            pl.col(f"{side}_id").alias("node_id"),
            pl.col(f"{side}_name").alias("node_name"),
            pl.lit("id as given").alias("matched_by"),
            pl.lit("native-id").alias("match_method"),
            pl.lit(1.0).alias("match_confidence"),
            pl.lit("ids as given in a flows file").alias("match_reasons"),
        ).with_row_index("_row")
        for side in ("payer", "payee")
    ]
    return pl.concat(sides).sort("_row", "side", descending=[False, True]).drop("_row")
