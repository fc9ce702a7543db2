// Question: Which recipients do the most channels of origin converge on (whatever the load's --count-by), and what does each channel bring?
// Parameters:
//   min_channels (count, default 2): only recipients where at least this many channels of origin converge (each bringing at least the --min-share of the load, 1% by default)
//   limit (count, default 25): how many recipients to return
// Example: graphflows query convergence_by_channel --param min_channels=3 --param limit=10
// Reads the analysis written back by `graphflows load` (channel_count on recipients, ATTRIBUTED_TO_CHANNEL).
// Channels here are always channels of origin: where the money started, traced through every hop, as
// channel_mix shows. A load with --count-by payer_channel or stovepipe counts its convergence points
// differently: convergence_point says whether the load counted the recipient as one (the ConvergencePoint
// label; `graphflows query convergence_points` lists them in the load's order).
MATCH (r:Entity)
WHERE r.channel_count >= $min_channels
MATCH (r)-[a:ATTRIBUTED_TO_CHANNEL {currency: r.currency}]->(c:Channel)
WITH r, a, c
ORDER BY a.amount_minor DESC, c.id
WITH r, collect(c.id + ' ' + toString(round(a.share * 1000) / 10.0) + '%') AS channel_mix
RETURN r.id AS recipient_id, r.name AS recipient_name, r.form AS form, r.channel_count AS channel_count,
       r.channels AS channels, r.effective_channels AS effective_channels, channel_mix,
       r:ConvergencePoint AS convergence_point,
       r.payer_channels AS payer_channels, r.currency AS currency, r.total_in_minor AS total_in_minor
ORDER BY channel_count DESC, floor(effective_channels * 1000 + 0.5) DESC, total_in_minor DESC, recipient_id
LIMIT $limit
