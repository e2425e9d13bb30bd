-- name: insert_webhook
-- A new webhook, as list_webhooks shows one (no outcome recorded yet).
INSERT INTO agency_webhooks (agency_id, url, secret) VALUES (%(agency_id)s, %(url)s, %(secret)s)
RETURNING id, url, 'ACTIVE' AS status, created_at, deactivated_at, suspended_at, suspended_reason,
          NULL::timestamptz AS last_success_at, NULL::timestamptz AS last_failure_at,
          0 AS consecutive_failures, 0::bigint AS deliveries_abandoned;

-- name: lock_registrations
-- One agency's registrations one at a time, to the transaction's end: two sent at once would
-- otherwise each count the active webhooks without the other's and both be stored.
SELECT pg_advisory_xact_lock(%(lock_space)s, hashtext(%(agency_id)s::text));

-- name: count_active
SELECT count(*) AS active FROM agency_webhooks
WHERE agency_id = %(agency_id)s AND deactivated_at IS NULL;

-- name: shown_webhooks
-- An agency's webhooks as it reads them: where each points, its status, and its health
-- (webhook_health: none before the worker records an outcome). The one shape of list_webhooks
-- and one_webhook, which the repository puts in place of their braces (as eucs.sql's
-- shipped_under): a subquery the planner flattens into each, so each keeps its own plan. Its
-- agency_id is for list_webhooks' bound, not shown (service.repository.webhooks drops it).
SELECT w.agency_id, w.id, w.url,
       CASE WHEN w.deactivated_at IS NOT NULL THEN 'DEACTIVATED'
            WHEN w.suspended_at IS NOT NULL THEN 'SUSPENDED'
            ELSE 'ACTIVE' END AS status,
       w.created_at, w.deactivated_at, w.suspended_at, w.suspended_reason,
       h.last_success_at, h.last_failure_at,
       coalesce(h.consecutive_failures, 0) AS consecutive_failures,
       coalesce(h.deliveries_abandoned, 0) AS deliveries_abandoned
FROM agency_webhooks w
-- LIMIT 1: kept a subquery, read by the key for each webhook (joined, it was a hash of the table)
LEFT JOIN LATERAL (SELECT * FROM webhook_health h WHERE h.webhook_id = w.id LIMIT 1) h ON true
WHERE w.agency_id = %(agency_id)s;

-- name: list_webhooks
-- The agency's webhooks (shown_webhooks), newest first, a page after `before`. The page is
-- bounded by (agency_id, id), which only agency_webhooks_agency_pages takes as its condition:
-- by `id < before` alone, the service's generic plan (which knows neither the agency nor the
-- bound) read the primary key backwards past every other agency's webhooks, as
-- list_deliveries' did (migration 0009 says why).
SELECT shown.* FROM ({shown_webhooks}) AS shown
WHERE (shown.agency_id, shown.id) < (%(agency_id)s, %(before)s)
ORDER BY shown.agency_id DESC, shown.id DESC
LIMIT %(limit)s;

-- name: one_webhook
-- The agency's webhook, as list_webhooks shows it.
SELECT shown.* FROM ({shown_webhooks}) AS shown WHERE shown.id = %(id)s;

-- name: wait_for_a_delivery_under_way
-- A deactivation waits for a delivery under way to its webhook (delivery_target's lock): this
-- transaction's statements may take as long as one delivery and a margin, `ms`, if the
-- session's statement_timeout (unless 0, none) is shorter.
SELECT set_config('statement_timeout', %(ms)s::text, true)
WHERE current_setting('statement_timeout') <> '0'
  AND extract(epoch FROM current_setting('statement_timeout')::interval) * 1000 < %(ms)s;

-- name: lock_sends_exclusively
-- Before deactivate_webhook: waits for the sends under way to the webhook (lock_sends_shared),
-- and, once queued, makes a send about to start wait behind it. A waiting UPDATE alone is no
-- such barrier: a row's FOR SHARE is granted past it while another share lock is held, so
-- workers taking turns at a slow receiver could hold a deactivation off until it timed out.
SELECT pg_advisory_xact_lock(%(lock_space)s, hashtext(%(webhook_id)s::text));

-- name: lock_sends_shared
-- A send to the webhook, in the transaction that sends: other sends' share it, a deactivation's
-- (lock_sends_exclusively) is waited for, queued or holding.
SELECT pg_advisory_xact_lock_shared(%(lock_space)s, hashtext(%(webhook_id)s::text));

-- name: deactivate_webhook
UPDATE agency_webhooks SET deactivated_at = now()
WHERE id = %(id)s AND agency_id = %(agency_id)s AND deactivated_at IS NULL
RETURNING id;

-- name: drop_undelivered
-- A deactivated webhook's deliveries leave the outbox, abandoned ones too (drop_abandoned, in
-- the same transaction): it never takes one again (there is no reactivation). The
-- notifications stay. Two statements, each read by the index of its rows
-- (webhook_deliveries_undelivered, webhook_deliveries_abandoned): one DELETE of both would
-- need the generic plan to OR the two indexes' bitmaps, and nothing holds it to that; a
-- delivery given up between the two is passed over by the first (its row read again once the
-- abandon commits) and taken by the second.
DELETE FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s AND delivered_at IS NULL AND abandoned_at IS NULL;

-- name: drop_abandoned
-- The deactivated webhook's deliveries given up (see drop_undelivered). The abandoned rows'
-- index is ordered by abandoned_at, for the purge: the webhook's rows are found in its entries
-- (all the webhooks' abandoned rows, each kept for the retention), not in the table.
DELETE FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s AND delivered_at IS NULL AND abandoned_at IS NOT NULL;

-- name: resume_webhook
-- A suspended webhook takes deliveries again (run under lock_sends_exclusively, which orders
-- it with the worker's suspend_webhook); its health's run of failures starts again.
WITH resumed AS (
    UPDATE agency_webhooks SET suspended_at = NULL, suspended_reason = NULL
    WHERE id = %(id)s AND agency_id = %(agency_id)s AND suspended_at IS NOT NULL
      AND deactivated_at IS NULL
    RETURNING id
)
UPDATE webhook_health SET consecutive_failures = 0, failing_since = NULL
WHERE webhook_id IN (SELECT id FROM resumed);

-- name: redeliver_abandoned
-- A resumption asked to redeliver: the webhook's deliveries given up within `days` (the delivery
-- retention: those purge_abandoned has not taken, nor will while this holds them) are due again
-- now, their give-up counted from their next failure (first_failed_at forgotten; their attempts
-- and last error stay), and no longer counted in its health's deliveries_abandoned. If any is,
-- the webhook's run of failures starts again, as resume_webhook's does for a suspended one: an
-- active webhook still failing since before the give-up would otherwise have every redelivered
-- delivery made before it given up again (abandon's second test) after one attempt to one of
-- them. Read by webhook_deliveries_abandoned_by_webhook. Run under lock_sends_exclusively: no
-- delivery to the webhook is under way, so none given up while it was sent is sent again
-- beside it, nor a failure recorded before this commits.
WITH redelivered AS (
    UPDATE webhook_deliveries
    SET abandoned_at = NULL, first_failed_at = NULL, next_attempt_at = clock_timestamp()
    WHERE webhook_id = %(webhook_id)s AND delivered_at IS NULL AND abandoned_at IS NOT NULL
      AND abandoned_at >= now() - make_interval(days => %(days)s)
    RETURNING id
), uncounted AS (
    UPDATE webhook_health h
    SET deliveries_abandoned = h.deliveries_abandoned - (SELECT count(*) FROM redelivered),
        consecutive_failures = 0, failing_since = NULL
    WHERE h.webhook_id = %(webhook_id)s AND EXISTS (SELECT 1 FROM redelivered)
)
SELECT count(*) AS redelivered FROM redelivered;

-- name: suspend_webhook
-- The worker suspends a webhook every attempt to which has failed for `hours` (checked again
-- here, under lock_sends_exclusively: a resumption or a delivery may have come between).
UPDATE agency_webhooks w SET suspended_at = now(), suspended_reason = %(reason)s
WHERE w.id = %(webhook_id)s AND w.deactivated_at IS NULL AND w.suspended_at IS NULL
  AND EXISTS (SELECT 1 FROM webhook_health h
              WHERE h.webhook_id = w.id
                AND h.failing_since <= now() - make_interval(hours => %(hours)s))
RETURNING w.id;

-- name: abandon
-- Give up a webhook's deliveries not delivered: all of them (`hours` NULL: it is suspended), or
-- those undeliverable for longer than `hours`: failing since their first failed attempt, or
-- made that long ago with every attempt to the webhook failing since before then (the
-- deliveries hold_webhook keeps back are never tried themselves). Counted in its health.
WITH given_up AS (
    UPDATE webhook_deliveries d SET abandoned_at = clock_timestamp()
    WHERE d.webhook_id = %(webhook_id)s AND d.delivered_at IS NULL AND d.abandoned_at IS NULL
      AND (%(hours)s::integer IS NULL
           OR d.first_failed_at <= now() - make_interval(hours => %(hours)s)
           -- the webhook's health read once, by its key (EXISTS was a hash of every row)
           OR (d.created_at <= now() - make_interval(hours => %(hours)s)
               AND (SELECT h.failing_since FROM webhook_health h
                    WHERE h.webhook_id = %(webhook_id)s)
                   <= now() - make_interval(hours => %(hours)s)))
    RETURNING d.webhook_id
), counted AS (
    INSERT INTO webhook_health AS h (webhook_id, deliveries_abandoned)
    SELECT webhook_id, count(*) FROM given_up GROUP BY webhook_id
    ON CONFLICT (webhook_id) DO UPDATE
    SET deliveries_abandoned = h.deliveries_abandoned + EXCLUDED.deliveries_abandoned
)
SELECT count(*) AS abandoned FROM given_up;

-- name: drop_delivery
DELETE FROM webhook_deliveries WHERE id = %(id)s AND delivered_at IS NULL;

-- name: webhook_exists
SELECT 1 FROM agency_webhooks WHERE id = %(id)s AND agency_id = %(agency_id)s;

-- name: claim_due
-- Take up to `limit` due deliveries by moving them a lease ahead; whoever holds the lease sends.
UPDATE webhook_deliveries d
SET next_attempt_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s)
FROM (
    SELECT id FROM webhook_deliveries
    WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= clock_timestamp()
    -- of a webhook's deliveries held together (hold_webhook), the one tried most goes first
    ORDER BY next_attempt_at, attempts DESC
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) due
WHERE d.id = due.id
RETURNING d.id, d.notification_id, d.webhook_id, d.attempts;

-- name: delivery_target
-- FOR SHARE, in the transaction that sends: deactivate_webhook (an UPDATE of the row) waits
-- for the send to end, and this waits for a deactivation under way, then reads it. Share
-- locks do not wait for each other: several workers send to one webhook at once.
-- And whether the delivery was given up since it was claimed (abandon, after a failure of
-- another delivery to the webhook, in this round or another worker's): it is not sent.
SELECT w.url, w.secret, w.deactivated_at, w.suspended_at,
       (SELECT d.abandoned_at FROM webhook_deliveries d WHERE d.id = %(delivery_id)s)
           AS abandoned_at
FROM agency_webhooks w
WHERE w.id = %(webhook_id)s
FOR SHARE;

-- name: delivered
-- And the webhook's health, in the same statement: its run of failures is over. A delivery
-- given up while it was under way (abandon, by another worker) was delivered after all: it is
-- DELIVERED, and no longer counted in the health's deliveries_abandoned. Whether it was given
-- up is read FOR UPDATE: a give-up not yet committed is waited for and then seen (a plain read
-- would take the statement's snapshot, from before it). An abandoned delivery's webhook has a
-- health row already (abandon counted it there): the count is taken back where it is updated.
WITH given_up AS (
    SELECT id, abandoned_at IS NOT NULL AS abandoned
    FROM webhook_deliveries WHERE id = %(id)s
    FOR UPDATE
), delivery AS (
    UPDATE webhook_deliveries d
    SET delivered_at = clock_timestamp(), attempts = attempts + 1, last_status = %(status)s,
        last_error = NULL, abandoned_at = NULL
    FROM given_up
    WHERE d.id = given_up.id
    RETURNING d.webhook_id, d.delivered_at, given_up.abandoned
)
INSERT INTO webhook_health AS h (webhook_id, last_success_at)
SELECT webhook_id, delivered_at FROM delivery
ON CONFLICT (webhook_id) DO UPDATE
SET last_success_at = EXCLUDED.last_success_at, consecutive_failures = 0, failing_since = NULL,
    deliveries_abandoned = h.deliveries_abandoned
                           - (SELECT count(*) FROM delivery WHERE delivery.abandoned);

-- name: failed
-- Not once delivered: a worker whose lease ran out meanwhile records its failure after another
-- worker delivered it. And the webhook's health, in the same statement; whether every attempt
-- to it has failed for `suspend_hours` (service.delivery then suspends it).
WITH delivery AS (
    UPDATE webhook_deliveries
    SET attempts = attempts + 1, last_status = %(status)s, last_error = %(error)s,
        next_attempt_at = clock_timestamp() + make_interval(secs => %(retry_in_seconds)s),
        first_failed_at = coalesce(first_failed_at, clock_timestamp())
    WHERE id = %(id)s AND delivered_at IS NULL AND abandoned_at IS NULL
    RETURNING webhook_id
)
INSERT INTO webhook_health AS h (webhook_id, last_failure_at, consecutive_failures, failing_since)
SELECT webhook_id, clock_timestamp(), 1, clock_timestamp() FROM delivery
ON CONFLICT (webhook_id) DO UPDATE
SET last_failure_at = EXCLUDED.last_failure_at, consecutive_failures = h.consecutive_failures + 1,
    failing_since = coalesce(h.failing_since, EXCLUDED.failing_since)
RETURNING failing_since,
          failing_since <= clock_timestamp() - make_interval(hours => %(suspend_hours)s)
              AS to_suspend;

-- name: hold_webhook
-- A webhook whose receiver did not answer, or answered that it cannot take deliveries now:
-- its other deliveries due before the tried one's retry wait as long (not counted as attempts).
-- So it is tried once per back-off whatever its backlog, and no backlog fills every round's
-- claim ahead of other agencies' deliveries; the tried one, due a moment earlier, is the one
-- tried again, so its attempts, and the back-off, grow.
-- The bound is on (webhook_id, next_attempt_at), which only webhook_deliveries_undelivered takes
-- as its condition: on next_attempt_at alone, the generic plan read every webhook's due rows
-- (webhook_deliveries_due) for this one's. That index holds no abandoned row either: a resumed
-- webhook keeps those until the retention, and each failure read them all (abandon too).
UPDATE webhook_deliveries
SET next_attempt_at = now() + make_interval(secs => %(seconds)s)
WHERE delivered_at IS NULL AND abandoned_at IS NULL AND webhook_id = %(webhook_id)s
  AND (webhook_id, next_attempt_at) < (%(webhook_id)s, now() + make_interval(secs => %(seconds)s))
  AND id <> %(tried)s;

-- name: postpone
-- Claimed deliveries not sent this round, due again in `seconds`: not an attempt, nothing else
-- changes. Run while the round's lease still holds (service.delivery.deliver_due).
UPDATE webhook_deliveries
SET next_attempt_at = clock_timestamp() + make_interval(secs => %(seconds)s)
WHERE id = ANY(%(ids)s) AND delivered_at IS NULL AND abandoned_at IS NULL;

-- name: list_deliveries
-- A webhook's deliveries, newest first, a page after `before`, in one state or any: DELIVERED;
-- ABANDONED (given up, never tried again); FAILING (tried, not delivered); PENDING (not tried
-- yet). next_attempt_at only while it may still be tried (a claimed one's is its lease's end).
-- The page is bounded by (webhook_id, id) and the state tested on the columns, not on a derived
-- `state`: the service's generic plan otherwise read the primary key backwards past every other
-- webhook's rows rather than webhook_deliveries_webhook_pages (migration 0009 says why).
SELECT id, notification_id,
       CASE WHEN delivered_at IS NOT NULL THEN 'DELIVERED'
            WHEN abandoned_at IS NOT NULL THEN 'ABANDONED'
            WHEN attempts > 0 THEN 'FAILING'
            ELSE 'PENDING' END AS state,
       attempts, created_at,
       CASE WHEN delivered_at IS NULL AND abandoned_at IS NULL THEN next_attempt_at END
           AS next_attempt_at,
       delivered_at, abandoned_at, last_status, last_error
FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s AND (webhook_id, id) < (%(webhook_id)s, %(before)s)
  AND CASE %(state)s::text
          WHEN 'DELIVERED' THEN delivered_at IS NOT NULL
          WHEN 'ABANDONED' THEN delivered_at IS NULL AND abandoned_at IS NOT NULL
          WHEN 'FAILING' THEN delivered_at IS NULL AND abandoned_at IS NULL AND attempts > 0
          WHEN 'PENDING' THEN delivered_at IS NULL AND abandoned_at IS NULL AND attempts = 0
          ELSE true END
ORDER BY webhook_id DESC, id DESC
LIMIT %(limit)s;

-- name: delivery_state
SELECT id, attempts, delivered_at, abandoned_at, last_status, last_error, next_attempt_at
FROM webhook_deliveries WHERE notification_id = %(notification_id)s ORDER BY id;

-- name: purge_abandoned
-- A batch of the deliveries given up (ABANDONED) longer ago than the retention, oldest first
-- (by the abandoned rows' index), one short transaction of its own, as purge_delivered; the
-- notification stays. A row locked meanwhile (a late outcome, a delivery after all) is
-- skipped, for a later batch. The batch's ids are an array, deleted by the primary key: as
-- `id IN (SELECT ...)`, the worker's generic plan took the batch's LIMIT for a tenth of the rows
-- and hashed the batch against a sequential scan of the table (68 ms a batch of 1,000 among
-- 400,000 rows on PostgreSQL 15; 14 ms so).
DELETE FROM webhook_deliveries
WHERE id = ANY(ARRAY(SELECT id FROM webhook_deliveries
                     WHERE delivered_at IS NULL
                       AND abandoned_at < now() - make_interval(days => %(days)s)
                     ORDER BY abandoned_at
                     LIMIT %(batch)s
                     FOR UPDATE SKIP LOCKED));

-- name: purge_delivered
-- A batch of the delivered rows older than the retention, oldest first (by the index of their
-- delivery time), one short transaction of its own. A row not yet delivered is never taken: it
-- waits for a worker, or leaves with its webhook's deactivation. The notification stays. A row a
-- worker still holds (a late outcome being recorded) is skipped, for a later batch. now(), not
-- clock_timestamp(): a volatile bound cannot be an index condition (the batch read the whole
-- table, and sorted it), and in autocommit mode now() is the statement's start. The batch's ids
-- are an array, deleted by the primary key, as purge_abandoned's are: as `id IN (SELECT ...)`,
-- the worker's generic plan hashed the batch against a sequential scan of the table (91 ms a
-- batch of 1,000 among 400,000 rows on PostgreSQL 15).
DELETE FROM webhook_deliveries
WHERE id = ANY(ARRAY(SELECT id FROM webhook_deliveries
                     WHERE delivered_at < now() - make_interval(days => %(days)s)
                     ORDER BY delivered_at
                     LIMIT %(batch)s
                     FOR UPDATE SKIP LOCKED));
