-- name: prepare
-- A file is loaded in one transaction: no statement timeout for it, and one import per agency
-- at a time (two copies of one file sent at once would otherwise both find nothing present).
-- Its sorts and hashes (references, duplicates, rows in file order) get the memory to stay off
-- disk: at the default 4 MB, 200,000 records spilled 10-13 MB sorts to temporary files; at
-- 64 MB, 1,000,000 records still spilled 52-67 MB sorts (checks 8.1-8.2 s; at 256 MB, 6.8-7.0 s,
-- PostgreSQL 15, alternating). It is the import's own transaction's (one per agency at a time),
-- and a limit per sort (hashes may take hash_mem_multiplier times it), not an allocation.
-- The agency's lock is taken by one of the statements below, after this one: a statement's
-- timeout is armed when it starts, so a wait in this statement would still be cut short by the
-- connection's own statement_timeout.
SELECT set_config('statement_timeout', '0', true),
       set_config('work_mem', '256MB', true);

-- name: lock_agency_imports
-- Waits for the agency's other import to end (for at most lock_timeout).
SELECT pg_advisory_xact_lock(%(lock_space)s, hashtext(%(agency_id)s::text));

-- name: try_lock_agency_imports
SELECT pg_try_advisory_xact_lock(%(lock_space)s, hashtext(%(agency_id)s::text)) AS locked;

-- name: resolve_manufacturers
-- Items record the manufacturer an alias names (Izhmash: Kalashnikov Concern): what
-- manufacturer_key_for() gives, set-based. Only the rows whose key changes are rewritten (most
-- files name manufacturers by their own names): every row through the function took 6 µs an
-- item.
UPDATE import_items s SET manufacturer_key = a.manufacturer_key
FROM manufacturer_aliases a
WHERE a.alias_key = s.manufacturer_key AND a.manufacturer_key <> s.manufacturer_key;

-- name: mark_present
-- Records whose reference this agency already imported are present: kept as recorded, skipped
-- (check_changed_records holds them to what was recorded).
UPDATE {staging} s SET id = r.record_id, present = true, imported_in = r.import_id
FROM import_references r
WHERE r.agency_id = %(agency_id)s AND r.record_type = %(record_type)s AND r.reference = s.ref;

-- name: link_items
-- An item another agency recorded is one the registry holds already (its identity is what the
-- unique index items_identity compares): a partner's registry names weapons made or exported
-- abroad that others recorded first, and refusing them refused the partner's whole registry.
-- The sender's reference is bound to that item (its id, then the import's ledger row) and
-- nothing is stored for it: the registry keeps the first recorder's description, as the ledger
-- keeps every record. The agency's own items stay problems (check_identities): two references
-- of one sender to one weapon are a duplicate in its own registry, for it to resolve. Within
-- the file, two records of one identity are linked alike and refused by check_identities.
-- One join on the unique index, as check_identities' own; only the rows linked are rewritten.
UPDATE import_items s SET id = i.id, linked = true
FROM items i
WHERE i.serial_norm = s.serial_norm AND i.manufacturer_key = s.manufacturer_key
  AND i.model_key = s.model_key AND NOT s.present
  AND i.recorded_by_agency_id <> %(agency_id)s;

-- name: link_parties
-- An unrestricted party of the file whose country and registration number key another
-- agency's unrestricted party has (the unique index parties_registration_unique, whose
-- predicate this repeats): linked as items are. Not to a restricted party: the importer would
-- read it through its own events, which name it, and it is no concern of the importer's (a
-- restricted party is unique only among its own agency's parties: the file's party is stored as
-- a record of its own, and nothing says that the other exists). Nor a restricted party of the
-- file: its sender keeps it from other agencies, which a shared record would not; it is stored
-- as the sender's own record too.
UPDATE import_parties s SET id = p.id, linked = true
FROM parties p
WHERE p.country = s.country AND p.registration_number_key = s.registration_number_key
  AND p.classification <> 'RESTRICTED' AND s.classification <> 'RESTRICTED'
  AND NOT s.present AND p.recorded_by_agency_id <> %(agency_id)s;

-- name: link_certificates
-- A certificate another agency recorded with the file's (issuing country, certificate number),
-- the unique identity: linked as items are, its lines the recorded ones (check_certificate_lines
-- holds the file's events to them, and its new exports count against them). Not one that names
-- a restricted party of another agency as exporter or end user: the importer's events would
-- carry it; it stays a problem of its line (check_identities).
UPDATE import_eucs s SET id = c.id, linked = true
FROM end_user_certificates c
WHERE c.issuing_country = s.issuing_country AND c.certificate_key = s.certificate_key
  AND NOT s.present AND c.recorded_by_agency_id <> %(agency_id)s
  AND NOT EXISTS (SELECT 1 FROM parties p
                  WHERE p.id IN (c.exporter_party_id, c.end_user_party_id)
                    AND p.classification = 'RESTRICTED'
                    AND p.recorded_by_agency_id <> %(agency_id)s);

-- name: collect_references
-- Every reference this file can resolve: its own records (then, below, earlier imports').
INSERT INTO import_refs (record_type, ref, id)
SELECT 'party', ref, id FROM (SELECT DISTINCT ON (ref) ref, id FROM import_parties
                              ORDER BY ref, line) AS parties
UNION ALL
SELECT 'item', ref, id FROM (SELECT DISTINCT ON (ref) ref, id FROM import_items
                             ORDER BY ref, line) AS items
UNION ALL
SELECT 'euc', ref, id FROM (SELECT DISTINCT ON (ref) ref, id FROM import_eucs
                            ORDER BY ref, line) AS eucs
UNION ALL
SELECT 'event', ref, id FROM (SELECT DISTINCT ON (ref) ref, id FROM import_events
                              ORDER BY ref, line) AS events;

-- name: earlier_references
-- The references this file names but does not hold, as earlier imports stored them (a file's
-- own records win). Each kind is left out against the file's own records before anything is
-- looked up: a re-sent file holds every record it names and looks up none. (Looking them all
-- up, then leaving out the file's own, took 3.7-4.4 s of a re-sent file of 1,000,000 records.)
INSERT INTO import_refs (record_type, ref, id)
SELECT r.record_type, r.reference, r.record_id
FROM (SELECT DISTINCT 'party' AS record_type, named.ref
      FROM (SELECT exporter_party_ref AS ref FROM import_eucs
            UNION ALL SELECT end_user_party_ref FROM import_eucs
            UNION ALL SELECT from_party_ref FROM import_events
            UNION ALL SELECT to_party_ref FROM import_events
            UNION ALL SELECT owner_party_ref FROM import_events) AS named
      WHERE NOT EXISTS (SELECT 1 FROM import_parties own WHERE own.ref = named.ref)
      UNION ALL
      SELECT DISTINCT 'euc', e.euc_ref FROM import_events e
      WHERE NOT EXISTS (SELECT 1 FROM import_eucs own WHERE own.ref = e.euc_ref)
      UNION ALL
      SELECT DISTINCT 'item', x.item_ref FROM import_event_items x
      WHERE NOT EXISTS (SELECT 1 FROM import_items own WHERE own.ref = x.item_ref)
      UNION ALL
      -- named by records refused as read (import_refs holds the file's own records by now)
      SELECT DISTINCT n.record_type, n.ref FROM import_refused_names n
      WHERE NOT EXISTS (SELECT 1 FROM import_refs own
                        WHERE own.record_type = n.record_type AND own.ref = n.ref)) AS wanted
JOIN import_references r
  ON r.agency_id = %(agency_id)s AND r.record_type = wanted.record_type
 AND r.reference = wanted.ref
ON CONFLICT DO NOTHING;

-- name: check_duplicate_references
INSERT INTO import_problems (line, field, detail)
SELECT line, 'ref', 'the reference ' || ref || ' is given to line ' || first_line || ' too'
FROM (SELECT line, ref, min(line) OVER (PARTITION BY ref) AS first_line FROM {staging}) AS d
WHERE line <> first_line;

-- name: check_unresolved_references
-- A reference the file gives a record it refused as read is named as that record's. The
-- references of records refused as read are checked too (import_refused_names).
INSERT INTO import_problems (line, field, detail)
SELECT named.line, named.field,
       CASE WHEN refused.line IS NULL
            THEN 'no ' || named.record_type || ' has the reference ' || named.ref
                 || ' in this file or an earlier import'
            ELSE 'the ' || named.record_type || ' ' || named.ref || ' of line ' || refused.line
                 || ' is not stored: it has problems of its own' END
FROM (SELECT line, 'exporter_party_ref' AS field, 'party' AS record_type,
             exporter_party_ref AS ref FROM import_eucs WHERE NOT present
      UNION ALL SELECT line, 'end_user_party_ref', 'party', end_user_party_ref
                FROM import_eucs WHERE NOT present
      UNION ALL SELECT line, 'from_party_ref', 'party', from_party_ref
                FROM import_events WHERE NOT present
      UNION ALL SELECT line, 'to_party_ref', 'party', to_party_ref
                FROM import_events WHERE NOT present
      UNION ALL SELECT line, 'owner_party_ref', 'party', owner_party_ref
                FROM import_events WHERE NOT present
      UNION ALL SELECT line, 'euc_ref', 'euc', euc_ref FROM import_events WHERE NOT present
      UNION ALL SELECT x.line, 'item_refs', 'item', x.item_ref
                FROM import_event_items x
                JOIN import_events e ON e.ref = x.event_ref AND e.line = x.line
                WHERE NOT e.present
      UNION ALL SELECT line, field, record_type, ref FROM import_refused_names) AS named
CROSS JOIN LATERAL (SELECT min(r.line) AS line FROM import_refused r
                    WHERE r.record_type = named.record_type AND r.ref = named.ref) AS refused
WHERE named.ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM import_refs r
                  WHERE r.record_type = named.record_type AND r.ref = named.ref);

-- name: check_certificate_lines
-- A line is the stored certificate's, or that of a certificate the file stores: the lines of a
-- certificate the file sends again (present, kept as recorded) or links to another agency's
-- are not stored, and an event naming one of them failed later on its reference check, with
-- the database's words and no line of the file.
INSERT INTO import_problems (line, field, detail)
SELECT e.line, 'euc_line_number',
       'certificate ' || e.euc_ref || ' has no line ' || e.euc_line_number
FROM import_events e
JOIN import_refs c ON c.record_type = 'euc' AND c.ref = e.euc_ref
WHERE NOT e.present AND e.euc_line_number IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM import_euc_lines l
                  JOIN import_eucs stored ON stored.ref = l.euc_ref AND stored.line = l.line
                  WHERE l.euc_ref = e.euc_ref AND l.line_number = e.euc_line_number
                    AND NOT stored.present AND NOT stored.linked)
  AND NOT EXISTS (SELECT 1 FROM euc_line_items l
                  WHERE l.euc_id = c.id AND l.line_number = e.euc_line_number);

-- name: check_identities
-- What the registry keeps unique, against what is recorded and within the file (records linked
-- to another agency's are not stored, but two of one file are two records of one identity). An
-- item of another agency found here was stored after the file was linked (its import ran beside
-- this one): sent again, the file links to it.
INSERT INTO import_problems (line, field, detail)
SELECT s.line, 'serial_number',
       'item ' || i.id || CASE WHEN i.recorded_by_agency_id = %(agency_id)s
                               THEN ' already has this serial, manufacturer and model'
                               ELSE ', which another agency recorded while this file was being '
                                    || 'loaded, has this serial, manufacturer and model: send '
                                    || 'the file again to link to it' END
FROM import_items s
JOIN items i ON i.serial_norm = s.serial_norm AND i.manufacturer_key = s.manufacturer_key
            AND i.model_key = s.model_key
WHERE NOT s.present AND NOT s.linked
UNION ALL
SELECT line, 'serial_number', 'line ' || first_line || ' has the same serial, manufacturer and model'
FROM (SELECT line, min(line) OVER (PARTITION BY serial_norm, manufacturer_key, model_key)
             AS first_line
      FROM import_items WHERE NOT present) AS d
WHERE line <> first_line
UNION ALL
-- A party is refused as the unique indexes would refuse it, each join on its index: beside
-- one of the agency's own (named; parties_registration_unique_per_agency), or, unrestricted,
-- beside another agency's unrestricted one (parties_registration_unique), which it was not
-- linked to because that one was stored after link_parties (its import ran beside this one).
-- Another agency's restricted party refuses nothing, and so nothing here may tell it exists.
SELECT s.line, 'registration_number',
       'party ' || p.id || ' already has this registration number in ' || s.country
FROM import_parties s
JOIN parties p ON p.recorded_by_agency_id = %(agency_id)s AND p.country = s.country
              AND p.registration_number_key = s.registration_number_key
WHERE NOT s.present AND NOT s.linked
UNION ALL
SELECT s.line, 'registration_number',
       'a party that another agency recorded while this file was being loaded has this '
       || 'registration number in ' || s.country || ': send the file again to link to it'
FROM import_parties s
JOIN parties p ON p.country = s.country
              AND p.registration_number_key = s.registration_number_key
              AND p.classification <> 'RESTRICTED' AND p.recorded_by_agency_id <> %(agency_id)s
WHERE NOT s.present AND NOT s.linked AND s.classification <> 'RESTRICTED'
UNION ALL
SELECT line, 'registration_number',
       'line ' || first_line || ' has the same registration number and country'
FROM (SELECT line,
             min(line) OVER (PARTITION BY country, registration_number_key) AS first_line
      FROM import_parties WHERE NOT present AND registration_number_key IS NOT NULL) AS d
WHERE line <> first_line
UNION ALL
SELECT s.line, 'certificate_number',
       'certificate ' || c.id || ' already has this number in ' || s.issuing_country
FROM import_eucs s
JOIN end_user_certificates c ON c.issuing_country = s.issuing_country
                            AND c.certificate_key = s.certificate_key
WHERE NOT s.present AND NOT s.linked
UNION ALL
SELECT line, 'certificate_number',
       'line ' || first_line || ' has the same certificate number and issuing country'
FROM (SELECT line, min(line) OVER (PARTITION BY issuing_country, certificate_key) AS first_line
      FROM import_eucs WHERE NOT present) AS d
WHERE line <> first_line
UNION ALL
-- A record linked before under another of the sender's references: a second name for one
-- weapon, company or certificate in its registry, as its own records' duplicates are (above),
-- and its events would be found under either. Only linked rows are looked up, on the table of
-- references a file's records resolve through; none is named by id, the sender's own
-- reference says which record it is.
SELECT s.line, s.field,
       s.record_type || ' ' || s.ref || ' is the ' || s.record_type
       || ' another agency recorded that import ' || r.import_id
       || ' linked to reference ' || r.reference || ' of this agency: a record has one reference'
FROM (SELECT line, 'serial_number' AS field, 'item' AS record_type, ref, id
      FROM import_items WHERE linked
      UNION ALL
      SELECT line, 'registration_number', 'party', ref, id FROM import_parties WHERE linked
      UNION ALL
      SELECT line, 'certificate_number', 'euc', ref, id FROM import_eucs WHERE linked) AS s
-- looked up by the record (import_references_record, whose predicate the last condition repeats
-- for the planner, which cannot read it from the union's types).
JOIN import_references r ON r.record_id = s.id AND r.agency_id = %(agency_id)s
                        AND r.record_type = s.record_type AND r.record_type <> 'event';

-- name: certificate_lines
-- The lines of a recorded certificate `c` and of the file's `s`, each as `1: 10 x "Rifles" RIFLE
-- model "FAL"`, joined: its texts quoted (as JSON strings) and its category one of the
-- registry's codes, so that lines that differ never read the same. Joined by spaces alone, a
-- model moved into the description, a category sent as a model, or a line's words split into
-- two lines read as recorded (and the change was skipped as present). check_changed_records and
-- linked_not_applied take it in place of their braces, as fields_read_otherwise.
SELECT string_agg(shown, ' | ' ORDER BY line_number) FILTER (WHERE recorded) AS recorded,
       string_agg(shown, ' | ' ORDER BY line_number) FILTER (WHERE NOT recorded) AS sent
FROM (SELECT true AS recorded, line_number, quantity, description,
             category::text AS category, model
      FROM euc_line_items WHERE euc_id = c.id
      UNION ALL
      SELECT false, line_number, quantity, description, category, model
      FROM import_euc_lines WHERE euc_ref = s.ref AND line = s.line) AS l
CROSS JOIN LATERAL (
    SELECT l.line_number || ': ' || l.quantity || ' x '
           || to_json(l.description)::text || coalesce(' ' || l.category, '')
           || coalesce(' model ' || to_json(l.model)::text, '') AS shown) AS each_line

-- name: fields_read_otherwise
-- The fields of a record `r` (its arrays of field names, texts recorded and texts sent) whose
-- text recorded reads otherwise than the file's, with their positions: the one rule of
-- check_changed_records and linked_not_applied, which the repository puts in place of their
-- braces (a LATERAL subquery, which the planner flattens into their join as it was written
-- there). A text recorded before records were kept in NFC is compared in NFC, as the file's is
-- read: sent again as it was, it read as changed ("Oružje", and this file says "Oružje"), or a
-- linked record was named as not applied, and no file could say it otherwise. Only a field
-- that differs is normalised. normalize() needs a UTF8 database, which every database holding
-- the schema is (agencies_name_as_read names characters no other server encoding has).
SELECT d.field, d.recorded, d.sent, d.position
FROM unnest(r.fields, r.recorded, r.sent) WITH ORDINALITY AS d (field, recorded, sent, position)
WHERE d.recorded IS DISTINCT FROM d.sent AND normalize(d.recorded, NFC) IS DISTINCT FROM d.sent;

-- name: check_changed_records
-- A reference names one record: sent again, it must say what was recorded. The ledger keeps a
-- record as first recorded, so a record changed since was skipped as present, and the sender,
-- told "already present", believed its change stored. Every field that differs is a problem of
-- its line, as another body under one Idempotency-Key is refused. What the registry derives
-- (normalised serial, keys, the manufacturer an alias names, an event's item_count) is not
-- compared: a later version's rules may derive it otherwise from the same record. A reference
-- to a party or certificate is compared by the record it names (this file's or an earlier
-- import's), an event's items as a set, import markings without their empty (null) parts.
-- Each record's fields are compared as one array first (NULLs equal), and only a record that
-- differs is taken apart field by field. A re-sent file of 1,000,000 records (594,000 events)
-- spends 5.8 s here, most of it on the events' items (PostgreSQL 15); a first import, with
-- nothing present, next to nothing.
-- A party, item or certificate another agency recorded was linked (link_items and the like):
-- its fields are the first recorder's, never the sender's, so only what linked it is compared,
-- the identity the unique index compares (for an item, normalised: sent in another form, "1502
-- 001" for "1502-001", it was linked all the same; a certificate's number and a party's
-- registration number by their keys). The same reference sent again for another
-- weapon or company is refused; its other fields, which the registry never took, are not.
INSERT INTO import_problems (line, field, detail)
SELECT line, field,
       record_type || ' ' || ref
       || CASE WHEN linked
               THEN ' was linked by import ' || imported_in || ' to the ' || record_type
                    || ' another agency recorded with ' || field || ' '
                    || coalesce(shown_recorded, 'none') || ', and this file says '
                    || coalesce(shown_sent, 'none')
                    || ' (as the registry compares them)'
                    || ': a reference names one record, send it as it was'
               ELSE ' was imported before (import ' || imported_in
                    || ') with ' || field || ' ' || coalesce(shown_recorded, 'none')
                    || ', and this file says ' || coalesce(shown_sent, 'none')
                    || ': a record is kept as first recorded, send it as it was' END
       || CASE WHEN record_type = 'event'
               THEN ' (to correct an event, declare it erroneous: POST /v1/events with corrects)'
               ELSE '' END
FROM (
    SELECT r.line, r.record_type, r.ref, r.imported_in, r.linked, d.field,
           CASE WHEN d.field LIKE '%%\_ref' OR d.field = 'item_refs' THEN d.recorded
                WHEN d.field = 'line_items'  -- its texts are quoted already
                THEN left(d.recorded, 60)
                     || CASE WHEN length(d.recorded) > 60 THEN '...' ELSE '' END
                ELSE '"' || left(d.recorded, 60)
                     || CASE WHEN length(d.recorded) > 60 THEN '..."' ELSE '"' END END
               AS shown_recorded,
           CASE WHEN d.field LIKE '%%\_ref' OR d.field = 'item_refs' THEN d.sent
                WHEN d.field = 'line_items'
                THEN left(d.sent, 60) || CASE WHEN length(d.sent) > 60 THEN '...' ELSE '' END
                ELSE '"' || left(d.sent, 60)
                     || CASE WHEN length(d.sent) > 60 THEN '..."' ELSE '"' END END
               AS shown_sent
    FROM (
        SELECT s.line, 'party' AS record_type, s.ref, s.imported_in, l.linked,
               CASE WHEN l.linked THEN ARRAY['country', 'registration_number']
                    ELSE ARRAY['name', 'kind', 'country', 'registration_number', 'address',
                               'classification'] END AS fields,
               -- a party linked before version 6 whose key an earlier party holds (migration
               -- 0006 left it none) was linked by its number as written: compared so still
               CASE WHEN l.linked THEN ARRAY[p.country::text,
                                             coalesce(p.registration_number_key,
                                                      p.registration_number)]
                    ELSE ARRAY[p.name, p.kind::text, p.country::text, p.registration_number,
                               p.address, p.classification::text] END AS recorded,
               CASE WHEN l.linked THEN ARRAY[s.country,
                                             CASE WHEN p.registration_number_key IS NULL
                                                  THEN s.registration_number
                                                  ELSE s.registration_number_key END]
                    ELSE ARRAY[s.name, s.kind, s.country, s.registration_number, s.address,
                               s.classification] END AS sent
        FROM import_parties s JOIN parties p ON p.id = s.id
        CROSS JOIN LATERAL (SELECT p.recorded_by_agency_id <> %(agency_id)s AS linked) AS l
        WHERE s.present
        UNION ALL
        SELECT s.line, 'item', s.ref, s.imported_in, l.linked,
               CASE WHEN l.linked THEN ARRAY['serial_number', 'manufacturer', 'model']
                    ELSE ARRAY['manufacturer', 'model', 'category', 'caliber', 'serial_number',
                               'country_of_manufacture', 'year_of_manufacture',
                               'import_markings', 'other_markings'] END,
               CASE WHEN l.linked THEN ARRAY[i.serial_norm, i.manufacturer_key, i.model_key]
                    ELSE ARRAY[i.manufacturer, i.model, i.category::text, i.caliber,
                               i.serial_number, i.country_of_manufacture::text,
                               i.year_of_manufacture::text,
                               jsonb_strip_nulls(i.import_markings)::text,
                               i.other_markings] END,
               CASE WHEN l.linked THEN ARRAY[s.serial_norm, s.manufacturer_key, s.model_key]
                    ELSE ARRAY[s.manufacturer, s.model, s.category, s.caliber, s.serial_number,
                               s.country_of_manufacture, s.year_of_manufacture::text,
                               jsonb_strip_nulls(s.import_markings)::text,
                               s.other_markings] END
        FROM import_items s JOIN items i ON i.id = s.id
        CROSS JOIN LATERAL (SELECT i.recorded_by_agency_id <> %(agency_id)s AS linked) AS l
        WHERE s.present
        UNION ALL
        SELECT s.line, 'euc', s.ref, s.imported_in, l.linked,
               CASE WHEN l.linked THEN ARRAY['issuing_country', 'certificate_number']
                    ELSE ARRAY['certificate_number', 'issuing_country', 'issuing_authority',
                               'issued_on', 'expires_on', 'exporter_party_ref',
                               'end_user_party_ref', 'destination_country', 'stated_end_use',
                               'non_reexport_clause', 'line_items'] END,
               CASE WHEN l.linked THEN ARRAY[c.issuing_country::text, c.certificate_key]
               ELSE ARRAY[c.certificate_number, c.issuing_country::text, c.issuing_authority,
                     to_char(c.issued_on, 'YYYY-MM-DD'), to_char(c.expires_on, 'YYYY-MM-DD'),
                     'party ' || c.exporter_party_id, 'party ' || c.end_user_party_id,
                     c.destination_country::text, c.stated_end_use,
                     c.non_reexport_clause::text, lines.recorded] END,
               CASE WHEN l.linked THEN ARRAY[s.issuing_country, s.certificate_key]
               ELSE ARRAY[s.certificate_number, s.issuing_country, s.issuing_authority,
                     to_char(s.issued_on, 'YYYY-MM-DD'), to_char(s.expires_on, 'YYYY-MM-DD'),
                     coalesce('party ' || exporter.id,
                              s.exporter_party_ref || ', which names no party'),
                     coalesce('party ' || end_user.id,
                              s.end_user_party_ref || ', which names no party'),
                     s.destination_country, s.stated_end_use,
                     s.non_reexport_clause::text, lines.sent] END
        FROM import_eucs s
        JOIN end_user_certificates c ON c.id = s.id
        CROSS JOIN LATERAL (SELECT c.recorded_by_agency_id <> %(agency_id)s AS linked) AS l
        LEFT JOIN import_refs exporter ON exporter.record_type = 'party'
                                      AND exporter.ref = s.exporter_party_ref
        LEFT JOIN import_refs end_user ON end_user.record_type = 'party'
                                      AND end_user.ref = s.end_user_party_ref
        CROSS JOIN LATERAL ({certificate_lines}) AS lines
        WHERE s.present
        UNION ALL
        SELECT s.line, 'event', s.ref, s.imported_in, false,
               ARRAY['event_type', 'occurred_on', 'country', 'destination_country',
                     'from_party_ref', 'to_party_ref', 'owner_party_ref', 'euc_ref',
                     'euc_line_number', 'licence_number', 'document_reference', 'notes',
                     'classification', 'item_refs'],
               ARRAY[e.event_type::text, to_char(e.occurred_on, 'YYYY-MM-DD'),
                     e.country::text, e.destination_country::text,
                     'party ' || e.from_party_id, 'party ' || e.to_party_id,
                     'party ' || e.owner_party_id, 'certificate ' || e.euc_id,
                     e.euc_line_number::text, e.licence_number, e.document_reference, e.notes,
                     e.classification::text,
                     e.item_count || CASE e.item_count WHEN 1 THEN ' item' ELSE ' items' END],
               ARRAY[s.event_type, to_char(s.occurred_on, 'YYYY-MM-DD'),
                     s.country, s.destination_country,
                     coalesce('party ' || sender.id, s.from_party_ref || ', which names no party'),
                     coalesce('party ' || receiver.id,
                              s.to_party_ref || ', which names no party'),
                     coalesce('party ' || owner.id, s.owner_party_ref || ', which names no party'),
                     coalesce('certificate ' || euc.id,
                              s.euc_ref || ', which names no certificate'),
                     s.euc_line_number::text, s.licence_number, s.document_reference, s.notes,
                     s.classification,
                     s.item_count || CASE s.item_count WHEN 1 THEN ' item' ELSE ' items' END
                     || coalesce(', ' || uncovered.item_ref || ' not among them', '')]
        FROM import_events s
        JOIN custody_events e ON e.id = s.id
        LEFT JOIN import_refs sender ON sender.record_type = 'party'
                                    AND sender.ref = s.from_party_ref
        LEFT JOIN import_refs receiver ON receiver.record_type = 'party'
                                      AND receiver.ref = s.to_party_ref
        LEFT JOIN import_refs owner ON owner.record_type = 'party'
                                   AND owner.ref = s.owner_party_ref
        LEFT JOIN import_refs euc ON euc.record_type = 'euc' AND euc.ref = s.euc_ref
        -- An event's items (item_count is how many it names, each once): as many, and the
        -- first named that the recorded event does not cover.
        LEFT JOIN (SELECT x.event_ref, x.line, min(x.item_ref) AS item_ref
                   FROM import_event_items x
                   JOIN import_events present ON present.ref = x.event_ref
                                             AND present.line = x.line AND present.present
                   LEFT JOIN import_refs item ON item.record_type = 'item'
                                             AND item.ref = x.item_ref
                   WHERE NOT EXISTS (SELECT 1 FROM custody_event_items covered
                                     WHERE covered.event_id = present.id
                                       AND covered.item_id = item.id)
                   GROUP BY x.event_ref, x.line) AS uncovered
               ON uncovered.event_ref = s.ref AND uncovered.line = s.line
        WHERE s.present
    ) AS r
    CROSS JOIN LATERAL ({fields_read_otherwise}) AS d
    WHERE r.recorded IS DISTINCT FROM r.sent
) AS changed;

-- name: linked_not_applied
-- What the file says otherwise of the records it linked (link_items and the like) than the
-- record that stands: the registry keeps the first recorder's description, so these fields of
-- the file were not applied, and the answer names them (its `not_applied`), record by record,
-- for the sender to know which of its records read otherwise here. Not what linked them (the
-- identity, which names one record however written: serial, maker, model, country,
-- registration number, certificate number), nor a field the file leaves out. A certificate's
-- lines are the recorded ones, and its events are held to them (check_certificate_lines).
SELECT r.line, r.record_type, r.ref, array_agg(d.field ORDER BY d.position) AS fields
FROM (
    SELECT s.line, 'party' AS record_type, s.ref,
           ARRAY['name', 'kind', 'address'] AS fields,
           ARRAY[p.name, p.kind::text, p.address] AS recorded,
           ARRAY[s.name, s.kind, s.address] AS sent
    FROM import_parties s JOIN parties p ON p.id = s.id
    WHERE s.linked
    UNION ALL
    SELECT s.line, 'item', s.ref,
           ARRAY['category', 'caliber', 'country_of_manufacture', 'year_of_manufacture',
                 'import_markings', 'other_markings'],
           ARRAY[i.category::text, i.caliber, i.country_of_manufacture::text,
                 i.year_of_manufacture::text, jsonb_strip_nulls(i.import_markings)::text,
                 i.other_markings],
           -- no import marking is the file's leaving them out
           ARRAY[s.category, s.caliber, s.country_of_manufacture, s.year_of_manufacture::text,
                 nullif(jsonb_strip_nulls(s.import_markings)::text, '[]'), s.other_markings]
    FROM import_items s JOIN items i ON i.id = s.id
    WHERE s.linked
    UNION ALL
    -- Its parties and lines too: the file's exporter, end user and lines that differ from the
    -- recorded ones were dropped without a word (a certificate for 5,000 rifles and 40 MANPADS
    -- to a militia linked to another agency's for 10 rifles to an army, and not named here).
    SELECT s.line, 'euc', s.ref,
           ARRAY['issuing_authority', 'issued_on', 'expires_on', 'exporter_party_ref',
                 'end_user_party_ref', 'destination_country', 'stated_end_use',
                 'non_reexport_clause', 'line_items'],
           ARRAY[c.issuing_authority, to_char(c.issued_on, 'YYYY-MM-DD'),
                 to_char(c.expires_on, 'YYYY-MM-DD'), 'party ' || c.exporter_party_id,
                 'party ' || c.end_user_party_id, c.destination_country::text,
                 c.stated_end_use, c.non_reexport_clause::text, lines.recorded],
           ARRAY[s.issuing_authority, to_char(s.issued_on, 'YYYY-MM-DD'),
                 to_char(s.expires_on, 'YYYY-MM-DD'),
                 coalesce('party ' || exporter.id, s.exporter_party_ref),
                 coalesce('party ' || end_user.id, s.end_user_party_ref),
                 s.destination_country, s.stated_end_use, s.non_reexport_clause::text,
                 lines.sent]
    FROM import_eucs s
    JOIN end_user_certificates c ON c.id = s.id
    LEFT JOIN import_refs exporter ON exporter.record_type = 'party'
                                  AND exporter.ref = s.exporter_party_ref
    LEFT JOIN import_refs end_user ON end_user.record_type = 'party'
                                  AND end_user.ref = s.end_user_party_ref
    CROSS JOIN LATERAL ({certificate_lines}) AS lines
    WHERE s.linked
) AS r
CROSS JOIN LATERAL ({fields_read_otherwise}) AS d
WHERE d.sent IS NOT NULL
GROUP BY r.line, r.record_type, r.ref
ORDER BY r.line, r.record_type
LIMIT %(limit)s;

-- name: problem_count
SELECT count(*) AS n FROM import_problems;

-- name: first_problems
SELECT line, field, detail FROM import_problems ORDER BY line, field LIMIT %(limit)s;

-- name: certificates_of_file
-- The certificates the file's new events name, of those stored before the file: no other
-- transaction can ship under, revoke or verify one this file brings until the file is
-- committed, and a file of certified exports would otherwise lock every certificate stripe
-- from its alert list to its commit. (A certificate the file links to was stored before it.)
SELECT DISTINCT c.id AS euc_id
FROM import_events e JOIN import_refs c ON c.record_type = 'euc' AND c.ref = e.euc_ref
WHERE NOT e.present
  AND NOT EXISTS (SELECT 1 FROM import_eucs new
                  WHERE new.ref = e.euc_ref AND NOT new.present AND NOT new.linked);

-- name: store_parties
INSERT INTO parties (id, name, kind, country, registration_number, registration_number_key,
                     address, classification, recorded_by_agency_id)
SELECT id, name, kind::party_kind, country, registration_number, registration_number_key,
       address, classification, %(agency_id)s
FROM import_parties WHERE NOT present AND NOT linked ORDER BY line;

-- name: store_items
INSERT INTO items (id, manufacturer, manufacturer_key, model, model_key, category, caliber,
                   serial_number, serial_norm, country_of_manufacture, year_of_manufacture,
                   import_markings, other_markings, recorded_by_agency_id)
SELECT id, manufacturer, manufacturer_key, model, model_key, category::item_category, caliber,
       serial_number, serial_norm, country_of_manufacture, year_of_manufacture,
       import_markings, other_markings, %(agency_id)s
FROM import_items WHERE NOT present AND NOT linked ORDER BY line;

-- name: store_eucs
INSERT INTO end_user_certificates (id, certificate_number, certificate_key, issuing_country,
                                   issuing_authority, issued_on, expires_on, exporter_party_id,
                                   end_user_party_id, destination_country, stated_end_use,
                                   non_reexport_clause, recorded_by_agency_id)
SELECT s.id, s.certificate_number, s.certificate_key, s.issuing_country, s.issuing_authority,
       s.issued_on, s.expires_on, exporter.id, end_user.id, s.destination_country,
       s.stated_end_use, s.non_reexport_clause, %(agency_id)s
FROM import_eucs s
LEFT JOIN import_refs exporter ON exporter.record_type = 'party'
                              AND exporter.ref = s.exporter_party_ref
JOIN import_refs end_user ON end_user.record_type = 'party' AND end_user.ref = s.end_user_party_ref
WHERE NOT s.present AND NOT s.linked ORDER BY s.line;

-- name: store_euc_lines
INSERT INTO euc_line_items (euc_id, line_number, description, category, model, quantity)
SELECT e.id, l.line_number, l.description, l.category::item_category, l.model, l.quantity
FROM import_euc_lines l
JOIN import_eucs e ON e.ref = l.euc_ref AND e.line = l.line
WHERE NOT e.present AND NOT e.linked;

-- name: store_events
INSERT INTO custody_events (id, event_type, occurred_on, country, destination_country,
                            from_party_id, to_party_id, owner_party_id, euc_id, euc_line_number,
                            item_count, licence_number, document_reference, notes,
                            classification, recorded_by_agency_id)
SELECT s.id, s.event_type::event_type, s.occurred_on, s.country, s.destination_country,
       sender.id, receiver.id, owner.id, euc.id, s.euc_line_number, s.item_count,
       s.licence_number, s.document_reference, s.notes, s.classification, %(agency_id)s
FROM import_events s
LEFT JOIN import_refs sender ON sender.record_type = 'party' AND sender.ref = s.from_party_ref
LEFT JOIN import_refs receiver ON receiver.record_type = 'party' AND receiver.ref = s.to_party_ref
LEFT JOIN import_refs owner ON owner.record_type = 'party' AND owner.ref = s.owner_party_ref
LEFT JOIN import_refs euc ON euc.record_type = 'euc' AND euc.ref = s.euc_ref
WHERE NOT s.present ORDER BY s.line;

-- name: store_event_items
INSERT INTO custody_event_items (item_id, event_id)
SELECT item.id, e.id
FROM import_event_items x
JOIN import_events e ON e.ref = x.event_ref AND e.line = x.line
JOIN import_refs item ON item.record_type = 'item' AND item.ref = x.item_ref
WHERE NOT e.present;

-- name: store_references
-- A linked record's reference too: bound to the record it was linked to (its id).
INSERT INTO import_references (agency_id, record_type, reference, record_id, import_id)
SELECT %(agency_id)s, %(record_type)s, ref, id, %(import_id)s FROM {staging} WHERE NOT present;

-- name: present_count
SELECT count(*) FILTER (WHERE present) AS present, count(*) FILTER (WHERE linked) AS linked
FROM {staging};

-- name: collect_touched_items
-- The items that new events name: their alert state is derived again, a batch at a time. (An
-- anti-join on the present events is 3x faster on a first import, but PostgreSQL 18 ran it as a
-- nested loop over the present events, estimated at one row: a re-sent file of 1,000,000
-- records was still at it after 15 minutes. This join probes import_refs once a row, at worst.)
INSERT INTO import_touched (id)
SELECT DISTINCT item.id
FROM import_event_items x
JOIN import_events e ON e.ref = x.event_ref AND e.line = x.line
JOIN import_refs item ON item.record_type = 'item' AND item.ref = x.item_ref
WHERE NOT e.present;

-- name: collect_later_shipments
-- The items of exports already stored that come after a new export on its certificate line:
-- the new one changes how many items they took through the line (EUC_QUANTITY_EXCEEDED). The
-- certificates were locked before this (alerts' lock_certificates), so no other writer's
-- export on them is missing here: one that committed first is seen, the others wait. Stored
-- exports of the new one's own day are taken too, and must be: one a POST stored after this
-- file's inserts (committed before the lock was taken here) comes after the new export in a
-- chain (recorded later), and it derived its items without the file's export.
INSERT INTO import_touched (id)
SELECT DISTINCT ei.item_id
FROM (SELECT s.euc_id, counted.line_number, min(s.occurred_on) AS first_on
      FROM import_events n JOIN custody_events s ON s.id = n.id
      CROSS JOIN LATERAL (
          SELECT coalesce(s.euc_line_number, only_line(s.euc_id)) AS line_number) AS counted
      WHERE NOT n.present AND n.event_type = 'EXPORT' AND counted.line_number IS NOT NULL
      GROUP BY s.euc_id, counted.line_number) AS line
JOIN custody_events x
     ON x.euc_id = line.euc_id
    AND coalesce(x.euc_line_number, only_line(x.euc_id)) = line.line_number
    AND x.event_type = 'EXPORT' AND x.occurred_on >= line.first_on
JOIN custody_event_items ei ON ei.event_id = x.id
ON CONFLICT (id) DO NOTHING;

-- name: lock_item_writes_of_file
-- alerts' lock_item_writes for the touched items stored before the file (nobody else can write
-- events of the file's own until it is committed), all at once, in order, before any
-- certificate's lock.
SELECT count(pg_advisory_xact_lock(%(lock_space)s, stripe)) AS locked
FROM (SELECT DISTINCT hashtext(t.id::text) & 255 AS stripe
      FROM import_touched t
      WHERE NOT EXISTS (SELECT 1 FROM import_items new
                        WHERE new.id = t.id AND NOT new.present AND NOT new.linked)
      ORDER BY 1) AS stripes;

-- name: certificates_shipping_file_items
-- The certificates the touched items stored before the file were shipped under (before it, or
-- by it): a move the file brings can change the share-out of their consents of a quantity
-- (service/consent_shares.py). Read once lock_item_writes_of_file is held.
SELECT DISTINCT s.euc_id
FROM import_touched t
JOIN custody_event_items si ON si.item_id = t.id
JOIN custody_events s ON s.id = si.event_id
WHERE s.euc_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM import_items new
                  WHERE new.id = t.id AND NOT new.present AND NOT new.linked);

-- name: collect_items_of_changed_shares
-- The items whose shares of a consent the file changed: derived again with the rest.
INSERT INTO import_touched (id)
SELECT unnest(%(item_ids)s::uuid[])
ON CONFLICT (id) DO NOTHING;

-- name: collect_touched_before
-- The touched items stored before this file: only their refreshes are locked. Nobody else can
-- record an event of an item the file brings until the file is committed, and a first import of
-- a national registry would otherwise hold every item's stripe from its alert list to its
-- commit, keeping every other writer of events waiting (past the statement timeout: a 503).
-- An item the file links to was stored before it (another agency records its events meanwhile).
INSERT INTO import_touched_before (id)
SELECT t.id FROM import_touched t
WHERE NOT EXISTS (SELECT 1 FROM import_items new
                  WHERE new.id = t.id AND NOT new.present AND NOT new.linked);

-- name: keep_alert_candidates
-- Of the touched items (those stored before are locked: other refreshes of them are committed
-- and seen; nobody else can refresh the file's own), forget those whose whole chain cannot put
-- them on the list (service.domain.alerts.may_be_listed, whose twin this is): no event under a
-- certificate, none of the listing types, and no two transfers by a named sender on one day.
-- Their derived state would be "not listed" for everyone.
DELETE FROM import_touched t
USING (
    SELECT ei.item_id
    FROM import_touched x
    JOIN custody_event_items ei ON ei.item_id = x.id
    JOIN custody_events e ON e.id = ei.event_id
    GROUP BY ei.item_id
    HAVING NOT bool_or(e.euc_id IS NOT NULL OR e.event_type = ANY(%(listing_types)s))
       AND count(*) FILTER (WHERE e.event_type = ANY(%(transfer_types)s)
                              AND e.from_party_id IS NOT NULL)
           = count(DISTINCT e.occurred_on) FILTER (WHERE e.event_type = ANY(%(transfer_types)s)
                                                     AND e.from_party_id IS NOT NULL)
) quiet
WHERE t.id = quiet.item_id;

-- name: touched_items_after
SELECT id FROM import_touched WHERE id > %(after)s ORDER BY id LIMIT %(limit)s;

-- name: insert_import
INSERT INTO imports (id, agency_id, status, media_type, record_type, sha256, lines, stored,
                     already_present, error_count, errors, started_at)
VALUES (%(id)s, %(agency_id)s, %(status)s, %(media_type)s, %(record_type)s, %(sha256)s,
        %(lines)s, %(stored)s, %(already_present)s, %(error_count)s, %(errors)s, %(started_at)s)
RETURNING finished_at;

-- name: completed_import_of
-- The latest import that stored this very file for the agency: the same bytes, media type and
-- record type. Every record such a file holds is present now (the registry never loses one).
SELECT id, status, media_type, record_type, sha256, lines, stored, already_present,
       error_count, started_at, finished_at
FROM imports
WHERE agency_id = %(agency_id)s AND sha256 = %(sha256)s AND media_type = %(media_type)s
  AND record_type IS NOT DISTINCT FROM %(record_type)s AND status = 'COMPLETED'
ORDER BY id DESC
LIMIT 1;

-- name: get_import
SELECT id, status, media_type, record_type, sha256, lines, stored, already_present,
       error_count, errors, started_at, finished_at
FROM imports
WHERE id = %(id)s AND agency_id = %(agency_id)s;

-- name: queue_job
-- queued_at: when the file came (the request's arrival), which orders an agency's files; a
-- file queued after it waited, or after its load was rolled back, keeps its place.
INSERT INTO import_jobs (id, agency_id, media_type, record_type, sha256, size,
                         sent_by_key_prefix, queued_at)
VALUES (%(id)s, %(agency_id)s, %(media_type)s, %(record_type)s, %(sha256)s, %(size)s,
        %(sent_by_key_prefix)s, coalesce(%(arrived_at)s, clock_timestamp()))
RETURNING queued_at;

-- name: insert_chunk
INSERT INTO import_job_chunks (job_id, seq, data) VALUES (%(job_id)s, %(seq)s, %(data)s);

-- name: claim_job
-- The oldest job nobody holds (no lease, or one run out, and no loader holding its row: see
-- lock_job), leased to the caller. An agency's files are loaded in the order they came (a
-- later one may refer to an earlier one's records): a job waits while an older one of its
-- agency is queued.
UPDATE import_jobs
SET lease_until = clock_timestamp() + make_interval(secs => %(lease_seconds)s),
    started_at = coalesce(started_at, clock_timestamp()), attempts = attempts + 1
WHERE id = (SELECT j.id FROM import_jobs j
            WHERE (j.lease_until IS NULL OR j.lease_until < clock_timestamp())
              AND NOT EXISTS (SELECT 1 FROM import_jobs older
                              WHERE older.agency_id = j.agency_id
                                AND (older.queued_at, older.id) < (j.queued_at, j.id))
            ORDER BY j.queued_at, j.id
            -- not FOR UPDATE: a status read holds FOR KEY SHARE (get_job), and would make the
            -- claim pass the job over; a loader's FOR UPDATE is still skipped
            FOR NO KEY UPDATE SKIP LOCKED
            LIMIT 1)
RETURNING id, agency_id, media_type, record_type, sha256, size, queued_at, started_at, attempts,
          last_error, sent_by_key_prefix;

-- name: job_sender
-- The key that queued the job, as it stands now, and when it was judged: by the database's
-- clock, as a request's key is (agencies.sql's authenticate), not by the worker machine's.
SELECT prefix, scopes, expires_at, revoked_at, clock_timestamp() AS judged_at
FROM api_keys WHERE prefix = %(prefix)s;

-- name: database_clock
-- The time by the database's clock, which stamps what is stored (a worker's or an API host's
-- own clock may be off it).
SELECT clock_timestamp() AS now;

-- name: chunk
SELECT data FROM import_job_chunks WHERE job_id = %(job_id)s AND seq = %(seq)s;

-- name: lock_job
-- Held by the transaction that loads the job, to its end: the claim skips a locked job even
-- once its lease has run out (an import that outlasts its lease is still one worker's), and
-- the lock goes the moment a worker that dies loses its connection. No row: the job is gone.
SELECT id FROM import_jobs WHERE id = %(id)s FOR UPDATE;

-- name: note_job_error
-- A load that failed for want of something other than its file (the database went away, a
-- bug): the error is kept for the record the job gets if it never loads, and the job is due
-- again after a pause that grows with its attempts (1, 2, 3 minutes), not after its lease.
UPDATE import_jobs
SET last_error = %(error)s,
    lease_until = clock_timestamp() + make_interval(mins => attempts)
WHERE id = %(id)s;

-- name: hand_back_job
-- A job that could not start (its agency's other import is being loaded): due again after a
-- pause, its attempt not counted.
UPDATE import_jobs
SET lease_until = clock_timestamp() + make_interval(secs => %(pause_seconds)s),
    attempts = attempts - 1
WHERE id = %(id)s;

-- name: agency_has_queued_jobs
-- Queued before `before` (NULL: at any time).
SELECT EXISTS (SELECT 1 FROM import_jobs
               WHERE agency_id = %(agency_id)s
                 AND queued_at < coalesce(%(before)s::timestamptz, 'infinity')) AS queued;

-- name: delete_job
DELETE FROM import_jobs WHERE id = %(id)s;

-- name: get_job
-- RUNNING while a worker loads it, that is while a loader holds its row (lock_job): a row this
-- statement cannot share-lock at once (SKIP LOCKED) is held. QUEUED otherwise, a pause
-- before another attempt included.
SELECT j.id, CASE WHEN free.id IS NULL THEN 'RUNNING' ELSE 'QUEUED' END AS status,
       j.media_type, j.record_type, j.sha256, 0 AS lines, '{}'::jsonb AS stored,
       '{}'::jsonb AS already_present, 0 AS error_count, j.started_at,
       NULL::timestamptz AS finished_at
FROM import_jobs j
LEFT JOIN LATERAL (SELECT f.id FROM import_jobs f WHERE f.id = j.id
                   FOR KEY SHARE SKIP LOCKED) AS free ON true
WHERE j.id = %(id)s AND j.agency_id = %(agency_id)s;

-- name: list_imports
-- The agency's imports, newest first: those loaded (or refused), and those still waiting.
SELECT id, status, media_type, record_type, sha256, lines, stored, already_present,
       error_count, started_at, finished_at
FROM (SELECT id, status, media_type, record_type, sha256, lines, stored, already_present,
             error_count, started_at, finished_at
      FROM imports WHERE agency_id = %(agency_id)s
      UNION ALL
      SELECT j.id, CASE WHEN free.id IS NULL THEN 'RUNNING' ELSE 'QUEUED' END,
             j.media_type, j.record_type, j.sha256, 0, '{}'::jsonb, '{}'::jsonb, 0,
             j.started_at, NULL
      FROM import_jobs j
      -- RUNNING while a loader holds the row, as in get_job
      LEFT JOIN LATERAL (SELECT f.id FROM import_jobs f WHERE f.id = j.id
                         FOR KEY SHARE SKIP LOCKED) AS free ON true
      WHERE j.agency_id = %(agency_id)s
        AND NOT EXISTS (SELECT 1 FROM imports i WHERE i.id = j.id)) AS listed
WHERE (%(status)s::text IS NULL OR status = %(status)s) AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s;
