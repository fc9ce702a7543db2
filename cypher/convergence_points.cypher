// Question: Which recipients do the most channels or stovepipes converge on (ranked)?
// Parameters:
//   min_stovepipes (integer, default 2): only recipients with at least this many stovepipes (each bringing at least the load's --min-share)
//   limit (integer, default 25): how many rows to return
// Example: graphflows query convergence_points --param min_stovepipes=3 --param limit=10
// Reads the analysis written back by `graphflows load` (channel_count, stovepipe_count, hhi, top_share on recipients).
MATCH (r:Entity)
WHERE r.stovepipe_count >= $min_stovepipes
RETURN r.id AS recipient_id, r.name AS recipient_name,
       [label IN labels(r) WHERE label IN ['Commissioner', 'FundingStream', 'Provider']] AS kinds,
       r.channel_count AS channel_count, r.channels AS channels,
       r.stovepipe_count AS stovepipe_count, r.currency AS currency, r.total_in_minor AS total_in_minor,
       r.top_stovepipe_id AS top_stovepipe_id, r.top_share AS top_share, r.hhi AS hhi, r.payer_count AS payer_count,
       r:ConvergencePoint AS is_convergence_point
ORDER BY stovepipe_count DESC, total_in_minor DESC, recipient_id
LIMIT $limit
