// Question: Which providers does the money flow towards most, ranked by money-weighted PageRank?
// Parameters:
//   currency (currency, default GBP): the currency whose flows weigh the links (amounts of two currencies never mix)
//   limit (count, default 25): how many providers to return
// Example: graphflows query provider_pagerank --param limit=10
// Needs Neo4j Graph Data Science (`graphflows neo4j start --gds`; GDS Community edition, GPLv3). PageRank over
// the FLOWS_TO graph, each payer -> payee link weighted by the money it carried in `currency` (its flows summed,
// exact minor units), on an in-memory projection made for this query and dropped before it returns.
MATCH (s:Entity)-[f:FLOWS_TO]->(t:Entity)
WHERE f.currency = $currency
WITH s, t, sum(f.amount_minor) AS minor
WITH gds.graph.project('graphflows-pagerank-' + randomUUID(), s, t,
                       {relationshipProperties: {minor: toFloat(minor)}}) AS projected
WHERE projected.graphName IS NOT NULL  // no flows in the currency: nothing projected, no rows
CALL gds.pageRank.stream(projected.graphName, {relationshipWeightProperty: 'minor'}) YIELD nodeId, score
WITH projected.graphName AS graph, collect([nodeId, score]) AS scores
CALL gds.graph.drop(graph, false) YIELD graphName
UNWIND scores AS scored
WITH gds.util.asNode(scored[0]) AS p, scored[1] AS pagerank
WHERE p:Provider
RETURN p.id AS provider_id, p.name AS provider_name, pagerank, p.total_in_minor AS total_in_minor,
       p.currency AS currency
ORDER BY pagerank DESC, provider_id
LIMIT $limit
