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
-- abandon (new) reads the same index, its own webhook's rows only.
-- The build holds the table's SHARE lock: new deliveries wait for it (a few hundred ms for
-- 400,000 rows).
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE delivered_at IS NULL;

GRANT UPDATE (deactivated_at, suspended_at, suspended_reason) ON agency_webhooks
    TO trace_registry_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_health TO trace_registry_service;
