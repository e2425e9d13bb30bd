-- name: failed_authentication
-- A failed authentication from a client, judged against the client's rate (GCRA, as a key's
-- requests are in agencies.sql's authenticate): admitted, it moves the client's allowed_at one
-- spacing on (its 401 gets an audit entry of its own); refused, it adds one to the client's
-- tally instead (429, no entry: the next entry from the client takes the tally). One statement:
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
    INSERT INTO refused_authentications AS r (tally_id, refused)
    SELECT %(tally)s, 1 FROM judged WHERE NOT judged.admitted
    ON CONFLICT (tally_id) DO UPDATE SET refused = r.refused + 1
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
