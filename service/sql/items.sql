-- name: insert_item
INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category, caliber,
                   serial_number, serial_norm, country_of_manufacture, year_of_manufacture,
                   import_markings, other_markings, recorded_by_agency_id)
VALUES (%(manufacturer)s, manufacturer_key_for(%(manufacturer_key)s), %(model)s, %(model_key)s, %(category)s,
        %(caliber)s, %(serial_number)s, %(serial_norm)s, %(country_of_manufacture)s,
        %(year_of_manufacture)s, %(import_markings)s, %(other_markings)s, %(agency_id)s)
RETURNING id;

-- name: get_item
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.id = %(id)s;

-- name: list_items_by_serial
-- The equality on serial_norm leads, so the items_identity btree answers it.
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.serial_norm = %(serial_norm)s
  AND (%(manufacturer_key)s::text IS NULL
       OR i.manufacturer_key = manufacturer_key_for(%(manufacturer_key)s))
  AND i.id > %(after)s
ORDER BY i.id
LIMIT %(limit)s;

-- name: list_items_by_manufacturer
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.manufacturer_key = manufacturer_key_for(%(manufacturer_key)s) AND i.id > %(after)s
ORDER BY i.id
LIMIT %(limit)s;

-- name: list_items
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.id > %(after)s
ORDER BY i.id
LIMIT %(limit)s;

-- name: missing_items
-- In the order asked (an answer names the first few): an anti-join keeps none of its own.
SELECT array_agg(wanted.id ORDER BY wanted.n) AS missing
FROM unnest(%(ids)s::uuid[]) WITH ORDINALITY AS wanted (id, n)
WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = wanted.id);

-- name: custody_chains
-- The chains of one or more items in one round trip, each in chain order (see chain_entries).
SELECT * FROM chain_entries
WHERE chain_item_id = ANY(%(item_ids)s)
ORDER BY chain_item_id, occurred_on, recorded_at, id;

-- name: line_exports
-- The standing exports under certificate lines, given as pairs (certificate, line number): a
-- finding that an export took its line over its quantity is worded by them for each reader
-- (service.domain.disclosure), as event_details' euc_line_shipped_through counts them. Read
-- only for lines a shown chain's export took over their quantity.
SELECT e.id, e.euc_id, line.line_number AS euc_line_number, e.occurred_on,
       coalesce(a.first_recorded_at, e.recorded_at) AS act_recorded_at, e.recorded_at,
       ARRAY(SELECT ei.item_id FROM custody_event_items ei WHERE ei.event_id = e.id) AS item_ids,
       e.classification, e.recorded_by_agency_id
FROM unnest(%(euc_ids)s::uuid[], %(line_numbers)s::int[]) AS line (euc_id, line_number)
JOIN custody_events e
     ON e.euc_id = line.euc_id
    AND coalesce(e.euc_line_number, only_line(e.euc_id)) = line.line_number
LEFT JOIN corrected_acts a ON a.event_id = e.id
WHERE e.event_type = 'EXPORT'
  AND NOT EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id);

-- name: get_items
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.id = ANY(%(ids)s);
