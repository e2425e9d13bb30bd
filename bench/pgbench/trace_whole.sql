-- Everything one exact POST /v1/traces asks of PostgreSQL, with no Python, HTTP or gunicorn in
-- the way: the key authenticated and counted against its rate, the candidates and their chains,
-- then the trace stored with its whole answer, its hit notifications and the request's audit
-- entry (one statement, one durable commit). Its rate is what the database alone could answer on
-- these cores: the API cannot exceed it, since it runs this work and more.
-- The benchmark defines with --define the key (key_prefix, secret_hash), answer_trace_id (an
-- exact trace it asked the API for) and answer_read=0. Each client first reads that trace's
-- answer (once: answer_read becomes 1) and stores it with every trace, as the API stores each
-- answer it gives: the same size and the same compression work.
-- The key's row must be found (\gset fails the transaction on no row), so a key that does not
-- authenticate shows as errors, not as a faster run.
-- Where this differs from the service: the serial is drawn from bench.serials (one more
-- statement); the two reads go in two round trips, not one pipeline; pgbench keeps the values of
-- one row only (\gset), so the candidates come back as one row of arrays (the first 10, as the
-- answer shows at most 10), and the hits notified are those of the same normalised serial
-- (the service also notifies a candidate of the same confusable skeleton, rare among exact
-- serials); the trace's and the audit entry's ids come from uuid_v7() in one more statement
-- (the service makes them in Python).
-- pgbench sends its variables untyped (psycopg types them), so ids are cast where a SELECT list
-- would otherwise make them text.
-- constant: prefix = :key_prefix
-- constant: id = :id::uuid
-- constant: counted = true
-- constant: agency_id = :agency_id::uuid
-- constant: audit_id = :audit_id::uuid
-- constant: limit = 50
-- constant: alike_key = :manufacturer_key
-- constant: showing_nothing = U&'\061C\200C\200D\200E\200F'
-- constant: default_per_minute = 6000
-- constant: burst = 100
-- constant: batch_id = NULL
-- constant: case_reference = 'BENCH-0001'
-- constant: purpose = 'benchmark'
-- constant: legal_basis = 'benchmark run'
-- constant: requesting_officer = NULL
-- constant: seizure_country = NULL
-- constant: seized_on = NULL
-- constant: serial_number = :serial_norm
-- constant: status = 'MATCH'
-- constant: created_at = clock_timestamp()
-- constant: candidate_item_ids = :item_ids
-- constant: hit_item_ids = :hit_ids
-- constant: hit_bases = :hit_bases
-- constant: audit_agency_id = :agency_id::uuid
-- constant: audit_key_prefix = :key_prefix
-- constant: audit_method = 'POST'
-- constant: audit_route = '/v1/traces'
-- constant: audit_path = '/v1/traces'
-- constant: audit_status = 201
-- constant: audit_serials = ARRAY[:serial_norm]::text[]
-- constant: audit_record_ids = array_prepend(:id::uuid, :item_ids::uuid[])
-- constant: audit_case_reference = 'BENCH-0001'
-- constant: audit_purpose = 'benchmark'
-- constant: audit_records_returned = cardinality(:item_ids::uuid[])
-- constant: audit_details = jsonb_build_object('created', '/v1/traces/' || :id, 'serials_as_typed', ARRAY[:serial_norm])
\if :answer_read = 0
SELECT answer::text AS answer, agency_id, 1 AS answer_read
FROM traces WHERE id = :answer_trace_id::uuid \gset
\endif
\set n random(1, :sample_count)
SELECT serial_norm, serial_skeleton, serial_ncic, as_marked, manufacturer_key, model_key
FROM bench.serials WHERE n = :n \gset
-- query: agencies.authenticate
\gset auth_
SELECT coalesce((array_agg(found.id))[1:10], '{}') AS item_ids,
       coalesce((array_agg(found.id) FILTER (WHERE found.serial_norm = :serial_norm))[1:10],
                '{}') AS hit_ids,
       coalesce((array_agg('EXACT'::text) FILTER (WHERE found.serial_norm = :serial_norm))[1:10],
                '{}') AS hit_bases
FROM (
-- query: traces.strong_candidates
) AS found \gset
-- query: traces.strong_candidate_chains
;
SELECT uuid_v7() AS id, uuid_v7() AS audit_id \gset
-- query: traces.insert_trace
;
