-- Version 18: a re-export consent held to its quantity. A consent that gives a quantity and
-- names no items covered every item of its certificate handed to its new end user: a consent
-- for one rifle let three be re-transferred with no finding. consent_moves lists the moves the
-- certificate's consents cover; consent_allocation shares each such consent's quantity out over
-- them, in the order they were made; chain_entries, made again, says of each consent whether it
-- covers the chain's item and whether other items took all of it ('spent'), with its quantity.
-- Nothing stored changes. Alert lists derived before keep what they said until
-- `trace-registry alerts rebuild`.

-- Version 18: a consent's quantity, held to. A consent that names its items covers those (no
-- more than its quantity: refused at input); one that names none but gives a quantity covers
-- that many items of the certificate, the first to move under it. consent_moves is every move
-- a standing consent of the certificate covers, of the items shipped under it since: moves to
-- the consent's new end user (holder or owner) in its country, on or after the day it was
-- granted, other than those the certificate itself allows (to its end user, in its country).
-- Each move lists the consents that cover it, earliest granted first, as chains read them.
CREATE FUNCTION consent_moves(certificate uuid)
RETURNS TABLE (item_id uuid, event_id uuid, occurred_on date, act_recorded_at timestamptz,
               recorded_at timestamptz, consent_ids uuid[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT mi.item_id, m.id, m.occurred_on, coalesce(ma.first_recorded_at, m.recorded_at),
           m.recorded_at, array_agg(c.id ORDER BY c.granted_on, c.recorded_at, c.id)
    FROM end_user_certificates euc
    JOIN (SELECT si.item_id, min(s.occurred_on) AS shipped_on
          FROM custody_events s JOIN custody_event_items si ON si.event_id = s.id
          WHERE s.euc_id = certificate AND s.event_type IN ('EXPORT', 'IMPORT')
            AND NOT EXISTS (SELECT 1 FROM event_error_declarations sd WHERE sd.event_id = s.id)
          GROUP BY si.item_id) AS shipped ON true
    JOIN custody_event_items mi ON mi.item_id = shipped.item_id
    JOIN custody_events m ON m.id = mi.event_id
    LEFT JOIN corrected_acts ma ON ma.event_id = m.id
    JOIN reexport_consents c
         ON c.euc_id = certificate
        AND c.granted_on <= m.occurred_on
        AND c.new_destination_country = coalesce(m.destination_country, m.country)
        AND (c.new_end_user_party_id IS NULL
             OR c.new_end_user_party_id IN (m.to_party_id, m.owner_party_id))
    WHERE euc.id = certificate
      AND m.event_type IN ('EXPORT', 'IMPORT', 'TRANSFER')
      AND m.euc_id IS DISTINCT FROM certificate
      AND m.occurred_on >= shipped.shipped_on
      AND NOT ((euc.end_user_party_id IS NULL
                OR coalesce(euc.end_user_party_id IN (m.to_party_id, m.owner_party_id), false))
               AND coalesce(m.destination_country, m.country) = euc.destination_country)
      AND NOT EXISTS (SELECT 1 FROM event_error_declarations md WHERE md.event_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw WHERE cw.consent_id = c.id)
      AND (NOT EXISTS (SELECT 1 FROM reexport_consent_items ci WHERE ci.consent_id = c.id)
           OR EXISTS (SELECT 1 FROM reexport_consent_items ci
                      WHERE ci.consent_id = c.id AND ci.item_id = mi.item_id))
    GROUP BY mi.item_id, m.id, ma.first_recorded_at
$$;

-- Version 18: the items each standing consent of the certificate that gives a quantity and
-- names no items covers: its quantity shared out over consent_moves in the order the moves were
-- made (as a line's exports are counted: date, when the act was first recorded, recording
-- time, id). A move takes nothing when a consent that covers it has no quantity or names the
-- item, or when the item already holds one of its consents (it moves on within the new end
-- user); else the first of its consents with room left; with none left, the item is not
-- covered, and its move reads as a re-transfer no consent covers. Before, a consent for one
-- rifle covered every rifle of the certificate handed to its new end user.
CREATE FUNCTION consent_allocation(certificate uuid)
RETURNS TABLE (consent_id uuid, item_id uuid)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
DECLARE
    move record;
    covering uuid;
    room jsonb;  -- by consent id: how many items it may still cover
    held text[] := '{}';  -- 'item consent' for each item given a consent
BEGIN
    SELECT jsonb_object_agg(c.id, c.quantity) INTO room
    FROM reexport_consents c
    WHERE c.euc_id = certificate AND c.quantity IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM reexport_consent_items ci WHERE ci.consent_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw WHERE cw.consent_id = c.id);
    IF room IS NULL THEN
        RETURN;
    END IF;
    FOR move IN SELECT m.item_id AS moved, m.consent_ids AS consents
                FROM consent_moves(certificate) m
                ORDER BY m.occurred_on, m.act_recorded_at, m.recorded_at, m.event_id LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(move.consents) AS k (id)
                              WHERE NOT room ? k.id::text
                                 OR move.moved || ' ' || k.id = ANY (held));
        FOREACH covering IN ARRAY move.consents LOOP
            IF (room ->> covering::text)::integer > 0 THEN
                room := jsonb_set(room, ARRAY[covering::text],
                                  to_jsonb((room ->> covering::text)::integer - 1));
                held := held || (move.moved || ' ' || covering);
                consent_id := covering;
                item_id := move.moved;
                RETURN NEXT;
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
END
$$;

DROP VIEW chain_entries;
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
                      'covers_item',
                      CASE WHEN rationed.items IS NOT NULL THEN ei.item_id = ANY (rationed.items)
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
                      coalesce(cardinality(rationed.items) = c.quantity
                               AND NOT ei.item_id = ANY (rationed.items), false))
                  ORDER BY c.granted_on), '[]')
           FROM reexport_consents c
           -- version 18: the items a standing consent that gives a quantity and names none
           -- covers (consent_allocation); NULL for any other consent
           LEFT JOIN LATERAL (
               SELECT ARRAY(SELECT a.item_id FROM consent_allocation(c.euc_id) a
                            WHERE a.consent_id = c.id) AS items
               WHERE c.quantity IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM reexport_consent_items ci
                                 WHERE ci.consent_id = c.id)
                 AND NOT EXISTS (SELECT 1 FROM reexport_consent_withdrawals cw
                                 WHERE cw.consent_id = c.id)
           ) AS rationed ON true
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

GRANT SELECT, INSERT ON chain_entries TO trace_registry_service;
