// Question: Which commissioners co-fund the same providers?
// Parameters:
//   min_shared (count, default 1): only pairs sharing at least this many providers
//   limit (count, default 25): how many pairs to return
// Example: graphflows query co_funding_commissioners --param min_shared=2
// Pairs of commissioners that both pay a provider directly, with how many providers they share.
MATCH (c:Commissioner)-[:FLOWS_TO]->(p:Provider)
WITH p, collect(DISTINCT c) AS payers
WHERE size(payers) >= 2
UNWIND payers AS c1
UNWIND payers AS c2
WITH p, c1, c2
WHERE c1.id < c2.id
WITH c1, c2, collect(p) AS shared
WHERE size(shared) >= $min_shared
RETURN c1.id AS commissioner_1_id, c1.name AS commissioner_1, c2.id AS commissioner_2_id, c2.name AS commissioner_2,
       size(shared) AS shared_providers, [p IN shared | p.name][..10] AS providers
ORDER BY shared_providers DESC, commissioner_1_id, commissioner_2_id
LIMIT $limit
