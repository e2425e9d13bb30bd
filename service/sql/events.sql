-- name: insert_event
INSERT INTO custody_events (event_type, occurred_on, country, destination_country, from_party_id,
                            to_party_id, owner_party_id, euc_id, euc_line_number, item_count,
                            licence_number, document_reference, notes, classification,
                            recorded_by_agency_id)
VALUES (%(event_type)s, %(occurred_on)s, %(country)s, %(destination_country)s, %(from_party_id)s,
        %(to_party_id)s, %(owner_party_id)s, %(euc_id)s, %(euc_line_number)s, %(item_count)s,
        %(licence_number)s, %(document_reference)s, %(notes)s, %(classification)s,
        %(agency_id)s)
RETURNING id;

-- name: insert_event_items
INSERT INTO custody_event_items (item_id, event_id)
SELECT item_id, %(event_id)s FROM unnest(%(item_ids)s::uuid[]) AS item_id;

-- name: get_event
SELECT d.*,
       ARRAY(SELECT ei.item_id FROM custody_event_items ei
             WHERE ei.event_id = d.id ORDER BY ei.item_id) AS item_ids
FROM event_details d
WHERE d.id = %(id)s;

-- name: event_owner
-- The agency that recorded an event, and whether it already stands corrected.
SELECT e.recorded_by_agency_id,
       EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id) AS declared
FROM custody_events e
WHERE e.id = %(id)s;

-- name: missing_events
SELECT array_agg(wanted.id) AS missing
FROM unnest(%(ids)s::uuid[]) AS wanted (id)
WHERE NOT EXISTS (SELECT 1 FROM custody_events e WHERE e.id = wanted.id);

-- name: insert_error_declaration
INSERT INTO event_error_declarations (event_id, reason, explanation, corrective_event_ids,
                                      declared_by_agency_id)
VALUES (%(event_id)s, %(reason)s, %(explanation)s, %(corrective_event_ids)s, %(agency_id)s);

-- name: restricted_events
-- Which of these events are restricted, and by whom (a declaration's explanation is withheld
-- with the restricted event that corrects it: service.domain.disclosure).
SELECT id, recorded_by_agency_id FROM custody_events
WHERE id = ANY(%(ids)s::uuid[]) AND classification = 'RESTRICTED';
