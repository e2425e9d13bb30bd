-- Version 9: one index, nothing else. GET /v1/webhooks/{webhook_id}/deliveries pages a webhook's
-- deliveries newest first by id; with no index led by webhook_id it read the primary key
-- backwards past every other webhook's rows. The other statements that name one webhook
-- (drop_undelivered at a deactivation, hold_webhook's back-off) can take it too (their plans
-- were not measured).
--
-- The index alone changed nothing under the service's plan_cache_mode=force_generic_plan: the
-- generic plan guesses a webhook holds 1/n of the rows, `id < $2` a third of them and LIMIT $n a
-- tenth of what qualifies, and the primary key, in the heap's order, then looks cheaper than
-- this index, whose rows are scattered. The list query (service/sql/webhooks.sql,
-- list_deliveries) now bounds the page by (webhook_id, id) < ($1, $2), which only this index
-- takes as its condition, and filters the state on the raw columns. On PostgreSQL 15, 400,000
-- deliveries of 40 webhooks, one of them with 30 (its page of 50):
--   before: Index Scan Backward using webhook_deliveries_pkey, 399,970 rows removed by the
--           filter, 44 ms (any state), 36 ms (FAILING); with the index and the old query, the
--           same plan, 45-51 ms
--   after:  Index Scan Backward using webhook_deliveries_webhook_pages, 0.36 ms (any state),
--           0.02 ms (FAILING); a webhook of 10,246 rows: 0.14 ms for 50, 12 ms for a state none
--           of its rows is in (it reads its own rows, no one else's)
-- The build holds the table's SHARE lock: new deliveries wait for it (a few hundred ms here).
CREATE INDEX webhook_deliveries_webhook_pages ON webhook_deliveries (webhook_id, id);

-- Agencies' names are unique as read: but for the direction marks and joiners, which show
-- nothing (service.domain.text.KEPT_FORMAT_CHARACTERS, the only difference the code ever
-- compared beyond the name itself: no case, no spaces). The database now refuses a twin whoever
-- writes it; until now the code refused one under an advisory lock that named agencies one at
-- a time (and that a seed's transaction, holding it for minutes, made every creation wait for).
--
-- A registry of an earlier version may hold twins (recorded before the code refused them, on
-- 2026-12-06). As 0006 did for registration numbers, the migration neither fails on them nor
-- changes a name (notifications and audit entries named the agencies as they are): the earliest
-- created of each group holds the name as read; each later one is left out of the index by its
-- id (it keeps its name, its keys and its records; a new agency that reads as either is
-- refused, by the one kept). Each is named in a NOTICE, and listed afterwards by
--   SELECT id, name FROM agencies a WHERE EXISTS (SELECT 1 FROM agencies b
--     WHERE translate(b.name, E'\u061c\u200c\u200d\u200e\u200f', '')
--         = translate(a.name, E'\u061c\u200c\u200d\u200e\u200f', '') AND b.id <> a.id);
-- Such a registry's index then carries a predicate (WHERE id <> ALL (...)) that schema.sql's
-- lacks; none of the code's statements depends on it.
DO $$
DECLARE
    twin record;
    left_out uuid[] := '{}';
BEGIN
    FOR twin IN
        SELECT id, name, first_id, first_name
        FROM (SELECT id, name,
                     first_value(id) OVER readings AS first_id,
                     first_value(name) OVER readings AS first_name
              FROM agencies
              WINDOW readings AS (
                  PARTITION BY translate(name, E'\u061c\u200c\u200d\u200e\u200f', '')
                  ORDER BY created_at, id)) AS named
        WHERE id <> first_id
        ORDER BY id
    LOOP
        left_out := left_out || twin.id;
        RAISE NOTICE 'agency % (%) reads as agency % (%): left out of agencies_name_as_read',
            twin.id, to_json(twin.name), twin.first_id, to_json(twin.first_name);
    END LOOP;
    IF cardinality(left_out) = 0 THEN
        CREATE UNIQUE INDEX agencies_name_as_read
            ON agencies ((translate(name, E'\u061c\u200c\u200d\u200e\u200f', '')));
    ELSE
        EXECUTE format(
            'CREATE UNIQUE INDEX agencies_name_as_read'
            ' ON agencies ((translate(name, %L, %L))) WHERE id <> ALL (%L::uuid[])',
            E'\u061c\u200c\u200d\u200e\u200f', '', left_out);
    END IF;
END
$$;
