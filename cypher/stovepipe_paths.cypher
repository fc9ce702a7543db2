// Question: By which routes does money from a stovepipe reach a provider?
// Parameters:
//   stovepipe_id (id): the id of the stovepipe (a funding stream or commissioner)
//   provider_id (id): the id of the provider
//   limit (count, default 25): how many routes to return
// Example: graphflows query stovepipe_paths --param stovepipe_id=dhsc-public-health-grant --param provider_id=turning-point
// One route per direct payer of the provider: the shortest chain of organisations (at most 6 hops) from the
// stovepipe to that payer, then the last hop. Shortest-path search per payer keeps this bounded however many
// pooled "diamonds" the money passes through (no enumeration of every path).
MATCH (s:Entity {id: $stovepipe_id}), (t:Entity {id: $provider_id})
MATCH (m:Entity)-[last:FLOWS_TO]->(t)
WITH s, t, m, last.currency AS currency, sum(last.amount_minor) AS last_hop_minor, count(last) AS last_hop_flows
CALL (s, m) {
  MATCH p = SHORTEST 1 (s)(()-[:FLOWS_TO]->()){0,5}(m)
  RETURN [n IN nodes(p) | n.id] AS route_ids, [n IN nodes(p) | n.name] AS route_names
}
RETURN route_ids + t.id AS route_ids, route_names + t.name AS route, size(route_ids) AS hops,
       m.id AS last_payer_id, currency, last_hop_minor, last_hop_flows
ORDER BY hops, last_hop_minor DESC, last_payer_id
LIMIT $limit
