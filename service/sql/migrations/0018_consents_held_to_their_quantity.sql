-- Version 18: a re-export consent held to its quantity. A consent that gives a quantity and
-- names no items covered every item of its certificate handed to its new end user: a consent
-- for one rifle let three be re-transferred with no finding. Now it covers that many items, the
-- first to need it in the order the moves were made (service/domain/consent_shares.py). The
-- share-out is derived by the service, under the certificate's lock, whenever a fact about the
-- certificate or its items' moves is recorded, and stored: consent_shares (each item's share,
-- and the move that took it) and consent_share_outs (the consents shared out). chain_entries,
-- made again, reads them: each consent of an event's certificate carries its quantity, whether
-- it covers the chain's item, and whether other items took all of it ('spent'). A consent not
-- yet shared out (every one, until `trace-registry alerts rebuild` or a new fact about its
-- certificate) covers every item, as before. Nothing recorded changes.

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
                      -- a consent shared out covers the items given a share, and any while it
                      -- has room left: the share-out gave every move that needed it a share
                      -- while it had room, so a move without one needed none (as read with
                      -- every record); read without another agency's restricted move, the
                      -- move reads as it would with it
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

GRANT SELECT, INSERT ON chain_entries TO trace_registry_service;
GRANT SELECT, INSERT ON consents_of_a_quantity TO trace_registry_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON consent_shares, consent_share_outs
    TO trace_registry_service;
