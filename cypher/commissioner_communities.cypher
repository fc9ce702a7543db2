// Question: Which groups of commissioners co-fund the same providers (Louvain communities)?
// Parameters:
//   min_size (count, default 2): only communities of at least this many commissioners
//   limit (count, default 25): how many communities to return
// Example: graphflows query commissioner_communities --param min_size=3
// Needs Neo4j Graph Data Science (`graphflows neo4j start --gds`; GDS Community edition, GPLv3). Two
// commissioners are linked when both pay a provider directly, weighted by how many providers they share;
// Louvain finds the communities of that (undirected) graph, on an in-memory projection made for this query
// and dropped before it returns. Community numbers are labels only: they change from run to run.
MATCH (c:Commissioner)-[:FLOWS_TO]->(p:Provider)
WITH p, collect(DISTINCT c) AS payers
WHERE size(payers) >= 2
UNWIND payers AS c1
UNWIND payers AS c2
WITH c1, c2
WHERE c1.id < c2.id
WITH c1, c2, count(*) AS shared
WITH gds.graph.project('graphflows-louvain-' + randomUUID(), c1, c2,
                       {relationshipProperties: {shared: toFloat(shared)}},
                       {undirectedRelationshipTypes: ['*']}) AS projected
WHERE projected.graphName IS NOT NULL  // no commissioners co-fund a provider: nothing projected, no rows
CALL gds.louvain.stream(projected.graphName, {relationshipWeightProperty: 'shared'}) YIELD nodeId, communityId
WITH projected.graphName AS graph, collect([nodeId, communityId]) AS assigned
CALL gds.graph.drop(graph, false) YIELD graphName
UNWIND assigned AS pair
WITH pair[1] AS community, gds.util.asNode(pair[0]) AS c
ORDER BY c.id
WITH community, collect(c) AS members
WHERE size(members) >= $min_size
RETURN size(members) AS commissioners, [m IN members | m.id] AS commissioner_ids,
       [m IN members | m.name][..10] AS commissioner_names
ORDER BY commissioners DESC, commissioner_ids[0]
LIMIT $limit
