-- Version 13: a webhook's abandoned deliveries are found by an index led by the webhook.
-- Indexes only: no row or table is changed.
--
-- drop_abandoned (a deactivation's other half) read one webhook's abandoned rows in
-- webhook_deliveries_abandoned (abandoned_at, webhook_id), whose order is the purge's: the
-- webhook was its second column, so the generic plan read every webhook's entries for its own.
-- webhook_deliveries_abandoned_by_webhook (webhook_id, abandoned_at), of the same rows, is read
-- for it; the purge keeps its own index, oldest first, now without webhook_id (read by
-- nothing). abandoned_at is in the new index for the purge's sake: on webhook_id alone, of a few
-- webhooks, deduplication made it so small that the purge's generic plan read every abandoned
-- row by it and sorted them, up to some 5,000 rows (a batch of 22 ms at 5,000, one webhook's,
-- on PostgreSQL 15); as large as the purge's index, it never looks cheaper to it.
-- On PostgreSQL 15, 400,000 deliveries of 20 webhooks (300,000 delivered, 90,000 abandoned over
-- 60 days, 45,040 of them past 30, 10,000 pending; each webhook 4,500 abandoned), EXPLAIN
-- (ANALYZE, BUFFERS) of the generic plans (plan_cache_mode = force_generic_plan), cache warm,
-- seven runs each on a busy two-core machine; the index scan's buffers and time (median, range),
-- and the statement's:
--                                        before                      after
--   drop_abandoned, a webhook's 4,500    605 buffers (the whole      25 buffers
--                                        index), 9.0 ms (5.8-13.7)   0.44 ms (0.39-3.6)
--     the statement                      27.5 ms (15.8-35.0)         17.4 ms (15.3-58.0)
--   purge_abandoned, a batch of 1,000    67 buffers, 1,000 entries   59 buffers, 1,000 entries
--     the statement                      8.1 ms (3.8-10.2)           7.6 ms (2.6-12.9)
-- (drop_abandoned's statement is mostly its heap: 1,287 pages for the webhook's rows, either
-- way; the purge's, its deletes by the primary key.) The abandoned rows' index was 4,864 kB
-- (grown by inserts); built again, 696 kB, and the new one 3,592 kB: each delivery given up
-- writes one entry more. The builds hold the table's SHARE lock: new deliveries wait for them
-- (0.2 and 0.3 s for these 400,000 rows).
DROP INDEX webhook_deliveries_abandoned;
CREATE INDEX webhook_deliveries_abandoned ON webhook_deliveries (abandoned_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NOT NULL;
CREATE INDEX webhook_deliveries_abandoned_by_webhook ON webhook_deliveries (webhook_id, abandoned_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NOT NULL;
