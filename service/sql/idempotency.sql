-- name: claim
-- Take the key for this request, or find it taken. A live row of another transaction makes this
-- wait until that transaction ends (then: its row, or none if it aborted). A row older than the
-- retention is taken over. The answer is filled in by `remember`, in the same transaction.
INSERT INTO idempotency_keys AS k
    (agency_id, key, fingerprint, method, path, status, media_type, body)
VALUES (%(agency_id)s, %(key)s, %(fingerprint)s, %(method)s, %(path)s, 0, '', '')
ON CONFLICT (agency_id, key) DO UPDATE
SET fingerprint = excluded.fingerprint, method = excluded.method, path = excluded.path,
    status = 0, location = NULL, media_type = '', body = '', withheld = false, batch_id = NULL,
    created_at = clock_timestamp()
WHERE k.created_at < clock_timestamp() - make_interval(hours => %(hours)s)
RETURNING true AS claimed;

-- name: stored
SELECT fingerprint, method, path, status, location, media_type, body, withheld, batch_id,
       created_at
FROM idempotency_keys
WHERE agency_id = %(agency_id)s AND key = %(key)s;

-- name: free
-- The key this request took, given back in the same transaction (a request whose answer is a
-- refusal, though it ran to its end): the next request with the key is a first one.
DELETE FROM idempotency_keys WHERE agency_id = %(agency_id)s AND key = %(key)s;

-- name: remember
UPDATE idempotency_keys
SET status = %(status)s, location = %(location)s, media_type = %(media_type)s, body = %(body)s,
    withheld = %(withheld)s, batch_id = %(batch_id)s
WHERE agency_id = %(agency_id)s AND key = %(key)s;

-- name: purge
-- A batch of the answers older than the retention (the age `claim` takes a key over at), oldest
-- first, one short transaction of its own. A row held by a request that is taking its key over
-- is skipped rather than waited for: that request makes it young again. now(), not
-- clock_timestamp(): a volatile bound cannot be an index condition (each batch would read the
-- whole table, and sort it); in autocommit mode now() is the statement's start, a moment before
-- the clock `claim` reads, so no answer goes that `claim` would not take over. The batch is
-- deleted by its rows' addresses, which its lock keeps from moving until the statement ends: as
-- `(agency_id, key) IN (SELECT ...)`, the worker's generic plan hashed the batch against a
-- sequential scan of every answer (37 ms a batch of 1,000 among 200,000 on PostgreSQL 15; so,
-- 1.9 ms).
DELETE FROM idempotency_keys
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM idempotency_keys
    WHERE created_at < now() - make_interval(hours => %(hours)s)
    ORDER BY created_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED));
