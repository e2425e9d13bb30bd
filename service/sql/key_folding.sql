-- name: folded_under
-- The Unicode version of the folding in force (none: a database set up by hand).
SELECT unicode_version FROM key_folding ORDER BY folding DESC LIMIT 1;

-- name: record_folding
-- A folding of every key under `unicode_version`, after the last.
INSERT INTO key_folding (folding, unicode_version)
SELECT coalesce(max(folding), 0) + 1, %(unicode_version)s FROM key_folding;

-- name: lock_for_refolding
-- The tables whose keys `db refold` folds again, for the rest of its transaction: their readers
-- go on, writers (which would fold keys under the earlier version) wait.
LOCK TABLE items, item_serials, end_user_certificates, parties, manufacturer_aliases
    IN EXCLUSIVE MODE;

-- name: aliases_to_refold
SELECT alias_key, alias, manufacturer_key FROM manufacturer_aliases ORDER BY alias_key;

-- name: move_alias
-- An alias to its new key, unless another alias holds it.
UPDATE manufacturer_aliases SET alias_key = %(new_key)s
WHERE alias_key = %(key)s
  AND NOT EXISTS (SELECT FROM manufacturer_aliases a WHERE a.alias_key = %(new_key)s)
RETURNING alias_key;

-- name: alias_holding
SELECT alias AS text FROM manufacturer_aliases WHERE alias_key = %(new_key)s;

-- name: items_to_refold
-- Every item's texts and keys, in the order recorded (read through a server-side cursor).
SELECT id, manufacturer, model, serial_number, serial_norm, manufacturer_key, model_key
FROM items ORDER BY recorded_at, id;

-- name: move_item
-- An item to its new keys, unless another item holds them (items_identity).
UPDATE items SET serial_norm = %(serial_norm)s, manufacturer_key = %(manufacturer_key)s,
                 model_key = %(model_key)s
WHERE id = %(id)s
  AND NOT EXISTS (SELECT FROM items i
                  WHERE (i.serial_norm, i.manufacturer_key, i.model_key)
                      = (%(serial_norm)s, %(manufacturer_key)s, %(model_key)s))
RETURNING id;

-- name: item_holding
SELECT id, serial_number AS text FROM items
WHERE (serial_norm, manufacturer_key, model_key)
    = (%(serial_norm)s, %(manufacturer_key)s, %(model_key)s);

-- name: move_item_serials
-- The trigram search's copy of the items moved, in one pass (item_serials has no index but its
-- trigrams').
UPDATE item_serials s
SET serial_norm = m.serial_norm, manufacturer_key = m.manufacturer_key, model_key = m.model_key
FROM unnest(%(ids)s::uuid[], %(serial_norms)s::text[], %(manufacturer_keys)s::text[],
            %(model_keys)s::text[])
     AS m (item_id, serial_norm, manufacturer_key, model_key)
WHERE s.item_id = m.item_id;

-- name: certificates_to_refold
SELECT id, certificate_number, certificate_key FROM end_user_certificates
ORDER BY recorded_at, id;

-- name: move_certificate
-- A certificate to its new key, unless another of its country holds it.
UPDATE end_user_certificates SET certificate_key = %(certificate_key)s
WHERE id = %(id)s
  AND NOT EXISTS (SELECT FROM end_user_certificates c
                  WHERE c.issuing_country = end_user_certificates.issuing_country
                    AND c.certificate_key = %(certificate_key)s)
RETURNING id;

-- name: certificate_holding
SELECT c.id, c.certificate_number AS text
FROM end_user_certificates c JOIN end_user_certificates moving ON moving.id = %(id)s
WHERE c.issuing_country = moving.issuing_country AND c.certificate_key = %(certificate_key)s;

-- name: parties_to_refold
-- The parties whose number has a key: one a migration left without (its key another party's)
-- stays so.
SELECT id, registration_number, registration_number_key FROM parties
WHERE registration_number_key IS NOT NULL
ORDER BY recorded_at, id;

-- name: move_party
-- A party to its number's new key, unless a party it may not share it with holds it (the
-- registration indexes: its own agency's, and the unrestricted parties').
UPDATE parties SET registration_number_key = %(registration_number_key)s
WHERE id = %(id)s
  AND NOT EXISTS (SELECT FROM parties p
                  WHERE p.country = parties.country
                    AND p.registration_number_key = %(registration_number_key)s
                    AND (p.recorded_by_agency_id = parties.recorded_by_agency_id
                         OR (p.classification <> 'RESTRICTED'
                             AND parties.classification <> 'RESTRICTED')))
RETURNING id;

-- name: party_holding
SELECT p.id, p.registration_number AS text
FROM parties p JOIN parties moving ON moving.id = %(id)s
WHERE p.country = moving.country AND p.registration_number_key = %(registration_number_key)s
  AND (p.recorded_by_agency_id = moving.recorded_by_agency_id
       OR (p.classification <> 'RESTRICTED' AND moving.classification <> 'RESTRICTED'))
ORDER BY p.recorded_at, p.id LIMIT 1;

-- name: set_aside_items_ledger_trigger
-- The ledger's append-only triggers, set aside for the rows `db refold` changes only (as the
-- schema's owner, in its transaction, under the tables' locks: no other write meets them).
ALTER TABLE items DISABLE TRIGGER items_append_only;

-- name: restore_items_ledger_trigger
ALTER TABLE items ENABLE TRIGGER items_append_only;

-- name: set_aside_certificates_ledger_trigger
ALTER TABLE end_user_certificates DISABLE TRIGGER end_user_certificates_append_only;

-- name: restore_certificates_ledger_trigger
ALTER TABLE end_user_certificates ENABLE TRIGGER end_user_certificates_append_only;

-- name: set_aside_parties_ledger_trigger
ALTER TABLE parties DISABLE TRIGGER parties_append_only;

-- name: restore_parties_ledger_trigger
ALTER TABLE parties ENABLE TRIGGER parties_append_only;
