-- Version 10: webhook deliveries are given up, dead webhooks suspended, and a webhook's health
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
-- generic plans, ANDed two bitmaps: every webhook's undelivered rows (the due index) and every
-- row of this webhook (webhook_deliveries_webhook_pages). On PostgreSQL 15, 400,030 deliveries
-- of 41 webhooks (40 of 10,000, 1,000 of each undelivered; one of 30, all undelivered):
--   before: drop_undelivered 1.5 ms (the 30-row webhook: 40,033 + 59 index entries read),
--           9.5 ms (a 10,000-row webhook: 40,033 + 10,000); hold_webhook 0.8 ms and 9.7 ms
--           (10,353 + 59, 10,382 + 10,000)
--   after:  Index Scan using webhook_deliveries_undelivered, its own undelivered rows only;
--           figures in README's version table (bench: /tmp-free, see the commit message)
-- The build holds the table's SHARE lock: new deliveries wait for it (a few hundred ms for
-- 400,000 rows).
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE delivered_at IS NULL;

GRANT UPDATE (deactivated_at, suspended_at, suspended_reason) ON agency_webhooks
    TO trace_registry_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_health TO trace_registry_service;
