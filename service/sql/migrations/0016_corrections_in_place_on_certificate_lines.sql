-- Version 16: a correction keeps the place of the export it corrects among a certificate line's
-- exports. The line's exports are counted towards its quantity in the order they were made: by
-- date, then by when each was recorded; a correction recorded after the day's later export was
-- counted after it, so that export's shipment read as within the line and the corrected one as
-- the shipment that took the line over (EUC_QUANTITY_EXCEEDED on the wrong items). Now a
-- corrective event is placed by when the act it records again was first recorded
-- (corrected_acts, derived from the declarations by their trigger and filled here from those
-- already made), as chains already placed it among a day's events. event_details keeps its
-- columns; its count of the items shipped through a line takes that order. Alert lists derived
-- before keep what they said of such a line until `trace-registry alerts rebuild`.

-- A corrective event records again an act recorded before it: the act's place among the day's
-- exports under a certificate line, which are counted towards the line's quantity in the order
-- they were made (date, then when the act was first recorded), is the place of the event it
-- corrects, not the end of the day. By when the correction was recorded, the shipment the day's
-- later export took over the line read as the one that took it over. For each event a
-- declaration names as corrective (and the corrections of corrections after it), derived by the
-- declarations' trigger, corrected_acts_placed; chains order a day's events the same way
-- (service.domain.custody.in_chain_order).
CREATE TABLE corrected_acts (
    event_id           uuid PRIMARY KEY REFERENCES custody_events (id),
    first_recorded_at  timestamptz NOT NULL
);

-- Security definer: the service may read corrected_acts, never write it (REVOKE below), so no
-- request can move an act but by declaring an event erroneous. A time only falls, so the
-- recursion ends, corrections that name each other included. The declarations that name
-- corrective events (rare) are placed one at a time, to commit (advisory lock 74108): two at
-- once in one chain of corrections each missed the other's uncommitted row, and the last
-- correction kept the middle one's time for good. Each statement here reads what committed
-- before it (READ COMMITTED, a volatile function).
CREATE FUNCTION corrected_acts_placed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(74108, 0);
    INSERT INTO corrected_acts AS placed (event_id, first_recorded_at)
    WITH RECURSIVE acts (event_id, first_recorded_at) AS (
        SELECT c.id, least(c.recorded_at, coalesce(a.first_recorded_at, corrected.recorded_at))
        FROM custody_events corrected
        LEFT JOIN corrected_acts a ON a.event_id = corrected.id
        JOIN custody_events c ON c.id = ANY (NEW.corrective_event_ids)
        WHERE corrected.id = NEW.event_id
        UNION
        SELECT c.id, least(c.recorded_at, acts.first_recorded_at)
        FROM acts
        JOIN event_error_declarations d ON d.event_id = acts.event_id
        JOIN custody_events c ON c.id = ANY (d.corrective_event_ids)
    )
    SELECT event_id, min(first_recorded_at) FROM acts GROUP BY event_id
    ON CONFLICT (event_id) DO UPDATE
        SET first_recorded_at = least(placed.first_recorded_at, EXCLUDED.first_recorded_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER corrected_acts_placed AFTER INSERT ON event_error_declarations
    FOR EACH ROW WHEN (cardinality(NEW.corrective_event_ids) > 0)
    EXECUTE FUNCTION corrected_acts_placed();

-- the corrections already declared, and the corrections of corrections after them
INSERT INTO corrected_acts (event_id, first_recorded_at)
WITH RECURSIVE acts (event_id, first_recorded_at) AS (
    SELECT c.id, least(c.recorded_at, corrected.recorded_at)
    FROM event_error_declarations d
    JOIN custody_events corrected ON corrected.id = d.event_id
    JOIN custody_events c ON c.id = ANY (d.corrective_event_ids)
    UNION
    SELECT c.id, least(c.recorded_at, acts.first_recorded_at)
    FROM acts
    JOIN event_error_declarations d ON d.event_id = acts.event_id
    JOIN custody_events c ON c.id = ANY (d.corrective_event_ids)
)
SELECT event_id, min(first_recorded_at) FROM acts GROUP BY event_id;

GRANT SELECT ON corrected_acts TO trace_registry_service;

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
       -- items shipped under the line by this export and every standing export before it (in
       -- the order they were made: corrected_acts)
       CASE WHEN e.event_type = 'EXPORT' AND e.euc_line_number IS NOT NULL THEN (
           SELECT sum(x.item_count) FROM custody_events x
           LEFT JOIN corrected_acts xa ON xa.event_id = x.id
           WHERE x.euc_id = e.euc_id AND x.euc_line_number = e.euc_line_number
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
       c.issued_on AS euc_issued_on
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
LEFT JOIN euc_line_items line ON line.euc_id = e.euc_id AND line.line_number = e.euc_line_number
LEFT JOIN event_error_declarations d ON d.event_id = e.id
LEFT JOIN agencies da ON da.id = d.declared_by_agency_id;
