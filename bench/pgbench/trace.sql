-- The reads of POST /v1/traces for a serial that has strong candidates, as the service runs
-- them (see items_with_chain.sql for how `-- query:` lines are included): the candidates by
-- normalised serial, confusable skeleton and NCIC form, then their chains in one round trip.
-- The API also stores each trace with its whole answer (an INSERT), which this leaves out.
-- constant: limit = 50
\set n random(1, :sample_count)
SELECT serial_norm, serial_skeleton, serial_ncic FROM bench.serials WHERE n = :n \gset
SELECT array_agg(id) AS item_ids FROM (
-- query: traces.strong_candidates
) AS found \gset
-- query: items.custody_chains
;
