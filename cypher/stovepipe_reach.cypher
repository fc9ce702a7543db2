// Question: Which stovepipes reach the most providers?
// Parameters:
//   limit (count, default 25): how many stovepipes to return
// Example: graphflows query stovepipe_reach --param limit=10
// A stovepipe reaches a provider when some of the provider's income originated with it (through any number of
// hops, pooled funds and cycles), as written back by `graphflows load` in ATTRIBUTED_TO relationships: at least
// the load's --min-share (1% by default) of the provider's income.
MATCH (p:Provider)-[a:ATTRIBUTED_TO]->(s:Entity)
WITH s, a.currency AS currency, count(DISTINCT p) AS providers_reached, sum(a.amount_minor) AS reached_minor
RETURN s.id AS stovepipe_id, s.name AS stovepipe_name,
       [label IN labels(s) WHERE label IN ['Commissioner', 'FundingStream', 'Provider']] AS kinds,
       currency, providers_reached, reached_minor
ORDER BY providers_reached DESC, reached_minor DESC, stovepipe_id
LIMIT $limit
