"""Write the notebooks in notebooks/ from the cell lists below (outputs empty, so git stays clean).

    python tools/make_notebooks.py

Edit the cells here, not in Jupyter: tests/test_notebooks.py checks that the committed notebooks are exactly
what this script writes (and so carry no outputs).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


GETTING_STARTED = [
    md("""
# Getting started: where do the stovepipes converge?

This notebook runs graphflows on the bundled **illustrative** demo data, modelled on Leicester: Inclusion
Healthcare, a social enterprise spun out of the NHS service for homeless people, holds contracts from Public
Health England, the police and crime commissioner and the clinical commissioning group, while pooled budgets
(the Better Care Fund) and national programmes (Troubled Families, the Rough Sleeping Initiative) mix money
from different channels. The amounts are invented; the shape is what matters.

Two words recur. A *stovepipe* is one origin of money: each CCG (clinical commissioning group), each grant
stream. Its *channel* is the channel of government it belongs to: the NHS, public health, policing and
justice, a council's own budget, a central department's programme. Three CCGs are three stovepipes but one
channel, the NHS. graphflows traces every pound exactly to its stovepipes (`stovepipe_count`), then by default
counts convergence at the level analysts think in: channels (`channel_count`).
"""),
    code("""
import polars as pl
import graphflows as gf
from graphflows import viz

pl.Config.set_tbl_width_chars(140)
pl.Config.set_fmt_str_lengths(40)
"""),
    md(
        "## 1. Read the flows and build the graph\n\nEach row of the flows CSV is one payment. Nodes are "
        "commissioners, funding streams and providers; an organisation can be more than one. Every node gets "
        "a channel of government and a legal form, with the rule that gave each (`channel_method`, "
        "`form_method`): NHS bodies by name or ODS code (the NHS Organisation Data Service's code), councils and police and crime commissioners by "
        "register or name, programmes such as the Public Health Grant by name."
    ),
    code("""
graph = gf.read_graph([gf.demo_path()])
print(graph.node_count, "nodes,", graph.flow_count, "flows")
print(graph.kind_counts())
graph.nodes.select("id", "name", "kinds", "channel", "channel_method", "form").head(12)
"""),
    md(
        "## 2. Where do the channels converge?\n\nMoney is followed through pooled funds, transfers between "
        "commissioners and cycles to its origins; each origin's channel then groups it. A channel counts for a "
        "recipient when it brings at least 1% of its income (`min_share`). The table puts first the recipients "
        "with the most channels and, among them, those whose money is most evenly spread across the channels: "
        "`effective_channels` is 1 / HHI (the sum of squared shares), 4.0 for four channels in equal parts, "
        "close to 1 when one channel brings almost everything."
    ),
    code("""
result = gf.attribute(graph)
table = gf.convergence(result)
table.select("recipient_name", "channel_count", "channels", "effective_channels", "stovepipe_count",
             "total_in_minor", "payer_channels", "form").head(10)
"""),
    md(
        "Where is Inclusion Healthcare, the homeless-health service the demo is built around? The NHS, "
        "housing and communities, public health and policing all pay for it, as many channels as any "
        "recipient has, but most of its money comes down one of them, the NHS: a recipient whose channels pay "
        "in more even parts comes before it."
    ),
    code("""
first = table.row(0, named=True)
inclusion = table.filter(pl.col("recipient_id") == "inclusion-healthcare").row(0, named=True)
place = table["recipient_id"].index_of("inclusion-healthcare") + 1
mix = gf.channel_mix(result, "inclusion-healthcare")
top = mix.sort("share", descending=True).row(0, named=True)
print(f"Number 1: {first['recipient_name']}, {first['channel_count']} channels, "
      f"effective {first['effective_channels']:.2f}")
print(f"Number {place}: {inclusion['recipient_name']}, {inclusion['channel_count']} channels, "
      f"effective {inclusion['effective_channels']:.2f}, {top['share']:.0%} of its income from {top['channel']}")
assert inclusion["channel_count"] == table["channel_count"].max() and top["channel"] == "nhs"
assert place > 1 and first["effective_channels"] > inclusion["effective_channels"]
mix
"""),
    md(
        "`channels` are where the money *started*; `payer_channels` are the contracts a provider holds. The "
        "Bridge holds one subcontract, from Inclusion Healthcare (a provider, so its channel is "
        "`unclassified`), yet its money comes down the same channels in the same shares."
    ),
    code("""
bridge = table.filter(pl.col("recipient_name").str.starts_with("The Bridge")).row(0, named=True)
print(bridge["payer_channels"], bridge["channels"], round(bridge["effective_channels"], 2))
assert bridge["channels"] == inclusion["channels"]
assert round(bridge["effective_channels"], 3) == round(inclusion["effective_channels"], 3)
"""),
    md(
        'Counted by the channels of the contracts each recipient holds (`count_by="payer_channel"`), money '
        "a single payer passes on counts once: The Bridge drops out, and Inclusion Healthcare, with contracts "
        "from the NHS, the council, Public Health England and the police, leads."
    ),
    code("""
by_payer = gf.convergence(result, count_by="payer_channel").filter(pl.col("is_convergence_point"))
assert by_payer["recipient_name"][0] == "Inclusion Healthcare" and bridge["recipient_id"] not in by_payer["recipient_id"]
by_payer.select("recipient_name", "payer_channel_count", "payer_channels", "channels")
"""),
    md("Counted by individual stovepipes (each CCG and grant apart) and every penny, as in older versions:"),
    code("""
gf.convergence(result, count_by="stovepipe", min_share=0).select(
    "recipient_name", "stovepipe_count", "effective_stovepipes", "top_stovepipe_name", "top_share"
).head(8)
"""),
    md("Money is exact: each recipient's attributed amounts (in pence) add up to what it received."),
    code("""
check = result.rows.group_by("recipient_id").agg(pl.col("amount_minor").sum()).join(
    result.recipients, on="recipient_id"
)
assert (check["amount_minor"] == check["total_in_minor"]).all()
print("attributed:", result.totals(), "pence")
"""),
    md(
        "## 3. One provider's funding mix\n\nInclusion Healthcare's income by origin stovepipe, each with its "
        "channel: the CCG allocation, the Rough Sleeping Initiative, Public Health England, the police grant "
        "and more."
    ),
    code("""
gf.funding_mix(result, "inclusion-healthcare")
"""),
    md(
        'With `by="stream"` every funding stream is the origin of what it pays out, so the mix says which '
        "*pots* paid (here the Better Care Fund appears as one source) rather than where the money started."
    ),
    code("""
gf.funding_mix(gf.attribute(graph, by="stream"), "inclusion-healthcare")
"""),
    md("Restrict to one UK financial year (1 April to 31 March):"),
    code("""
in_year = gf.convergence(gf.attribute(graph, financial_year="2020/21"))
inclusion_in_year = in_year.filter(pl.col("recipient_id") == "inclusion-healthcare").row(0, named=True)
assert inclusion_in_year["channels"] == "nhs;local_government"
in_year.select("recipient_name", "channel_count", "channels", "total_in_minor")
"""),
    md(
        "Inclusion Healthcare's channels change here, and not because the year's money is different money: a "
        "financial year cuts the chains at its edges. In 2020/21 it is paid by its CCG and by the city "
        "council, but the grants that funded the council are dated 2019/20, outside the year, so within the "
        "year the council is where its payment starts and it counts as `local_government` rather than as the "
        "channels upstream of the council. Analyse the whole period to follow money that arrived earlier."
    ),
    md(
        "## 4. The network, inline\n\nThe view is self-contained (nothing loads from the internet). Hover a node "
        "for its totals and stovepipe mix; convergence points have a ring."
    ),
    code("""
viz.show_view(graph, attribution=result, focus="inclusion-healthcare", height=560)
"""),
    code("""
viz.show_sankey(graph, attribution=result, height=560)
"""),
    md(
        "## 5. networkx for your own questions\n\n`to_networkx()` gives a MultiDiGraph with one edge per flow."
    ),
    code("""
import networkx as nx

G = graph.to_networkx()
upstream = nx.ancestors(G, "inclusion-healthcare")
sorted(G.nodes[n]["name"] for n in upstream)
"""),
]


NHS_SPEND = [
    md("""
# Real NHS commissioning data: three CCGs in north-east London

Twelve months (April 2020 to March 2021) of "spend over £25k" files from NHS Barking & Dagenham, NHS Havering
and NHS Redbridge clinical commissioning groups, as published (see `tests/data/README.md` for provenance and
licence). The files are zipped as many publishers ship them; graphflows reads the CSVs inside directly, copes
with header variants, day/month order that changes within a year, thousands separators and credit lines,
counts once a transaction a CCG lists in two of its monthly files (a note names both), and matches the same
supplier across the three CCGs by normalised name.
"""),
    code("""
from decimal import Decimal
from pathlib import Path

import polars as pl
import graphflows as gf

pl.Config.set_tbl_width_chars(160)
pl.Config.set_fmt_str_lengths(45)
data = Path("..") / "tests" / "data" / "real" / "nhs-ccg-spend-nel"
files = sorted(data.glob("*.zip"))
[f.name for f in files]
"""),
    code("""
ingest = gf.read_flows(files)
print(ingest.records_read, "lines read:", ingest.flows.height, "flows,", ingest.rejects.height, "rejected,",
      ingest.non_money, "without money,", ingest.repeated, "repeating a transaction of another file")
assert ingest.records_read == ingest.flows.height + ingest.rejects.height + ingest.non_money + ingest.repeated
print({currency: f"{Decimal(minor).scaleb(-2):,}" for currency, minor in ingest.totals().items()})  # pence, exact
for note in ingest.notes:
    print("Note:", note)
"""),
    md(
        "## Which suppliers became one organisation?\n\nMerges are never silent: every node says how it "
        "was matched and from which spellings."
    ),
    code("""
graph = gf.build_graph(ingest.flows, ingest.organisations)
print(graph.nodes["match_method"].value_counts().sort("count", descending=True))
merged = graph.nodes.filter(pl.col("names_seen").str.contains(";"))
merged.select("name", "match_method", "match_confidence", "names_seen", "records")
"""),
    md(
        "## Three CCGs are one channel\n\nEvery payer here is a clinical commissioning group: the same channel "
        "of government, the NHS. Counted by channel (the default) there is no convergence point at all, and "
        "that is the right answer: NHS-only data cannot show money from *different* channels meeting."
    ),
    code("""
result = gf.attribute(graph)
print(graph.nodes.filter(pl.col("kinds").list.contains("commissioner")).select("name", "channel", "channel_method"))
by_channel = gf.convergence(result)
print("convergence points by channel:", by_channel["is_convergence_point"].sum())
"""),
    md(
        "## Convergence between CCGs\n\nTo see which suppliers hold contracts from several CCGs, count by "
        "stovepipe. The three CCGs also pay each other, so a little of each CCG's money reaches everyone the "
        "others pay: counting every penny makes every recipient a convergence point. The default materiality "
        "(a stovepipe counts when it brings at least 1% of a recipient's income) removes those crumbs, but not "
        "all the money passed on: a recipient paid by one CCG alone still counts a second CCG when 1% or more "
        "of what it receives started there and came through the CCGs' payments to each other. `payer_count`, "
        "the CCGs that pay a recipient directly, tells co-funding from money passed on."
    ),
    code("""
every_penny = gf.convergence(result, count_by="stovepipe", min_share=0)
print("every penny:", every_penny["is_convergence_point"].sum(), "of", every_penny.height)
table = gf.convergence(result, count_by="stovepipe")
points = table.filter(pl.col("is_convergence_point"))
co_funded = points.filter(pl.col("payer_count") >= 2)
print("at 1%:", points.height, "convergence points;", co_funded.height, "hold contracts from two or three CCGs,",
      points.height - co_funded.height, "are paid by one CCG only")
print(points["stovepipe_count"].value_counts().sort("stovepipe_count"))
table.select("recipient_name", "stovepipe_count", "effective_stovepipes", "total_in_minor", "top_stovepipe_name",
             "top_share", "payer_count").head(15)
"""),
    md("The co-funded convergence points with the most money:"),
    code("""
biggest = co_funded.sort("total_in_minor", descending=True).head(8)
local = ("BARKING HAVERING AND REDBRIDGE", "NORTH EAST LONDON", "BARTS HEALTH", "LONDON AMBULANCE")
assert all(any(n.startswith(p) for n in biggest["recipient_name"].head(4)) for p in local)
biggest.select("recipient_name", "stovepipe_count", "total_in_minor", "top_stovepipe_name", "top_share", "payer_count")
"""),
    md(
        "Specialist London providers and an independent-sector provider: paid by all three CCGs, and no "
        "CCG's money is much more than half of their income (`top_share`: the share of a recipient's income "
        "that started at its largest CCG, which is not the same as what that CCG pays it)."
    ),
    code("""
specialist = points.filter(pl.col("recipient_name").str.contains(
    "MOORFIELDS|UNIVERSITY COLLEGE LONDON HOSPITALS|GREAT ORMOND STREET|ROYAL FREE|INHEALTH"
))
assert specialist.height == 5 and (specialist["payer_count"] == 3).all() and specialist["top_share"].max() < 0.6
specialist.select("recipient_name", "total_in_minor", "top_stovepipe_name", "top_share", "payer_count")
"""),
    md(
        "The three London boroughs: `top_share` is the share of each borough's income that started at its "
        "largest CCG, `paid_directly` the share its largest direct payer pays it. The difference is money of "
        "the other CCGs that reached the borough's own CCG first and came on in its payments."
    ),
    code("""
boroughs = table.filter(pl.col("recipient_name").str.starts_with("LONDON BOROUGH OF"))
paid = graph.flows.filter(pl.col("payee_id").is_in(boroughs["recipient_id"].implode())).group_by(
    "payee_id", "payer_id"
).agg(pl.col("amount_minor").sum())
largest = paid.group_by("payee_id").agg(
    (pl.col("amount_minor").max() / pl.col("amount_minor").sum()).alias("paid_directly")
)
boroughs = boroughs.join(largest, left_on="recipient_id", right_on="payee_id").select(
    "recipient_name", "is_convergence_point", "stovepipe_count", "top_stovepipe_name", "top_share",
    "paid_directly", "payer_count",
)
points_among = boroughs.filter(pl.col("is_convergence_point"))
assert points_among.height == 2 and (points_among["payer_count"] == 3).all()
assert (points_among["top_share"] > 0.9).all() and (points_among["paid_directly"] > points_among["top_share"]).all()
assert boroughs.filter(~pl.col("is_convergence_point"))["top_share"].min() > 0.99
boroughs
"""),
    md(
        "Which kinds of payee are they? Spend files list everyone paid over £25k, not only service providers."
    ),
    code("""
non_providers = points.filter(
    pl.col("recipient_name").str.contains("(?i)HMRC|PROPERTY SERVICES|KPMG|LMC|COUNCIL|LONDON BOROUGH|CCG")
)
non_providers.select("recipient_name", "stovepipe_count", "top_share", "payer_count")
"""),
    md("""
## A reading

- Materiality alone does not make co-funding: many of the convergence points at 1% are paid by one CCG only,
  and count a second CCG only because the CCGs pay each other. The co-funded ones (`payer_count` 2 or 3) are
  where several CCGs hold contracts with the same supplier.
- The biggest of those by money are the local NHS providers that serve all three boroughs: the acute trust
  (Barking, Havering and Redbridge University Hospitals), the community and mental health trust (North East
  London NHS Foundation Trust), Barts Health and the London Ambulance Service. Three CCGs commissioning the
  same providers is the pattern that led to their merger into one north-east London commissioner, and these
  are the organisations where no single CCG's spend file shows the whole contract.
- Specialist London providers (Moorfields, UCLH, Great Ormond Street, the Royal Free) and independent-sector
  providers (such as InHealth) are paid directly by all three CCGs too, usually in smaller sums, and no CCG's
  money is much more than half of their income (`top_share`): the three share them.
- The London boroughs of Redbridge and Havering are convergence points in a different sense: each is paid
  mostly by its own CCG (`top_share` above 90%). The other two CCGs pay it directly too, in small sums
  (`payer_count` 3), and some more of their money reaches it through the CCGs' payments to each other (its own
  CCG pays it a larger share directly than the share that started there). These payments look like pooled
  budgets or section 75 transfers (the NHS Act 2006 lets the NHS and councils pool money), though nothing in
  the files labels them so; here money crosses from the NHS channel into local government. Barking &
  Dagenham, whose income started more than 99% at its own CCG, drops out at the 1% threshold.
- Not every payee is a provider: HMRC, NHS Property Services, KPMG, neighbouring CCGs and the local medical
  committees appear because spend files list all payments. An analyst would filter these before drawing
  conclusions about services.
- This data has only three commissioners and no funding streams above them, so a stovepipe here is a CCG. Add
  council and grant files (360Giving) to the same run to see other stovepipes converge.
"""),
    md("## One provider's mix, and the Sankey of the largest flows"),
    code("""
hospice = table.filter(pl.col("recipient_name").str.contains("ST FRANCIS"))["recipient_id"][0]
gf.funding_mix(result, hospice)
"""),
    code("""
from graphflows import viz

viz.show_sankey(graph, attribution=result, top_n=25, height=600)
"""),
]


NEO4J = [
    md("""
# Neo4j: load the funding graph, query it with the Cypher library, read the analysis back

Analysts who live in Neo4j Browser can query the same graph with Cypher. This notebook loads the demo data
into Neo4j, runs queries from the project's Cypher library (`cypher/*.cypher`) and reads the analysis that
graphflows writes back into a DataFrame.

**It loads the demo (illustrative data) into the database of the server it connects to.** Into a database
that already holds other flows (your own data) the load refuses, before writing anything, and the notebook
stops at the load cell with a message naming those files: point it at an empty database (a separate
`graphflows neo4j start --data FOLDER`, then `GRAPHFLOWS_NEO4J_DATA=FOLDER` when starting Jupyter) rather than
emptying yours. Loading is idempotent: running the notebook twice adds nothing.

It needs a running Neo4j: run `graphflows neo4j start` in a terminal (a local Community 5.26 server, no
Docker) and `neo4j.connect()` below finds it and its generated password by itself. For Docker or Aura, set
`NEO4J_URI`, `NEO4J_USER` and `NEO4J_PASSWORD` before starting Jupyter. The test suite runs this notebook
against the server it starts, in an empty database.
"""),
    code("""
import polars as pl
import graphflows as gf
from graphflows import neo4j

pl.Config.set_tbl_width_chars(140)
pl.Config.set_fmt_str_lengths(40)
runner = neo4j.connect()  # NEO4J_* variables if set, else the server of `graphflows neo4j start`
print("Neo4j:", runner.settings.uri)
"""),
    md(
        "## 1. Load\n\nNodes first (merged on `id`), then one `FLOWS_TO` relationship per flow, then the "
        "analysis written back onto the recipients. Run it again and nothing is added: the report says how "
        "many nodes and flows the database already held."
    ),
    code("""
graph = gf.read_graph([gf.demo_path()])
report = neo4j.load_graph(runner, graph)
print(report.nodes, "nodes and", report.flows, "flows loaded in", round(report.seconds, 1), "s")
print("of which already in the database:", report.nodes_already, "nodes,", report.already, "flows")
"""),
    md(
        "Money reconciles to the penny: sum `amount_minor` (integer pence) in Neo4j and compare with the input."
    ),
    code("""
in_neo4j = runner.run(
    "MATCH ()-[f:FLOWS_TO]->() RETURN f.currency AS currency, sum(f.amount_minor) AS minor ORDER BY currency"
).rows
print(in_neo4j, graph.totals())
assert {row["currency"]: row["minor"] for row in in_neo4j} == graph.totals()
"""),
    md("## 2. The Cypher library\n\nOne parameterised query per file, each answering one question."),
    code("""
pl.DataFrame([{"name": q.name, "question": q.question} for q in neo4j.list_queries()])
"""),
    code("""
points = pl.DataFrame(neo4j.run_named(runner, "convergence_points", {"limit": 10}).rows)
points.select("rank", "recipient_name", "channels", "effective_channels", "total_in_minor", "payer_channels")
"""),
    code("""
pl.DataFrame(neo4j.run_named(runner, "provider_funding_mix", {"provider_id": "inclusion-healthcare"}).rows)
"""),
    md(
        "By which routes does the Public Health Grant reach Turning Point? (Bounded: one shortest route per "
        "direct payer, however many pooled diamonds the money passes through.)"
    ),
    code("""
pl.DataFrame(neo4j.run_named(
    runner, "stovepipe_paths", {"stovepipe_id": "dhsc-public-health-grant", "provider_id": "turning-point"}
).rows)
"""),
    code("""
pl.DataFrame(neo4j.run_named(runner, "co_funding_commissioners", {}).rows).head(10)
"""),
    md(
        "## 3. The written-back analysis as a DataFrame\n\nThe same figures as `convergence.csv`: Neo4j and "
        "the networkx/scipy analysis agree."
    ),
    code("""
written = pl.DataFrame(runner.run(
    "MATCH (r:ConvergencePoint) RETURN r.id AS recipient_id, r.stovepipe_count AS stovepipe_count, "
    "r.total_in_minor AS total_in_minor ORDER BY recipient_id"
).rows)
computed = gf.convergence(gf.attribute(graph)).filter(pl.col("is_convergence_point")).select(
    "recipient_id", "stovepipe_count", "total_in_minor"
).sort("recipient_id")
assert written.equals(computed)
written.head(10)
"""),
    code("""
runner.close()
"""),
]


def write(name: str, cells: list[nbformat.NotebookNode], folder: Path = HERE) -> None:
    for number, cell in enumerate(cells):  # stable ids: regenerating an unchanged notebook changes nothing
        cell["id"] = f"{Path(name).stem[:2]}-{number:03d}"
    notebook = new_notebook(cells=cells, metadata=KERNEL)
    nbformat.validate(notebook)
    nbformat.write(notebook, folder / name)


#: Every notebook and its cells.
NOTEBOOKS = {
    "01-getting-started.ipynb": GETTING_STARTED,
    "02-nhs-ccg-spend.ipynb": NHS_SPEND,
    "03-neo4j.ipynb": NEO4J,
}


def main(folder: Path = HERE) -> None:
    """Write every notebook into ``folder`` (notebooks/ by default)."""
    folder.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        write(name, cells, folder)


if __name__ == "__main__":
    main()
