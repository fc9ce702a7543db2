// graphflows schema: the analysts' contract (created by `graphflows load` before loading; idempotent).
//
// Nodes: every node has the label Entity and the properties id (unique) and name, plus one or more kind labels:
//   (:Entity:Commissioner)   pays providers or other commissioners (CCG, council, police and crime commissioner)
//   (:Entity:FundingStream)  a pot of money: a national grant, a pooled fund (Better Care Fund), a programme
//   (:Entity:Provider)       delivers services and receives money
// A node may carry several kind labels (a council is a commissioner and, for a pooled fund, a provider).
// Every node also has channel (its channel of government: nhs, public_health, police_justice, local_government,
// ... unclassified), channel_method (the rule that gave it), form (public_body, charity, cic, mutual_society,
// company, partnership, individual, unknown) and form_method.
//
// Flows: each input line is one relationship
//   (payer:Entity)-[:FLOWS_TO {flow_id, amount_minor, amount, currency, date, stream_id, reference, source, line}]->(payee:Entity)
//   amount_minor  integer, exact, in minor units (pence): sum this for totals
//   amount        the same amount in major units (pounds) as a float, for display
//   currency      ISO 4217 code; never add two currencies
//   date          a Neo4j date (may be null)
//   stream_id     the declared funding stream the money came from (the id of a FundingStream node), or null
//   reference, source, line   provenance: the payer's reference, the input file and the line or record in it
//   flow_id       a digest of the flow's content and provenance (loading the same data again adds nothing);
//                 not indexed on purpose (relationship indexes slow loading ~3x): find flows from their nodes
//   plus any extra text columns of the input file
//
// Analysis written back by `graphflows load` (replaced at each load):
//   on recipients: channel_count, channels (list, largest first), effective_channels, stovepipe_count,
//       effective_stovepipes, total_in_minor, total_in, below_min_share_minor, currency, hhi, top_share,
//       top_stovepipe_id, top_channel, top_channel_share, payer_count, payer_channels (list),
//       convergence_rank (the recipient's row in convergence.csv: 1 = the top convergence point)
//   (:ConvergencePoint) label on recipients where at least two channels converge (by default: see --count-by,
//       --min-share and --min-count on `graphflows load`), each bringing at least 1% of the recipient's income
//   (recipient)-[:ATTRIBUTED_TO {amount_minor, amount, share, currency}]->(stovepipe)
//       the money each recipient received that originated with each stovepipe bringing at least --min-share
//       (1% by default) of its income (those rows of attribution.csv), and one
//   (recipient)-[:ATTRIBUTED_TO {amount_minor, amount, share, currency, stovepipes, min_share}]->(:OtherStovepipes {id: "below_min_share"})
//       per recipient and currency for the money from the `stovepipes` stovepipes below it: a recipient's
//       ATTRIBUTED_TO add up to its income to the penny. Match (s:Entity) for real stovepipes only.
//   (:Channel {id})  one node per channel of government that money came from
//   (recipient)-[:ATTRIBUTED_TO_CHANNEL {amount_minor, amount, share, currency}]->(:Channel)
//       the recipient's income by the channel of its origins (the rows of channels.csv)

CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT funding_stream_id IF NOT EXISTS FOR (n:FundingStream) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT commissioner_id IF NOT EXISTS FOR (n:Commissioner) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT provider_id IF NOT EXISTS FOR (n:Provider) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT channel_id IF NOT EXISTS FOR (n:Channel) REQUIRE n.id IS UNIQUE;
CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name);
CREATE INDEX entity_channel IF NOT EXISTS FOR (n:Entity) ON (n.channel);
CREATE INDEX convergence_stovepipes IF NOT EXISTS FOR (n:ConvergencePoint) ON (n.stovepipe_count);
