-- name: insert_entry
-- The trigger audit_link() picks the chain, numbers the entry, stamps the time and hashes it.
INSERT INTO audit_log (id, agency_id, key_prefix, method, route, path, status, serials,
                       record_ids, case_reference, purpose, records_returned, details)
VALUES (%(id)s, %(agency_id)s, %(key_prefix)s, %(method)s, %(route)s, %(path)s, %(status)s,
        %(serials)s, %(record_ids)s, %(case_reference)s, %(purpose)s, %(records_returned)s,
        %(details)s);

-- name: entries_for_verification
-- Entries in chain order, with the text forms their hashed messages are built from. The
-- repository puts in place of the braces which: every entry after a position (from the start:
-- chain -1), or one entry by its id (where a verification in parts goes on from).
SELECT id::text AS id, chain, chain_seq,
       (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_micros,
       agency_id::text AS agency_id, key_prefix, method, route, path, status,
       serials::text AS serials_text, record_ids::text AS record_ids_text,
       case_reference, purpose, records_returned, details::text AS details_text,
       previous_hash, entry_hash
FROM audit_log
WHERE {which}
ORDER BY chain, chain_seq, id;

-- name: list_entries
-- The newest entries first. The repository (service/repository/audit.py) puts the conditions
-- of the filters given in place of the braces; every value is a parameter.
SELECT a.id, a.recorded_at, a.agency_id, ag.name AS agency_name, a.key_prefix, a.method,
       a.route, a.path, a.status, a.serials, a.record_ids, a.case_reference, a.purpose,
       a.records_returned, a.details, a.chain, a.chain_seq, encode(a.entry_hash, 'hex') AS entry_hash
FROM audit_log a
LEFT JOIN agencies ag ON ag.id = a.agency_id
WHERE a.id < %(before)s {filters}
ORDER BY a.id DESC
LIMIT %(limit)s;

-- name: case_reference_written
-- Whether an entry holds this case reference as written (a probe of audit_log_case). The
-- trail's filter asks for the decomposed form of a case only where one was written: before the
-- NFC rule, and kept so by the hash chain.
SELECT 1 AS written FROM audit_log WHERE case_reference = %(case_reference)s LIMIT 1;

-- name: insert_entry_taking_tally
-- insert_entry for a client's failed authentication that was admitted (service/sql/clients.sql):
-- the client's refusals since its last such entry are taken from its tally and named in the
-- entry's details, in the statement that writes it, so that a count is never both taken and
-- lost, nor written twice. A refusal counted while this runs waits for the row, and goes to the
-- next entry.
WITH taken AS (
    DELETE FROM refused_authentications WHERE tally_id = %(tally)s RETURNING refused
)
INSERT INTO audit_log (id, agency_id, key_prefix, method, route, path, status, serials,
                       record_ids, case_reference, purpose, records_returned, details)
VALUES (%(id)s, %(agency_id)s, %(key_prefix)s, %(method)s, %(route)s, %(path)s, %(status)s,
        %(serials)s, %(record_ids)s, %(case_reference)s, %(purpose)s, %(records_returned)s,
        %(details)s || coalesce((SELECT jsonb_build_object('refused_unrecorded', refused)
                                 FROM taken), '{}'));
