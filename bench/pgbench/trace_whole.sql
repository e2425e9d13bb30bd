-- Everything one POST /v1/traces asks of PostgreSQL for a serial with strong candidates, with no
-- Python, HTTP or gunicorn in the way: the key authenticated and counted against its rate, the
-- candidates and their chains, then the trace stored with its whole answer, its hit
-- notifications and the request's audit entry (one statement, one durable commit). Its rate is
-- what the database alone could answer on these cores: the API cannot exceed it, since it runs
-- this work and more.
-- The benchmark defines the key (key_prefix, secret_hash) and answer_read=0 with --define. Each
-- client reads once (answer_read becomes 1) an answer the API stored for that key (the API ran before pgbench) and stores it with every
-- trace, as the API stores each answer it gives: the same size and the same compression work.
-- pgbench keeps only the values of one row (\gset), so the candidates are gathered into arrays
-- for the INSERT (the API reads them as rows); the trace's and the audit entry's ids are
-- UUIDv7 made by uuid_v7() (the API makes them in Python).
-- pgbench sends its variables untyped (psycopg types them), so ids are cast where a SELECT list
-- would otherwise make them text.
-- constant: id = :id::uuid
-- constant: agency_id = :agency_id::uuid
-- constant: audit_id = :audit_id::uuid
-- constant: limit = 50
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
-- constant: hit_item_ids = :item_ids
-- constant: hit_bases = :bases
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
-- constant: audit_records_returned = 1
-- constant: audit_details = jsonb_build_object('created', '/v1/traces/' || :id, 'serials_as_typed', ARRAY[:serial_norm])
\if :answer_read = 0
SELECT t.answer::text AS answer, t.agency_id, 1 AS answer_read
FROM traces t JOIN api_keys k ON k.agency_id = t.agency_id AND k.prefix = :key_prefix
ORDER BY t.id DESC LIMIT 1 \gset
\endif
\set n random(1, :sample_count)
SELECT serial_norm, serial_skeleton, serial_ncic FROM bench.serials WHERE n = :n \gset
-- query: agencies.authenticate
;
SELECT coalesce(array_agg(found.id), '{}') AS item_ids,
       coalesce(array_agg('EXACT'::text), '{}') AS bases
FROM (
-- query: traces.strong_candidates
) AS found \gset
-- query: traces.strong_candidate_chains
;
SELECT uuid_v7() AS id, uuid_v7() AS audit_id \gset
-- query: traces.insert_trace
;
