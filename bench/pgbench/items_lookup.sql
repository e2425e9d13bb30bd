-- Exactly what the stand-in endpoint (GET /v1/items?serial_number=) runs for one request: the
-- lookup by normalised serial, first page, no manufacturer. See items_with_chain.sql for how
-- `-- query:` and `-- constant:` lines are expanded.
-- constant: manufacturer_key = NULL
-- constant: after = '00000000-0000-0000-0000-000000000000'::uuid
-- constant: limit = 21
\set n random(1, :sample_count)
SELECT serial_norm FROM bench.serials WHERE n = :n \gset
-- query: items.list_items_by_serial
;
