-- The reads of POST /v1/traces for a serial that has strong candidates, as the service runs
-- them (see items_with_chain.sql for how `-- query:` lines are included): the candidates by
-- normalised serial, confusable skeleton and NCIC form, then the chains of the same candidates,
-- found again by the same equalities (the service sends both in one pipeline).
-- The API also stores each trace with its whole answer (an INSERT), which this leaves out.
-- constant: limit = 50
-- constant: alike_key = :manufacturer_key
-- constant: showing_nothing = U&'\061C\200C\200D\200E\200F'
\set n random(1, :sample_count)
SELECT serial_norm, serial_skeleton, serial_ncic, as_marked, manufacturer_key, model_key
FROM bench.serials WHERE n = :n \gset
-- query: traces.strong_candidates
;
-- query: traces.strong_candidate_chains
;
