-- name: find_agency_by_name
SELECT id, name FROM agencies WHERE name = %(name)s;

-- name: agencies_read_alike
-- The agencies whose name reads as %(name)s: the same but for the direction marks and joiners,
-- which show nothing, and their normal form (compared in NFC, as the code keeps every name). The
-- one rule of find_agency_as_read, insert_agency, name_read_alike and create_agency, which the
-- repository puts in each (as eucs.sql's shipped_under). The index agencies_name_as_read
-- compares names as stored, and migration 0010 left twins that differ only in their normal form
-- as they were: when none of a group is in NFC, the index lets a name in NFC in. So a new name
-- is checked here too, by the running server's Unicode tables, rather than by an index whose
-- expression would depend on them (PostgreSQL 15 has Unicode 14, 18 has 16: an upgraded server
-- could disagree with the index it built). Agencies are a small reference table, named rarely:
-- each statement scans it.
SELECT id, name, created_at FROM agencies
WHERE normalize(translate(name, %(invisible)s, ''), NFC)
      = normalize(translate(%(name)s, %(invisible)s, ''), NFC);

-- name: find_agency_as_read
-- The agency whose name reads as this one, the one named exactly first (agencies named before
-- agencies_name_as_read, or before the NFC rule, may share a reading).
SELECT id, name FROM ({agencies_read_alike}) AS alike
ORDER BY name = %(name)s DESC, created_at, id
LIMIT 1;

-- name: insert_agency
-- Nothing when the name, or one that reads as it, is taken.
INSERT INTO agencies (name, country)
SELECT %(name)s, %(country)s
WHERE NOT EXISTS (SELECT FROM ({agencies_read_alike}) AS alike WHERE alike.name <> %(name)s)
ON CONFLICT DO NOTHING
RETURNING id, name;

-- name: name_read_alike
-- An agency whose name reads as this one and is not this one: why it was refused.
SELECT name FROM ({agencies_read_alike}) AS alike
WHERE name <> %(name)s
ORDER BY created_at, id
LIMIT 1;

-- name: create_agency
-- A new agency; nothing when a name that reads as it is stored; the name itself taken, or one
-- that reads as it stored meanwhile, is a unique violation (409). The name itself is left to
-- agencies_name_key, whose refusal says so.
INSERT INTO agencies (name, country)
SELECT %(name)s, %(country)s
WHERE NOT EXISTS (SELECT FROM ({agencies_read_alike}) AS alike WHERE alike.name <> %(name)s)
RETURNING id, name, country, created_at, 0 AS active_keys;

-- name: insert_api_key
INSERT INTO api_keys (agency_id, prefix, secret_hash, scopes, label, expires_at,
                      rate_limit_per_minute)
VALUES (%(agency_id)s, %(prefix)s, %(secret_hash)s, %(scopes)s, %(label)s, %(expires_at)s,
        %(rate_limit_per_minute)s)
RETURNING id, created_at;

-- name: authenticate
-- The key with this prefix and, when the presented key is that live key, the request admitted
-- against the key's rate (GCRA): allowed_at is the earliest time the next request conforms; a
-- request is admitted when it is at most `burst - 1` spacings early, and moves allowed_at one
-- spacing on. One statement, one round trip, on an UNLOGGED table (no flush at commit). The
-- hash equality here only decides whether to count the request; the service compares the
-- hashes again in constant time.
-- The request is judged at clock_timestamp() once the key's row is locked, not at now() (the
-- statement's start): on a busy machine a statement may wait milliseconds for its core or the
-- row while other requests move allowed_at on, and judged by its start it would look early.
-- `counted` false: the request was counted already (an import whose key the deployment's proxy
-- checked before taking its body, service.api.auth): the key is read, not counted again.
WITH key AS (
    SELECT k.id, k.prefix, k.secret_hash, k.scopes, k.expires_at, k.revoked_at,
           a.id AS agency_id, a.name AS agency_name,
           make_interval(secs => 60.0 / coalesce(k.rate_limit_per_minute,
                                                 %(default_per_minute)s::integer)) AS spacing
    FROM api_keys k JOIN agencies a ON a.id = k.agency_id
    WHERE k.prefix = %(prefix)s
),
admitted AS (
    INSERT INTO rate_limits AS r (key_id, allowed_at)
    SELECT key.id, now() + key.spacing FROM key
    WHERE key.secret_hash = %(secret_hash)s AND key.revoked_at IS NULL
      AND (key.expires_at IS NULL OR key.expires_at > now()) AND %(counted)s::boolean
    ON CONFLICT (key_id) DO UPDATE
        -- excluded.allowed_at - now() is the key's spacing
        SET allowed_at = greatest(r.allowed_at, clock_timestamp())
                         + (excluded.allowed_at - now())
        WHERE r.allowed_at
              <= clock_timestamp() + (excluded.allowed_at - now()) * (%(burst)s::integer - 1)
    RETURNING r.key_id
)
SELECT key.prefix, key.secret_hash, key.scopes, key.expires_at, key.revoked_at,
       key.agency_id, key.agency_name,
       EXISTS (SELECT 1 FROM admitted) OR NOT %(counted)s::boolean AS admitted,
       now() AS judged_at
FROM key;

-- name: retry_after
-- When a refused request's key will admit the next one. A statement of its own: authenticate
-- judged the key's row as it stood once it held it (another request's count, or a batch's
-- charge that committed while it waited, included), but a read of the row in that statement
-- would see it as it stood when the statement began, and answer 1 s where the key owes 10.
SELECT greatest(1, ceil(extract(epoch FROM
           r.allowed_at - clock_timestamp()
           - make_interval(secs => 60.0 / coalesce(k.rate_limit_per_minute,
                                                   %(default_per_minute)s::integer))
             * (%(burst)s::integer - 1))))::integer AS seconds
FROM rate_limits r JOIN api_keys k ON k.id = r.key_id
WHERE k.prefix = %(prefix)s;

-- name: charge_requests
-- A request that did the work of several (a batch trace of n weapons: n traces) pays for the
-- others once it is answered: the key's next request conforms that many spacings later. It was
-- admitted as one request, so a batch larger than the burst is still answered, and the key's
-- later requests wait until the rate has paid for it (429 with Retry-After meanwhile). Run in
-- the request's transaction, just before its commit: a batch that is refused costs one request.
UPDATE rate_limits r
SET allowed_at = greatest(r.allowed_at, clock_timestamp())
                 + make_interval(secs => 60.0 / coalesce(k.rate_limit_per_minute,
                                                         %(default_per_minute)s::integer))
                   * %(requests)s
FROM api_keys k
WHERE k.prefix = %(prefix)s AND r.key_id = k.id;

-- name: list_agencies
SELECT a.id, a.name, a.country, a.created_at,
       (SELECT count(*) FROM api_keys k
        WHERE k.agency_id = a.id AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now()))::integer AS active_keys
FROM agencies a
WHERE a.id > %(after)s
ORDER BY a.id
LIMIT %(limit)s;

-- name: get_agency
SELECT a.id, a.name, a.country, a.created_at,
       (SELECT count(*) FROM api_keys k
        WHERE k.agency_id = a.id AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now()))::integer AS active_keys
FROM agencies a
WHERE a.id = %(id)s;

-- name: list_api_keys
-- Keys, newest first; of one agency when agency_id is given.
SELECT k.id, k.prefix, k.scopes, k.label, k.rate_limit_per_minute, k.created_at, k.expires_at,
       k.revoked_at, k.revoked_reason, a.id AS agency_id, a.name AS agency_name
FROM api_keys k JOIN agencies a ON a.id = k.agency_id
WHERE (k.agency_id = %(agency_id)s OR %(agency_id)s::uuid IS NULL)
  AND k.id < %(before)s
ORDER BY k.id DESC
LIMIT %(limit)s;

-- name: get_api_key
SELECT k.id, k.prefix, k.scopes, k.label, k.rate_limit_per_minute, k.created_at, k.expires_at,
       k.revoked_at, k.revoked_reason, a.id AS agency_id, a.name AS agency_name
FROM api_keys k JOIN agencies a ON a.id = k.agency_id
WHERE k.prefix = %(prefix)s;

-- name: revoke_api_key
-- Revoked at once: the next request with the key finds revoked_at set. With keep_an_admin, a
-- key that can administer is revoked only while another live one remains: the API would
-- otherwise be left with no key that could give an agency a key again or read the trail. The
-- live admin keys are locked first, so that two admins who revoke each other's keys at once
-- cannot both see the other's as the one that remains: the second waits for the first to
-- commit, and counts again (READ COMMITTED reads a locked row's newest version).
WITH live_admins AS (
    SELECT prefix FROM api_keys
    WHERE scopes @> ARRAY['registry:admin'] AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > now())
    FOR UPDATE
)
UPDATE api_keys k SET revoked_at = now(), revoked_reason = %(reason)s
WHERE k.prefix = %(prefix)s AND k.revoked_at IS NULL
  AND (NOT %(keep_an_admin)s OR NOT k.scopes @> ARRAY['registry:admin']
       OR EXISTS (SELECT 1 FROM live_admins WHERE live_admins.prefix <> %(prefix)s))
RETURNING k.id;

-- name: set_agency_country
-- An agency's country, set or corrected; the country it replaces comes back for the audit
-- trail. The row is locked first, so that of two corrections at once the second waits and
-- reports the first's country as the one it replaced.
WITH before AS (SELECT id, country FROM agencies WHERE id = %(id)s FOR UPDATE)
UPDATE agencies a SET country = %(country)s
FROM before
WHERE a.id = before.id
RETURNING before.country AS replaced;

-- name: known_countries
SELECT code, name FROM countries ORDER BY code;

-- name: recorded_counts
-- How many records of each kind an agency has recorded (declarations: those it made).
SELECT (SELECT count(*) FROM parties WHERE recorded_by_agency_id = %(agency_id)s) AS parties,
       (SELECT count(*) FROM items WHERE recorded_by_agency_id = %(agency_id)s) AS items,
       (SELECT count(*) FROM end_user_certificates
        WHERE recorded_by_agency_id = %(agency_id)s) AS eucs,
       (SELECT count(*) FROM custody_events WHERE recorded_by_agency_id = %(agency_id)s) AS events,
       (SELECT count(*) FROM event_error_declarations
        WHERE declared_by_agency_id = %(agency_id)s) AS declarations,
       (SELECT count(*) FROM euc_revocations
        WHERE recorded_by_agency_id = %(agency_id)s) AS revocations,
       (SELECT count(*) FROM reexport_consents
        WHERE recorded_by_agency_id = %(agency_id)s) AS consents,
       (SELECT count(*) FROM delivery_verifications
        WHERE recorded_by_agency_id = %(agency_id)s) AS delivery_verifications,
       (SELECT count(*) FROM party_verifications
        WHERE recorded_by_agency_id = %(agency_id)s) AS party_verifications;
