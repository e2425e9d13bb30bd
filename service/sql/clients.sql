-- name: failed_authentication
-- A failed authentication from a client, judged against the client's rate (GCRA, as a key's
-- requests are in agencies.sql's authenticate): admitted, it moves the client's allowed_at one
-- spacing on (its 401 gets an audit entry of its own); refused, it adds one to the client's
-- tally instead (429, no entry: the next entry from the client takes the tally, or the worker's
-- once the client has been quiet for long: record_quiet_tallies). The tally keeps the client as
-- an entry names it and the time of its last refusal. One statement:
-- the row is locked first (FOR UPDATE reads it as the last request left it, not as it stood
-- when this statement began), so that two workers judging the same client one after the other
-- see each other's counts, and Retry-After is read from the row as judged.
WITH held AS (
    SELECT allowed_at FROM rate_limits WHERE key_id = %(limiter)s FOR UPDATE
),
judged AS (
    SELECT coalesce(held.allowed_at, '-infinity') <= clock_timestamp()
                                                    + spacing * (%(burst)s::integer - 1)
               AS admitted,
           greatest(1, ceil(extract(epoch FROM held.allowed_at - clock_timestamp()
                                               - spacing * (%(burst)s::integer - 1))))::integer
               AS retry_after,
           spacing
    FROM (SELECT make_interval(secs => 60.0 / %(per_minute)s::integer) AS spacing) AS rate
    LEFT JOIN held ON true
),
counted AS (
    INSERT INTO rate_limits AS r (key_id, allowed_at)
    SELECT %(limiter)s, clock_timestamp() + judged.spacing FROM judged WHERE judged.admitted
    ON CONFLICT (key_id) DO UPDATE
        SET allowed_at = greatest(r.allowed_at, clock_timestamp())
                         + make_interval(secs => 60.0 / %(per_minute)s::integer)
),
tallied AS (
    INSERT INTO refused_authentications AS r (tally_id, refused, client, last_refused_at)
    SELECT %(tally)s, 1, %(client)s, clock_timestamp() FROM judged WHERE NOT judged.admitted
    ON CONFLICT (tally_id) DO UPDATE
        SET refused = r.refused + 1, client = excluded.client,
            last_refused_at = excluded.last_refused_at
)
SELECT admitted, retry_after FROM judged;

-- name: forget_spent_rates
-- Rates that ran out: a row whose time has passed admits as no row would, so it can go. Without
-- this, every address that ever failed to authenticate would keep a row. An hour's margin: a
-- request admitted a moment ago (a batch, which charges its key when it ends) keeps its row.
-- A batch of the table at a time, in key order after `after` (no index of allowed_at, which
-- every request moves: it would cost each one an index write), one short transaction of its
-- own; says how many rows it read, the last key among them, and how many it deleted. A row that
-- a request moved on meanwhile is checked again as it now stands, and kept.
WITH scanned AS (
    SELECT key_id FROM rate_limits WHERE key_id > %(after)s ORDER BY key_id LIMIT %(batch)s
), forgotten AS (
    DELETE FROM rate_limits r USING scanned
    WHERE r.key_id = scanned.key_id AND r.allowed_at < clock_timestamp() - interval '1 hour'
    RETURNING r.key_id
)
SELECT (SELECT count(*) FROM scanned)::integer AS read,
       (SELECT key_id FROM scanned ORDER BY key_id DESC LIMIT 1) AS last,
       (SELECT count(*) FROM forgotten)::integer AS forgotten;

-- name: record_quiet_tallies
-- The tallies of clients refused (429) and quiet since for `quiet_seconds`: each count is named
-- in an audit entry of the worker's own (method WORKER, status 429, details.client and
-- details.refused_unrecorded as a 401's entry names them), and its tally deleted, in this one
-- statement, so that a count is never both taken and lost, nor written twice. Without it, a
-- client that never came back kept its row for ever, and its refusals were never in the trail.
-- The entries go through audit_link() like every other: numbered and hash-chained.
-- A batch of the table at a time, in tally order after `after`, as forget_spent_rates reads
-- rate_limits (no index of last_refused_at, which every refusal moves). A refusal counted
-- meanwhile: if it moved the tally first, the tally is checked again as it now stands (no longer
-- quiet) and kept, the count with it; if this statement took the tally first, the refusal waits
-- for the row and then counts in a new tally (INSERT ... ON CONFLICT finds none).
WITH scanned AS (
    SELECT tally_id FROM refused_authentications WHERE tally_id > %(after)s
    ORDER BY tally_id LIMIT %(batch)s
), taken AS (
    DELETE FROM refused_authentications r USING scanned
    WHERE r.tally_id = scanned.tally_id
      AND r.last_refused_at < clock_timestamp() - make_interval(secs => %(quiet_seconds)s)
    RETURNING r.tally_id, r.refused, r.client, r.last_refused_at
), recorded AS (
    INSERT INTO audit_log (id, method, route, path, status, details)
    SELECT uuid_v7(), 'WORKER', 'trace-registry worker', 'trace-registry worker', 429,
           jsonb_build_object(
               'client', taken.client,
               'refused_unrecorded', taken.refused,
               'last_refused_at',
               to_char(taken.last_refused_at AT TIME ZONE 'UTC',
                       'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'written_by', 'worker')
    FROM taken ORDER BY taken.last_refused_at, taken.tally_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM scanned)::integer AS read,
       (SELECT tally_id FROM scanned ORDER BY tally_id DESC LIMIT 1) AS last,
       (SELECT count(*) FROM recorded)::integer AS recorded;
