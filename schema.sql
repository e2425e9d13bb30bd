-- trace-registry: the one source of the tables.
--
-- Applied as a whole, in one transaction, by `trace-registry db init` when the database has no
-- `schema_version` row yet (see service/schema_setup.py). It targets PostgreSQL 15 and newer.
--
-- The registry is a ledger: recorded facts (parties, items, certificates, custody events, error
-- declarations) are inserted and never updated or deleted. A trigger refuses UPDATE, DELETE and
-- TRUNCATE on them, so that neither a bug nor a stolen credential can rewrite history. A
-- correction is a new record that declares an earlier one erroneous; both stay visible.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- Which schema the database holds: trace-registry db init records the version and a SHA-256 of
-- this file when it applies it, and refuses to serve a database set up from another one.
CREATE TABLE schema_version (
    version      integer PRIMARY KEY,
    fingerprint  text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now()
);

-- The Unicode version the stored keys were folded under: every lookup key (items' serial_norm,
-- manufacturer_key and model_key, item_serials, certificates' certificate_key, parties'
-- registration_number_key, manufacturer_aliases' alias_key) is folded in Python by the rules of
-- its unicodedata (service.domain.serials, service.domain.registrations), which follow the
-- interpreter: Python 3.11 is Unicode 14.0.0, 3.12 15.0.0, 3.13 15.1.0. A character assigned
-- since folds otherwise, and a key folded under one version is silently missed by a lookup
-- under another. `db init` records the version of the Python that applies this file; every
-- process that folds keys refuses a database of another version (service/schema_setup.py)
-- until `trace-registry db refold` folds them again. One row per folding; the last is in force.
CREATE TABLE key_folding (
    folding          integer PRIMARY KEY CHECK (folding > 0),
    unicode_version  text NOT NULL CHECK (unicode_version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    folded_at        timestamptz NOT NULL DEFAULT now()
);

-- Time-ordered UUIDs (RFC 9562 version 7) keep index inserts local. PostgreSQL 18 has uuidv7(),
-- PostgreSQL 15 does not, so the registry carries its own. Like PostgreSQL 18's, it puts the
-- sub-millisecond part of the clock in the 12 bits after the version (RFC 9562, method 3), so
-- that ids made one after another in a session sort in the order they were made. PARALLEL
-- UNSAFE: a volatile SQL function starts a new command for its statement, which no process may
-- do in a parallel plan once its statement has written (CREATE TABLE ... AS SELECT uuid_v7() ...
-- failed with "cannot start commands during a parallel operation"; migration 0014).
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT encode(
        overlay(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(clock.ms)::bigint) FROM 3) FROM 1 FOR 6)
            PLACING int2send((28672 + floor((clock.ms - floor(clock.ms)) * 4096))::smallint)
            FROM 7 FOR 2),
        'hex')::uuid
    FROM (SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms) AS clock
$$;

-- The confusable skeleton of a normalised serial: O, Q and D read as 0; I and L as 1; S as 5;
-- B as 8; Z as 2; G as 6.
CREATE FUNCTION serial_skeleton(serial_norm text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN translate(serial_norm, 'OQDILSBZG', '000115826');

-- A normalised serial with the letters that sit between two digits left out (NCIC practice).
CREATE FUNCTION serial_ncic(serial_norm text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(serial_norm, '(?<=[0-9])[^0-9]+(?=[0-9])', '', 'g');

CREATE FUNCTION refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the registry is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'TRL01',
              HINT = 'Record a correction (an error declaration) instead of changing history.';
END
$$;

-- Who may read a record: every agency (UNRESTRICTED), or only the agency that recorded it
-- (RESTRICTED). Other agencies see that a restricted record exists, its date and the agency to
-- contact, never its parties, documents or references (service/domain/disclosure.py).
CREATE DOMAIN classification AS text NOT NULL DEFAULT 'UNRESTRICTED'
    CHECK (VALUE IN ('UNRESTRICTED', 'RESTRICTED'));

-- Reference data -------------------------------------------------------------------------------

CREATE TABLE countries (
    code  char(2) PRIMARY KEY CHECK (code ~ '^[A-Z]{2}$'),
    name  text NOT NULL
);

CREATE DOMAIN party_kind AS text CHECK (VALUE IN (
    'MANUFACTURER', 'EXPORTER', 'IMPORTER', 'BROKER', 'GOVERNMENT', 'ARMED_FORCES',
    'LAW_ENFORCEMENT', 'DEALER', 'PRIVATE_HOLDER', 'NON_STATE_ARMED_GROUP',
    'INTERNATIONAL_ORGANISATION', 'OTHER'));

CREATE DOMAIN item_category AS text CHECK (VALUE IN (
    'PISTOL', 'REVOLVER', 'RIFLE', 'CARBINE', 'ASSAULT_RIFLE', 'SHOTGUN', 'SUBMACHINE_GUN',
    'MACHINE_GUN', 'HEAVY_MACHINE_GUN', 'GRENADE_LAUNCHER', 'RECOILLESS_RIFLE',
    'ANTI_TANK_WEAPON', 'ATGM', 'MANPADS', 'MORTAR', 'ARTILLERY', 'OTHER'));

CREATE DOMAIN event_type AS text CHECK (VALUE IN (
    'MANUFACTURE', 'EXPORT', 'IMPORT', 'TRANSFER', 'LOSS', 'THEFT', 'SEIZURE', 'RECOVERY',
    'DESTRUCTION', 'DEACTIVATION'));

-- Makers of small arms and light weapons under the names they go by (Izhmash and Kalashnikov
-- Concern; FN and FN Herstal). Keys are normalised names (service.domain.serials.normalise_name).
-- A reference table: small, read-mostly, held whole on every node of a distributed database.
CREATE TABLE manufacturers (
    key      text PRIMARY KEY CHECK (key <> ''),
    name     text NOT NULL,
    country  char(2) REFERENCES countries (code),
    notes    text
);

-- Every name a manufacturer goes by, its own name included.
CREATE TABLE manufacturer_aliases (
    alias_key         text PRIMARY KEY CHECK (alias_key <> ''),
    alias             text NOT NULL,
    manufacturer_key  text NOT NULL REFERENCES manufacturers (key)
);
CREATE INDEX manufacturer_aliases_manufacturer ON manufacturer_aliases (manufacturer_key);

-- The key that items record for a manufacturer's name: the reference manufacturer's when the
-- name is one of its aliases, else the normalised name itself.
CREATE FUNCTION manufacturer_key_for(name_key text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN coalesce((SELECT manufacturer_key FROM manufacturer_aliases WHERE alias_key = name_key),
                name_key);

-- Agencies and their keys (not ledger: keys are revoked and expire) -----------------------------

CREATE TABLE agencies (
    id          uuid PRIMARY KEY DEFAULT uuid_v7(),
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    country     char(2) REFERENCES countries (code),
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Unique as read, too: but for the direction marks and joiners, which show nothing
-- (service.domain.text.KEPT_FORMAT_CHARACTERS), two names would be two agencies that every
-- notification names alike.
CREATE UNIQUE INDEX agencies_name_as_read
    ON agencies ((translate(name, E'\u061c\u200c\u200d\u200e\u200f', '')));

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT uuid_v7(),
    agency_id    uuid NOT NULL REFERENCES agencies (id),
    -- the public part of the key, shown in listings and audit entries
    prefix       text NOT NULL UNIQUE,
    -- SHA-256 of the whole key; the key itself is never stored
    secret_hash  bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes       text[] NOT NULL
                 CHECK (scopes <@ ARRAY['trace:read', 'registry:write', 'registry:admin']::text[]),
    label        text CHECK (length(label) <= 200),
    -- requests a minute this key may make; NULL: the service's default
    -- (TRACE_REGISTRY_RATE_LIMIT_PER_MINUTE)
    rate_limit_per_minute  integer CHECK (rate_limit_per_minute BETWEEN 1 AND 1000000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    revoked_reason  text CHECK (length(revoked_reason) <= 500)
);
CREATE INDEX api_keys_agency ON api_keys (agency_id, created_at);

-- A key is never deleted (audit entries name it) and only its revocation may be recorded, once.
CREATE FUNCTION refuse_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
       OR (to_jsonb(NEW) - 'revoked_at' - 'revoked_reason')
          <> (to_jsonb(OLD) - 'revoked_at' - 'revoked_reason') THEN
        RAISE EXCEPTION 'an API key can only be revoked, once'
            USING ERRCODE = 'TRL01';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER api_keys_revoke_only BEFORE UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION refuse_key_change();

-- Per-key rate limits (GCRA): the earliest time the key's next request conforms to its rate,
-- moved ahead by one interval per request admitted. Shared by every worker and host. UNLOGGED:
-- no write-ahead log and no flush at commit, so admitting a request costs no disk write; after a
-- crash the table starts empty, which only forgives some requests. It also holds each client's
-- rate of failed authentications (service.api.auth), under name-based ids that never meet a
-- key's (service.domain.clients). A row whose time has passed says no more than no row would:
-- `trace-registry worker` deletes those.
CREATE UNLOGGED TABLE rate_limits (
    key_id      uuid PRIMARY KEY,
    allowed_at  timestamptz NOT NULL
);

-- How many of a client's failed authentications were refused (429) and not yet named in the audit
-- trail: its next entry takes the count (details.refused_unrecorded) in the statement that writes
-- it, or, once the client has been quiet for a while, `trace-registry worker` writes an entry of
-- its own that names the count and the client (clients.sql, record_quiet_tallies). UNLOGGED like
-- rate_limits: a crash forgets counts, not entries.
CREATE UNLOGGED TABLE refused_authentications (
    tally_id         uuid PRIMARY KEY,
    refused          bigint NOT NULL CHECK (refused > 0),
    -- the client as its entries name it (details.client): the address of its last refusal
    -- (NULL only for a tally counted before version 7, which did not keep it)
    client           text,
    -- moved by each refusal; no index (each refusal would write it): the worker reads the
    -- table in batches by tally_id, as it reads rate_limits
    last_refused_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Idempotent writes: the answer to each POST sent with an `Idempotency-Key`, per agency, so that
-- a request sent again (a flaky link, a client's retry) answers the same without storing twice.
-- The row is written in the request's own transaction: a request that fails leaves none, and a
-- second request with the same key waits on the first's row until the first commits or aborts.
-- Kept at least 24 hours (TRACE_REGISTRY_IDEMPOTENCY_HOURS); `trace-registry worker` purges older.
CREATE TABLE idempotency_keys (
    agency_id      uuid NOT NULL REFERENCES agencies (id),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the method, path, media type and body: "the same request"
    fingerprint    bytea NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    status         smallint NOT NULL,
    location       text,
    media_type     text NOT NULL,
    body           bytea NOT NULL,
    -- an answer that carried a secret (a new API key) is not kept; a replay says so instead
    withheld       boolean NOT NULL DEFAULT false,
    -- a batch trace's answer (up to 1,000 traces, 100 MB and more) is not kept twice: it is
    -- made again from the batch's stored traces, which hold it (body then empty)
    batch_id       uuid,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (agency_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- The registry (ledger) -------------------------------------------------------------------------
--
-- Where a column says `references`, the database checks it once per statement ("References
-- within the ledger", below), not with a foreign key.

CREATE TABLE parties (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    name                   text NOT NULL,
    kind                   party_kind NOT NULL,
    country                char(2) NOT NULL, -- references countries
    registration_number    text,
    address                text,
    classification         classification,
    recorded_by_agency_id  uuid NOT NULL, -- references agencies
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the number's identity key: NFKC, upper case, spaces and separators (- . /) dropped, so
    -- that "HRB 12345" and "hrb-12345" are one number (service/domain/registrations.py). NULL
    -- without a number, and for a number recorded before version 6 whose key an earlier party
    -- holds (migration 0006 kept both records, as recorded; the earlier one is the number's)
    registration_number_key text
        CONSTRAINT parties_registration_number_key_not_empty
        CHECK (registration_number_key <> ''),
    CONSTRAINT parties_registration_number_key_of_a_number
        CHECK (registration_number IS NOT NULL OR registration_number_key IS NULL)
);
-- A registered company or authority is one record per country among the unrestricted parties,
-- which every agency reads and an import links to, whoever recorded them. A restricted party is
-- unique only among its own agency's: it blocks nobody else's record of the number, so that no
-- agency can squat a real company's number, nor learn from a refusal that another agency keeps
-- a restricted record of it.
-- Made first, so checked first (PostgreSQL checks a row's indexes in the order of their OIDs,
-- that is of their making): an agency's number twice is refused as its own, not as anybody's.
CREATE UNIQUE INDEX parties_registration_unique_per_agency
    ON parties (recorded_by_agency_id, country, registration_number_key)
    WHERE registration_number_key IS NOT NULL;
CREATE UNIQUE INDEX parties_registration_unique ON parties (country, registration_number_key)
    WHERE registration_number_key IS NOT NULL AND classification <> 'RESTRICTED';

CREATE TABLE items (
    id                      uuid PRIMARY KEY DEFAULT uuid_v7(),
    manufacturer            text NOT NULL,
    -- normalised manufacturer and model: what identity and lookup compare
    manufacturer_key        text NOT NULL CHECK (manufacturer_key <> ''),
    model                   text NOT NULL,
    model_key               text NOT NULL CHECK (model_key <> ''),
    category                item_category NOT NULL,
    caliber                 text,
    -- exactly as marked on the weapon
    serial_number           text NOT NULL,
    -- upper-case, separators removed, Cyrillic and Greek look-alikes folded to Latin, compatibility
    -- forms (full-width, superscript and modifier letters, circled digits) to their letters and
    -- digits (service/domain/serials.py; migration 0010 keyed again the rows that held the
    -- modifier letters earlier versions dropped)
    serial_norm             text NOT NULL CHECK (serial_norm <> ''),
    -- characters that examiners and OCR confuse made one (service/domain/matching.py says the
    -- same in Python; a test keeps the two in step)
    serial_skeleton         text NOT NULL GENERATED ALWAYS AS (serial_skeleton(serial_norm)) STORED,
    -- the NCIC practice: letters embedded between digits ignored
    serial_ncic             text NOT NULL GENERATED ALWAYS AS (serial_ncic(serial_norm)) STORED,
    country_of_manufacture  char(2), -- references countries
    year_of_manufacture     smallint CHECK (year_of_manufacture BETWEEN 1800 AND 2100),
    -- [{"country": "FR", "year": 2011, "marking": "..."}]
    import_markings         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(import_markings) = 'array'),
    other_markings          text,
    recorded_by_agency_id   uuid NOT NULL, -- references agencies
    recorded_at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A serial is unique per manufacturer and model, never globally. Led by the serial so that an
-- equality lookup on serial_norm uses this btree (a trace's first tiers).
CREATE UNIQUE INDEX items_identity ON items (serial_norm, manufacturer_key, model_key);
CREATE INDEX items_serial_skeleton ON items (serial_skeleton);
CREATE INDEX items_serial_ncic ON items (serial_ncic);
-- A maker's items in order, each with its skeleton: the near-miss search of a named maker reads
-- every one of its serials from this index alone (an index-only scan; see traces.sql,
-- maker_near_miss_candidates), not from the items' rows.
CREATE INDEX items_manufacturer ON items (manufacturer_key, id) INCLUDE (serial_skeleton);

-- What partial serials (LIKE) and near misses (similarity) search: every item's normalised serial,
-- manufacturer and model, apart from the items. A trigram search rechecks each row its index
-- proposes (hundreds for a near miss); these rows are a seventh of an item's width, so the recheck
-- reads far fewer pages: near-miss searches of 1,000,000 items ran 1.35 times faster, their wide
-- retry 1.6 times (see README, Benchmarks). The maker and the model are here so that, when more
-- items match than a search keeps, the named maker's and model's are kept first without reading
-- the items (service/sql/traces.sql). Written by the trigger below with every insert into items
-- (COPY included), in the same statement; items are never updated or deleted, so neither are
-- these rows (but for `db refold`, which folds their keys again with the items'). No key or
-- foreign key: the trigger is the only writer, once per item.
CREATE TABLE item_serials (
    item_id           uuid NOT NULL,
    serial_norm       text NOT NULL,
    manufacturer_key  text NOT NULL,
    model_key         text NOT NULL
);
CREATE INDEX item_serials_trigrams ON item_serials USING gin (serial_norm gin_trgm_ops);

CREATE FUNCTION item_serials_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- named with its schema: a session's temporary item_serials must not take the rows
    INSERT INTO public.item_serials (item_id, serial_norm, manufacturer_key, model_key)
    SELECT id, serial_norm, manufacturer_key, model_key FROM added;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_searchable AFTER INSERT ON items
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION item_serials_add();

CREATE TABLE end_user_certificates (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    certificate_number     text NOT NULL,
    certificate_key        text NOT NULL CHECK (certificate_key <> ''),
    issuing_country        char(2) NOT NULL, -- references countries
    issuing_authority      text NOT NULL,
    issued_on              date NOT NULL,
    expires_on             date CHECK (expires_on >= issued_on),
    exporter_party_id      uuid, -- references parties
    end_user_party_id      uuid NOT NULL, -- references parties
    destination_country    char(2) NOT NULL, -- references countries
    stated_end_use         text NOT NULL,
    non_reexport_clause    boolean NOT NULL,
    recorded_by_agency_id  uuid NOT NULL, -- references agencies
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (issuing_country, certificate_key)
);

CREATE TABLE euc_line_items (
    euc_id       uuid NOT NULL, -- references end_user_certificates
    line_number  smallint NOT NULL CHECK (line_number > 0),
    description  text NOT NULL,
    category     item_category,
    model        text,
    quantity     integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (euc_id, line_number)
);

-- One act (a shipment, a seizure) covers one or many items.
CREATE TABLE custody_events (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    event_type             event_type NOT NULL,
    occurred_on            date NOT NULL,
    -- where the act took place
    country                char(2) NOT NULL, -- references countries
    -- for exports and cross-border transfers: where the goods were sent
    destination_country    char(2), -- references countries
    from_party_id          uuid, -- references parties
    -- who physically holds the items after the event
    to_party_id            uuid, -- references parties
    -- who owns them after the event, where that is not the holder (state-owned arms held by a unit)
    owner_party_id         uuid, -- references parties
    euc_id                 uuid, -- references end_user_certificates
    -- with euc_id, references euc_line_items
    euc_line_number        smallint,
    -- how many items the event covers (a shipment's size, summed to check a line's quantity)
    item_count             integer NOT NULL CHECK (item_count > 0),
    licence_number         text,
    document_reference     text,
    notes                  text,
    classification         classification,
    recorded_by_agency_id  uuid NOT NULL, -- references agencies
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (from_party_id IS DISTINCT FROM to_party_id OR event_type IN ('LOSS', 'THEFT', 'DESTRUCTION', 'DEACTIVATION')),
    CHECK (euc_line_number IS NULL OR euc_id IS NOT NULL)
);
CREATE INDEX custody_events_euc ON custody_events (euc_id, euc_line_number, occurred_on)
    WHERE euc_id IS NOT NULL;

-- What a trace reads per item, stored next to the item (the item is the distribution key).
CREATE TABLE custody_event_items (
    item_id   uuid NOT NULL, -- references items
    event_id  uuid NOT NULL, -- references custody_events
    PRIMARY KEY (item_id, event_id)
);
CREATE INDEX custody_event_items_event ON custody_event_items (event_id);

-- EPCIS-style error declaration: the event stays, marked erroneous, with the reason and the
-- events that correct it.
CREATE TABLE event_error_declarations (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    event_id               uuid NOT NULL UNIQUE REFERENCES custody_events (id),
    reason                 text NOT NULL CHECK (reason IN ('DID_NOT_OCCUR', 'INCORRECT_DATA')),
    explanation            text NOT NULL,
    corrective_event_ids   uuid[] NOT NULL DEFAULT '{}',
    declared_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    declared_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A corrective event records again an act recorded before it: the act's place among the day's
-- exports under a certificate line, which are counted towards the line's quantity in the order
-- they were made (date, then when the act was first recorded), is the place of the event it
-- corrects, not the end of the day. By when the correction was recorded, the shipment the day's
-- later export took over the line read as the one that took it over. For each event a
-- declaration names as corrective (and the corrections of corrections after it), derived by the
-- declarations' trigger, corrected_acts_placed; chains order a day's events the same way
-- (service.domain.custody.in_chain_order).
CREATE TABLE corrected_acts (
    event_id           uuid PRIMARY KEY REFERENCES custody_events (id),
    first_recorded_at  timestamptz NOT NULL
);

-- Security definer: the service may read corrected_acts, never write it (REVOKE below), so no
-- request can move an act but by declaring an event erroneous. A time only falls, so the
-- recursion ends, corrections that name each other included. The declarations that name
-- corrective events (rare) are placed one at a time, to commit (advisory lock 74108): two at
-- once in one chain of corrections each missed the other's uncommitted row, and the last
-- correction kept the middle one's time for good. Each statement here reads what committed
-- before it (READ COMMITTED, a volatile function).
CREATE FUNCTION corrected_acts_placed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(74108, 0);
    INSERT INTO corrected_acts AS placed (event_id, first_recorded_at)
    WITH RECURSIVE acts (event_id, first_recorded_at) AS (
        SELECT c.id, least(c.recorded_at, coalesce(a.first_recorded_at, corrected.recorded_at))
        FROM custody_events corrected
        LEFT JOIN corrected_acts a ON a.event_id = corrected.id
        JOIN custody_events c ON c.id = ANY (NEW.corrective_event_ids)
        WHERE corrected.id = NEW.event_id
        UNION
        SELECT c.id, least(c.recorded_at, acts.first_recorded_at)
        FROM acts
        JOIN event_error_declarations d ON d.event_id = acts.event_id
        JOIN custody_events c ON c.id = ANY (d.corrective_event_ids)
    )
    SELECT event_id, min(first_recorded_at) FROM acts GROUP BY event_id
    ON CONFLICT (event_id) DO UPDATE
        SET first_recorded_at = least(placed.first_recorded_at, EXCLUDED.first_recorded_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER corrected_acts_placed AFTER INSERT ON event_error_declarations
    FOR EACH ROW WHEN (cardinality(NEW.corrective_event_ids) > 0)
    EXECUTE FUNCTION corrected_acts_placed();

-- What happens to a certificate after it is issued, each a record of its own (the certificate
-- itself never changes) -------------------------------------------------------------------------

-- A certificate has at most one revocation that stands: one not withdrawn (below). Only the
-- agency that recorded the certificate records them (service.domain.certificates).
CREATE TABLE euc_revocations (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    euc_id                 uuid NOT NULL REFERENCES end_user_certificates (id),
    revoked_on             date NOT NULL,
    reason                 text NOT NULL,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX euc_revocations_euc ON euc_revocations (euc_id);

-- A revocation recorded in error, withdrawn: the certificate reads as never revoked by it, and
-- may be revoked again. Both records stay.
CREATE TABLE euc_revocation_withdrawals (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    revocation_id          uuid NOT NULL UNIQUE REFERENCES euc_revocations (id),
    reason                 text NOT NULL,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- At most one standing revocation per certificate, which no index can say (withdrawals are rows
-- of another table). The check takes the certificate's advisory lock, the one every writer of
-- facts about the certificate takes (service.repository.alerts.lock_certificates, whose lock
-- space and stripes these are), so that two revocations sent at once cannot both see none
-- standing; a request already holds it, and takes it again for nothing. A volatile function's
-- statements each see what was committed before them, the other revocation too.
CREATE FUNCTION euc_revocations_one_standing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(74106, hashtext(NEW.euc_id::text) & 255);
    IF EXISTS (SELECT 1 FROM euc_revocations r
               WHERE r.euc_id = NEW.euc_id
                 AND NOT EXISTS (SELECT 1 FROM euc_revocation_withdrawals w
                                 WHERE w.revocation_id = r.id)) THEN
        RAISE unique_violation USING
            MESSAGE = 'the certificate already has a standing revocation',
            CONSTRAINT = 'euc_revocations_one_standing', TABLE = TG_TABLE_NAME,
            SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER euc_revocations_one_standing BEFORE INSERT ON euc_revocations
    FOR EACH ROW EXECUTE FUNCTION euc_revocations_one_standing();

-- The exporter's written consent to re-transfer items of a certificate to a new end user.
CREATE TABLE reexport_consents (
    id                       uuid PRIMARY KEY DEFAULT uuid_v7(),
    euc_id                   uuid NOT NULL REFERENCES end_user_certificates (id),
    granted_on               date NOT NULL,
    granted_by               text NOT NULL,
    new_end_user_party_id    uuid REFERENCES parties (id),
    new_destination_country  char(2) NOT NULL REFERENCES countries (code),
    -- at most this many items; the items themselves when the consent names them
    quantity                 integer CHECK (quantity > 0),
    document_reference       text,
    recorded_by_agency_id    uuid NOT NULL REFERENCES agencies (id),
    recorded_at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reexport_consents_euc ON reexport_consents (euc_id);

CREATE TABLE reexport_consent_items (
    consent_id  uuid NOT NULL REFERENCES reexport_consents (id),
    item_id     uuid NOT NULL REFERENCES items (id),
    PRIMARY KEY (consent_id, item_id)
);

-- Version 8: a consent recorded in error, withdrawn (by the agency that recorded it, or an
-- administrator): it covers no re-transfer, from the start, and stays in history. At most one
-- withdrawal a consent. Append-only, as the ledger (its triggers follow the ledger's, below).
CREATE TABLE reexport_consent_withdrawals (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    consent_id             uuid NOT NULL UNIQUE REFERENCES reexport_consents (id),
    reason                 text NOT NULL,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Version 18: how a standing consent that gives a quantity and names no items is shared out
-- over the items shipped under its certificate: each share is an item, and the move that took
-- it (the first move the findings rules read as needing the consent, in the order the moves
-- were made). Derived, not recorded: service/consent_shares.py derives a certificate's shares
-- again under its advisory lock whenever a fact about it or its items' moves is recorded, and
-- `trace-registry alerts rebuild` derives them all. A consent withdrawn keeps the shares it had
-- (it covers nothing; the findings say which items it had covered). A consent with a row in consent_share_outs
-- has its shares derived (covers the items it shares with, and no other); one without (a
-- database migrated from version 17, until the rebuild) covers every item, as before.
CREATE TABLE consent_shares (
    consent_id  uuid NOT NULL REFERENCES reexport_consents (id),
    item_id     uuid NOT NULL, -- references items
    event_id    uuid NOT NULL, -- references custody_events: the move that took the share
    PRIMARY KEY (consent_id, item_id)
);
CREATE TABLE consent_share_outs (
    consent_id  uuid PRIMARY KEY REFERENCES reexport_consents (id),
    derived_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Version 18: the standing consents that give a quantity and name no items, those shared out
-- over the items that need them (service/domain/consent_shares.py): the one place that says
-- which consents are (service/sql/consent_shares.sql reads it).
CREATE VIEW consents_of_a_quantity AS
SELECT c.*
FROM reexport_consents c
WHERE c.quantity IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM reexport_consent_items ci WHERE ci.consent_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw WHERE cw.consent_id = c.id);

-- A post-shipment check that the goods reached the certificate's end user.
CREATE TABLE delivery_verifications (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    euc_id                 uuid NOT NULL REFERENCES end_user_certificates (id),
    verified_on            date NOT NULL,
    verifying_authority    text NOT NULL,
    country                char(2) NOT NULL REFERENCES countries (code),
    notes                  text,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX delivery_verifications_euc ON delivery_verifications (euc_id);

-- The items seen, when the check names them (none named: the whole shipment was seen).
CREATE TABLE delivery_verification_items (
    verification_id  uuid NOT NULL REFERENCES delivery_verifications (id),
    item_id          uuid NOT NULL REFERENCES items (id),
    PRIMARY KEY (verification_id, item_id)
);

-- An agency's check that a party is who and what it says (a licence, a visit, a registry).
CREATE TABLE party_verifications (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    party_id               uuid NOT NULL REFERENCES parties (id),
    verified_on            date NOT NULL,
    method                 text NOT NULL,
    notes                  text,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX party_verifications_party ON party_verifications (party_id);

-- Bulk imports (POST /v1/imports, `trace-registry import`): one record per file, what it stored
-- or why it stored nothing. A file is one transaction: every record or none.
CREATE TABLE imports (
    id              uuid PRIMARY KEY DEFAULT uuid_v7(),
    agency_id       uuid NOT NULL REFERENCES agencies (id),
    status          text NOT NULL CHECK (status IN ('COMPLETED', 'FAILED')),
    media_type      text NOT NULL,
    -- for CSV, one record type per file
    record_type     text CHECK (record_type IN ('party', 'item', 'euc', 'event')),
    -- SHA-256 of the file as received
    sha256          bytea NOT NULL,
    lines           integer NOT NULL,
    -- per record type: {"party": 3, "item": 120, ...}
    stored          jsonb NOT NULL,
    already_present jsonb NOT NULL,
    error_count     integer NOT NULL,
    -- the first errors (TRACE_REGISTRY_IMPORT_ERRORS_KEPT): [{"line", "field", "detail"}]
    errors          jsonb NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX imports_agency ON imports (agency_id, id);

-- Large import files (or any sent with `Prefer: respond-async`) wait here for
-- `trace-registry worker`: kept in PostgreSQL, not on the API's disk, so that any worker on any
-- machine can load them. A worker leases a job, loads it in one transaction that also records the
-- import and deletes the job, and a worker that dies leaves a lease that runs out.
CREATE TABLE import_jobs (
    id           uuid PRIMARY KEY,
    agency_id    uuid NOT NULL REFERENCES agencies (id),
    media_type   text NOT NULL,
    record_type  text CHECK (record_type IN ('party', 'item', 'euc', 'event')),
    sha256       bytea NOT NULL,
    size         bigint NOT NULL,
    queued_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at   timestamptz,
    lease_until  timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    -- the key that queued the file: the worker loads it only while that key is active; NULL for
    -- a job queued before version 4 whose request's audit entry named no key
    sent_by_key_prefix  text REFERENCES api_keys (prefix)
);
CREATE INDEX import_jobs_queue ON import_jobs (queued_at);
CREATE TABLE import_job_chunks (
    job_id  uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The sender's own reference keys (its ids) of the records it imported: how later records and
-- later files refer to them, and how a file sent again is recognised record by record. A
-- reference is an id, equal only to the same bytes, and compared byte by byte ("C", as in the
-- import's staging tables): in the database's default collation (libc's C.UTF-8 here) every
-- comparison went through strcoll, and an import's 1,000,000 references were indexed in 0.95 s,
-- against 0.30 s in "C" (PostgreSQL 18). No order of references is shown to anyone.
CREATE TABLE import_references (
    agency_id    uuid NOT NULL, -- references agencies
    record_type  text NOT NULL CHECK (record_type IN ('party', 'item', 'euc', 'event')),
    reference    text COLLATE "C" NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    record_id    uuid NOT NULL,
    import_id    uuid NOT NULL, -- references imports
    PRIMARY KEY (agency_id, record_type, reference)
);
-- The references bound to a record, by the record: an import finds a record it linked (another
-- agency's) under a second reference of the agency (imports.sql, check_identities). Events are
-- never linked, and are most of the references: left out.
CREATE INDEX import_references_record ON import_references (record_id)
    WHERE record_type <> 'event';

-- Trace requests, kept with the answer they got, so that an investigation can show what the
-- registry said on that day even after new events arrive.
CREATE TABLE traces (
    id                   uuid PRIMARY KEY DEFAULT uuid_v7(),
    agency_id            uuid NOT NULL REFERENCES agencies (id),
    key_prefix           text NOT NULL,
    -- several weapons traced in one request share a batch id
    batch_id             uuid,
    case_reference       text,
    purpose              text,
    legal_basis          text,
    requesting_officer   text,
    seizure_country      char(2) REFERENCES countries (code),
    seized_on            date,
    serial_number        text NOT NULL,
    status               text NOT NULL CHECK (status IN ('MATCH', 'CANDIDATES', 'NO_MATCH')),
    candidate_item_ids   uuid[] NOT NULL,
    -- the whole answer as it was given (weapon, context, ranked candidates with their chains)
    answer               json NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- An answer is 9-60 KB of JSON, stored compressed. lz4 costs the backend less than the default
-- pglz: inserting 2,000 stored answers one by one (PostgreSQL 15) took 0.13 against 0.19 ms of
-- CPU each for exact traces' answers (9.5 KB), 0.30 against 0.71 ms for near misses' (58 KB).
-- A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE traces ALTER COLUMN answer SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'traces.answer: this server has no lz4; answers are compressed with pglz';
END
$$;
CREATE INDEX traces_agency ON traces (agency_id, id);
CREATE INDEX traces_agency_case ON traces (agency_id, case_reference, id);
-- A batch's traces in the order they were answered (a replayed batch answer is made from them).
-- Partial: a trace of one weapon, the hot path, has no batch and no entry to keep up.
CREATE INDEX traces_batch ON traces (batch_id, id) WHERE batch_id IS NOT NULL;

-- Hit notifications: when an agency traces or looks up an item whose records another agency
-- made, that agency is told who looked, when, for which case, and what matched (the way INTERPOL
-- iARMS tells the recording country of every hit). Not ledger: the recipient acknowledges.
CREATE TABLE notifications (
    id                 uuid PRIMARY KEY DEFAULT uuid_v7(),
    agency_id          uuid NOT NULL REFERENCES agencies (id),
    kind               text NOT NULL CHECK (kind IN ('TRACE_HIT', 'ITEM_LOOKUP')),
    item_id            uuid NOT NULL REFERENCES items (id),
    trace_id           uuid REFERENCES traces (id),
    by_agency_id       uuid NOT NULL REFERENCES agencies (id),
    case_reference     text,
    purpose            text,
    match_basis        text,
    observed_serial    text,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    acknowledged_at    timestamptz,
    CHECK (agency_id <> by_agency_id)
);
CREATE INDEX notifications_agency ON notifications (agency_id, id);

-- Only the acknowledgement of a notification may change.
CREATE FUNCTION refuse_notification_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'acknowledged_at') <> (to_jsonb(OLD) - 'acknowledged_at')
       OR OLD.acknowledged_at IS NOT NULL THEN
        RAISE EXCEPTION 'a notification can only be acknowledged, once'
            USING ERRCODE = 'TRL01';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER notifications_acknowledge_only BEFORE UPDATE OR DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION refuse_notification_change();

-- Where an agency wants its notifications delivered. The secret signs each delivery
-- (HMAC-SHA256); it must be readable to sign with, so it is stored as given.
CREATE TABLE agency_webhooks (
    id              uuid PRIMARY KEY DEFAULT uuid_v7(),
    agency_id       uuid NOT NULL REFERENCES agencies (id),
    url             text NOT NULL CHECK (url ~ '^https?://'),
    secret          text NOT NULL CHECK (length(secret) >= 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_at  timestamptz,
    -- Set by `trace-registry worker` when every attempt to the webhook has failed for
    -- TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS (no delivery is sent or made for it meanwhile), with
    -- the reason its agency reads; cleared by the agency (POST /v1/webhooks/{id}/resumption).
    suspended_at      timestamptz,
    suspended_reason  text,
    CONSTRAINT agency_webhooks_suspension_reason
        CHECK ((suspended_at IS NULL) = (suspended_reason IS NULL))
);
CREATE INDEX agency_webhooks_agency ON agency_webhooks (agency_id) WHERE deactivated_at IS NULL;
-- GET /v1/webhooks pages an agency's webhooks, active or not, newest first by id.
CREATE INDEX agency_webhooks_agency_pages ON agency_webhooks (agency_id, id);

-- A webhook's health, as the worker last recorded it in the transaction of a delivery's
-- outcome. A table of its own: the worker holds its webhook's row FOR SHARE while it sends, and
-- two workers sending to one webhook, both updating that row, would wait for each other.
-- failing_since: the first failure after the last delivery (or the resumption), which
-- suspension counts from.
CREATE TABLE webhook_health (
    webhook_id            uuid PRIMARY KEY REFERENCES agency_webhooks (id),
    last_success_at       timestamptz,
    last_failure_at       timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    failing_since         timestamptz,
    deliveries_abandoned  bigint NOT NULL DEFAULT 0
);

-- The delivery outbox: a row per notification and webhook, kept until delivered. A worker claims
-- due rows by moving next_attempt_at ahead (a lease), so several workers never send one twice at
-- once, and one that dies lets the lease run out. Operational, not ledger (the notification is
-- what is kept): `trace-registry worker` deletes a delivered row once it is older than
-- TRACE_REGISTRY_DELIVERY_RETENTION_DAYS; one not yet delivered stays until it is, or until its
-- webhook is deactivated, or it is given up (ABANDONED: never tried again, deleted once given up
-- longer ago than the retention).
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT uuid_v7(),
    notification_id  uuid NOT NULL REFERENCES notifications (id),
    webhook_id       uuid NOT NULL REFERENCES agency_webhooks (id),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at     timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- its first failed attempt: TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS are counted from it
    first_failed_at  timestamptz,
    -- given up (never tried again): undeliverable for TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS, or
    -- its webhook suspended
    abandoned_at     timestamptz,
    UNIQUE (notification_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
-- One webhook's deliveries not delivered and not given up (hold_webhook's back-off, abandon,
-- drop_undelivered): without it, each read every webhook's undelivered rows (the due index)
-- and this webhook's delivered ones too; with the abandoned rows in it, a resumed webhook's
-- failures read all of those (migration 0011 has the figures).
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
-- The deliveries given up: purge_abandoned takes the oldest first; drop_abandoned (a
-- deactivation) reads one webhook's by the second (in the first, ordered for the purge, it
-- read every webhook's: migration 0013 has the figures). The second holds abandoned_at too: as
-- large as the first, the purge's generic plan never takes it to sort every abandoned row.
CREATE INDEX webhook_deliveries_abandoned ON webhook_deliveries (abandoned_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NOT NULL;
CREATE INDEX webhook_deliveries_abandoned_by_webhook ON webhook_deliveries (webhook_id, abandoned_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NOT NULL;
-- What that purge reads, oldest first (the outbox's undelivered rows have no entry).
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;
-- A webhook's deliveries newest first (GET /v1/webhooks/{webhook_id}/deliveries), and the
-- statements that name one webhook's rows: deactivation, back-off.
CREATE INDEX webhook_deliveries_webhook_pages ON webhook_deliveries (webhook_id, id);

-- When a new delivery to a webhook is due: now, or, while the webhook's receiver is held for
-- not answering or answering 5xx or 429 (service.delivery.unavailable), when its failed
-- delivery is tried again (hold_webhook held only the deliveries there were at the failure).
-- Due with it, the failed one is still claimed first (claim_due: more attempts), so its back-off
-- keeps growing. A retry claimed now has its lease's end as next_attempt_at: a new delivery
-- waits for that retry's outcome, at most the lease (a failure holds it further, hold_webhook; a
-- success leaves it due at the lease's end). now(), not clock_timestamp(), bounds the read of
-- webhook_deliveries_undelivered (a volatile bound is no index condition): a retry due between
-- the two leaves the new delivery due at once, as the retry is. Version 17 (before, in the two
-- statements that make deliveries: notifications.sql and traces.sql).
-- Volatile, as clock_timestamp() is.
CREATE FUNCTION delivery_due(webhook uuid) RETURNS timestamptz
LANGUAGE sql AS $$
    SELECT greatest(clock_timestamp(),
                    (SELECT d.next_attempt_at FROM webhook_deliveries d
                     WHERE d.webhook_id = webhook AND d.delivered_at IS NULL
                       AND d.abandoned_at IS NULL AND d.next_attempt_at > now()
                       AND d.attempts > 0
                       AND (d.last_status IS NULL OR d.last_status = 429
                            OR d.last_status >= 500)
                     ORDER BY d.next_attempt_at LIMIT 1))
$$;

-- The audit trail -------------------------------------------------------------------------------
--
-- Every request that reads or writes registry data leaves an entry: when, which agency and key,
-- the route, what was looked up, the case reference and purpose given, how many records were
-- returned and the status answered. Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE,
-- and the service's role is granted INSERT and SELECT only), and hash-chained: each entry's
-- entry_hash is SHA-256 over the previous entry's hash and the entry's own fields, so that
-- `trace-registry audit verify` finds an entry that was changed, removed or slipped in.
--
-- Entries form AUDIT_CHAINS parallel chains rather than one, so that concurrent requests do not
-- queue behind one lock held to each commit: an inserting transaction takes the first free chain
-- (a transaction-scoped advisory lock), links its entry to that chain's last one, and holds the
-- chain until it commits. Within a chain, chain_seq counts 1, 2, 3... without gaps.
CREATE TABLE audit_log (
    -- the request's id (a UUIDv7, also sent back as X-Request-Id)
    id                uuid PRIMARY KEY,
    chain             smallint NOT NULL,
    chain_seq         bigint NOT NULL,
    recorded_at       timestamptz NOT NULL,
    -- NULL when no valid key was presented (the 401s)
    agency_id         uuid REFERENCES agencies (id),
    key_prefix        text,
    method            text NOT NULL,
    -- the route's pattern (/v1/items/<uuid:item_id>) and the path asked for
    route             text NOT NULL,
    path              text NOT NULL,
    status            smallint NOT NULL,
    -- what was looked up: serials normalised (service.domain.serials), record ids
    serials           text[] NOT NULL DEFAULT '{}',
    record_ids        uuid[] NOT NULL DEFAULT '{}',
    case_reference    text,
    purpose           text,
    records_returned  integer NOT NULL DEFAULT 0,
    -- the rest of what was asked: serials as typed, filters
    details           jsonb NOT NULL DEFAULT '{}',
    previous_hash     bytea NOT NULL,
    entry_hash        bytea NOT NULL,
    UNIQUE (chain, chain_seq)
);
CREATE INDEX audit_log_agency ON audit_log (agency_id, id);
CREATE INDEX audit_log_case ON audit_log (case_reference, id) WHERE case_reference IS NOT NULL;
CREATE INDEX audit_log_serials ON audit_log USING gin (serials);
CREATE INDEX audit_log_recorded_at ON audit_log USING brin (recorded_at);

-- One field of the hashed message: its length in bytes, a colon and the text (a dash for NULL),
-- so that no two different entries can spell the same message. service/domain/audit.py builds
-- the same message in Python to verify the chains independently of this function.
CREATE FUNCTION audit_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(value)::text || ':' || value, '-');

CREATE FUNCTION audit_message(entry audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN convert_to(
    audit_field(entry.chain::text) || audit_field(entry.chain_seq::text)
    || audit_field((extract(epoch FROM entry.recorded_at) * 1000000)::bigint::text)
    || audit_field(entry.id::text) || audit_field(entry.agency_id::text)
    || audit_field(entry.key_prefix) || audit_field(entry.method) || audit_field(entry.route)
    || audit_field(entry.path) || audit_field(entry.status::text)
    || audit_field(entry.serials::text) || audit_field(entry.record_ids::text)
    || audit_field(entry.case_reference) || audit_field(entry.purpose)
    || audit_field(entry.records_returned::text) || audit_field(entry.details::text),
    'UTF8');

-- The number of parallel chains; changing it is safe (verification reads the chains present).
CREATE FUNCTION audit_chains() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN 32;

CREATE FUNCTION audit_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    chains constant integer := audit_chains();
    first integer := pg_backend_pid() % chains;
    chosen integer;
    previous record;
BEGIN
    FOR attempt IN 0 .. chains - 1 LOOP
        IF pg_try_advisory_xact_lock(74104, (first + attempt) % chains) THEN
            chosen := (first + attempt) % chains;
            EXIT;
        END IF;
    END LOOP;
    IF chosen IS NULL THEN
        chosen := first;
        PERFORM pg_advisory_xact_lock(74104, chosen);
    END IF;
    -- Read after the lock: in READ COMMITTED this statement sees the chain's last committed entry.
    -- Named with its schema, so that no session's temporary audit_log can feed it another.
    SELECT a.chain_seq, a.entry_hash INTO previous
    FROM public.audit_log a WHERE a.chain = chosen ORDER BY a.chain_seq DESC LIMIT 1;
    NEW.chain := chosen;
    NEW.chain_seq := coalesce(previous.chain_seq, 0) + 1;
    NEW.recorded_at := clock_timestamp();
    NEW.previous_hash := coalesce(previous.entry_hash, sha256(convert_to(
        'trace-registry audit chain ' || chosen, 'UTF8')));
    NEW.entry_hash := sha256(NEW.previous_hash || audit_message(NEW));
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_link BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_link();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();

-- Items that are lost, stolen or seized now, or whose chain carries an ALERT finding: derived
-- from the ledger (service/alerts.py), written in the same transaction as each fact that changes
-- it, and rebuilt and compared by `trace-registry alerts rebuild`. `revision` orders the list by
-- the latest change.
-- The list is shared: the row of audience nil is what every agency sees. An agency that recorded
-- restricted records of the item, and sees it otherwise, has a row of its own (status NULL: not
-- on its list although on everyone's).
CREATE TABLE item_alerts (
    item_id       uuid NOT NULL REFERENCES items (id),
    audience      uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    status        text,
    status_since  date,
    country       char(2) REFERENCES countries (code),
    category      item_category,
    codes         text[] NOT NULL,
    revision      uuid NOT NULL DEFAULT uuid_v7(),
    PRIMARY KEY (item_id, audience),
    -- a row that hides the item from its audience carries nothing else
    CHECK ((status IS NULL) = (category IS NULL))
);
CREATE INDEX item_alerts_revision ON item_alerts (revision);

-- A certificate's only line (none when it has several). An export that names no line counts
-- against it: coalesce(euc_line_number, only_line(euc_id)), where a line's exports are counted
-- (event_details, usage, the alert list's re-derivations). Version 17: such an export counted
-- against no line, and a certificate of one line read as within its quantity however many items
-- went under it. Called only for an export that names none (coalesce stops at a line).
CREATE FUNCTION only_line(certificate uuid) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min(l.line_number) FROM euc_line_items l WHERE l.euc_id = certificate
    HAVING count(*) = 1
$$;
-- Who to ask about a restricted party, and since when it is recorded (what other agencies see).
CREATE FUNCTION party_restriction(party parties) RETURNS json
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN (SELECT json_build_object('recorded_by_id', a.id, 'recorded_by_name', a.name,
                                 'recorded_at', party.recorded_at)
        FROM agencies a WHERE a.id = party.recorded_by_agency_id);

-- Everything a reader shows about an event, flattened: its parties, certificate, recorder, and
-- the declaration that it was erroneous, if one was made. Chains and single events read this.
CREATE VIEW event_details AS
SELECT e.id, e.event_type, e.occurred_on, e.country, e.destination_country, e.classification,
       fp.id AS from_party_id, fp.name AS from_party_name, fp.kind AS from_party_kind,
       fp.country AS from_party_country, fp.classification AS from_party_classification,
       CASE WHEN fp.classification = 'RESTRICTED' THEN party_restriction(fp) END
           AS from_party_restriction,
       tp.id AS to_party_id, tp.name AS to_party_name, tp.kind AS to_party_kind,
       tp.country AS to_party_country, tp.classification AS to_party_classification,
       CASE WHEN tp.classification = 'RESTRICTED' THEN party_restriction(tp) END
           AS to_party_restriction,
       op.id AS owner_party_id, op.name AS owner_party_name, op.kind AS owner_party_kind,
       op.country AS owner_party_country, op.classification AS owner_party_classification,
       CASE WHEN op.classification = 'RESTRICTED' THEN party_restriction(op) END
           AS owner_party_restriction,
       c.id AS euc_id, c.certificate_number AS euc_certificate_number,
       c.issuing_country AS euc_issuing_country, c.destination_country AS euc_destination_country,
       c.end_user_party_id AS euc_end_user_party_id, c.expires_on AS euc_expires_on,
       c.non_reexport_clause AS euc_non_reexport_clause,
       rv.id AS euc_revocation_id, rv.revoked_on AS euc_revoked_on,
       e.euc_line_number, line.quantity AS euc_line_quantity,
       -- items shipped under the line (naming it, or, naming none, under its certificate's
       -- only line) by this export and every standing export before it (in the order they were
       -- made: corrected_acts), each item once: one shipped again (back from a repair) takes no
       -- more of the quantity (version 17). Counted by the exports' item_count while that stays
       -- within the quantity (the items are then as many or fewer, and within it too), so that
       -- only a line taken past it reads its exports' items.
       CASE WHEN e.event_type = 'EXPORT' AND line.line_number IS NOT NULL THEN (
           SELECT CASE WHEN sum(x.item_count) <= line.quantity THEN sum(x.item_count)
                       ELSE (SELECT count(DISTINCT xi.item_id) FROM custody_event_items xi
                             WHERE xi.event_id = ANY (array_agg(x.id))) END
           FROM custody_events x
           LEFT JOIN corrected_acts xa ON xa.event_id = x.id
           WHERE x.euc_id = e.euc_id
             AND coalesce(x.euc_line_number, only_line(x.euc_id)) = line.line_number
             AND x.event_type = 'EXPORT'
             AND (x.occurred_on, coalesce(xa.first_recorded_at, x.recorded_at), x.recorded_at,
                  x.id)
                 <= (e.occurred_on,
                     coalesce((SELECT ea.first_recorded_at FROM corrected_acts ea
                               WHERE ea.event_id = e.id), e.recorded_at),
                     e.recorded_at, e.id)
             AND NOT EXISTS (SELECT 1 FROM event_error_declarations xd WHERE xd.event_id = x.id)
       ) END AS euc_line_shipped_through,
       EXISTS (SELECT 1 FROM party_verifications v WHERE v.party_id = e.from_party_id)
           AS from_party_verified,
       EXISTS (SELECT 1 FROM party_verifications v WHERE v.party_id = e.to_party_id)
           AS to_party_verified,
       EXISTS (SELECT 1 FROM party_verifications v WHERE v.party_id = e.owner_party_id)
           AS owner_party_verified,
       e.item_count, e.licence_number, e.document_reference, e.notes,
       ra.id AS recorded_by_id, ra.name AS recorded_by_name, e.recorded_at,
       d.id AS declaration_id, d.reason AS declaration_reason,
       d.explanation AS declaration_explanation,
       d.corrective_event_ids AS declaration_corrective_event_ids,
       da.id AS declared_by_id, da.name AS declared_by_name, d.declared_at,
       -- last: version 3 added it (a view's new columns go after its others)
       c.issued_on AS euc_issued_on,
       -- version 17: the exporter the certificate names (EXPORTER_MISMATCH), and the goods the
       -- line names (EUC_LINE_MISMATCH)
       c.exporter_party_id AS euc_exporter_party_id, line.category AS euc_line_category,
       line.model AS euc_line_model,
       -- and the line an export counts against (`line`: the one it names, or, naming none, its
       -- certificate's only one); an import's or a transfer's is the one it names
       line.line_number AS euc_line_counted
FROM custody_events e
JOIN agencies ra ON ra.id = e.recorded_by_agency_id
LEFT JOIN parties fp ON fp.id = e.from_party_id
LEFT JOIN parties tp ON tp.id = e.to_party_id
LEFT JOIN parties op ON op.id = e.owner_party_id
LEFT JOIN end_user_certificates c ON c.id = e.euc_id
-- the revocation that stands (at most one: euc_revocations_one_standing)
LEFT JOIN euc_revocations rv
       ON rv.euc_id = e.euc_id
      AND NOT EXISTS (SELECT 1 FROM euc_revocation_withdrawals rw WHERE rw.revocation_id = rv.id)
LEFT JOIN euc_line_items line
       ON line.euc_id = e.euc_id
      AND line.line_number = CASE WHEN e.event_type = 'EXPORT'
                                  THEN coalesce(e.euc_line_number, only_line(e.euc_id))
                                  ELSE e.euc_line_number END
LEFT JOIN event_error_declarations d ON d.event_id = e.id
LEFT JOIN agencies da ON da.id = d.declared_by_agency_id;

-- A custody entry as a chain shows it: the item, its event with everything a reader and the
-- diversion rules need, and, for an event under a certificate, the certificate's consents and
-- delivery verifications, each saying whether it covers this item (one that names no item covers
-- them all). event_details joins ten relations, more than the planner's collapse limits: joined
-- to the entries directly it was planned whole (every event with its parties: 200-400 ms on 8M
-- entries); evaluated per entry by id, behind an OFFSET 0 fence, it costs a few index probes.
CREATE VIEW chain_entries AS
SELECT ei.item_id AS chain_item_id, d.*,
       CASE WHEN d.euc_id IS NOT NULL THEN (
           SELECT coalesce(json_agg(json_build_object(
                      'id', c.id, 'granted_on', c.granted_on,
                      'new_end_user_party_id', c.new_end_user_party_id,
                      'new_destination_country', c.new_destination_country,
                      'quantity', c.quantity,
                      -- a consent shared out covers the items given a share, and any while it
                      -- has room left: the share-out gave every move that needed it a share
                      -- while it had room, so a move without one needed none (as read with
                      -- every record); while it has room, a reader from whom another agency's
                      -- restricted move is withheld reads the move as it would with it, and
                      -- once it is full, as a move without consent (consent_shares._filled
                      -- derives every item it may reach again when it fills or regains room)
                      'covers_item',
                      CASE WHEN so.consent_id IS NOT NULL
                           THEN share.item_id IS NOT NULL OR shared.taken < c.quantity
                           ELSE NOT EXISTS (SELECT 1 FROM reexport_consent_items ci
                                            WHERE ci.consent_id = c.id)
                                OR EXISTS (SELECT 1 FROM reexport_consent_items ci
                                           WHERE ci.consent_id = c.id AND ci.item_id = ei.item_id)
                      END,
                      -- version 8: a withdrawn consent covers nothing (findings name it)
                      'withdrawn',
                      EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw
                              WHERE cw.consent_id = c.id),
                      -- version 18: its quantity went wholly to other items (findings say so)
                      'spent',
                      coalesce(share.item_id IS NULL AND shared.taken >= c.quantity, false))
                  ORDER BY c.granted_on), '[]')
           FROM reexport_consents c
           -- version 18: a consent shared out (consent_shares), and this item's share of it
           LEFT JOIN consent_share_outs so ON so.consent_id = c.id
           LEFT JOIN consent_shares share
                  ON share.consent_id = so.consent_id AND share.item_id = ei.item_id
           LEFT JOIN LATERAL (SELECT count(*) AS taken FROM consent_shares s
                              WHERE s.consent_id = so.consent_id) AS shared
                  ON so.consent_id IS NOT NULL
           WHERE c.euc_id = d.euc_id
       ) END AS euc_consents,
       CASE WHEN d.euc_id IS NOT NULL THEN (
           SELECT coalesce(json_agg(json_build_object(
                      'id', v.id, 'verified_on', v.verified_on,
                      'covers_item',
                      NOT EXISTS (SELECT 1 FROM delivery_verification_items vi
                                  WHERE vi.verification_id = v.id)
                      OR EXISTS (SELECT 1 FROM delivery_verification_items vi
                                 WHERE vi.verification_id = v.id AND vi.item_id = ei.item_id))
                  ORDER BY v.verified_on), '[]')
           FROM delivery_verifications v WHERE v.euc_id = d.euc_id
       ) END AS euc_verifications
FROM custody_event_items ei
CROSS JOIN LATERAL (SELECT * FROM event_details v WHERE v.id = ei.event_id OFFSET 0) AS d;

DO $$
DECLARE
    ledger_table text;
BEGIN
    FOREACH ledger_table IN ARRAY ARRAY['parties', 'items', 'end_user_certificates',
            'euc_line_items', 'custody_events', 'custody_event_items', 'event_error_declarations',
            'traces', 'euc_revocations', 'euc_revocation_withdrawals', 'reexport_consents', 'reexport_consent_items',
            'delivery_verifications', 'delivery_verification_items', 'party_verifications',
            'imports', 'import_references'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change()',
                       ledger_table || '_append_only', ledger_table);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change()',
                       ledger_table || '_no_truncate', ledger_table);
    END LOOP;
END
$$;

-- Version 8: consent withdrawals are ledger records too.
CREATE TRIGGER reexport_consent_withdrawals_append_only
    BEFORE UPDATE OR DELETE ON reexport_consent_withdrawals
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER reexport_consent_withdrawals_no_truncate BEFORE TRUNCATE ON reexport_consent_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();

-- References within the ledger ------------------------------------------------------------------
--
-- What the tables that an import fills in bulk refer to (countries, agencies, other ledger
-- records) is checked once per statement, set-based, after the rows are in: not by foreign keys,
-- which check and lock the referenced row once for every row inserted. In an import, those row
-- checks were most of PostgreSQL's work: 118,800 events went in in 2.98 s with their foreign keys,
-- 0.32 s without any check, and 0.93 s with checks made as below (PostgreSQL 15). A single-row
-- insert costs about what it did (1,000 events one by one: 165-214 µs each with foreign keys,
-- 180-211 µs with these checks). A foreign key also keeps a referenced row from going away,
-- which is what its lock is for. No referenced row can go away here: ledger tables refuse
-- UPDATE, DELETE and TRUNCATE (above), and countries and agencies refuse to lose or change their
-- keys (below). A failed check raises what a foreign key raises (SQLSTATE 23503, with the same
-- detail), under the name listed here. A column that is NULL refers to nothing and is not
-- checked. As for a foreign key, a row that another transaction has not committed yet is not
-- there for the check.

CREATE FUNCTION refuse_key_loss() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: ledger records refer to its rows', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'TRL01';
END
$$;
CREATE TRIGGER countries_keep_keys BEFORE UPDATE OF code OR DELETE ON countries
    FOR EACH ROW EXECUTE FUNCTION refuse_key_loss();
CREATE TRIGGER countries_no_truncate BEFORE TRUNCATE ON countries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_key_loss();
CREATE TRIGGER agencies_keep_keys BEFORE UPDATE OF id OR DELETE ON agencies
    FOR EACH ROW EXECUTE FUNCTION refuse_key_loss();
CREATE TRIGGER agencies_no_truncate BEFORE TRUNCATE ON agencies
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_key_loss();

-- One trigger function per table, `<table>_references_exist`, with one static query per
-- reference (static, so that PL/pgSQL keeps its plan: a single-row insert pays about what its
-- foreign keys cost it), made from this list. The table referred to is named with its schema: a
-- session's temporary table of the same name would otherwise stand in for it, and the service's
-- role may make temporary tables (an import stages its rows in them).
-- A static query's plan is made once per session, by the first statement that runs it, so it
-- must suit a statement of any size. With LIMIT 1 the planner expects a missing key early and
-- probes the referred table's index once a row: right for a few rows, and for the references to
-- items and events, which are mostly distinct within a statement. A statement of 100 rows or more
-- (`many`) is checked by a second static query for the others: against a hash of the table for
-- the two small tables that never shrink, countries and agencies (NOT IN over its key, which is
-- never NULL, for a column checked only where it is not NULL: the same test); and once for each
-- distinct value for parties, certificates, their lines and imports, which a file's rows name
-- over and over. An import's 594,000 events were checked against countries in 0.36 s through
-- the index, 0.05 s through the hash, and against their receiving parties in 0.34 s, 0.06 s once
-- a value; one row through the hash cost 0.04 ms more (PostgreSQL 18).
DO $$
DECLARE
    child text;
    checks text;
    counts boolean;
BEGIN
    FOR child, checks, counts IN
        SELECT r.child, string_agg(format(
            CASE w.way WHEN 'hash' THEN
$hash$
    IF many THEN
        SELECT %1$s || concat_ws(', ', %2$s) || %3$s INTO missing
        FROM added a
        WHERE %4$s AND %2$s NOT IN (SELECT p.%7$I FROM %5$I.%6$I p)
        LIMIT 1;
    ELSE
        SELECT %1$s || concat_ws(', ', %2$s) || %3$s INTO missing
        FROM added a
        WHERE %4$s AND NOT EXISTS (SELECT 1 FROM %5$I.%6$I p WHERE %8$s)
        LIMIT 1;
    END IF;$hash$
            WHEN 'distinct' THEN
$distinct$
    IF many THEN
        SELECT %1$s || concat_ws(', ', %2$s) || %3$s INTO missing
        FROM (SELECT DISTINCT %2$s FROM added a WHERE %4$s) AS a
        WHERE NOT EXISTS (SELECT 1 FROM %5$I.%6$I p WHERE %8$s)
        LIMIT 1;
    ELSE
        SELECT %1$s || concat_ws(', ', %2$s) || %3$s INTO missing
        FROM added a
        WHERE %4$s AND NOT EXISTS (SELECT 1 FROM %5$I.%6$I p WHERE %8$s)
        LIMIT 1;
    END IF;$distinct$
            ELSE
$row$
    SELECT %1$s || concat_ws(', ', %2$s) || %3$s INTO missing
    FROM added a
    WHERE %4$s AND NOT EXISTS (SELECT 1 FROM %5$I.%6$I p WHERE %8$s)
    LIMIT 1;$row$
            END || $raise$
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('insert into %%I violates reference %%I', TG_TABLE_NAME, %9$L),
            DETAIL = missing, CONSTRAINT = %9$L, TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
$raise$,
            quote_literal(format('Key (%s)=(', array_to_string(r.columns, ', '))),
            (SELECT string_agg(format('a.%I', c), ', ') FROM unnest(r.columns) AS c),
            quote_literal(format(') is not present in table "%s".', r.parent)),
            (SELECT string_agg(format('a.%I IS NOT NULL', c), ' AND ') FROM unnest(r.columns) AS c),
            current_schema(), r.parent,
            -- the small tables are referred to by a single column
            r.parent_columns[1],
            (SELECT string_agg(format('p.%I = a.%I', pc, c), ' AND ')
             FROM unnest(r.parent_columns, r.columns) AS k (pc, c)),
            r.name), '' ORDER BY r.name),
            bool_or(w.way <> 'row')
        FROM (VALUES
            ('parties', 'parties_country_ref', '{country}'::text[], 'countries', '{code}'::text[]),
            ('parties', 'parties_recorded_by_agency_id_ref', '{recorded_by_agency_id}',
             'agencies', '{id}'),
            ('items', 'items_country_of_manufacture_ref', '{country_of_manufacture}',
             'countries', '{code}'),
            ('items', 'items_recorded_by_agency_id_ref', '{recorded_by_agency_id}',
             'agencies', '{id}'),
            ('end_user_certificates', 'end_user_certificates_issuing_country_ref',
             '{issuing_country}', 'countries', '{code}'),
            ('end_user_certificates', 'end_user_certificates_exporter_party_id_ref',
             '{exporter_party_id}', 'parties', '{id}'),
            ('end_user_certificates', 'end_user_certificates_end_user_party_id_ref',
             '{end_user_party_id}', 'parties', '{id}'),
            ('end_user_certificates', 'end_user_certificates_destination_country_ref',
             '{destination_country}', 'countries', '{code}'),
            ('end_user_certificates', 'end_user_certificates_recorded_by_agency_id_ref',
             '{recorded_by_agency_id}', 'agencies', '{id}'),
            ('euc_line_items', 'euc_line_items_euc_id_ref', '{euc_id}',
             'end_user_certificates', '{id}'),
            ('custody_events', 'custody_events_country_ref', '{country}', 'countries', '{code}'),
            ('custody_events', 'custody_events_destination_country_ref',
             '{destination_country}', 'countries', '{code}'),
            ('custody_events', 'custody_events_from_party_id_ref', '{from_party_id}',
             'parties', '{id}'),
            ('custody_events', 'custody_events_to_party_id_ref', '{to_party_id}',
             'parties', '{id}'),
            ('custody_events', 'custody_events_owner_party_id_ref', '{owner_party_id}',
             'parties', '{id}'),
            ('custody_events', 'custody_events_euc_id_ref', '{euc_id}',
             'end_user_certificates', '{id}'),
            ('custody_events', 'custody_events_euc_line_ref', '{euc_id,euc_line_number}',
             'euc_line_items', '{euc_id,line_number}'),
            ('custody_events', 'custody_events_recorded_by_agency_id_ref',
             '{recorded_by_agency_id}', 'agencies', '{id}'),
            ('custody_event_items', 'custody_event_items_item_id_ref', '{item_id}',
             'items', '{id}'),
            ('custody_event_items', 'custody_event_items_event_id_ref', '{event_id}',
             'custody_events', '{id}'),
            ('import_references', 'import_references_agency_id_ref', '{agency_id}',
             'agencies', '{id}'),
            ('import_references', 'import_references_import_id_ref', '{import_id}',
             'imports', '{id}')
        ) AS r (child, name, columns, parent, parent_columns)
        -- how a statement of many rows is checked (above); one of few rows, row by row
        CROSS JOIN LATERAL (
            SELECT CASE WHEN r.parent IN ('countries', 'agencies') THEN 'hash'
                        WHEN r.parent IN ('items', 'custody_events') THEN 'row'
                        ELSE 'distinct' END AS way
        ) AS w
        GROUP BY r.child
    LOOP
        EXECUTE format('CREATE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    missing text;%s
BEGIN%sRETURN NULL;
END
$body$', child || '_references_exist', CASE WHEN counts THEN '
    many constant boolean := (SELECT count(*) FROM (SELECT FROM added LIMIT 100) AS head) = 100;'
            ELSE '' END, checks);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS added
                        FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                       child || '_references_exist', child, child || '_references_exist');
    END LOOP;
END
$$;

-- Roles -----------------------------------------------------------------------------------------
--
-- Whoever applies this file owns every table. The service connects as a member of
-- trace_registry_service (`trace-registry db init` makes the login role of DATABASE_URL one when
-- it is not the owner): it may read everything and add records, change only what is meant to
-- change (acknowledgements, revocations, the derived alert list, the delivery outbox, rate
-- limits), and can neither change nor remove an audit entry, whatever the triggers allow.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trace_registry_service') THEN
        CREATE ROLE trace_registry_service NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of the cluster created it at the same moment
END
$$;
GRANT USAGE ON SCHEMA public TO trace_registry_service;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO trace_registry_service;
REVOKE INSERT ON schema_version, key_folding, countries, manufacturers, manufacturer_aliases,
    corrected_acts FROM trace_registry_service;
GRANT UPDATE (acknowledged_at) ON notifications TO trace_registry_service;
GRANT UPDATE (revoked_at, revoked_reason) ON api_keys TO trace_registry_service;
GRANT UPDATE (deactivated_at, suspended_at, suspended_reason) ON agency_webhooks
    TO trace_registry_service;
GRANT UPDATE (country) ON agencies TO trace_registry_service;
GRANT UPDATE, DELETE ON webhook_deliveries, webhook_health, item_alerts, rate_limits, refused_authentications,
    idempotency_keys, import_jobs, import_job_chunks TO trace_registry_service;
-- version 18: derived again as the alert list is
GRANT UPDATE, DELETE ON consent_shares, consent_share_outs TO trace_registry_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO trace_registry_service;

-- Reference rows --------------------------------------------------------------------------------

-- ISO 3166-1 alpha-2, plus XK (Kosovo), the user-assigned code in common use.
INSERT INTO countries (code, name) VALUES
    ('AD', 'Andorra'),
    ('AE', 'United Arab Emirates'),
    ('AF', 'Afghanistan'),
    ('AG', 'Antigua and Barbuda'),
    ('AI', 'Anguilla'),
    ('AL', 'Albania'),
    ('AM', 'Armenia'),
    ('AO', 'Angola'),
    ('AQ', 'Antarctica'),
    ('AR', 'Argentina'),
    ('AS', 'American Samoa'),
    ('AT', 'Austria'),
    ('AU', 'Australia'),
    ('AW', 'Aruba'),
    ('AX', 'Åland Islands'),
    ('AZ', 'Azerbaijan'),
    ('BA', 'Bosnia and Herzegovina'),
    ('BB', 'Barbados'),
    ('BD', 'Bangladesh'),
    ('BE', 'Belgium'),
    ('BF', 'Burkina Faso'),
    ('BG', 'Bulgaria'),
    ('BH', 'Bahrain'),
    ('BI', 'Burundi'),
    ('BJ', 'Benin'),
    ('BL', 'Saint Barthélemy'),
    ('BM', 'Bermuda'),
    ('BN', 'Brunei Darussalam'),
    ('BO', 'Bolivia'),
    ('BQ', 'Bonaire, Sint Eustatius and Saba'),
    ('BR', 'Brazil'),
    ('BS', 'Bahamas'),
    ('BT', 'Bhutan'),
    ('BV', 'Bouvet Island'),
    ('BW', 'Botswana'),
    ('BY', 'Belarus'),
    ('BZ', 'Belize'),
    ('CA', 'Canada'),
    ('CC', 'Cocos (Keeling) Islands'),
    ('CD', 'Congo, The Democratic Republic of the'),
    ('CF', 'Central African Republic'),
    ('CG', 'Congo'),
    ('CH', 'Switzerland'),
    ('CI', 'Côte d''Ivoire'),
    ('CK', 'Cook Islands'),
    ('CL', 'Chile'),
    ('CM', 'Cameroon'),
    ('CN', 'China'),
    ('CO', 'Colombia'),
    ('CR', 'Costa Rica'),
    ('CU', 'Cuba'),
    ('CV', 'Cabo Verde'),
    ('CW', 'Curaçao'),
    ('CX', 'Christmas Island'),
    ('CY', 'Cyprus'),
    ('CZ', 'Czechia'),
    ('DE', 'Germany'),
    ('DJ', 'Djibouti'),
    ('DK', 'Denmark'),
    ('DM', 'Dominica'),
    ('DO', 'Dominican Republic'),
    ('DZ', 'Algeria'),
    ('EC', 'Ecuador'),
    ('EE', 'Estonia'),
    ('EG', 'Egypt'),
    ('EH', 'Western Sahara'),
    ('ER', 'Eritrea'),
    ('ES', 'Spain'),
    ('ET', 'Ethiopia'),
    ('FI', 'Finland'),
    ('FJ', 'Fiji'),
    ('FK', 'Falkland Islands (Malvinas)'),
    ('FM', 'Micronesia, Federated States of'),
    ('FO', 'Faroe Islands'),
    ('FR', 'France'),
    ('GA', 'Gabon'),
    ('GB', 'United Kingdom'),
    ('GD', 'Grenada'),
    ('GE', 'Georgia'),
    ('GF', 'French Guiana'),
    ('GG', 'Guernsey'),
    ('GH', 'Ghana'),
    ('GI', 'Gibraltar'),
    ('GL', 'Greenland'),
    ('GM', 'Gambia'),
    ('GN', 'Guinea'),
    ('GP', 'Guadeloupe'),
    ('GQ', 'Equatorial Guinea'),
    ('GR', 'Greece'),
    ('GS', 'South Georgia and the South Sandwich Islands'),
    ('GT', 'Guatemala'),
    ('GU', 'Guam'),
    ('GW', 'Guinea-Bissau'),
    ('GY', 'Guyana'),
    ('HK', 'Hong Kong'),
    ('HM', 'Heard Island and McDonald Islands'),
    ('HN', 'Honduras'),
    ('HR', 'Croatia'),
    ('HT', 'Haiti'),
    ('HU', 'Hungary'),
    ('ID', 'Indonesia'),
    ('IE', 'Ireland'),
    ('IL', 'Israel'),
    ('IM', 'Isle of Man'),
    ('IN', 'India'),
    ('IO', 'British Indian Ocean Territory'),
    ('IQ', 'Iraq'),
    ('IR', 'Iran'),
    ('IS', 'Iceland'),
    ('IT', 'Italy'),
    ('JE', 'Jersey'),
    ('JM', 'Jamaica'),
    ('JO', 'Jordan'),
    ('JP', 'Japan'),
    ('KE', 'Kenya'),
    ('KG', 'Kyrgyzstan'),
    ('KH', 'Cambodia'),
    ('KI', 'Kiribati'),
    ('KM', 'Comoros'),
    ('KN', 'Saint Kitts and Nevis'),
    ('KP', 'North Korea'),
    ('KR', 'South Korea'),
    ('KW', 'Kuwait'),
    ('KY', 'Cayman Islands'),
    ('KZ', 'Kazakhstan'),
    ('LA', 'Laos'),
    ('LB', 'Lebanon'),
    ('LC', 'Saint Lucia'),
    ('LI', 'Liechtenstein'),
    ('LK', 'Sri Lanka'),
    ('LR', 'Liberia'),
    ('LS', 'Lesotho'),
    ('LT', 'Lithuania'),
    ('LU', 'Luxembourg'),
    ('LV', 'Latvia'),
    ('LY', 'Libya'),
    ('MA', 'Morocco'),
    ('MC', 'Monaco'),
    ('MD', 'Moldova'),
    ('ME', 'Montenegro'),
    ('MF', 'Saint Martin (French part)'),
    ('MG', 'Madagascar'),
    ('MH', 'Marshall Islands'),
    ('MK', 'North Macedonia'),
    ('ML', 'Mali'),
    ('MM', 'Myanmar'),
    ('MN', 'Mongolia'),
    ('MO', 'Macao'),
    ('MP', 'Northern Mariana Islands'),
    ('MQ', 'Martinique'),
    ('MR', 'Mauritania'),
    ('MS', 'Montserrat'),
    ('MT', 'Malta'),
    ('MU', 'Mauritius'),
    ('MV', 'Maldives'),
    ('MW', 'Malawi'),
    ('MX', 'Mexico'),
    ('MY', 'Malaysia'),
    ('MZ', 'Mozambique'),
    ('NA', 'Namibia'),
    ('NC', 'New Caledonia'),
    ('NE', 'Niger'),
    ('NF', 'Norfolk Island'),
    ('NG', 'Nigeria'),
    ('NI', 'Nicaragua'),
    ('NL', 'Netherlands'),
    ('NO', 'Norway'),
    ('NP', 'Nepal'),
    ('NR', 'Nauru'),
    ('NU', 'Niue'),
    ('NZ', 'New Zealand'),
    ('OM', 'Oman'),
    ('PA', 'Panama'),
    ('PE', 'Peru'),
    ('PF', 'French Polynesia'),
    ('PG', 'Papua New Guinea'),
    ('PH', 'Philippines'),
    ('PK', 'Pakistan'),
    ('PL', 'Poland'),
    ('PM', 'Saint Pierre and Miquelon'),
    ('PN', 'Pitcairn'),
    ('PR', 'Puerto Rico'),
    ('PS', 'Palestine, State of'),
    ('PT', 'Portugal'),
    ('PW', 'Palau'),
    ('PY', 'Paraguay'),
    ('QA', 'Qatar'),
    ('RE', 'Réunion'),
    ('RO', 'Romania'),
    ('RS', 'Serbia'),
    ('RU', 'Russian Federation'),
    ('RW', 'Rwanda'),
    ('SA', 'Saudi Arabia'),
    ('SB', 'Solomon Islands'),
    ('SC', 'Seychelles'),
    ('SD', 'Sudan'),
    ('SE', 'Sweden'),
    ('SG', 'Singapore'),
    ('SH', 'Saint Helena, Ascension and Tristan da Cunha'),
    ('SI', 'Slovenia'),
    ('SJ', 'Svalbard and Jan Mayen'),
    ('SK', 'Slovakia'),
    ('SL', 'Sierra Leone'),
    ('SM', 'San Marino'),
    ('SN', 'Senegal'),
    ('SO', 'Somalia'),
    ('SR', 'Suriname'),
    ('SS', 'South Sudan'),
    ('ST', 'Sao Tome and Principe'),
    ('SV', 'El Salvador'),
    ('SX', 'Sint Maarten (Dutch part)'),
    ('SY', 'Syria'),
    ('SZ', 'Eswatini'),
    ('TC', 'Turks and Caicos Islands'),
    ('TD', 'Chad'),
    ('TF', 'French Southern Territories'),
    ('TG', 'Togo'),
    ('TH', 'Thailand'),
    ('TJ', 'Tajikistan'),
    ('TK', 'Tokelau'),
    ('TL', 'Timor-Leste'),
    ('TM', 'Turkmenistan'),
    ('TN', 'Tunisia'),
    ('TO', 'Tonga'),
    ('TR', 'Türkiye'),
    ('TT', 'Trinidad and Tobago'),
    ('TV', 'Tuvalu'),
    ('TW', 'Taiwan'),
    ('TZ', 'Tanzania'),
    ('UA', 'Ukraine'),
    ('UG', 'Uganda'),
    ('UM', 'United States Minor Outlying Islands'),
    ('US', 'United States'),
    ('UY', 'Uruguay'),
    ('UZ', 'Uzbekistan'),
    ('VA', 'Holy See (Vatican City State)'),
    ('VC', 'Saint Vincent and the Grenadines'),
    ('VE', 'Venezuela'),
    ('VG', 'Virgin Islands, British'),
    ('VI', 'Virgin Islands, U.S.'),
    ('VN', 'Vietnam'),
    ('VU', 'Vanuatu'),
    ('WF', 'Wallis and Futuna'),
    ('WS', 'Samoa'),
    ('XK', 'Kosovo'),
    ('YE', 'Yemen'),
    ('YT', 'Mayotte'),
    ('ZA', 'South Africa'),
    ('ZM', 'Zambia'),
    ('ZW', 'Zimbabwe');

-- Reference list of manufacturers of small arms and light weapons (SALW), with the names each goes
-- by and its country (ISO 3166-1 alpha-2). Compiled by hand from public sources: the makers' own
-- published histories, Small Arms Survey and Conflict Armament Research tracing reports, and the
-- factory codes used in tracing practice (the numbered Chinese state factories). Keys are
-- normalise_name(name) and alias keys normalise_name(alias) (service/domain/serials.py); every
-- manufacturer's own name is also one of its aliases. Where a maker was renamed or absorbed
-- (Izhmash -> Kalashnikov Concern 2013, Nexter -> KNDS France 2024, Diemaco -> Colt Canada 2005,
-- Soltam -> Elbit Systems 2010), the old names point to the present maker; notes give the dates.
--
-- Left out on purpose, because an alias key can point to one maker only:
--   Arsenal             Arsenal AD (Bulgaria), Arsenal Inc. (USA), Arsenal Firearms (Italy),
--                       Arsenal Reşiţa (Romania), Arsenal (Kyiv)
--   IZh, Izhevsk        model prefix and city of both Kalashnikov Concern (Izhmash) and the
--                       Izhevsk Mechanical Plant (Izhmekh, Baikal)
--   SIG, SIG Arms       the Swiss SIG works (Swiss Arms; SIG Arms AG) and SIG Sauer (SIGARMS Inc.)
--   Sauer               J. P. Sauer & Sohn and SIG Sauer
--   Bofors              Saab (missiles, Carl Gustaf) and BAE Systems Bofors (artillery)
--   Cugir               Cugir Mechanical Plant and Cugir Arms Factory (split in 2004)
--   Springfield Armory  the US national armory (1794-1968) and Springfield Armory, Inc.
--   Armscor             South Africa's Armaments Corporation and the Arms Corporation of the
--                       Philippines
--   MIC                 Sudan's Military Industry Corporation and Saudi Arabia's Military
--                       Industries Corporation
--   KMZ                 Kovrov Mechanical Plant (not the Degtyarev Plant) and Krasnogorsk
--                       Mechanical Plant
--   RSAF                Royal Small Arms Factories at Enfield and at Fazakerley
--   General Dynamics, Hughes, Short Brothers, Daewoo, Matra: companies whose arms business went
--                       one way and the rest another
--   Star, Astra, Luch, Fegyvergyár ("arms factory"): too generic, or shared with other makers
-- Also left out: designers and weapon families that are not makers (Kalashnikov, Degtyarev,
-- Tokarev, Makarov, Dragunov, Simonov, Mosin, Nagant, Mauser, Browning, Enfield; CETME, a design
-- centre), bare factory numbers ("66"), holdings and exporters of several makers (Rostec, ROMARM,
-- PGZ, Yugoimport, Beretta Holding, Colt CZ Group, KNDS), and RATMIL, whose relation to the Cugir
-- plants could not be established from the sources used.

INSERT INTO manufacturers (key, name, country, notes) VALUES
    ('ACCURACYINTERNATIONAL', 'Accuracy International', 'GB', 'Portsmouth: L96 and AW-series sniper rifles.'),
    ('ADVANCEDWEAPONSANDEQUIPMENTINDIA', 'Advanced Weapons and Equipment India', 'IN', 'Kanpur. Formed on 1 October 2021 when the Ordnance Factory Board was dissolved: its weapon factories, among them Rifle Factory Ishapore, Small Arms Factory Kanpur and Ordnance Factory Tiruchirappalli (INSAS rifles among their products), now belong to AWEIL. OFB''s ammunition factories went to Munitions India, which this registry does not record.'),
    ('AIRTRONICUSA', 'Airtronic USA', 'US', 'RPG-7-pattern launchers (PSRL).'),
    ('AMADEOROSSI', 'Amadeo Rossi', 'BR', 'São Leopoldo: revolvers, rifles and shotguns; the Rossi brand now belongs to Taurus.'),
    ('ARCUS', 'Arcus', 'BG', 'Lyaskovets: Arcus pistols, ammunition and pyrotechnics.'),
    ('ARMSCORPORATIONOFTHEPHILIPPINES', 'Arms Corporation of the Philippines', 'PH', 'Marikina: M1911-pattern pistols, sold as Rock Island Armory. ''Armscor'' alone is left out (also South Africa''s Armaments Corporation).'),
    ('ARSENALAD', 'Arsenal AD', 'BG', 'Kazanlak: AK-pattern rifles, RPG-7-pattern launchers, grenade launchers. The bare name ''Arsenal'' is left out (Arsenal Inc. in the USA, Arsenal Firearms in Italy, Arsenal Reşiţa in Romania, Arsenal in Kyiv).'),
    ('ASTRAUNCETAYCIA', 'Astra-Unceta y Cía', 'ES', 'Guernica: Astra 400 and 600 pistols, revolvers. ''Astra'' alone is left out (also Astra Arms, Switzerland).'),
    ('ATAKARMS', 'Atak Arms', 'TR', 'Istanbul: blank-firing and gas pistols sold as Zoraki, a frequent source of converted firearms.'),
    ('BAESYSTEMS', 'BAE Systems', 'GB', 'Formed 1999 from British Aerospace and Marconi Electronic Systems. Royal Ordnance, bought by British Aerospace in 1987, made the L85 (SA80) at RSAF Enfield and then Nottingham; RSAF Enfield (closed 1988) made Lee-Enfield rifles and Bren guns. ''Enfield'' alone is left out (a rifle pattern made at many plants), as is ''RSAF'' (Enfield and Fazakerley).'),
    ('BARRETTFIREARMSMANUFACTURING', 'Barrett Firearms Manufacturing', 'US', 'Murfreesboro, Tennessee: M82 and M107 .50-calibre rifles.'),
    ('BAZALT', 'Bazalt', 'RU', 'Moscow. Successor of the design bureau (GSKB-47) that created the RPG-7; RPG-22, RPG-26 and RPG-29 launchers and RPG ammunition.'),
    ('BENELLIARMI', 'Benelli Armi', 'IT', 'Urbino: shotguns including the M3 and M4 (M1014).'),
    ('BERETTA', 'Beretta', 'IT', 'Fabbrica d''Armi Pietro Beretta, Gardone Val Trompia: Beretta 92 (M9), BM 59, AR70/90, ARX160. Beretta U.S.A. (Accokeek, Maryland) is its US subsidiary. ''Beretta Holding'' is left out (it also owns Benelli, Franchi, Sako and others).'),
    ('BERSA', 'Bersa', 'AR', 'Ramos Mejía: Thunder pistols.'),
    ('BIRMINGHAMSMALLARMSCOMPANY', 'Birmingham Small Arms Company', 'GB', 'Birmingham: Lee-Enfield rifles, Lewis and Besa machine guns in the world wars.'),
    ('BTAG', 'B&T AG', 'CH', 'Thun: MP9 and APC submachine guns, GL06 grenade launcher.'),
    ('CANIK', 'Canik', 'TR', 'Samsun: TP9 pistols; the brand of Samsun Yurt Savunma (SYS).'),
    ('CARACALINTERNATIONAL', 'Caracal International', 'AE', 'Abu Dhabi: Caracal pistols, CAR 816 rifles.'),
    ('CARLWALTHER', 'Carl Walther', 'DE', 'Ulm (Zella-Mehlis until 1945): PP, PPK, P38, P99, PDP pistols. The P38 was also made by Mauser and Spreewerk, the PP and PPK under licence by Manurhin.'),
    ('CAVIM', 'CAVIM', 'VE', 'Compañía Anónima Venezolana de Industrias Militares: the Venezuelan state arms and ammunition maker.'),
    ('CESKAZBROJOVKA', 'Česká zbrojovka', 'CZ', 'Česká zbrojovka Uherský Brod (CZUB), founded 1936 as a branch of the Strakonice Česká zbrojovka, whose pre-war pistols are also recorded under this name: vz. 58 rifles, Škorpion, CZ 75, Bren 2. Part of Colt CZ Group (''Colt CZ Group'' itself is left out: it also owns Colt).'),
    ('CHINESESTATEFACTORY26', 'Chinese State Factory 26', 'CN', 'Chinese state factory identified by the number 26 in a triangle, found on Type 56 carbines (SKS) among other arms. Its own maker for the reason given under Factory 66.'),
    ('CHINESESTATEFACTORY386', 'Chinese State Factory 386', 'CN', 'Chinese state factory identified by the number 386 in a triangle, found on Type 56 assault rifles. Its own maker for the reason given under Factory 66.'),
    ('CHINESESTATEFACTORY416', 'Chinese State Factory 416', 'CN', 'Chinese state factory identified by the number 416, found on Type 56 assault rifles, many of them exported. Its own maker for the reason given under Factory 66.'),
    ('CHINESESTATEFACTORY66', 'Chinese State Factory 66', 'CN', 'Chinese state factory identified by the number 66 in a triangle, the most common factory mark on Type 56 assault rifles (from 1956). The state does not publish the factory''s name or place. Kept as its own maker rather than an alias of Norinco, because Norinco (founded 1980) exports the output of many state factories and the number is the factory''s own mark.'),
    ('COLTCANADA', 'Colt Canada', 'CA', 'Kitchener, Ontario: founded 1976 as Diemaco, bought by Colt in 2005 and renamed Colt Canada; C7 and C8 rifles. Kept apart from Colt because its arms carry their own name and country.'),
    ('COLTSMANUFACTURINGCOMPANY', 'Colt''s Manufacturing Company', 'US', 'Hartford, Connecticut: M16 and M4 rifles, M1911 pistols, revolvers. Colt Defense was its military-products company in the 2000s. Part of Colt CZ Group since 2021.'),
    ('COMPANHIABRASILEIRADECARTUCHOS', 'Companhia Brasileira de Cartuchos', 'BR', 'Ammunition, rifles and shotguns.'),
    ('CUGIRARMSFACTORY', 'Cugir Arms Factory', 'RO', 'Cugir: ROMARM subsidiary split from the Cugir Mechanical Plant in 2004; infantry weapons including AKM-pattern rifles for export (WASR series).'),
    ('CUGIRMECHANICALPLANT', 'Cugir Mechanical Plant', 'RO', 'Cugir: the historic Cugir works (from 1799; infantry weapons since the 1930s) that made Romania''s small arms, including PM md. 63/65 rifles, until the Cugir Arms Factory was split from it in 2004; a ROMARM subsidiary. ''Cugir'' alone is left out: two makers bear the name.'),
    ('DEFENCEINDUSTRIESCORPORATIONOFNIGERIA', 'Defence Industries Corporation of Nigeria', 'NG', 'Kaduna: the Nigerian state arms maker.'),
    ('DEFENCEINDUSTRIESORGANISATION', 'Defence Industries Organisation', 'IR', 'The Iranian state arms maker: Kalashnikov-pattern rifles, RPG-7-pattern launchers, mortars and their ammunition.'),
    ('DEGTYAREVPLANT', 'Degtyarev Plant', 'RU', 'Kovrov, founded 1916 as the Kovrov machine-gun works. DP and PTRD (Degtyarev) and PPSh-41 historically; Kord machine guns; series production of Igla-family MANPADS designed by KBM. Not the Kovrov Mechanical Plant, a separate enterprise; ''KMZ'' is left out (Kovrov and Krasnogorsk mechanical plants), as is ''Degtyarev'' alone (the designer).'),
    ('DENEL', 'Denel', 'ZA', 'The South African state arms group: R4 and R5 rifles and Vektor pistols from Lyttelton Engineering Works (LIW, later Denel Land Systems), Ingwe ATGM from Kentron (later Denel Dynamics). ''Armscor'' alone is left out (the procurement agency; also the Philippine maker).'),
    ('DYNAMITNOBELDEFENCE', 'Dynamit Nobel Defence', 'DE', 'Burbach: Panzerfaust 3 and RGW 60/90 shoulder-launched weapons.'),
    ('ELBITSYSTEMS', 'Elbit Systems', 'IL', 'Haifa. Bought Soltam Systems (mortars) in 2010 and IMI Systems in 2018.'),
    ('FABRICACIONESMILITARES', 'Fabricaciones Militares', 'AR', 'Argentine state arms maker (Dirección General de Fabricaciones Militares); its small arms, FM FAL rifles and Browning High Power pistols under licence, come from the Fábrica Militar de Armas Portátiles Domingo Matheu in Rosario.'),
    ('FABRYKABRONIŁUCZNIKRADOM', 'Fabryka Broni Łucznik-Radom', 'PL', 'Radom: Vis pistols (before 1945), kbk AKM and Beryl rifles, MSBS Grot. Earlier Zakłady Metalowe Łucznik.'),
    ('FAMAE', 'FAMAE', 'CL', 'Fábricas y Maestranzas del Ejército, the Chilean army''s arms maker: SAF submachine guns, SIG SG 540 under licence.'),
    ('FEG', 'FÉG', 'HU', 'Budapest. Founded 1891 as Fegyver- és Gépgyár; Fémáru, Fegyver- és Gépgyár 1935–1946, Lampart 1946–1965, then Fegyver- és Gázkészülékgyár: AK-63 and AMD-65 rifles, PA-63 pistols. Its successor FÉGARMY went bankrupt in the mid-2000s. ''Fegyvergyár'' (Hungarian for arms factory) is too generic to be an alias.'),
    ('FNHERSTAL', 'FN Herstal', 'BE', 'Herstal, founded 1889 as Fabrique Nationale d''Armes de Guerre, later FN Herstal: FAL, MAG, Minimi, P90, SCAR, Browning High Power. FN America (formerly FN Manufacturing, Columbia, South Carolina) is its US subsidiary. ''Browning'' alone is left out (a designer and a brand whose arms were made by FN, Miroku and others).'),
    ('FRATELLITANFOGLIO', 'Fratelli Tanfoglio', 'IT', 'Gardone Val Trompia: pistols derived from the CZ 75.'),
    ('GABILONDOYCIA', 'Gabilondo y Cía', 'ES', 'Llama pistols and revolvers.'),
    ('GLOCK', 'Glock', 'AT', 'Deutsch-Wagram, founded 1963; Glock pistols from 1982. Glock Inc. (Smyrna, Georgia) is its US subsidiary.'),
    ('HECKLERKOCH', 'Heckler & Koch', 'DE', 'Oberndorf am Neckar, founded 1949: G3, MP5, G36, HK416 rifles, HK69 and GMG grenade launchers. Weapons made under its licence abroad usually carry the licensee''s name.'),
    ('HELLENICDEFENCESYSTEMS', 'Hellenic Defence Systems', 'GR', 'EAS, formed in 2004 from the Hellenic Arms Industry (EBO) and Pyrkal: G3 rifles and MP5 under Heckler & Koch licence.'),
    ('HIRTENBERGERDEFENCESYSTEMS', 'Hirtenberger Defence Systems', 'AT', 'Hirtenberg: 60 mm and 81 mm mortars and their ammunition.'),
    ('HSPRODUKT', 'HS Produkt', 'HR', 'Karlovac: VHS rifles, HS2000 pistols (sold in the USA as the Springfield Armory XD).'),
    ('IMBEL', 'IMBEL', 'BR', 'Indústria de Material Bélico do Brasil, the state arms maker: FAL under licence, IA2 rifles.'),
    ('INDEP', 'INDEP', 'PT', 'Indústrias Nacionais de Defesa, Lisbon: G3 rifles under Heckler & Koch licence.'),
    ('INDUMIL', 'INDUMIL', 'CO', 'Industria Militar, the Colombian state arms maker: Galil rifles under licence, Córdova pistols.'),
    ('INSTALAZA', 'Instalaza', 'ES', 'Zaragoza: C90 and Alcotán-100 shoulder-launched weapons.'),
    ('ISRAELMILITARYINDUSTRIES', 'Israel Military Industries', 'IL', 'The Israeli state arms maker (Uzi, Galil, B-300) until 2005, when its small-arms division was sold as Israel Weapon Industries; the rest continued as IMI Systems and was bought by Elbit Systems in 2018. Kept as its own maker: items marked IMI belong to neither successor alone.'),
    ('ISRAELWEAPONINDUSTRIES', 'Israel Weapon Industries', 'IL', 'Ramat HaSharon: the small-arms division of Israel Military Industries, privatised in 2005: Tavor, Negev, Galil ACE, Uzi, Jericho.'),
    ('IZHEVSKMECHANICALPLANT', 'Izhevsk Mechanical Plant', 'RU', 'Izhevsk. Separated from the Izhevsk arms works in 1942 as Plant No. 622; Makarov PM and Yarygin pistols, Baikal hunting and sporting guns (Baikal has been its export brand since 1964). Came under the management of Kalashnikov Concern in 2013, but it is a different plant from Izhmash and keeps its own key. IZh model numbers were used by both Izhevsk plants, so ''IZh'' is not an alias.'),
    ('JAVELINJOINTVENTURE', 'Javelin Joint Venture', 'US', 'The joint venture of Raytheon and Lockheed Martin that is the prime contractor for the FGM-148 Javelin; its own entry because the weapon is credited to the venture, not to either partner.'),
    ('JPSAUERSOHN', 'J. P. Sauer & Sohn', 'DE', 'Suhl until 1945, Eckernförde from 1951, Isny im Allgäu from 2009: Sauer 38H pistols, hunting rifles; made SIG-designed P220-series pistols in Eckernförde. ''Sauer'' alone is left out: it also stands for SIG Sauer.'),
    ('KALASHNIKOVCONCERN', 'Kalashnikov Concern', 'RU', 'Izhevsk. The state arms works founded in 1807 (Izhevsk Arms Plant), long known as Izhmash (Izhevsk Machine-Building Plant); renamed Kalashnikov Concern in 2013 under Rostec. AK-47, AKM, AK-74, AK-100 and AK-12 series rifles, SVD, Saiga. A different plant from the Izhevsk Mechanical Plant (Izhmekh, Baikal). ''Kalashnikov'' alone is not an alias: it names a weapon family made in many countries.'),
    ('KBMMACHINEBUILDINGDESIGNBUREAU', 'KBM Machine-Building Design Bureau', 'RU', 'Kolomna design bureau (Konstruktorskoye Byuro Mashinostroyeniya): Strela-2, Igla and Verba MANPADS, Shturm and Ataka ATGMs. Series production of its MANPADS is done elsewhere, notably at the Degtyarev Plant.'),
    ('KBPINSTRUMENTDESIGNBUREAU', 'KBP Instrument Design Bureau', 'RU', 'Tula design bureau (Konstruktorskoye Byuro Priborostroyeniya): Kornet and Metis ATGMs, AGS-30 grenade launcher, GSh-18 pistol.'),
    ('KELTECCNCINDUSTRIES', 'Kel-Tec CNC Industries', 'US', 'Cocoa, Florida: pistols and rifles.'),
    ('KNDSFRANCE', 'KNDS France', 'FR', 'Versailles. The French state arms works grouped as GIAT in 1973 (later GIAT Industries), renamed Nexter in 2006 and KNDS France in 2024. Includes the former state small-arms factories MAS (Saint-Étienne: MAS-36, MAS-49, FAMAS) and MAT (Tulle: MAT-49), whose names point here. ''KNDS'' alone is left out (the group also holds KNDS Deutschland).'),
    ('LIGNEX1', 'LIG Nex1', 'KR', 'Chiron (Shingung) MANPADS, Raybolt ATGM.'),
    ('LOCKHEEDMARTIN', 'Lockheed Martin', 'US', 'Hellfire missiles; partner in the Javelin Joint Venture.'),
    ('LUCHDESIGNBUREAU', 'Luch Design Bureau', 'UA', 'Kyiv: Stugna-P, Skif and Corsar ATGMs. ''Luch'' alone is left out (several enterprises).'),
    ('LUIGIFRANCHI', 'Luigi Franchi', 'IT', 'SPAS-12 and SPAS-15 shotguns.'),
    ('MAADICOMPANYFORENGINEERINGINDUSTRIES', 'Maadi Company for Engineering Industries', 'EG', 'Cairo, the Egyptian state factory: Maadi (Misr) AKM copies, Hakim rifles.'),
    ('MAKINAVEKIMYAENDUSTRISI', 'Makina ve Kimya Endüstrisi', 'TR', 'Ankara: the Turkish state arms maker (MKEK, now a joint-stock company, MKE A.Ş.): G3 and MP5 under Heckler & Koch licence, MPT-76 rifles, mortars.'),
    ('MANURHIN', 'Manurhin', 'FR', 'Mulhouse: MR 73 revolvers; Walther PP and PPK under licence after the Second World War.'),
    ('MAUSERWERKE', 'Mauser-Werke', 'DE', 'Oberndorf am Neckar: Gewehr 98, Karabiner 98k, C96 pistols. The Mauser name later passed to separate businesses (hunting rifles, aircraft cannon), so it is kept as its own maker. ''Mauser'' alone is left out: it names a rifle system made by many factories (FN, ZB, Steyr, Zastava ...).'),
    ('MBDA', 'MBDA', 'FR', 'European missile maker formed in 2001 (French arm at Le Plessis-Robinson): Milan and Akeron MP ATGMs, Mistral MANPADS. Euromissile (Milan) and Matra BAe Dynamics (Mistral) are predecessors.'),
    ('MESKO', 'Mesko', 'PL', 'Skarżysko-Kamienna: Grom and Piorun MANPADS, Spike-LR under licence, ammunition.'),
    ('MILITARYINDUSTRIESCORPORATION', 'Military Industries Corporation', 'SA', 'Al-Kharj: the Saudi state arms maker; G3 and G36 under Heckler & Koch licence. Not Sudan''s Military Industry Corporation.'),
    ('MILITARYINDUSTRYCORPORATION', 'Military Industry Corporation', 'SD', 'Khartoum: the Sudanese state maker of small arms, light weapons and ammunition. ''MIC'' alone is left out: it is also Saudi Arabia''s Military Industries Corporation.'),
    ('MOLOT', 'Molot', 'RU', 'Vyatskiye Polyany Machine-Building Plant Molot: PPSh-41 submachine guns in the Second World War, RPK and RPK-74 light machine guns, Vepr sporting rifles.'),
    ('NAMMO', 'Nammo', 'NO', 'Raufoss: M72 LAW (also made by its US arm Nammo Talley in Mesa, Arizona), shoulder-launched weapons and ammunition.'),
    ('NORINCO', 'Norinco', 'CN', 'China North Industries Corporation, Beijing, founded 1980: the state arms group''s trading and manufacturing company, under whose name the output of many numbered state factories is exported (Type 56 and Type 81 rifles, Type 69 rocket launchers). Numbered factories whose mark appears on the weapon are separate entries.'),
    ('OFMOSSBERGSONS', 'O.F. Mossberg & Sons', 'US', 'North Haven, Connecticut: 500 and 590 shotguns.'),
    ('PAKISTANORDNANCEFACTORIES', 'Pakistan Ordnance Factories', 'PK', 'Wah Cantonment, founded 1951: G3, MP5 and MG 3 under licence, ammunition.'),
    ('PINDAD', 'Pindad', 'ID', 'Bandung, the Indonesian state arms maker: SS1 and SS2 rifles (FN FNC-derived).'),
    ('POLYTECHNOLOGIES', 'Poly Technologies', 'CN', 'Beijing state trading company of the China Poly Group. Its name (POLYTECH) is marked on arms it exported, which were made by state factories.'),
    ('RAFAELADVANCEDDEFENSESYSTEMS', 'Rafael Advanced Defense Systems', 'IL', 'Haifa: Spike ATGMs.'),
    ('RAYTHEON', 'Raytheon', 'US', 'Stinger MANPADS (first made by General Dynamics'' Pomona division, whose missile business passed to Hughes in 1992 and to Raytheon in 1997), TOW (a Hughes design) and, with Lockheed Martin, Javelin. A business of RTX since 2023. ''General Dynamics'' and ''Hughes'' alone are left out.'),
    ('REMINGTONARMS', 'Remington Arms', 'US', 'Ilion, New York (E. Remington & Sons until the 1880s). After the 2020 bankruptcy sale the firearms business continues as RemArms under the Remington name.'),
    ('RHEINMETALL', 'Rheinmetall', 'DE', 'Düsseldorf: MG 3 machine guns among its light weapons.'),
    ('ROKETSAN', 'Roketsan', 'TR', 'Ankara: rockets and missiles, including the OMTAS and KARAOK anti-tank missiles.'),
    ('RPCFORT', 'RPC Fort', 'UA', 'Vinnytsia; the Interior Ministry''s arms maker: Fort-12 and Fort-17 pistols, Fort-221 and Fort-224 rifles (Tavor and X95 under IWI licence).'),
    ('SAAB', 'Saab', 'SE', 'Saab AB''s Dynamics business (Karlskoga, Eskilstuna): Carl Gustaf recoilless rifle, AT4, NLAW, RBS 70. Carries on the missile and shoulder-launched weapon business of Bofors (Saab Bofors Dynamics from 2000) and FFV (Förenade Fabriksverken, maker of the Carl Gustaf and AT4). ''Bofors'' alone is left out: the Bofors artillery business is now BAE Systems Bofors.'),
    ('SAKO', 'Sako', 'FI', 'Riihimäki, founded 1921 (Suojeluskuntain Ase- ja Konepaja): rifles, TRG sniper rifles, Rk 62 and Rk 95 assault rifles. Valmet''s firearm production merged into it in 1986. Part of Beretta Holding since 2000.'),
    ('SANTABARBARASISTEMAS', 'Santa Bárbara Sistemas', 'ES', 'Empresa Nacional Santa Bárbara, the Spanish state arms maker that produced the CETME rifles designed by the CETME research centre (which is not itself an alias); part of General Dynamics since 2001.'),
    ('SARSILMAZ', 'Sarsılmaz', 'TR', 'Istanbul: pistols (Kılınç, SAR series).'),
    ('SAVAGEARMS', 'Savage Arms', 'US', 'Westfield, Massachusetts: rifles and shotguns.'),
    ('SIGSAUER', 'SIG Sauer', 'US', 'The SIG Sauer brand: SIG Sauer Inc. (Newington, New Hampshire; SIGARMS Inc. until 2007) and SIG Sauer GmbH & Co. KG (Eckernförde, Germany; closed at the end of 2020). One maker because a pistol marked SIG SAUER may come from either plant; the item''s country of manufacture tells them apart. Country US, where the brand is made today. Not the Swiss SIG works (Swiss Arms) nor J. P. Sauer & Sohn.'),
    ('SMITHWESSON', 'Smith & Wesson', 'US', 'Springfield, Massachusetts: revolvers, M&P pistols and rifles.'),
    ('SNTMOTIV', 'SNT Motiv', 'KR', 'Busan. Daewoo Precision Industries, which made the K1 and K2 from the 1980s, renamed S&T Daewoo in 2006, S&T Motiv in 2012 and SNT Motiv in 2021: K1, K2 rifles, K3 machine gun, K5 pistol. ''Daewoo'' alone is left out (the conglomerate).'),
    ('SPRINGFIELDARMORYINC', 'Springfield Armory, Inc.', 'US', 'Geneseo, Illinois: private company that took the name of the former US national armory; M1A rifles, XD pistols (made by HS Produkt). ''Springfield Armory'' alone is left out: it also names the national armory (1794–1968) that made M1903 and M1 rifles.'),
    ('STARBONIFACIOECHEVERRIA', 'Star Bonifacio Echeverría', 'ES', 'Eibar: pistols and Z-62/Z-70 submachine guns; closed 1997. ''Star'' alone is left out as too generic.'),
    ('STENGINEERING', 'ST Engineering', 'SG', 'Chartered Industries of Singapore (SAR 80, Ultimax 100, CIS 40 mm grenade launchers), later ST Kinetics and now part of ST Engineering: SAR 21.'),
    ('STEYRMANNLICHER', 'Steyr Mannlicher', 'AT', 'Steyr: the small-arms business of the former Österreichische Waffenfabriks-Gesellschaft and Steyr-Daimler-Puch; Mannlicher rifles, StG 77 (AUG), SSG 69.'),
    ('STURMRUGERCO', 'Sturm, Ruger & Co.', 'US', 'Southport, Connecticut, founded 1949: pistols, revolvers, Mini-14 and 10/22 rifles.'),
    ('SWISSARMS', 'Swiss Arms', 'CH', 'Neuhausen am Rheinfall. The small-arms works of SIG (Schweizerische Industrie-Gesellschaft), sold in 2000 to the owners of SIG Sauer and continued as SAN Swiss Arms: SG 510, SG 540 and SG 550 (Stgw 57, Stgw 90), P210. Kept apart from SIG Sauer, a different works. ''SIG'' and ''SIG Arms'' alone are left out: both also name the SIG Sauer side (SIGARMS Inc., USA).'),
    ('TAURUSARMAS', 'Taurus Armas', 'BR', 'São Leopoldo, formerly Forjas Taurus: pistols and revolvers. Taurus International (USA) is its US subsidiary.'),
    ('TDAARMEMENTS', 'TDA Armements', 'FR', 'Thales company making mortars of the Brandt lineage (Hotchkiss-Brandt, Thomson-Brandt).'),
    ('THALESAIRDEFENCE', 'Thales Air Defence', 'GB', 'Belfast: Blowpipe, Javelin (the British MANPADS), Starstreak and LMM. Formerly Shorts Missile Systems, the missile business of Short Brothers (''Short Brothers'' itself is left out: the aircraft company went elsewhere).'),
    ('TISAS', 'TİSAŞ', 'TR', 'Trabzon Silah Sanayi: Zigana pistols.'),
    ('TULAARMSPLANT', 'Tula Arms Plant', 'RU', 'Tula, founded 1712. Mosin-Nagant rifles, Tokarev TT pistols and SVT-40 rifles historically; AKS-74U; hunting guns under the TOZ name.'),
    ('VMZ', 'VMZ', 'BG', 'Vazovski Mashinostroitelni Zavodi, Sopot: anti-tank rockets and missiles, ammunition.'),
    ('ZASTAVAARMS', 'Zastava Arms', 'RS', 'Kragujevac: the cannon foundry that cast its first guns in 1853, after the Second World War part of Zavodi Crvena Zastava; the arms works now trade as Zastava Oružje (Zastava Arms): M48, M70 and M72 rifles and machine guns, M76, M84.'),
    ('ZBROJOVKABRNO', 'Zbrojovka Brno', 'CZ', 'Brno: vz. 24 rifles, ZB vz. 26 and vz. 30 light machine guns (the Bren''s origin).');

INSERT INTO manufacturer_aliases (alias_key, alias, manufacturer_key) VALUES
    ('ACCURACYINTERNATIONAL', 'Accuracy International', 'ACCURACYINTERNATIONAL'),
    ('ACCURACYINTERNATIONALLTD', 'Accuracy International Ltd', 'ACCURACYINTERNATIONAL'),
    ('ADVANCEDWEAPONSANDEQUIPMENTINDIA', 'Advanced Weapons and Equipment India', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('ADVANCEDWEAPONSANDEQUIPMENTINDIALIMITED', 'Advanced Weapons and Equipment India Limited', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('AIRTRONIC', 'Airtronic', 'AIRTRONICUSA'),
    ('AIRTRONICUSA', 'Airtronic USA', 'AIRTRONICUSA'),
    ('AIRTRONICUSALLC', 'Airtronic USA LLC', 'AIRTRONICUSA'),
    ('AMADEOROSSI', 'Amadeo Rossi', 'AMADEOROSSI'),
    ('AMADEOROSSISA', 'Amadeo Rossi S.A.', 'AMADEOROSSI'),
    ('APCEHAЛAД', 'Арсенал АД', 'ARSENALAD'),
    ('APKYC', 'Аркус', 'ARCUS'),
    ('ARCUS', 'Arcus', 'ARCUS'),
    ('ARCUSCO', 'Arcus Co.', 'ARCUS'),
    ('ARMSCORPHILIPPINES', 'Armscor Philippines', 'ARMSCORPORATIONOFTHEPHILIPPINES'),
    ('ARMSCORPORATIONOFTHEPHILIPPINES', 'Arms Corporation of the Philippines', 'ARMSCORPORATIONOFTHEPHILIPPINES'),
    ('ARSENALAD', 'Arsenal AD', 'ARSENALAD'),
    ('ARSENALJSCO', 'Arsenal JSCo', 'ARSENALAD'),
    ('ARSENALKAZANLAK', 'Arsenal Kazanlak', 'ARSENALAD'),
    ('ASTRAUNCETA', 'Astra Unceta', 'ASTRAUNCETAYCIA'),
    ('ASTRAUNCETAYCIA', 'Astra-Unceta y Cía', 'ASTRAUNCETAYCIA'),
    ('ATAKARMS', 'Atak Arms', 'ATAKARMS'),
    ('AWEIL', 'AWEIL', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('BAESYSTEMS', 'BAE Systems', 'BAESYSTEMS'),
    ('BAESYSTEMSPLC', 'BAE Systems plc', 'BAESYSTEMS'),
    ('BAIKAL', 'Baikal', 'IZHEVSKMECHANICALPLANT'),
    ('BARRETT', 'Barrett', 'BARRETTFIREARMSMANUFACTURING'),
    ('BARRETTFIREARMS', 'Barrett Firearms', 'BARRETTFIREARMSMANUFACTURING'),
    ('BARRETTFIREARMSMANUFACTURING', 'Barrett Firearms Manufacturing', 'BARRETTFIREARMSMANUFACTURING'),
    ('BAZALT', 'Bazalt', 'BAZALT'),
    ('BENELLI', 'Benelli', 'BENELLIARMI'),
    ('BENELLIARMI', 'Benelli Armi', 'BENELLIARMI'),
    ('BENELLIARMISPA', 'Benelli Armi SpA', 'BENELLIARMI'),
    ('BERETTA', 'Beretta', 'BERETTA'),
    ('BERETTAUSA', 'Beretta USA', 'BERETTA'),
    ('BERETTAUSACORP', 'Beretta U.S.A. Corp.', 'BERETTA'),
    ('BERSA', 'Bersa', 'BERSA'),
    ('BERSASA', 'Bersa S.A.', 'BERSA'),
    ('BIRMINGHAMSMALLARMS', 'Birmingham Small Arms', 'BIRMINGHAMSMALLARMSCOMPANY'),
    ('BIRMINGHAMSMALLARMSCOMPANY', 'Birmingham Small Arms Company', 'BIRMINGHAMSMALLARMSCOMPANY'),
    ('BMЗ', 'ВМЗ', 'VMZ'),
    ('BONIFACIOECHEVERRIA', 'Bonifacio Echeverría', 'STARBONIFACIOECHEVERRIA'),
    ('BRANDT', 'Brandt', 'TDAARMEMENTS'),
    ('BRITISHAEROSPACE', 'British Aerospace', 'BAESYSTEMS'),
    ('BRUGGERTHOMET', 'Brügger & Thomet', 'BTAG'),
    ('BSA', 'BSA', 'BIRMINGHAMSMALLARMSCOMPANY'),
    ('BT', 'B&T', 'BTAG'),
    ('BTAG', 'B&T AG', 'BTAG'),
    ('CANIK', 'Canik', 'CANIK'),
    ('CARACAL', 'Caracal', 'CARACALINTERNATIONAL'),
    ('CARACALINTERNATIONAL', 'Caracal International', 'CARACALINTERNATIONAL'),
    ('CARLGUSTAFSSTADSGEVARSFAKTORI', 'Carl Gustafs stads gevärsfaktori', 'SAAB'),
    ('CARLWALTHER', 'Carl Walther', 'CARLWALTHER'),
    ('CARLWALTHERGMBH', 'Carl Walther GmbH', 'CARLWALTHER'),
    ('CAVIM', 'CAVIM', 'CAVIM'),
    ('CBC', 'CBC', 'COMPANHIABRASILEIRADECARTUCHOS'),
    ('CESKAZBROJOVKA', 'Česká zbrojovka', 'CESKAZBROJOVKA'),
    ('CESKAZBROJOVKAAS', 'Česká zbrojovka a.s.', 'CESKAZBROJOVKA'),
    ('CESKAZBROJOVKAUHERSKYBROD', 'Česká zbrojovka Uherský Brod', 'CESKAZBROJOVKA'),
    ('CESKOSLOVENSKAZBROJOVKABRNO', 'Československá zbrojovka Brno', 'ZBROJOVKABRNO'),
    ('CHARTEREDINDUSTRIESOFSINGAPORE', 'Chartered Industries of Singapore', 'STENGINEERING'),
    ('CHINANORTHINDUSTRIESCORPORATION', 'China North Industries Corporation', 'NORINCO'),
    ('CHINANORTHINDUSTRIESGROUP', 'China North Industries Group', 'NORINCO'),
    ('CHINANORTHINDUSTRIESGROUPCORPORATION', 'China North Industries Group Corporation', 'NORINCO'),
    ('CHINESEFACTORY26', 'Chinese Factory 26', 'CHINESESTATEFACTORY26'),
    ('CHINESEFACTORY386', 'Chinese Factory 386', 'CHINESESTATEFACTORY386'),
    ('CHINESEFACTORY416', 'Chinese Factory 416', 'CHINESESTATEFACTORY416'),
    ('CHINESEFACTORY66', 'Chinese Factory 66', 'CHINESESTATEFACTORY66'),
    ('CHINESESTATEFACTORY26', 'Chinese State Factory 26', 'CHINESESTATEFACTORY26'),
    ('CHINESESTATEFACTORY386', 'Chinese State Factory 386', 'CHINESESTATEFACTORY386'),
    ('CHINESESTATEFACTORY416', 'Chinese State Factory 416', 'CHINESESTATEFACTORY416'),
    ('CHINESESTATEFACTORY66', 'Chinese State Factory 66', 'CHINESESTATEFACTORY66'),
    ('CIS', 'CIS', 'STENGINEERING'),
    ('CNGC', 'CNGC', 'NORINCO'),
    ('COLT', 'Colt', 'COLTSMANUFACTURINGCOMPANY'),
    ('COLTCANADA', 'Colt Canada', 'COLTCANADA'),
    ('COLTDEFENSE', 'Colt Defense', 'COLTSMANUFACTURINGCOMPANY'),
    ('COLTSMANUFACTURINGCOMPANY', 'Colt''s Manufacturing Company', 'COLTSMANUFACTURINGCOMPANY'),
    ('COLTSMANUFACTURINGCOMPANYLLC', 'Colt''s Manufacturing Company LLC', 'COLTSMANUFACTURINGCOMPANY'),
    ('COLTSMFGCO', 'Colt''s Mfg. Co.', 'COLTSMANUFACTURINGCOMPANY'),
    ('COLTSPATENTFIREARMSMANUFACTURINGCOMPANY', 'Colt''s Patent Fire Arms Manufacturing Company', 'COLTSMANUFACTURINGCOMPANY'),
    ('COMPANHIABRASILEIRADECARTUCHOS', 'Companhia Brasileira de Cartuchos', 'COMPANHIABRASILEIRADECARTUCHOS'),
    ('COMPANIAANONIMAVENEZOLANADEINDUSTRIASMILITARES', 'Compañía Anónima Venezolana de Industrias Militares', 'CAVIM'),
    ('CONCERNKALASHNIKOV', 'Concern Kalashnikov', 'KALASHNIKOVCONCERN'),
    ('CRVENAZASTAVA', 'Crvena Zastava', 'ZASTAVAARMS'),
    ('CUGIRARMSFACTORY', 'Cugir Arms Factory', 'CUGIRARMSFACTORY'),
    ('CUGIRMECHANICALPLANT', 'Cugir Mechanical Plant', 'CUGIRMECHANICALPLANT'),
    ('CZ', 'CZ', 'CESKAZBROJOVKA'),
    ('CZUB', 'CZUB', 'CESKAZBROJOVKA'),
    ('DAEWOOPRECISION', 'Daewoo Precision', 'SNTMOTIV'),
    ('DAEWOOPRECISIONINDUSTRIES', 'Daewoo Precision Industries', 'SNTMOTIV'),
    ('DEFENCEINDUSTRIESCORPORATIONOFNIGERIA', 'Defence Industries Corporation of Nigeria', 'DEFENCEINDUSTRIESCORPORATIONOFNIGERIA'),
    ('DEFENCEINDUSTRIESORGANISATION', 'Defence Industries Organisation', 'DEFENCEINDUSTRIESORGANISATION'),
    ('DEFENSEINDUSTRIESORGANIZATION', 'Defense Industries Organization', 'DEFENCEINDUSTRIESORGANISATION'),
    ('DEGTYAREVPLANT', 'Degtyarev Plant', 'DEGTYAREVPLANT'),
    ('DEGTYARYOVPLANT', 'Degtyaryov Plant', 'DEGTYAREVPLANT'),
    ('DENEL', 'Denel', 'DENEL'),
    ('DENELDYNAMICS', 'Denel Dynamics', 'DENEL'),
    ('DENELLANDSYSTEMS', 'Denel Land Systems', 'DENEL'),
    ('DENELSOCLTD', 'Denel SOC Ltd', 'DENEL'),
    ('DENELVEKTOR', 'Denel Vektor', 'DENEL'),
    ('DGFM', 'DGFM', 'FABRICACIONESMILITARES'),
    ('DICON', 'DICON', 'DEFENCEINDUSTRIESCORPORATIONOFNIGERIA'),
    ('DIEMACO', 'Diemaco', 'COLTCANADA'),
    ('DIO', 'DIO', 'DEFENCEINDUSTRIESORGANISATION'),
    ('DIRECCIONGENERALDEFABRICACIONESMILITARES', 'Dirección General de Fabricaciones Militares', 'FABRICACIONESMILITARES'),
    ('DND', 'DND', 'DYNAMITNOBELDEFENCE'),
    ('DYNAMITNOBEL', 'Dynamit Nobel', 'DYNAMITNOBELDEFENCE'),
    ('DYNAMITNOBELDEFENCE', 'Dynamit Nobel Defence', 'DYNAMITNOBELDEFENCE'),
    ('DYNAMITNOBELDEFENCEGMBH', 'Dynamit Nobel Defence GmbH', 'DYNAMITNOBELDEFENCE'),
    ('EAS', 'EAS', 'HELLENICDEFENCESYSTEMS'),
    ('EBO', 'EBO', 'HELLENICDEFENCESYSTEMS'),
    ('ELBIT', 'Elbit', 'ELBITSYSTEMS'),
    ('ELBITSYSTEMS', 'Elbit Systems', 'ELBITSYSTEMS'),
    ('ELBITSYSTEMSLAND', 'Elbit Systems Land', 'ELBITSYSTEMS'),
    ('ELBITSYSTEMSLTD', 'Elbit Systems Ltd', 'ELBITSYSTEMS'),
    ('ELLINIKIAMYNTIKASYSTIMATA', 'Elliniki Amyntika Systimata', 'HELLENICDEFENCESYSTEMS'),
    ('ELLINIKIVIOMIHANIAOPLON', 'Elliniki Viomihania Oplon', 'HELLENICDEFENCESYSTEMS'),
    ('EMPRESANACIONALSANTABARBARA', 'Empresa Nacional Santa Bárbara', 'SANTABARBARASISTEMAS'),
    ('EREMINGTONSONS', 'E. Remington & Sons', 'REMINGTONARMS'),
    ('EUROMISSILE', 'Euromissile', 'MBDA'),
    ('EΛΛHNIKAAMYNTIKAΣYΣTHMATA', 'Ελληνικά Αμυντικά Συστήματα', 'HELLENICDEFENCESYSTEMS'),
    ('FABBRICADARMIPIETROBERETTA', 'Fabbrica d''Armi Pietro Beretta', 'BERETTA'),
    ('FABRICACIONESMILITARES', 'Fabricaciones Militares', 'FABRICACIONESMILITARES'),
    ('FABRICADEARMECUGIR', 'Fabrica de Arme Cugir', 'CUGIRARMSFACTORY'),
    ('FABRICADEARMECUGIRSA', 'Fabrica de Arme Cugir SA', 'CUGIRARMSFACTORY'),
    ('FABRICAMILITARDEARMASPORTATILESDOMINGOMATHEU', 'Fábrica Militar de Armas Portátiles Domingo Matheu', 'FABRICACIONESMILITARES'),
    ('FABRICASYMAESTRANZASDELEJERCITO', 'Fábricas y Maestranzas del Ejército', 'FAMAE'),
    ('FABRIQUENATIONALE', 'Fabrique Nationale', 'FNHERSTAL'),
    ('FABRIQUENATIONALEDARMESDEGUERRE', 'Fabrique Nationale d''Armes de Guerre', 'FNHERSTAL'),
    ('FABRIQUENATIONALEDEHERSTAL', 'Fabrique Nationale de Herstal', 'FNHERSTAL'),
    ('FABRIQUENATIONALEDHERSTAL', 'Fabrique Nationale d''Herstal', 'FNHERSTAL'),
    ('FABRYKABRONIRADOM', 'Fabryka Broni Radom', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('FABRYKABRONIŁUCZNIKRADOM', 'Fabryka Broni Łucznik-Radom', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('FACTORY26', 'Factory 26', 'CHINESESTATEFACTORY26'),
    ('FACTORY386', 'Factory 386', 'CHINESESTATEFACTORY386'),
    ('FACTORY416', 'Factory 416', 'CHINESESTATEFACTORY416'),
    ('FACTORY66', 'Factory 66', 'CHINESESTATEFACTORY66'),
    ('FAMAE', 'FAMAE', 'FAMAE'),
    ('FBRADOM', 'FB Radom', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('FEG', 'FÉG', 'FEG'),
    ('FEGARMY', 'FÉGARMY', 'FEG'),
    ('FEGYVERESGAZKESZULEKGYAR', 'Fegyver- és Gázkészülékgyár', 'FEG'),
    ('FEGYVERESGEPGYAR', 'Fegyver- és Gépgyár', 'FEG'),
    ('FEMARUFEGYVERESGEPGYAR', 'Fémáru, Fegyver- és Gépgyár', 'FEG'),
    ('FFV', 'FFV', 'SAAB'),
    ('FMAP', 'FMAP', 'FABRICACIONESMILITARES'),
    ('FMAPDM', 'FMAP-DM', 'FABRICACIONESMILITARES'),
    ('FN', 'FN', 'FNHERSTAL'),
    ('FNAMERICA', 'FN America', 'FNHERSTAL'),
    ('FNHERSTAL', 'FN Herstal', 'FNHERSTAL'),
    ('FNHERSTALSA', 'FN Herstal SA', 'FNHERSTAL'),
    ('FNMANUFACTURING', 'FN Manufacturing', 'FNHERSTAL'),
    ('FORENADEFABRIKSVERKEN', 'Förenade Fabriksverken', 'SAAB'),
    ('FORJASTAURUS', 'Forjas Taurus', 'TAURUSARMAS'),
    ('FORT', 'Fort', 'RPCFORT'),
    ('FRANCHI', 'Franchi', 'LUIGIFRANCHI'),
    ('FRATELLITANFOGLIO', 'Fratelli Tanfoglio', 'FRATELLITANFOGLIO'),
    ('GABILONDOYCIA', 'Gabilondo y Cía', 'GABILONDOYCIA'),
    ('GABILONDOYCOMPANIA', 'Gabilondo y Compañía', 'GABILONDOYCIA'),
    ('GENERALDYNAMICSPOMONA', 'General Dynamics Pomona', 'RAYTHEON'),
    ('GENERALDYNAMICSSANTABARBARASISTEMAS', 'General Dynamics Santa Bárbara Sistemas', 'SANTABARBARASISTEMAS'),
    ('GIAT', 'GIAT', 'KNDSFRANCE'),
    ('GIATINDUSTRIES', 'GIAT Industries', 'KNDSFRANCE'),
    ('GLOCK', 'Glock', 'GLOCK'),
    ('GLOCKGESMBH', 'Glock Ges.m.b.H.', 'GLOCK'),
    ('GLOCKGMBH', 'Glock GmbH', 'GLOCK'),
    ('GLOCKINC', 'Glock Inc.', 'GLOCK'),
    ('GNPPBAZALT', 'GNPP Bazalt', 'BAZALT'),
    ('HECKLERANDKOCH', 'Heckler and Koch', 'HECKLERKOCH'),
    ('HECKLERKOCH', 'Heckler & Koch', 'HECKLERKOCH'),
    ('HECKLERKOCHGMBH', 'Heckler & Koch GmbH', 'HECKLERKOCH'),
    ('HECKLERUNDKOCH', 'Heckler und Koch', 'HECKLERKOCH'),
    ('HELLENICARMSINDUSTRY', 'Hellenic Arms Industry', 'HELLENICDEFENCESYSTEMS'),
    ('HELLENICDEFENCESYSTEMS', 'Hellenic Defence Systems', 'HELLENICDEFENCESYSTEMS'),
    ('HIRTENBERGER', 'Hirtenberger', 'HIRTENBERGERDEFENCESYSTEMS'),
    ('HIRTENBERGERAG', 'Hirtenberger AG', 'HIRTENBERGERDEFENCESYSTEMS'),
    ('HIRTENBERGERDEFENCESYSTEMS', 'Hirtenberger Defence Systems', 'HIRTENBERGERDEFENCESYSTEMS'),
    ('HK', 'HK', 'HECKLERKOCH'),
    ('HOTCHKISSBRANDT', 'Hotchkiss-Brandt', 'TDAARMEMENTS'),
    ('HSPRODUKT', 'HS Produkt', 'HSPRODUKT'),
    ('HSPRODUKTDOO', 'HS Produkt d.o.o.', 'HSPRODUKT'),
    ('HUGHESMISSILESYSTEMS', 'Hughes Missile Systems', 'RAYTHEON'),
    ('IMBEL', 'IMBEL', 'IMBEL'),
    ('IMI', 'IMI', 'ISRAELMILITARYINDUSTRIES'),
    ('IMISYSTEMS', 'IMI Systems', 'ELBITSYSTEMS'),
    ('INDEP', 'INDEP', 'INDEP'),
    ('INDIANORDNANCEFACTORIES', 'Indian Ordnance Factories', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('INDUMIL', 'INDUMIL', 'INDUMIL'),
    ('INDUSTRIADEMATERIALBELICODOBRASIL', 'Indústria de Material Bélico do Brasil', 'IMBEL'),
    ('INDUSTRIAMILITAR', 'Industria Militar', 'INDUMIL'),
    ('INDUSTRIASNACIONAISDEDEFESA', 'Indústrias Nacionais de Defesa', 'INDEP'),
    ('INSTALAZA', 'Instalaza', 'INSTALAZA'),
    ('INSTALAZASA', 'Instalaza S.A.', 'INSTALAZA'),
    ('INSTRUMENTDESIGNBUREAU', 'Instrument Design Bureau', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('ISRAELMILITARYINDUSTRIES', 'Israel Military Industries', 'ISRAELMILITARYINDUSTRIES'),
    ('ISRAELMILITARYINDUSTRIESLTD', 'Israel Military Industries Ltd', 'ISRAELMILITARYINDUSTRIES'),
    ('ISRAELWEAPONINDUSTRIES', 'Israel Weapon Industries', 'ISRAELWEAPONINDUSTRIES'),
    ('ISRAELWEAPONINDUSTRIESLTD', 'Israel Weapon Industries Ltd', 'ISRAELWEAPONINDUSTRIES'),
    ('IWI', 'IWI', 'ISRAELWEAPONINDUSTRIES'),
    ('IZHEVSKARMSFACTORY', 'Izhevsk Arms Factory', 'KALASHNIKOVCONCERN'),
    ('IZHEVSKARMSPLANT', 'Izhevsk Arms Plant', 'KALASHNIKOVCONCERN'),
    ('IZHEVSKMACHINEBUILDINGPLANT', 'Izhevsk Machine-Building Plant', 'KALASHNIKOVCONCERN'),
    ('IZHEVSKMECHANICALPLANT', 'Izhevsk Mechanical Plant', 'IZHEVSKMECHANICALPLANT'),
    ('IZHEVSKYMASHINOSTROITELNYZAVOD', 'Izhevsky Mashinostroitelny Zavod', 'KALASHNIKOVCONCERN'),
    ('IZHEVSKYMEKHANICHESKYZAVOD', 'Izhevsky Mekhanichesky Zavod', 'IZHEVSKMECHANICALPLANT'),
    ('IZHMASH', 'Izhmash', 'KALASHNIKOVCONCERN'),
    ('IZHMASHOJSC', 'Izhmash OJSC', 'KALASHNIKOVCONCERN'),
    ('IZHMEKH', 'Izhmekh', 'IZHEVSKMECHANICALPLANT'),
    ('JAVELINJOINTVENTURE', 'Javelin Joint Venture', 'JAVELINJOINTVENTURE'),
    ('JAVELINJOINTVENTURERAYTHEONLOCKHEEDMARTIN', 'Javelin Joint Venture (Raytheon / Lockheed Martin)', 'JAVELINJOINTVENTURE'),
    ('JAVELINJV', 'Javelin JV', 'JAVELINJOINTVENTURE'),
    ('JPSAUERSOHN', 'J. P. Sauer & Sohn', 'JPSAUERSOHN'),
    ('JPSAUERUNDSOHN', 'J. P. Sauer und Sohn', 'JPSAUERSOHN'),
    ('KALASHNIKOVCONCERN', 'Kalashnikov Concern', 'KALASHNIKOVCONCERN'),
    ('KALASHNIKOVCONCERNJSC', 'Kalashnikov Concern JSC', 'KALASHNIKOVCONCERN'),
    ('KBM', 'KBM', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('KBMKOLOMNA', 'KBM Kolomna', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('KBMMACHINEBUILDINGDESIGNBUREAU', 'KBM Machine-Building Design Bureau', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('KBP', 'KBP', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('KBPINSTRUMENTDESIGNBUREAU', 'KBP Instrument Design Bureau', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('KBPTULA', 'KBP Tula', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('KELTEC', 'Kel-Tec', 'KELTECCNCINDUSTRIES'),
    ('KELTECCNCINDUSTRIES', 'Kel-Tec CNC Industries', 'KELTECCNCINDUSTRIES'),
    ('KENTRON', 'Kentron', 'DENEL'),
    ('KNDSFRANCE', 'KNDS France', 'KNDSFRANCE'),
    ('KOHCTPYKTOPCKOEБЮPOMAШИHOCTPOEHИЯ', 'Конструкторское бюро машиностроения', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('KOHCTPYKTOPCKOEБЮPOПPИБOPOCTPOEHИЯ', 'Конструкторское бюро приборостроения', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('KOHЦEPHKAЛAШHИKOB', 'Концерн Калашников', 'KALASHNIKOVCONCERN'),
    ('KONSTRUKTORSKOYEBYUROMASHINOSTROYENIYA', 'Konstruktorskoye Byuro Mashinostroyeniya', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('KONSTRUKTORSKOYEBYUROPRIBOROSTROYENIYA', 'Konstruktorskoye Byuro Priborostroyeniya', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('KБП', 'КБП', 'KBPINSTRUMENTDESIGNBUREAU'),
    ('LIGNEX1', 'LIG Nex1', 'LIGNEX1'),
    ('LIGNEX1CO', 'LIG Nex1 Co.', 'LIGNEX1'),
    ('LIW', 'LIW', 'DENEL'),
    ('LLAMA', 'Llama', 'GABILONDOYCIA'),
    ('LLAMAGABILONDOYCIA', 'Llama-Gabilondo y Cía', 'GABILONDOYCIA'),
    ('LOCKHEEDMARTIN', 'Lockheed Martin', 'LOCKHEEDMARTIN'),
    ('LOCKHEEDMARTINCORPORATION', 'Lockheed Martin Corporation', 'LOCKHEEDMARTIN'),
    ('LOCKHEEDMARTINMISSILESANDFIRECONTROL', 'Lockheed Martin Missiles and Fire Control', 'LOCKHEEDMARTIN'),
    ('LUCHDESIGNBUREAU', 'Luch Design Bureau', 'LUCHDESIGNBUREAU'),
    ('LUCZNIK', 'Lucznik', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('LUIGIFRANCHI', 'Luigi Franchi', 'LUIGIFRANCHI'),
    ('LYTTELTONENGINEERINGWORKS', 'Lyttelton Engineering Works', 'DENEL'),
    ('MAADI', 'Maadi', 'MAADICOMPANYFORENGINEERINGINDUSTRIES'),
    ('MAADICOMPANYFORENGINEERINGINDUSTRIES', 'Maadi Company for Engineering Industries', 'MAADICOMPANYFORENGINEERINGINDUSTRIES'),
    ('MACHINEBUILDINGDESIGNBUREAU', 'Machine-Building Design Bureau', 'KBMMACHINEBUILDINGDESIGNBUREAU'),
    ('MAKINAVEKIMYAENDUSTRISI', 'Makina ve Kimya Endüstrisi', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MAKINAVEKIMYAENDUSTRISIKURUMU', 'Makina ve Kimya Endüstrisi Kurumu', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MAKINEVEKIMYAENDUSTRISI', 'Makine ve Kimya Endüstrisi', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MANUFACTUREDARMESDESAINTETIENNE', 'Manufacture d''armes de Saint-Étienne', 'KNDSFRANCE'),
    ('MANUFACTUREDARMESDETULLE', 'Manufacture d''armes de Tulle', 'KNDSFRANCE'),
    ('MANUFACTUREDEMACHINESDUHAUTRHIN', 'Manufacture de Machines du Haut-Rhin', 'MANURHIN'),
    ('MANURHIN', 'Manurhin', 'MANURHIN'),
    ('MAS', 'MAS', 'KNDSFRANCE'),
    ('MAT', 'MAT', 'KNDSFRANCE'),
    ('MATRABAEDYNAMICS', 'Matra BAe Dynamics', 'MBDA'),
    ('MAUSEROBERNDORF', 'Mauser Oberndorf', 'MAUSERWERKE'),
    ('MAUSERWERKE', 'Mauser-Werke', 'MAUSERWERKE'),
    ('MAUSERWERKEOBERNDORF', 'Mauser Werke Oberndorf', 'MAUSERWERKE'),
    ('MBDA', 'MBDA', 'MBDA'),
    ('MBDAFRANCE', 'MBDA France', 'MBDA'),
    ('MBDAMISSILESYSTEMS', 'MBDA Missile Systems', 'MBDA'),
    ('MESKO', 'Mesko', 'MESKO'),
    ('MESKOSA', 'Mesko S.A.', 'MESKO'),
    ('MILITARYINDUSTRIESCORPORATION', 'Military Industries Corporation', 'MILITARYINDUSTRIESCORPORATION'),
    ('MILITARYINDUSTRIESCORPORATIONSAUDIARABIA', 'Military Industries Corporation Saudi Arabia', 'MILITARYINDUSTRIESCORPORATION'),
    ('MILITARYINDUSTRYCORPORATION', 'Military Industry Corporation', 'MILITARYINDUSTRYCORPORATION'),
    ('MILITARYINDUSTRYCORPORATIONSUDAN', 'Military Industry Corporation Sudan', 'MILITARYINDUSTRYCORPORATION'),
    ('MKE', 'MKE', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MKEAS', 'MKE A.Ş.', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MKEK', 'MKEK', 'MAKINAVEKIMYAENDUSTRISI'),
    ('MOLOT', 'Molot', 'MOLOT'),
    ('MOLOTORUZHIE', 'Molot-Oruzhie', 'MOLOT'),
    ('MOSSBERG', 'Mossberg', 'OFMOSSBERGSONS'),
    ('MOЛOT', 'Молот', 'MOLOT'),
    ('NAMMO', 'Nammo', 'NAMMO'),
    ('NAMMOAS', 'Nammo AS', 'NAMMO'),
    ('NAMMORAUFOSS', 'Nammo Raufoss', 'NAMMO'),
    ('NAMMOTALLEY', 'Nammo Talley', 'NAMMO'),
    ('NEXTER', 'Nexter', 'KNDSFRANCE'),
    ('NEXTERSYSTEMS', 'Nexter Systems', 'KNDSFRANCE'),
    ('NORINCO', 'Norinco', 'NORINCO'),
    ('NORINCOGROUP', 'Norinco Group', 'NORINCO'),
    ('NPOFORT', 'NPO Fort', 'RPCFORT'),
    ('OFB', 'OFB', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('OFMOSSBERGSONS', 'O.F. Mossberg & Sons', 'OFMOSSBERGSONS'),
    ('ORDNANCEFACTORYBOARD', 'Ordnance Factory Board', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('ORDNANCEFACTORYTIRUCHIRAPPALLI', 'Ordnance Factory Tiruchirappalli', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('OSTERREICHISCHEWAFFENFABRIKSGESELLSCHAFT', 'Österreichische Waffenfabriks-Gesellschaft', 'STEYRMANNLICHER'),
    ('PAKISTANORDNANCEFACTORIES', 'Pakistan Ordnance Factories', 'PAKISTANORDNANCEFACTORIES'),
    ('PAKISTANORDNANCEFACTORY', 'Pakistan Ordnance Factory', 'PAKISTANORDNANCEFACTORIES'),
    ('PBERETTA', 'P. Beretta', 'BERETTA'),
    ('PIETROBERETTA', 'Pietro Beretta', 'BERETTA'),
    ('PINDAD', 'Pindad', 'PINDAD'),
    ('POF', 'POF', 'PAKISTANORDNANCEFACTORIES'),
    ('POFWAH', 'POF Wah', 'PAKISTANORDNANCEFACTORIES'),
    ('POLYTECH', 'Polytech', 'POLYTECHNOLOGIES'),
    ('POLYTECHNOLOGIES', 'Poly Technologies', 'POLYTECHNOLOGIES'),
    ('POLYTECHNOLOGIESINC', 'Poly Technologies Inc.', 'POLYTECHNOLOGIES'),
    ('PTPINDAD', 'PT Pindad', 'PINDAD'),
    ('PTPINDADPERSERO', 'PT Pindad (Persero)', 'PINDAD'),
    ('RADOM', 'Radom', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('RAFAEL', 'Rafael', 'RAFAELADVANCEDDEFENSESYSTEMS'),
    ('RAFAELADVANCEDDEFENSESYSTEMS', 'Rafael Advanced Defense Systems', 'RAFAELADVANCEDDEFENSESYSTEMS'),
    ('RAFAELADVANCEDDEFENSESYSTEMSLTD', 'Rafael Advanced Defense Systems Ltd', 'RAFAELADVANCEDDEFENSESYSTEMS'),
    ('RAUFOSS', 'Raufoss', 'NAMMO'),
    ('RAYTHEON', 'Raytheon', 'RAYTHEON'),
    ('RAYTHEONCOMPANY', 'Raytheon Company', 'RAYTHEON'),
    ('RAYTHEONMISSILESDEFENSE', 'Raytheon Missiles & Defense', 'RAYTHEON'),
    ('RAYTHEONMISSILESYSTEMS', 'Raytheon Missile Systems', 'RAYTHEON'),
    ('REMARMS', 'RemArms', 'REMINGTONARMS'),
    ('REMINGTON', 'Remington', 'REMINGTONARMS'),
    ('REMINGTONARMS', 'Remington Arms', 'REMINGTONARMS'),
    ('REMINGTONARMSCOMPANY', 'Remington Arms Company', 'REMINGTONARMS'),
    ('REMINGTONOUTDOORCOMPANY', 'Remington Outdoor Company', 'REMINGTONARMS'),
    ('RESEARCHANDPRODUCTIONCORPORATIONFORT', 'Research and Production Corporation Fort', 'RPCFORT'),
    ('RFI', 'RFI', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('RHEINMETALL', 'Rheinmetall', 'RHEINMETALL'),
    ('RHEINMETALLAG', 'Rheinmetall AG', 'RHEINMETALL'),
    ('RHEINMETALLWAFFEMUNITION', 'Rheinmetall Waffe Munition', 'RHEINMETALL'),
    ('RIFLEFACTORYISHAPORE', 'Rifle Factory Ishapore', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('ROCKISLANDARMORY', 'Rock Island Armory', 'ARMSCORPORATIONOFTHEPHILIPPINES'),
    ('ROKETSAN', 'Roketsan', 'ROKETSAN'),
    ('ROKETSANAS', 'Roketsan A.Ş.', 'ROKETSAN'),
    ('ROSSI', 'Rossi', 'AMADEOROSSI'),
    ('ROYALORDNANCE', 'Royal Ordnance', 'BAESYSTEMS'),
    ('ROYALSMALLARMSFACTORYENFIELD', 'Royal Small Arms Factory Enfield', 'BAESYSTEMS'),
    ('RPCFORT', 'RPC Fort', 'RPCFORT'),
    ('RSAFENFIELD', 'RSAF Enfield', 'BAESYSTEMS'),
    ('RTX', 'RTX', 'RAYTHEON'),
    ('RUGER', 'Ruger', 'STURMRUGERCO'),
    ('SAAB', 'Saab', 'SAAB'),
    ('SAABAB', 'Saab AB', 'SAAB'),
    ('SAABBOFORSDYNAMICS', 'Saab Bofors Dynamics', 'SAAB'),
    ('SAABDYNAMICS', 'Saab Dynamics', 'SAAB'),
    ('SAABDYNAMICSAB', 'Saab Dynamics AB', 'SAAB'),
    ('SAKO', 'Sako', 'SAKO'),
    ('SAKOLTD', 'Sako Ltd', 'SAKO'),
    ('SAKOOY', 'Sako Oy', 'SAKO'),
    ('SAMSUNYURTSAVUNMA', 'Samsun Yurt Savunma', 'CANIK'),
    ('SAMSUNYURTSAVUNMASANAYI', 'Samsun Yurt Savunma Sanayi', 'CANIK'),
    ('SANSWISSARMS', 'SAN Swiss Arms', 'SWISSARMS'),
    ('SANSWISSARMSAG', 'SAN Swiss Arms AG', 'SWISSARMS'),
    ('SANTABARBARA', 'Santa Bárbara', 'SANTABARBARASISTEMAS'),
    ('SANTABARBARASISTEMAS', 'Santa Bárbara Sistemas', 'SANTABARBARASISTEMAS'),
    ('SARSILMAZ', 'Sarsılmaz', 'SARSILMAZ'),
    ('SARSILMAZSILAHSANAYI', 'Sarsılmaz Silah Sanayi', 'SARSILMAZ'),
    ('SAUERSOHN', 'Sauer & Sohn', 'JPSAUERSOHN'),
    ('SAVAGE', 'Savage', 'SAVAGEARMS'),
    ('SAVAGEARMS', 'Savage Arms', 'SAVAGEARMS'),
    ('SCHWEIZERISCHEINDUSTRIEGESELLSCHAFT', 'Schweizerische Industrie-Gesellschaft', 'SWISSARMS'),
    ('SHORTSMISSILESYSTEMS', 'Shorts Missile Systems', 'THALESAIRDEFENCE'),
    ('SIGNEUHAUSEN', 'SIG Neuhausen', 'SWISSARMS'),
    ('SIGSAUER', 'SIG Sauer', 'SIGSAUER'),
    ('SIGSAUERGMBH', 'SIG Sauer GmbH', 'SIGSAUER'),
    ('SIGSAUERGMBHCOKG', 'SIG Sauer GmbH & Co. KG', 'SIGSAUER'),
    ('SIGSAUERINC', 'SIG Sauer Inc.', 'SIGSAUER'),
    ('SINGAPORETECHNOLOGIESKINETICS', 'Singapore Technologies Kinetics', 'STENGINEERING'),
    ('SKBLUCH', 'SKB Luch', 'LUCHDESIGNBUREAU'),
    ('SMALLARMSFACTORYKANPUR', 'Small Arms Factory Kanpur', 'ADVANCEDWEAPONSANDEQUIPMENTINDIA'),
    ('SMITHANDWESSON', 'Smith and Wesson', 'SMITHWESSON'),
    ('SMITHWESSON', 'Smith & Wesson', 'SMITHWESSON'),
    ('SMITHWESSONBRANDS', 'Smith & Wesson Brands', 'SMITHWESSON'),
    ('SMITHWESSONINC', 'Smith & Wesson Inc.', 'SMITHWESSON'),
    ('SNTMOTIV', 'SNT Motiv', 'SNTMOTIV'),
    ('SNT모티브', 'SNT모티브', 'SNTMOTIV'),
    ('SOLTAM', 'Soltam', 'ELBITSYSTEMS'),
    ('SOLTAMSYSTEMS', 'Soltam Systems', 'ELBITSYSTEMS'),
    ('SPRINGFIELDARMORYINC', 'Springfield Armory, Inc.', 'SPRINGFIELDARMORYINC'),
    ('STARBONIFACIOECHEVERRIA', 'Star Bonifacio Echeverría', 'STARBONIFACIOECHEVERRIA'),
    ('STATEFACTORY26', 'State Factory 26', 'CHINESESTATEFACTORY26'),
    ('STATEFACTORY386', 'State Factory 386', 'CHINESESTATEFACTORY386'),
    ('STATEFACTORY416', 'State Factory 416', 'CHINESESTATEFACTORY416'),
    ('STATEFACTORY66', 'State Factory 66', 'CHINESESTATEFACTORY66'),
    ('STATEKYIVDESIGNBUREAULUCH', 'State Kyiv Design Bureau Luch', 'LUCHDESIGNBUREAU'),
    ('STATERESEARCHANDPRODUCTIONENTERPRISEBAZALT', 'State Research and Production Enterprise Bazalt', 'BAZALT'),
    ('STDAEWOO', 'S&T Daewoo', 'SNTMOTIV'),
    ('STENGINEERING', 'ST Engineering', 'STENGINEERING'),
    ('STENGINEERINGLANDSYSTEMS', 'ST Engineering Land Systems', 'STENGINEERING'),
    ('STEYR', 'Steyr', 'STEYRMANNLICHER'),
    ('STEYRARMS', 'Steyr Arms', 'STEYRMANNLICHER'),
    ('STEYRDAIMLERPUCH', 'Steyr-Daimler-Puch', 'STEYRMANNLICHER'),
    ('STEYRMANNLICHER', 'Steyr Mannlicher', 'STEYRMANNLICHER'),
    ('STEYRMANNLICHERGMBH', 'Steyr Mannlicher GmbH', 'STEYRMANNLICHER'),
    ('STKINETICS', 'ST Kinetics', 'STENGINEERING'),
    ('STMOTIV', 'S&T Motiv', 'SNTMOTIV'),
    ('STURMRUGER', 'Sturm Ruger', 'STURMRUGERCO'),
    ('STURMRUGERCO', 'Sturm, Ruger & Co.', 'STURMRUGERCO'),
    ('STURMRUGERCOMPANY', 'Sturm, Ruger & Company', 'STURMRUGERCO'),
    ('SUOJELUSKUNTAINASEJAKONEPAJA', 'Suojeluskuntain Ase- ja Konepaja', 'SAKO'),
    ('SW', 'S&W', 'SMITHWESSON'),
    ('SWISSARMS', 'Swiss Arms', 'SWISSARMS'),
    ('SWISSARMSAG', 'Swiss Arms AG', 'SWISSARMS'),
    ('TAAS', 'Ta''as', 'ISRAELMILITARYINDUSTRIES'),
    ('TANFOGLIO', 'Tanfoglio', 'FRATELLITANFOGLIO'),
    ('TAURUS', 'Taurus', 'TAURUSARMAS'),
    ('TAURUSARMAS', 'Taurus Armas', 'TAURUSARMAS'),
    ('TAURUSARMASSA', 'Taurus Armas S.A.', 'TAURUSARMAS'),
    ('TAURUSINTERNATIONAL', 'Taurus International', 'TAURUSARMAS'),
    ('TDA', 'TDA', 'TDAARMEMENTS'),
    ('TDAARMEMENTS', 'TDA Armements', 'TDAARMEMENTS'),
    ('THALESAIRDEFENCE', 'Thales Air Defence', 'THALESAIRDEFENCE'),
    ('THALESAIRDEFENCELTD', 'Thales Air Defence Ltd', 'THALESAIRDEFENCE'),
    ('THOMSONBRANDTARMEMENTS', 'Thomson-Brandt Armements', 'TDAARMEMENTS'),
    ('TISAS', 'TİSAŞ', 'TISAS'),
    ('TOZ', 'TOZ', 'TULAARMSPLANT'),
    ('TOЗ', 'ТОЗ', 'TULAARMSPLANT'),
    ('TRABZONSILAHSANAYI', 'Trabzon Silah Sanayi', 'TISAS'),
    ('TULAARMSFACTORY', 'Tula Arms Factory', 'TULAARMSPLANT'),
    ('TULAARMSPLANT', 'Tula Arms Plant', 'TULAARMSPLANT'),
    ('TULSKYORUZHEINYZAVOD', 'Tulsky Oruzheiny Zavod', 'TULAARMSPLANT'),
    ('TYЛЬCKИИOPYЖEИHЫИЗABOД', 'Тульский оружейный завод', 'TULAARMSPLANT'),
    ('UMCUGIR', 'UM Cugir', 'CUGIRMECHANICALPLANT'),
    ('UNCETAYCOMPANIA', 'Unceta y Compañía', 'ASTRAUNCETAYCIA'),
    ('UZINAMECANICACUGIR', 'Uzina Mecanică Cugir', 'CUGIRMECHANICALPLANT'),
    ('VADEGTYAREVPLANT', 'V.A. Degtyarev Plant', 'DEGTYAREVPLANT'),
    ('VALMET', 'Valmet', 'SAKO'),
    ('VAZOVSKIMASHINOSTROITELNIZAVODI', 'Vazovski Mashinostroitelni Zavodi', 'VMZ'),
    ('VEKTOR', 'Vektor', 'DENEL'),
    ('VMZ', 'VMZ', 'VMZ'),
    ('VMZSOPOT', 'VMZ Sopot', 'VMZ'),
    ('VPMZMOLOT', 'VPMZ Molot', 'MOLOT'),
    ('VYATSKIYEPOLYANYMACHINEBUILDINGPLANT', 'Vyatskiye Polyany Machine-Building Plant', 'MOLOT'),
    ('WAFFENFABRIKMAUSER', 'Waffenfabrik Mauser', 'MAUSERWERKE'),
    ('WALTHER', 'Walther', 'CARLWALTHER'),
    ('WALTHERARMS', 'Walther Arms', 'CARLWALTHER'),
    ('ZAKLADYMETALOWELUCZNIK', 'Zaklady Metalowe Lucznik', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('ZAKŁADYMETALOWEMESKO', 'Zakłady Metalowe Mesko', 'MESKO'),
    ('ZAKŁADYMETALOWEŁUCZNIK', 'Zakłady Metalowe Łucznik', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('ZASTAVA', 'Zastava', 'ZASTAVAARMS'),
    ('ZASTAVAARMS', 'Zastava Arms', 'ZASTAVAARMS'),
    ('ZASTAVAORUZJE', 'Zastava Oružje', 'ZASTAVAARMS'),
    ('ZAVODICRVENAZASTAVA', 'Zavodi Crvena Zastava', 'ZASTAVAARMS'),
    ('ZAVODIMENIDEGTYARYOVA', 'Zavod imeni Degtyaryova', 'DEGTYAREVPLANT'),
    ('ZB', 'ZB', 'ZBROJOVKABRNO'),
    ('ZBROJOVKABRNO', 'Zbrojovka Brno', 'ZBROJOVKABRNO'),
    ('ZID', 'ZiD', 'DEGTYAREVPLANT'),
    ('ZORAKI', 'Zoraki', 'ATAKARMS'),
    ('ŁUCZNIK', 'Łucznik', 'FABRYKABRONIŁUCZNIKRADOM'),
    ('БAЗAЛЬT', 'Базальт', 'BAZALT'),
    ('БAИKAЛ', 'Байкал', 'IZHEVSKMECHANICALPLANT'),
    ('ЗABOДИMEHИДEГTЯPEBA', 'Завод имени Дегтярёва', 'DEGTYAREVPLANT'),
    ('ЗACTABAOPYЖJE', 'Застава оружје', 'ZASTAVAARMS'),
    ('ИЖEBCKИИMAШИHOCTPOИTEЛЬHЫИЗABOД', 'Ижевский машиностроительный завод', 'KALASHNIKOVCONCERN'),
    ('ИЖEBCKИИMEXAHИЧECKИИЗABOД', 'Ижевский механический завод', 'IZHEVSKMECHANICALPLANT'),
    ('ИЖMAШ', 'Ижмаш', 'KALASHNIKOVCONCERN'),
    ('ИЖMEX', 'Ижмех', 'IZHEVSKMECHANICALPLANT'),
    ('ФOPT', 'Форт', 'RPCFORT'),
    ('سازمانصنایعدفاع', 'سازمان صنایع دفاع', 'DEFENCEINDUSTRIESORGANISATION'),
    ('대우정밀', '대우정밀', 'SNTMOTIV'),
    ('中国兵器工业集团', '中国兵器工业集团', 'NORINCO'),
    ('中国北方工业公司', '中国北方工业公司', 'NORINCO'),
    ('保利科技', '保利科技', 'POLYTECHNOLOGIES');

