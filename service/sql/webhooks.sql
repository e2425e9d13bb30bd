-- name: insert_webhook
INSERT INTO agency_webhooks (agency_id, url, secret) VALUES (%(agency_id)s, %(url)s, %(secret)s)
RETURNING id, url, created_at, deactivated_at;

-- name: lock_registrations
-- One agency's registrations one at a time, to the transaction's end: two sent at once would
-- otherwise each count the active webhooks without the other's and both be stored.
SELECT pg_advisory_xact_lock(%(lock_space)s, hashtext(%(agency_id)s::text));

-- name: count_active
SELECT count(*) AS active FROM agency_webhooks
WHERE agency_id = %(agency_id)s AND deactivated_at IS NULL;

-- name: list_webhooks
-- The agency's webhooks, newest first, a page after `before`.
SELECT id, url, created_at, deactivated_at FROM agency_webhooks
WHERE agency_id = %(agency_id)s AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s;

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
-- A deactivated webhook's deliveries leave the outbox: it never takes one again (there is no
-- reactivation), and they were tried every 6 hours for ever. The notifications stay.
DELETE FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s AND delivered_at IS NULL;

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
    WHERE delivered_at IS NULL AND next_attempt_at <= clock_timestamp()
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
SELECT w.url, w.secret, w.deactivated_at FROM agency_webhooks w WHERE w.id = %(webhook_id)s
FOR SHARE;

-- name: delivered
UPDATE webhook_deliveries
SET delivered_at = clock_timestamp(), attempts = attempts + 1, last_status = %(status)s,
    last_error = NULL
WHERE id = %(id)s;

-- name: failed
-- Not once delivered: a worker whose lease ran out meanwhile records its failure after another
-- worker delivered it.
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_status = %(status)s, last_error = %(error)s,
    next_attempt_at = clock_timestamp() + make_interval(secs => %(retry_in_seconds)s)
WHERE id = %(id)s AND delivered_at IS NULL;

-- name: hold_webhook
-- A webhook whose receiver did not answer, or answered that it cannot take deliveries now:
-- its other deliveries due before the tried one's retry wait as long (not counted as attempts).
-- So it is tried once per back-off whatever its backlog, and no backlog fills every round's
-- claim ahead of other agencies' deliveries; the tried one, due a moment earlier, is the one
-- tried again, so its attempts, and the back-off, grow.
UPDATE webhook_deliveries
SET next_attempt_at = now() + make_interval(secs => %(seconds)s)
WHERE delivered_at IS NULL AND next_attempt_at < now() + make_interval(secs => %(seconds)s)
  AND webhook_id = %(webhook_id)s AND id <> %(tried)s;

-- name: postpone
-- Claimed deliveries not sent this round, due again in `seconds`: not an attempt, nothing else
-- changes. Run while the round's lease still holds (service.delivery.deliver_due).
UPDATE webhook_deliveries
SET next_attempt_at = clock_timestamp() + make_interval(secs => %(seconds)s)
WHERE id = ANY(%(ids)s) AND delivered_at IS NULL;

-- name: list_deliveries
-- A webhook's deliveries, newest first, a page after `before`, in one state or any: DELIVERED;
-- FAILING (tried, not delivered); PENDING (not tried yet). next_attempt_at only while not
-- delivered (a claimed one's is its lease's end).
-- The page is bounded by (webhook_id, id) and the state tested on the columns, not on a derived
-- `state`: the service's generic plan otherwise read the primary key backwards past every other
-- webhook's rows rather than webhook_deliveries_webhook_pages (migration 0009 says why).
SELECT id, notification_id,
       CASE WHEN delivered_at IS NOT NULL THEN 'DELIVERED'
            WHEN attempts > 0 THEN 'FAILING'
            ELSE 'PENDING' END AS state,
       attempts, created_at,
       CASE WHEN delivered_at IS NULL THEN next_attempt_at END AS next_attempt_at,
       delivered_at, last_status, last_error
FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s AND (webhook_id, id) < (%(webhook_id)s, %(before)s)
  AND CASE %(state)s::text
          WHEN 'DELIVERED' THEN delivered_at IS NOT NULL
          WHEN 'FAILING' THEN delivered_at IS NULL AND attempts > 0
          WHEN 'PENDING' THEN delivered_at IS NULL AND attempts = 0
          ELSE true END
ORDER BY webhook_id DESC, id DESC
LIMIT %(limit)s;

-- name: delivery_state
SELECT id, attempts, delivered_at, last_status, last_error, next_attempt_at
FROM webhook_deliveries WHERE notification_id = %(notification_id)s ORDER BY id;

-- name: purge_delivered
-- A batch of the delivered rows older than the retention, oldest first (by the index of their
-- delivery time), one short transaction of its own. A row not yet delivered is never taken: it
-- waits for a worker, or leaves with its webhook's deactivation. The notification stays. A row a
-- worker still holds (a late outcome being recorded) is skipped, for a later batch. now(), not
-- clock_timestamp(): a volatile bound cannot be an index condition (the batch read the whole
-- table, and sorted it), and in autocommit mode now() is the statement's start.
DELETE FROM webhook_deliveries
WHERE id IN (SELECT id FROM webhook_deliveries
             WHERE delivered_at < now() - make_interval(days => %(days)s)
             ORDER BY delivered_at
             LIMIT %(batch)s
             FOR UPDATE SKIP LOCKED);
