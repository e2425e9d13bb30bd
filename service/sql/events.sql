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

-- name: get_events
SELECT d.*,
       ARRAY(SELECT ei.item_id FROM custody_event_items ei
             WHERE ei.event_id = d.id ORDER BY ei.item_id) AS item_ids
FROM event_details d
WHERE d.id = ANY(%(ids)s::uuid[]);

-- name: event_owner
-- The agency that recorded an event, and whether it already stands corrected.
SELECT e.recorded_by_agency_id,
       EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id) AS declared
FROM custody_events e
WHERE e.id = %(id)s;

-- name: corrective_events
-- The events a declaration names as corrective that are not recorded, and those another agency
-- recorded.
SELECT array_agg(wanted.id) FILTER (WHERE e.id IS NULL) AS missing,
       array_agg(wanted.id) FILTER (WHERE e.recorded_by_agency_id <> %(agency_id)s) AS others
FROM unnest(%(ids)s::uuid[]) AS wanted (id)
LEFT JOIN custody_events e ON e.id = wanted.id;

-- name: insert_error_declaration
INSERT INTO event_error_declarations (event_id, reason, explanation, corrective_event_ids,
                                      declared_by_agency_id)
VALUES (%(event_id)s, %(reason)s, %(explanation)s, %(corrective_event_ids)s, %(agency_id)s);

-- name: restricted_events
-- Which of these events are restricted, and by whom (a declaration's explanation is withheld
-- with the restricted event that corrects it: service.domain.disclosure).
SELECT id, recorded_by_agency_id FROM custody_events
WHERE id = ANY(%(ids)s::uuid[]) AND classification = 'RESTRICTED';

-- name: corrections_after
-- The events that correct these, and those that correct them, and so on: a corrective event
-- moves to the place of the event it corrects, and so do the corrections made of it since
-- (corrected_acts).
WITH RECURSIVE after (id) AS (
    SELECT corrective FROM event_error_declarations d, unnest(d.corrective_event_ids) corrective
    WHERE d.event_id = ANY(%(ids)s::uuid[])
    UNION
    SELECT corrective
    FROM after
    JOIN event_error_declarations d ON d.event_id = after.id,
         unnest(d.corrective_event_ids) corrective
)
SELECT id FROM after;
