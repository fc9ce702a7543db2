// Question: How much money flowed in each UK financial year (1 April to 31 March)?
// Parameters:
//   payer_id (id, default null): only flows paid by this organisation (all payers when not given)
//   payee_id (id, default null): only flows received by this organisation (all payees when not given)
// Example: graphflows query flows_by_financial_year --param payer_id=leicester-city-council
// Undated flows are counted under financial_year null. Totals are per currency, in exact minor units.
MATCH (payer:Entity)-[f:FLOWS_TO]->(payee:Entity)
WHERE ($payer_id IS NULL OR payer.id = $payer_id) AND ($payee_id IS NULL OR payee.id = $payee_id)
WITH f, CASE WHEN f.date IS NULL THEN null
             WHEN f.date.month >= 4 THEN f.date.year ELSE f.date.year - 1 END AS start_year
RETURN CASE WHEN start_year IS NULL THEN null
            ELSE toString(start_year) + '/' + right('0' + toString((start_year + 1) % 100), 2) END AS financial_year,
       f.currency AS currency, count(f) AS flows, sum(f.amount_minor) AS total_minor
ORDER BY financial_year, currency
