-- Version 6: a party's registration number is compared by its identity key (NFKC, upper case,
-- spaces and separators dropped: service/domain/registrations.py), stored beside the number as
-- written (registration_number_key), and unique by two rules instead of one: across agencies
-- among the unrestricted parties, which are shared and linked; per recording agency for a
-- restricted one, which so blocks nobody else's record of the number and tells nobody of it.
-- Until now the number as written was unique per country, whatever its classification: a
-- restricted or bogus party could squat a real company's number, and "HRB 12345" and
-- "HRB-12345" were two companies.
--
-- The parties recorded before are keyed here, in SQL, by the steps the code takes: exactly its
-- key for a number whose letters are ASCII once NFKC-normalised, the database's upper case for
-- other letters (Python's case mapping has no twin in PostgreSQL that is the same whatever the
-- database's locale). A number that was nothing but separators ("-", " / ") keys nothing.
--
-- Numbers that were two under the exact comparison may be one now ("HRB 12345" of one agency,
-- "HRB-12345" of another). The migration neither fails on them nor changes what was recorded
-- (the ledger's records stand as recorded, and no operator could resolve a refusal: a party is
-- never updated or deleted): the earliest recorded party keeps the key, and each later one that
-- the new rules would refuse beside it keeps its number as written and no key (NULL), so it is
-- not the registry's record of that number (nothing links to it, it blocks nothing). They are
-- named in a NOTICE, and listed afterwards by
--   SELECT id, country, registration_number, recorded_by_agency_id FROM parties
--   WHERE registration_number IS NOT NULL AND registration_number_key IS NULL;
-- The table is rewritten once (every party's row gets its key); the parties' writers wait.
ALTER TABLE parties
    ADD COLUMN registration_number_key text
        CONSTRAINT parties_registration_number_key_not_empty
        CHECK (registration_number_key <> ''),
    ADD CONSTRAINT parties_registration_number_key_of_a_number
        CHECK (registration_number IS NOT NULL OR registration_number_key IS NULL);

DROP INDEX parties_registration_unique;

-- A party is never updated, but by this migration: its new column is filled in.
ALTER TABLE parties DISABLE TRIGGER parties_append_only;

UPDATE parties
SET registration_number_key = nullif(
        normalize(
            translate(
                upper(translate(normalize(registration_number, NFKC),
                                'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')),
                -- service.domain.registrations.SEPARATORS
                E' \t\n\x0b\f\r\x1c\x1d\x1e\x1f\u0085\u1680\u2028\u2029'
                || E'-\u2010\u2011\u2012\u2013\u2014\u2015\u2212./',
                ''),
            NFKC),
        '')
WHERE registration_number IS NOT NULL;

-- The parties whose key another one has too, taken in the order they were recorded: one that
-- the new rules would refuse beside a party kept before it (both unrestricted, or both of one
-- agency) gives its key up.
CREATE TEMPORARY TABLE colliding_registration_keys AS
SELECT id, country, registration_number, registration_number_key AS key,
       classification <> 'RESTRICTED' AS shared, recorded_by_agency_id AS agency_id,
       recorded_at, true AS kept
FROM (SELECT p.*,
             count(*) OVER (PARTITION BY country, registration_number_key) AS holders
      FROM parties p WHERE registration_number_key IS NOT NULL) AS keyed
WHERE holders > 1;

DO $$
DECLARE
    party record;
    holder record;
BEGIN
    FOR party IN SELECT * FROM colliding_registration_keys ORDER BY recorded_at, id LOOP
        SELECT * INTO holder FROM colliding_registration_keys k
        WHERE k.kept AND k.country = party.country AND k.key = party.key
          AND (k.recorded_at, k.id) < (party.recorded_at, party.id)
          AND ((k.shared AND party.shared) OR k.agency_id = party.agency_id)
        ORDER BY k.recorded_at, k.id
        LIMIT 1;
        IF FOUND THEN
            UPDATE colliding_registration_keys SET kept = false WHERE id = party.id;
            RAISE NOTICE 'party % (%, "%") keeps no registration number key: party % (%, "%") recorded it first',
                party.id, party.country, party.registration_number,
                holder.id, holder.country, holder.registration_number;
        END IF;
    END LOOP;
END
$$;

UPDATE parties p SET registration_number_key = NULL
FROM colliding_registration_keys k
WHERE k.id = p.id AND NOT k.kept;

DROP TABLE colliding_registration_keys;

ALTER TABLE parties ENABLE TRIGGER parties_append_only;

-- The agency's own index first, as in schema.sql: checked first, it words an agency's number
-- recorded twice.
CREATE UNIQUE INDEX parties_registration_unique_per_agency
    ON parties (recorded_by_agency_id, country, registration_number_key)
    WHERE registration_number_key IS NOT NULL;
CREATE UNIQUE INDEX parties_registration_unique ON parties (country, registration_number_key)
    WHERE registration_number_key IS NOT NULL AND classification <> 'RESTRICTED';
