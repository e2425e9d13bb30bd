-- The stand-in's lookup and the chains of what it finds, as the service runs them: the named
-- queries of service/sql/ are included where a line says `-- query: <file>.<name>`, their
-- %(name)s parameters becoming pgbench variables (:name), so this script always runs the
-- service's current SQL. pgbench prepares every statement (-M prepared), as psycopg does on a
-- long-lived connection. A serial is drawn from the sample (bench.serials, n = 1..:sample_count).
-- The stand-in's request names no manufacturer and asks for the first page.
-- constant: manufacturer_key = NULL
-- constant: after = '00000000-0000-0000-0000-000000000000'::uuid
-- constant: limit = 21
\set n random(1, :sample_count)
SELECT serial_norm FROM bench.serials WHERE n = :n \gset
SELECT array_agg(id) AS item_ids FROM (
-- query: items.list_items_by_serial
) AS found \gset
-- query: items.custody_chains
;
