-- Version 8 (after 0007, which touches none of this): a re-export
-- consent recorded in error can be withdrawn (reexport_consent_withdrawals), by the agency that
-- recorded it or by an administrator, with a reason. A withdrawn consent stays in the
-- certificate's history and covers no re-transfer, from the start: chain_entries says of each
-- consent whether it was withdrawn (its columns unchanged; the JSON of euc_consents gains
-- `withdrawn`), and the findings read a re-transfer that only a withdrawn consent covered as
-- made without consent, naming that consent. Consents recorded before stand.
CREATE TABLE reexport_consent_withdrawals (
    id                     uuid PRIMARY KEY DEFAULT uuid_v7(),
    consent_id             uuid NOT NULL UNIQUE REFERENCES reexport_consents (id),
    reason                 text NOT NULL,
    recorded_by_agency_id  uuid NOT NULL REFERENCES agencies (id),
    recorded_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER reexport_consent_withdrawals_append_only
    BEFORE UPDATE OR DELETE ON reexport_consent_withdrawals
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER reexport_consent_withdrawals_no_truncate BEFORE TRUNCATE ON reexport_consent_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
GRANT SELECT, INSERT ON reexport_consent_withdrawals TO trace_registry_service;

CREATE OR REPLACE VIEW chain_entries AS
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
