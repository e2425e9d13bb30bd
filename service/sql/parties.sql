-- name: insert_party
-- A number already recorded is refused by the unique indexes (parties_registration_unique*):
-- another agency's unrestricted party, or a party of the caller's own; never by another agency's
-- restricted party, which is no business of the caller's.
INSERT INTO parties (name, kind, country, registration_number, registration_number_key, address,
                     classification, recorded_by_agency_id)
VALUES (%(name)s, %(kind)s, %(country)s, %(registration_number)s, %(registration_number_key)s,
        %(address)s, %(classification)s, %(agency_id)s)
RETURNING id;

-- name: get_party
SELECT p.id, p.name, p.kind, p.country, p.registration_number, p.address, p.classification,
       a.id AS recorded_by_id, a.name AS recorded_by_name, p.recorded_at,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', v.id, 'verified_on', v.verified_on, 'method', v.method,
                   'notes', v.notes,
                   'recorded_by', json_build_object('id', va.id, 'name', va.name),
                   'recorded_at', v.recorded_at)
               ORDER BY v.verified_on, v.id), '[]')
        FROM party_verifications v JOIN agencies va ON va.id = v.recorded_by_agency_id
        WHERE v.party_id = p.id) AS verifications
FROM parties p JOIN agencies a ON a.id = p.recorded_by_agency_id
WHERE p.id = %(id)s;

-- name: insert_party_verification
INSERT INTO party_verifications (party_id, verified_on, method, notes, recorded_by_agency_id)
VALUES (%(party_id)s, %(verified_on)s, %(method)s, %(notes)s, %(agency_id)s)
RETURNING id;
