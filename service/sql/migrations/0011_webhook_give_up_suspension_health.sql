-- Version 11: webhook deliveries are given up, dead webhooks suspended, and a webhook's health
-- is kept. Nothing stored is changed: deliveries keep their state (none is abandoned by the
-- migration: their first failure, from which the give-up is counted, was not recorded, so a
-- delivery failing now counts from its next failed attempt), notifications are untouched.
--
-- webhook_deliveries: first_failed_at and abandoned_at (ABANDONED: never tried again).
-- agency_webhooks: suspended_at and suspended_reason (set by the worker, cleared by the agency).
-- webhook_health: a row per webhook once the worker records an outcome for it.
ALTER TABLE agency_webhooks
    ADD COLUMN suspended_at timestamptz,
    ADD COLUMN suspended_reason text,
    ADD CONSTRAINT agency_webhooks_suspension_reason
        CHECK ((suspended_at IS NULL) = (suspended_reason IS NULL));

ALTER TABLE webhook_deliveries
    ADD COLUMN first_failed_at timestamptz,
    ADD COLUMN abandoned_at timestamptz;

CREATE TABLE webhook_health (
    webhook_id            uuid PRIMARY KEY REFERENCES agency_webhooks (id),
    last_success_at       timestamptz,
    last_failure_at       timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    failing_since         timestamptz,
    deliveries_abandoned  bigint NOT NULL DEFAULT 0
);

-- The due index leaves abandoned deliveries out: claim_due would otherwise read past every one
-- of them, oldest first, in each round.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- One webhook's undelivered deliveries. hold_webhook and drop_undelivered, under the service's
-- generic plans, ANDed two bitmaps: every webhook's undelivered rows (webhook_deliveries_due)
-- and every row of this webhook, delivered or not (webhook_deliveries_webhook_pages); the worker
-- runs hold_webhook at each failure of an unavailable receiver, so each read grew with everyone's
-- backlog. hold_webhook now bounds (webhook_id, next_attempt_at), which only this index takes as
-- its condition (on next_attempt_at alone the generic plan read the due index instead). On
-- PostgreSQL 15, 400,030 deliveries of 41 webhooks (40 of 10,000, a tenth of them undelivered;
-- one of 30, all undelivered), EXPLAIN ANALYZE of the generic plans, index entries read
-- (the scan's time):
--                                   before                        after
--   drop_undelivered, 30 rows      40,033 + 59 (3.6 ms)          33 (0.06 ms)
--   drop_undelivered, 1,000 rows   40,033 + 10,000 (9.4 ms)      1,000 (heap-bound, 9-13 ms)
--   hold_webhook, 29 rows          10,353 + 59 (0.29 ms)         33 (0.05 ms)
--   hold_webhook, 258 rows         10,382 + 10,000 (8.2 ms)      258 (4.6 ms)
-- (the statements' whole times are mostly their writes: 4-30 ms either way on a busy machine).
-- abandon (new) reads the same index, its own webhook's rows only. The index leaves the
-- abandoned rows out: a resumed webhook keeps them until the delivery retention, and each of its
-- failures read them all. On PostgreSQL 15, 400,000 deliveries of 20 webhooks (300,000
-- delivered, 90,000 abandoned, 10,000 pending), one webhook's 500 pending and 4,500 abandoned,
-- EXPLAIN (ANALYZE) of the generic plans, index entries read: hold_webhook 5,000 (4,500 passed
-- over) before, 500 after; abandon 5,500 before, 500 after.
-- The builds hold the table's SHARE lock: new deliveries wait for them (a few hundred ms for
-- 400,000 rows: 0.2 s for both indexes here).
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- The deliveries given up, oldest first: purge_abandoned's batch takes the oldest 1,000 past
-- the retention and reads 1,000 entries (the same 400,000 rows, 45,000 of the abandoned past 30
-- days: 45 batches, 5-11 ms each); it read the undelivered rows' index from where the last batch
-- stopped, 2,270 entries a batch (and, the planner misjudging, up to 100,000). drop_abandoned,
-- a deactivation's other half, finds one webhook's among its entries (4,500 of 90,000: 4.7 ms).
CREATE INDEX webhook_deliveries_abandoned ON webhook_deliveries (abandoned_at, webhook_id)
    WHERE delivered_at IS NULL AND abandoned_at IS NOT NULL;

GRANT UPDATE (deactivated_at, suspended_at, suspended_reason) ON agency_webhooks
    TO trace_registry_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_health TO trace_registry_service;
