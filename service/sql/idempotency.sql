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

-- name: remember
UPDATE idempotency_keys
SET status = %(status)s, location = %(location)s, media_type = %(media_type)s, body = %(body)s,
    withheld = %(withheld)s, batch_id = %(batch_id)s
WHERE agency_id = %(agency_id)s AND key = %(key)s;

-- name: purge
DELETE FROM idempotency_keys
WHERE created_at < clock_timestamp() - make_interval(hours => %(hours)s);
