-- Version 17: certificate lines held to what they authorise. An export that names no line
-- counts against its certificate's only line (only_line): it counted against none, and a
-- certificate of one line read as within its quantity however many items went under it
-- (EUC_QUANTITY_EXCEEDED); and an item shipped again under a line (back from a repair) takes
-- no more of its quantity: each is counted once. An event's certificate carries the exporter
-- it names, and its line the goods it authorises (category and model), for two rules: a
-- shipment sent by a party other than the exporter the certificate names, which the record
-- does not show with the item before it (EXPORTER_MISMATCH, a WARNING), and an item shipped
-- under a line that names other goods (EUC_LINE_MISMATCH: another category is an ALERT,
-- another model a WARNING). event_details
-- gains the columns last, as a view may only grow at its end; chain_entries, which takes
-- event_details' columns by `d.*` as they were when it was made, is made again around it.
-- Nothing stored changes. Alert lists derived before keep what they said until
-- `trace-registry alerts rebuild`. And delivery_due: when a new webhook delivery is due (with a
-- failed one's retry while its receiver is held), for the two statements that make deliveries.

CREATE FUNCTION only_line(certificate uuid) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min(l.line_number) FROM euc_line_items l WHERE l.euc_id = certificate
    HAVING count(*) = 1
$$;

DROP VIEW chain_entries;
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

CREATE VIEW chain_entries AS
SELECT ei.item_id AS chain_item_id, d.*,
       CASE WHEN d.euc_id IS NOT NULL THEN (
           SELECT coalesce(json_agg(json_build_object(
                      'id', c.id, 'granted_on', c.granted_on,
                      'new_end_user_party_id', c.new_end_user_party_id,
                      'new_destination_country', c.new_destination_country,
                      'covers_item',
                      NOT EXISTS (SELECT 1 FROM reexport_consent_items ci WHERE ci.consent_id = c.id)
                      OR EXISTS (SELECT 1 FROM reexport_consent_items ci
                                 WHERE ci.consent_id = c.id AND ci.item_id = ei.item_id),
                      -- version 8: a withdrawn consent covers nothing (findings name it)
                      'withdrawn',
                      EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw
                              WHERE cw.consent_id = c.id))
                  ORDER BY c.granted_on), '[]')
           FROM reexport_consents c WHERE c.euc_id = d.euc_id
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
GRANT SELECT, INSERT ON chain_entries TO trace_registry_service;

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
