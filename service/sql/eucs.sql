-- name: insert_euc
INSERT INTO end_user_certificates (certificate_number, certificate_key, issuing_country,
                                   issuing_authority, issued_on, expires_on, exporter_party_id,
                                   end_user_party_id, destination_country, stated_end_use,
                                   non_reexport_clause, recorded_by_agency_id)
VALUES (%(certificate_number)s, %(certificate_key)s, %(issuing_country)s, %(issuing_authority)s,
        %(issued_on)s, %(expires_on)s, %(exporter_party_id)s, %(end_user_party_id)s,
        %(destination_country)s, %(stated_end_use)s, %(non_reexport_clause)s, %(agency_id)s)
RETURNING id;

-- name: insert_euc_line
INSERT INTO euc_line_items (euc_id, line_number, description, category, model, quantity)
VALUES (%(euc_id)s, %(line_number)s, %(description)s, %(category)s, %(model)s, %(quantity)s);

-- name: get_euc
SELECT c.id, c.certificate_number, c.issuing_country, c.issuing_authority, c.issued_on,
       c.expires_on, c.destination_country, c.stated_end_use, c.non_reexport_clause,
       ex.id AS exporter_id, ex.name AS exporter_name, ex.kind AS exporter_kind,
       ex.country AS exporter_country, ex.classification AS exporter_classification,
       CASE WHEN ex.classification = 'RESTRICTED' THEN party_restriction(ex) END
           AS exporter_restriction,
       eu.id AS end_user_id, eu.name AS end_user_name, eu.kind AS end_user_kind,
       eu.country AS end_user_country, eu.classification AS end_user_classification,
       CASE WHEN eu.classification = 'RESTRICTED' THEN party_restriction(eu) END
           AS end_user_restriction,
       a.id AS recorded_by_id, a.name AS recorded_by_name, c.recorded_at,
       (SELECT coalesce(json_agg(json_build_object(
                   'line_number', l.line_number, 'description', l.description,
                   'category', l.category, 'model', l.model, 'quantity', l.quantity)
               ORDER BY l.line_number), '[]')
        FROM euc_line_items l WHERE l.euc_id = c.id) AS line_items,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', r.id, 'revoked_on', r.revoked_on, 'reason', r.reason,
                   'recorded_by', json_build_object('id', ra.id, 'name', ra.name),
                   'recorded_at', r.recorded_at,
                   'withdrawal', CASE WHEN w.id IS NOT NULL THEN json_build_object(
                       'id', w.id, 'reason', w.reason,
                       'recorded_by', json_build_object('id', wa.id, 'name', wa.name),
                       'recorded_at', w.recorded_at) END)
               ORDER BY r.recorded_at, r.id), '[]')
        FROM euc_revocations r JOIN agencies ra ON ra.id = r.recorded_by_agency_id
        LEFT JOIN euc_revocation_withdrawals w ON w.revocation_id = r.id
        LEFT JOIN agencies wa ON wa.id = w.recorded_by_agency_id
        WHERE r.euc_id = c.id) AS revocations,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', s.id, 'granted_on', s.granted_on, 'granted_by', s.granted_by,
                   'new_end_user_party_id', s.new_end_user_party_id,
                   'new_destination_country', s.new_destination_country,
                   'quantity', s.quantity, 'document_reference', s.document_reference,
                   'item_ids', (SELECT coalesce(array_agg(si.item_id ORDER BY si.item_id), '{}')
                                FROM reexport_consent_items si WHERE si.consent_id = s.id),
                   'recorded_by', json_build_object('id', sa.id, 'name', sa.name),
                   'recorded_at', s.recorded_at,
                   'withdrawal', CASE WHEN sw.id IS NOT NULL THEN json_build_object(
                       'id', sw.id, 'reason', sw.reason,
                       'recorded_by', json_build_object('id', swa.id, 'name', swa.name),
                       'recorded_at', sw.recorded_at) END)
               ORDER BY s.granted_on, s.id), '[]')
        FROM reexport_consents s JOIN agencies sa ON sa.id = s.recorded_by_agency_id
        LEFT JOIN reexport_consent_withdrawals sw ON sw.consent_id = s.id
        LEFT JOIN agencies swa ON swa.id = sw.recorded_by_agency_id
        WHERE s.euc_id = c.id) AS consents,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', v.id, 'verified_on', v.verified_on,
                   'verifying_authority', v.verifying_authority, 'country', v.country,
                   'notes', v.notes,
                   'item_ids', (SELECT coalesce(array_agg(vi.item_id ORDER BY vi.item_id), '{}')
                                FROM delivery_verification_items vi
                                WHERE vi.verification_id = v.id),
                   'recorded_by', json_build_object('id', va.id, 'name', va.name),
                   'recorded_at', v.recorded_at)
               ORDER BY v.verified_on, v.id), '[]')
        FROM delivery_verifications v JOIN agencies va ON va.id = v.recorded_by_agency_id
        WHERE v.euc_id = c.id) AS verifications,
       -- how each item that a consent or verification names is known to have been shipped
       -- under the certificate: by an event every agency may see, or only by restricted ones
       -- of these agencies (service.domain.disclosure shows the lists by it)
       (SELECT coalesce(json_object_agg(link.item_id, json_build_object(
                   'open', link.open, 'restricted_by', link.restricted_by)), '{}')
        FROM (SELECT named.item_id,
                     coalesce(bool_or(e.classification = 'UNRESTRICTED'), false) AS open,
                     coalesce(array_agg(DISTINCT e.recorded_by_agency_id)
                                  FILTER (WHERE e.classification = 'RESTRICTED'), '{}')
                         AS restricted_by
              FROM (SELECT si.item_id FROM reexport_consents s
                    JOIN reexport_consent_items si ON si.consent_id = s.id
                    WHERE s.euc_id = c.id
                    UNION
                    SELECT vi.item_id FROM delivery_verifications v
                    JOIN delivery_verification_items vi ON vi.verification_id = v.id
                    WHERE v.euc_id = c.id) AS named
              LEFT JOIN (custody_event_items ei
                         JOIN custody_events e ON e.id = ei.event_id AND e.euc_id = c.id)
                     ON ei.item_id = named.item_id
              GROUP BY named.item_id) AS link) AS item_links
FROM end_user_certificates c
JOIN parties eu ON eu.id = c.end_user_party_id
JOIN agencies a ON a.id = c.recorded_by_agency_id
LEFT JOIN parties ex ON ex.id = c.exporter_party_id
WHERE c.id = %(id)s;

-- name: certificate_facts
-- What a fact about a certificate (a revocation, its withdrawal, a consent, a verification) is
-- checked against: the certificate's issue, its recorder, and the revocation that stands (at
-- most one: euc_revocations_one_standing).
SELECT c.issued_on, a.id AS recorded_by_id, a.name AS recorded_by_name,
       r.id AS standing_id, r.revoked_on AS standing_revoked_on
FROM end_user_certificates c
JOIN agencies a ON a.id = c.recorded_by_agency_id
LEFT JOIN euc_revocations r
       ON r.euc_id = c.id
      AND NOT EXISTS (SELECT 1 FROM euc_revocation_withdrawals w WHERE w.revocation_id = r.id)
WHERE c.id = %(id)s;

-- name: delivery_verifiers
-- What a delivery verification is checked against: the certificate's issue, who may record one
-- (certificates.check_verifier) and the caller's agency's country. The exporter's country
-- counts only where the caller may read the exporter: a restricted one's would be disclosed by
-- the answer. The caller's agency is read FOR SHARE: a verification that comes while the
-- agency's country is being changed (PATCH /v1/admin/agencies, `agencies set-country`) waits
-- for the change and is judged by the new country. Read as of the statement's start, it was
-- judged by the old one, and then stored (its FK check waited, then found the agency there)
-- after the change had committed. A change waits likewise for a verification in flight.
SELECT c.issued_on, a.id AS recorded_by_id, a.name AS recorded_by_name, c.issuing_country,
       c.destination_country,
       CASE WHEN ex.classification = 'UNRESTRICTED'
                 OR ex.recorded_by_agency_id = %(agency_id)s THEN ex.country END
           AS exporting_country,
       (SELECT caller.country FROM agencies caller WHERE caller.id = %(agency_id)s FOR SHARE)
           AS agency_country
FROM end_user_certificates c
JOIN agencies a ON a.id = c.recorded_by_agency_id
LEFT JOIN parties ex ON ex.id = c.exporter_party_id
WHERE c.id = %(euc_id)s;

-- name: insert_revocation
INSERT INTO euc_revocations (euc_id, revoked_on, reason, recorded_by_agency_id)
VALUES (%(euc_id)s, %(revoked_on)s, %(reason)s, %(agency_id)s);

-- name: insert_revocation_withdrawal
INSERT INTO euc_revocation_withdrawals (revocation_id, reason, recorded_by_agency_id)
VALUES (%(revocation_id)s, %(reason)s, %(agency_id)s);

-- name: consent_to_withdraw
-- What a consent's withdrawal is checked against: the consent (NULL: none under this
-- certificate), its recorder, and its withdrawal if one was recorded. No row: no certificate.
SELECT s.id AS consent_id, a.id AS recorded_by_id, a.name AS recorded_by_name,
       w.recorded_at AS withdrawn_at, wa.name AS withdrawn_by_name
FROM end_user_certificates c
LEFT JOIN reexport_consents s ON s.euc_id = c.id AND s.id = %(consent_id)s
LEFT JOIN agencies a ON a.id = s.recorded_by_agency_id
LEFT JOIN reexport_consent_withdrawals w ON w.consent_id = s.id
LEFT JOIN agencies wa ON wa.id = w.recorded_by_agency_id
WHERE c.id = %(euc_id)s;

-- name: insert_consent_withdrawal
INSERT INTO reexport_consent_withdrawals (consent_id, reason, recorded_by_agency_id)
VALUES (%(consent_id)s, %(reason)s, %(agency_id)s);

-- name: consents_cap
-- What a new consent is checked against: how many items the certificate's standing events
-- cover (those a consent may name), and what its standing (not withdrawn) consents cover, as
-- the cap counts it (certificates.ConsentedItems): the items they name, the quantities of those
-- that name none, and whether one names neither items nor a quantity. Only the events the
-- caller may know of count (shipped_under, as for not_shipped_under: an unrestricted one, or a
-- restricted one of its own): with another agency's restricted events counted, the answer to a consent (400 for
-- its quantity, 409 for the cap, and the counts each gives) told whether such an event still
-- covered an item once the export the caller saw of it was declared erroneous. An item named
-- counts only while such an event covers it: one whose export was declared erroneous since is
-- a re-transfer the consent can no longer cover, and counted, it held back consents for the
-- items still shipped. `erroneous`: the events the caller may know of under the certificate
-- declared erroneous that shipped an item no such standing event ships: why the standing
-- consents may cover more than stands shipped (they are named to say so).
WITH shipped AS (SELECT DISTINCT item_id FROM ({shipped_under}) AS known),
standing AS (
    SELECT s.id, s.quantity,
           EXISTS (SELECT 1 FROM reexport_consent_items si WHERE si.consent_id = s.id)
               AS names_items
    FROM reexport_consents s
    WHERE s.euc_id = %(euc_id)s
      AND NOT EXISTS (SELECT 1 FROM reexport_consent_withdrawals w WHERE w.consent_id = s.id))
SELECT (SELECT count(*) FROM shipped) AS shipped,
       (SELECT coalesce(array_agg(DISTINCT si.item_id), ARRAY[]::uuid[])
        FROM standing JOIN reexport_consent_items si ON si.consent_id = standing.id
        JOIN shipped ON shipped.item_id = si.item_id) AS named,
       (SELECT coalesce(sum(quantity), 0) FROM standing WHERE NOT names_items) AS by_quantity,
       EXISTS (SELECT 1 FROM standing WHERE NOT names_items AND quantity IS NULL)
           AS every_item,
       (SELECT coalesce(json_agg(json_build_object('id', e.id, 'event_type', e.event_type,
                                                   'occurred_on', e.occurred_on)
                                 ORDER BY e.occurred_on, e.recorded_at, e.id), '[]')
        FROM custody_events e
        WHERE e.euc_id = %(euc_id)s
          AND (e.classification = 'UNRESTRICTED' OR e.recorded_by_agency_id = %(agency_id)s)
          AND EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id)
          AND EXISTS (SELECT 1 FROM custody_event_items ei
                      WHERE ei.event_id = e.id
                        AND NOT EXISTS (SELECT 1 FROM shipped WHERE shipped.item_id = ei.item_id))
       ) AS erroneous;

-- name: insert_consent
INSERT INTO reexport_consents (euc_id, granted_on, granted_by, new_end_user_party_id,
                               new_destination_country, quantity, document_reference,
                               recorded_by_agency_id)
VALUES (%(euc_id)s, %(granted_on)s, %(granted_by)s, %(new_end_user_party_id)s,
        %(new_destination_country)s, %(quantity)s, %(document_reference)s, %(agency_id)s)
RETURNING id;

-- name: insert_consent_items
INSERT INTO reexport_consent_items (consent_id, item_id)
SELECT %(consent_id)s, item_id FROM unnest(%(item_ids)s::uuid[]) AS item_id;

-- name: insert_verification
INSERT INTO delivery_verifications (euc_id, verified_on, verifying_authority, country, notes,
                                    recorded_by_agency_id)
VALUES (%(euc_id)s, %(verified_on)s, %(verifying_authority)s, %(country)s, %(notes)s,
        %(agency_id)s)
RETURNING id;

-- name: insert_verification_items
INSERT INTO delivery_verification_items (verification_id, item_id)
SELECT %(verification_id)s, item_id FROM unnest(%(item_ids)s::uuid[]) AS item_id;

-- name: usage
-- Per line: what it authorises, and the items shipped under it by standing exports (an export
-- that names no line, under the certificate's only one: only_line), each item once (one shipped
-- again, back from a repair, takes no more of the quantity); the items of exports another
-- agency restricted are counted, not named.
SELECT l.line_number, l.description, l.quantity AS authorised,
       count(DISTINCT ei.item_id) AS shipped,
       coalesce(array_agg(DISTINCT ei.item_id ORDER BY ei.item_id)
                    FILTER (WHERE ei.item_id IS NOT NULL
                              AND (e.classification = 'UNRESTRICTED'
                                   OR e.recorded_by_agency_id = %(viewer)s)),
                '{}') AS item_ids,
       count(DISTINCT ei.item_id) FILTER (WHERE e.classification = 'RESTRICTED'
                                            AND e.recorded_by_agency_id <> %(viewer)s)
           AS withheld
FROM euc_line_items l
LEFT JOIN custody_events e
       ON e.euc_id = l.euc_id
      AND coalesce(e.euc_line_number, only_line(e.euc_id)) = l.line_number
      AND e.event_type = 'EXPORT'
      AND NOT EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id)
LEFT JOIN custody_event_items ei ON ei.event_id = e.id
WHERE l.euc_id = %(euc_id)s
GROUP BY l.line_number, l.description, l.quantity
ORDER BY l.line_number;

-- name: find_by_number
SELECT id FROM end_user_certificates
WHERE issuing_country = %(issuing_country)s AND certificate_key = %(certificate_key)s;

-- name: shipped_under
-- The items shipped under this certificate by the events the agency may know of: standing ones
-- (not declared erroneous), unrestricted or restricted ones of its own; an item once per event
-- that names it. The one rule of consents_cap and not_shipped_under, which the repository puts
-- it in (as a subquery in place of the braces), so that the cap and the items a consent or a
-- verification may name are judged alike.
SELECT ei.item_id
FROM custody_events e
JOIN custody_event_items ei ON ei.event_id = e.id
WHERE e.euc_id = %(euc_id)s
  AND (e.classification = 'UNRESTRICTED' OR e.recorded_by_agency_id = %(agency_id)s)
  AND NOT EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id);

-- name: not_shipped_under
-- Those of the items that no event under this certificate covers, of the events the agency may
-- know of (shipped_under). An item that only another agency's restricted export shipped is
-- answered as one never shipped: else naming items one by one in consents or verifications told
-- which the restricted export held, which the certificate's lists withhold
-- (service.domain.disclosure), and each probe that hit stayed in the ledger. A subquery that is
-- flattened into the join: the planner looks up each item in custody_event_items' index. In the
-- order asked (an answer names the first few).
SELECT array_agg(wanted.id ORDER BY wanted.n) AS missing
FROM unnest(%(ids)s::uuid[]) WITH ORDINALITY AS wanted (id, n)
WHERE NOT EXISTS (SELECT 1 FROM ({shipped_under}) AS known WHERE known.item_id = wanted.id);
