// Question: Which pooled funds are there, and who pays into them?
// Parameters:
//   min_payers (count, default 2): a pooled fund receives from at least this many payers and pays out onward
//   limit (count, default 25): how many funds to return
// Example: graphflows query pooled_funds --param min_payers=2
// One row per fund and currency: its payers with what each paid in, the total in and the total paid out.
MATCH (payer:Entity)-[f:FLOWS_TO]->(fund:Entity)
WHERE EXISTS { (fund)-[:FLOWS_TO]->() }
WITH fund, f.currency AS currency, payer, sum(f.amount_minor) AS paid_in_minor
ORDER BY paid_in_minor DESC, payer.id
WITH fund, currency, collect({payer_id: payer.id, payer_name: payer.name, paid_in_minor: paid_in_minor}) AS payers,
     sum(paid_in_minor) AS total_in_minor
WHERE size(payers) >= $min_payers
CALL (fund, currency) {
  MATCH (fund)-[out:FLOWS_TO]->()
  WHERE out.currency = currency
  RETURN sum(out.amount_minor) AS total_out_minor
}
RETURN fund.id AS fund_id, fund.name AS fund_name,
       [label IN labels(fund) WHERE label IN ['Commissioner', 'FundingStream', 'Provider']] AS kinds,
       currency, size(payers) AS payer_count, total_in_minor, total_out_minor, payers
ORDER BY payer_count DESC, total_in_minor DESC, fund_id
LIMIT $limit
