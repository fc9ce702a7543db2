// Question: Which kinds of provider (charity, CIC, mutual society, company, public body ...) do channels converge on?
// Parameters:
//   currency (currency, default GBP): the currency of the money counted
// Example: graphflows query providers_by_form --param currency=GBP
// Reads the analysis written back by `graphflows load` (form on nodes, the ConvergencePoint label).
MATCH (p:Provider)
WHERE p.currency = $currency
WITH coalesce(p.form, 'unknown') AS form, p
RETURN form, $currency AS currency,
       count(p) AS providers,
       count(CASE WHEN p:ConvergencePoint THEN 1 END) AS convergence_points,
       round(1000.0 * count(CASE WHEN p:ConvergencePoint THEN 1 END) / count(p)) / 10.0 AS convergence_rate_percent,
       sum(p.total_in_minor) AS total_in_minor,
       sum(CASE WHEN p:ConvergencePoint THEN p.total_in_minor ELSE 0 END) AS convergence_total_in_minor
ORDER BY convergence_points DESC, total_in_minor DESC, form
