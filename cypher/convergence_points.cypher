// Question: Which recipients are convergence points, in the order of `graphflows analyse`'s convergence table?
// Parameters:
//   limit (count, default 25): how many rows to return
// Example: graphflows query convergence_points --param limit=10
// Reads the analysis written back by `graphflows load`: the ConvergencePoint label (counted as the load's --count-by, --min-count and --min-share say: by channel, 2+, 1% by default) and convergence_rank (the row in convergence.csv).
MATCH (r:ConvergencePoint)
RETURN r.convergence_rank AS rank, r.id AS recipient_id, r.name AS recipient_name, r.currency AS currency,
       r.total_in_minor AS total_in_minor, r.channel_count AS channel_count, r.channels AS channels,
       r.effective_channels AS effective_channels, r.payer_channels AS payer_channels,
       r.stovepipe_count AS stovepipe_count, r.top_stovepipe_id AS top_stovepipe_id, r.top_share AS top_share,
       r.hhi AS hhi, r.payer_count AS payer_count,
       [label IN labels(r) WHERE label IN ['Commissioner', 'FundingStream', 'Provider']] AS kinds
ORDER BY rank
LIMIT $limit
