// Question: Where does one provider's money come from, stovepipe by stovepipe?
// Parameters:
//   provider_id (id): the id of the provider (or any recipient)
// Example: graphflows query provider_funding_mix --param provider_id=inclusion-healthcare
// Reads the ATTRIBUTED_TO relationships written back by `graphflows load`: the rows of attribution.csv at or
// above the load's --min-share, and one row (stovepipe_id below_min_share) for all the stovepipes below it.
MATCH (r:Entity {id: $provider_id})-[a:ATTRIBUTED_TO]->(s)
RETURN s.id AS stovepipe_id, s.name AS stovepipe_name, a.currency AS currency,
       a.amount_minor AS amount_minor, a.share AS share
ORDER BY currency, amount_minor DESC, stovepipe_id
