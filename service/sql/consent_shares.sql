-- name: limited_consents
-- The standing consents under these certificates that give a quantity and name no items: those
-- shared out over the items that move under them (service.domain.consent_shares).
SELECT c.id, c.euc_id, c.granted_on, c.new_end_user_party_id, c.new_destination_country,
       c.quantity
FROM consents_of_a_quantity c
WHERE c.euc_id = ANY(%(euc_ids)s::uuid[])
ORDER BY c.euc_id, c.granted_on, c.recorded_at, c.id;

-- name: certificates_shared_out
-- The certificates (of these, or of all when NULL) with such a consent, or with a consent
-- marked shared out: those whose share-out a fact may change. Most facts name none (one index
-- probe per certificate named).
SELECT c.euc_id
FROM consents_of_a_quantity c
WHERE %(euc_ids)s::uuid[] IS NULL OR c.euc_id = ANY(%(euc_ids)s::uuid[])
UNION
SELECT c.euc_id FROM consent_share_outs o JOIN reexport_consents c ON c.id = o.consent_id
WHERE %(euc_ids)s::uuid[] IS NULL OR c.euc_id = ANY(%(euc_ids)s::uuid[])
ORDER BY 1;

-- name: items_moved_to_consented_hands
-- The items a consent of the certificate that gives a quantity and names none may be shared
-- with: shipped under the certificate (a standing export or import), with a standing move
-- (export, import or transfer) on or after the day the consent was granted to where it allows
-- (its country, and its new end user as holder or owner when it names one). More than the
-- findings rules may give a share to (a move downstream of a breach, say): they decide. Among
-- the given items only, unless NULL (the items of a move just recorded: a move of items none
-- of which it names changes no share).
SELECT DISTINCT si.item_id
FROM consents_of_a_quantity c
JOIN custody_events s ON s.euc_id = c.euc_id AND s.event_type IN ('EXPORT', 'IMPORT')
JOIN custody_event_items si ON si.event_id = s.id
JOIN custody_event_items mi ON mi.item_id = si.item_id
JOIN custody_events m ON m.id = mi.event_id
WHERE c.euc_id = %(euc_id)s
  AND (%(among)s::uuid[] IS NULL OR si.item_id = ANY(%(among)s::uuid[]))
  AND NOT EXISTS (SELECT 1 FROM event_error_declarations sd WHERE sd.event_id = s.id)
  AND m.event_type IN ('EXPORT', 'IMPORT', 'TRANSFER') AND m.occurred_on >= c.granted_on
  AND coalesce(m.destination_country, m.country) = c.new_destination_country
  AND (c.new_end_user_party_id IS NULL
       OR c.new_end_user_party_id IN (m.to_party_id, m.owner_party_id))
  AND NOT EXISTS (SELECT 1 FROM event_error_declarations md WHERE md.event_id = m.id);

-- name: stored_shares
-- The shares stored for the standing consents of these certificates (a withdrawn one keeps
-- those it had, which say which items it had covered).
SELECT s.consent_id, s.item_id, s.event_id
FROM consent_shares s JOIN consents_of_a_quantity c ON c.id = s.consent_id
WHERE c.euc_id = ANY(%(euc_ids)s::uuid[]);

-- name: marked_shared_out
-- The standing consents of these certificates marked shared out (a withdrawn one keeps its
-- mark, and its shares).
SELECT o.consent_id
FROM consent_share_outs o JOIN consents_of_a_quantity c ON c.id = o.consent_id
WHERE c.euc_id = ANY(%(euc_ids)s::uuid[]);

-- name: moved_on_day
-- Whether the items have a move (export, import, transfer) on the day: an event of another
-- kind can change the order in which a day's moves were made (custody.in_chain_order: a
-- recovery puts the hand-over by its holder after it), and so the share-out.
SELECT EXISTS (
    SELECT 1 FROM custody_event_items ei JOIN custody_events e ON e.id = ei.event_id
    WHERE ei.item_id = ANY(%(item_ids)s::uuid[]) AND e.occurred_on = %(day)s
      AND e.event_type IN ('EXPORT', 'IMPORT', 'TRANSFER')
) AS moved;

-- name: last_other_move_day
-- The day of the last move (export, import, transfer) of the items but the given event, whether
-- standing or not: a move recorded on a later day is the last of them in any order.
SELECT max(m.occurred_on) AS day
FROM custody_event_items mi JOIN custody_events m ON m.id = mi.event_id
WHERE mi.item_id = ANY(%(item_ids)s::uuid[]) AND m.id <> %(event_id)s
  AND m.event_type IN ('EXPORT', 'IMPORT', 'TRANSFER');

-- name: delete_shares
DELETE FROM consent_shares s
USING unnest(%(consent_ids)s::uuid[], %(item_ids)s::uuid[]) AS gone (consent_id, item_id)
WHERE s.consent_id = gone.consent_id AND s.item_id = gone.item_id;

-- name: mark_shared_out
INSERT INTO consent_share_outs (consent_id)
SELECT unnest(%(consent_ids)s::uuid[]);

-- name: unmark_shared_out
DELETE FROM consent_share_outs WHERE consent_id = ANY(%(consent_ids)s::uuid[]);

-- name: store_shares
INSERT INTO consent_shares (consent_id, item_id, event_id)
SELECT * FROM unnest(%(consent_ids)s::uuid[], %(item_ids)s::uuid[], %(event_ids)s::uuid[]);
