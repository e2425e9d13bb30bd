-- Version 7, three changes.
--
-- 1. A client's tally of failed authentications refused (429) and not yet named in the audit
-- trail keeps the client (as its entries name it) and the time of its last refusal, so that
-- `trace-registry worker` names the count of a client that never came back, in an entry of its
-- own, and deletes the tally in the same statement (service/sql/clients.sql,
-- record_quiet_tallies). Until now such a tally was kept for ever and its refusals never named.
-- The tallies counted before (UNLOGGED, few: one per client refused since its last entry) did
-- not keep their client, which cannot be read back from the tally's id: they are named with no
-- client (details.client null), their last refusal taken as this migration's time. The table is
-- rewritten (the new column's default is the clock), which costs nothing at its size.
ALTER TABLE refused_authentications
    ADD COLUMN client text,
    ADD COLUMN last_refused_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- 2. An agency's country may be set, corrected or cleared through the API
-- (PATCH /v1/admin/agencies/{agency_id}), as it was only by `trace-registry agencies
-- set-country` (which logs in as the schema's owner).
GRANT UPDATE (country) ON agencies TO trace_registry_service;

-- 3. The references bound to a record, by the record, but an event's: an import looks up the
-- records it linked (another agency's) among the agency's earlier references
-- (imports.sql, check_identities), which read every reference of the agency of that type.
-- A migration runs in one transaction, where CREATE INDEX CONCURRENTLY cannot: the build takes
-- import_references' SHARE lock, so imports (their inserts) wait for it while reads go on
-- (2,900,000 references, 1,073,000 of them not events': 1.25 s on PostgreSQL 15, README
-- "Upgrading"). On a registry where that wait is too long, build the index beforehand, with
-- the service running:
--   CREATE INDEX CONCURRENTLY import_references_record ON import_references (record_id)
--       WHERE record_type <> 'event';
-- and this migration keeps it. One left invalid by a concurrent build that failed is built
-- again here; an index of that name that is another is refused, not replaced.
DO $$
DECLARE
    existing record;
BEGIN
    SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition INTO existing
    FROM pg_index i WHERE i.indexrelid = to_regclass('public.import_references_record');
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF existing.definition <> 'CREATE INDEX import_references_record ON public.import_references '
                           'USING btree (record_id) WHERE (record_type <> ''event''::text)' THEN
        RAISE EXCEPTION 'an index import_references_record is there already, and it is not '
                        'the one version 7 builds: %', existing.definition;
    END IF;
    IF NOT existing.valid THEN
        DROP INDEX import_references_record;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS import_references_record ON import_references (record_id)
    WHERE record_type <> 'event';
