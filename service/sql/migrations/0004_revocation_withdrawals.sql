-- Version 4: a revocation recorded in error can be withdrawn (euc_revocation_withdrawals), after
-- which the certificate may be revoked again; so a certificate may have several revocations, at
-- most one of which stands (not withdrawn). The UNIQUE (euc_id) of euc_revocations gives way to
-- a trigger that says so under the certificate's lock, and event_details, which chains and events
-- read, joins only the revocation that stands (its columns unchanged, so chain_entries, which
-- takes them by `d.*`, stays as it is). Revocations already recorded all stand. And a client's
-- failed authentications refused past its rate are counted in a table of their own, and a
-- queued import names the key that sent it.
ALTER TABLE euc_revocations DROP CONSTRAINT euc_revocations_euc_id_key;
CREATE INDEX euc_revocations_euc ON euc_revocations (euc_id);

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

CREATE TRIGGER euc_revocation_withdrawals_append_only
    BEFORE UPDATE OR DELETE ON euc_revocation_withdrawals
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER euc_revocation_withdrawals_no_truncate BEFORE TRUNCATE ON euc_revocation_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
GRANT SELECT, INSERT ON euc_revocation_withdrawals TO trace_registry_service;

CREATE OR REPLACE VIEW event_details AS
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
       -- items shipped under the line by this export and every standing export before it
       CASE WHEN e.event_type = 'EXPORT' AND e.euc_line_number IS NOT NULL THEN (
           SELECT sum(x.item_count) FROM custody_events x
           WHERE x.euc_id = e.euc_id AND x.euc_line_number = e.euc_line_number
             AND x.event_type = 'EXPORT'
             AND (x.occurred_on, x.recorded_at, x.id) <= (e.occurred_on, e.recorded_at, e.id)
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
       c.issued_on AS euc_issued_on
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
LEFT JOIN euc_line_items line ON line.euc_id = e.euc_id AND line.line_number = e.euc_line_number
LEFT JOIN event_error_declarations d ON d.event_id = e.id
LEFT JOIN agencies da ON da.id = d.declared_by_agency_id;

-- A client's failed authentications refused past its rate, until its next audit entry names
-- them (service.api.auth): counted here, not as a time in rate_limits.
CREATE UNLOGGED TABLE refused_authentications (
    tally_id  uuid PRIMARY KEY,
    refused   bigint NOT NULL CHECK (refused > 0)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON refused_authentications TO trace_registry_service;

-- The key that queued an import, which the worker holds to being active when it loads the file.
-- Jobs already queued take it from the audit entry of the request that queued them (written in
-- the same transaction, naming the job); one whose entry names no key stays NULL, and the worker
-- records it FAILED unread.
ALTER TABLE import_jobs ADD COLUMN sent_by_key_prefix text REFERENCES api_keys (prefix);
UPDATE import_jobs j
SET sent_by_key_prefix = (
    SELECT a.key_prefix FROM audit_log a
    JOIN api_keys k ON k.prefix = a.key_prefix AND k.agency_id = a.agency_id
    WHERE a.agency_id = j.agency_id AND a.id < j.id AND a.method = 'POST' AND a.status = 202
      AND j.id = ANY (a.record_ids) AND NOT (a.details ? 'idempotent_replay')
    ORDER BY a.id DESC LIMIT 1);
