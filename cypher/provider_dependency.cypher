// Question: Which providers depend most on a single stovepipe?
// Parameters:
//   min_share (share, default 0.5): only providers whose top stovepipe brings at least this share of their income
//   limit (count, default 25): how many providers to return
// Example: graphflows query provider_dependency --param min_share=0.8
// Reads the analysis written back by `graphflows load` (top_share, top_stovepipe_id, hhi).
MATCH (p:Provider)
WHERE p.top_share >= $min_share
OPTIONAL MATCH (top:Entity {id: p.top_stovepipe_id})
RETURN p.id AS provider_id, p.name AS provider_name, p.top_stovepipe_id AS top_stovepipe_id,
       top.name AS top_stovepipe_name, p.top_share AS top_share, p.hhi AS hhi,
       p.stovepipe_count AS stovepipe_count, p.currency AS currency, p.total_in_minor AS total_in_minor
ORDER BY top_share DESC, total_in_minor DESC, provider_id
LIMIT $limit
