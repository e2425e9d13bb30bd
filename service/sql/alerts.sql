-- name: upsert_alert
INSERT INTO item_alerts (item_id, audience, status, status_since, country, category, codes)
VALUES (%(item_id)s, %(audience)s, %(status)s, %(status_since)s, %(country)s, %(category)s,
        %(codes)s)
ON CONFLICT (item_id, audience) DO UPDATE
SET status = excluded.status, status_since = excluded.status_since,
    country = excluded.country, category = excluded.category, codes = excluded.codes,
    revision = uuid_v7()
WHERE (item_alerts.status, item_alerts.status_since, item_alerts.country, item_alerts.codes)
      IS DISTINCT FROM (excluded.status, excluded.status_since, excluded.country, excluded.codes);

-- name: clear_alerts
-- The rows of these items that their places no longer need.
DELETE FROM item_alerts a
WHERE a.item_id = ANY(%(item_ids)s)
  AND NOT EXISTS (SELECT 1
                  FROM unnest(%(kept_items)s::uuid[], %(kept_audiences)s::uuid[])
                       AS kept (item_id, audience)
                  WHERE kept.item_id = a.item_id AND kept.audience = a.audience);

-- name: list_alerts
-- Newest change first. Country, category, status and the day the status began are filters.
SELECT a.item_id, a.status, a.status_since, a.country, a.codes, a.revision,
       i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       ag.id AS recorded_by_id, ag.name AS recorded_by_name, i.recorded_at
FROM item_alerts a
JOIN items i ON i.id = a.item_id
JOIN agencies ag ON ag.id = i.recorded_by_agency_id
WHERE a.status IS NOT NULL
  -- the viewer's own row where it has one, else everyone's
  AND (a.audience = %(viewer)s
       OR (a.audience = %(everyone)s
           AND NOT EXISTS (SELECT 1 FROM item_alerts own
                           WHERE own.item_id = a.item_id AND own.audience = %(viewer)s)))
  AND (%(country)s::text IS NULL OR a.country = %(country)s)
  AND (%(category)s::text IS NULL OR a.category = %(category)s)
  AND (%(status)s::text IS NULL OR a.status = %(status)s)
  AND (%(since)s::date IS NULL OR a.status_since >= %(since)s)
  AND a.revision < %(before)s
ORDER BY a.revision DESC
LIMIT %(limit)s;

-- name: all_alerts
SELECT item_id, audience, status, status_since, country, category, codes FROM item_alerts;

-- name: item_ids_after
-- Items in id order, a batch at a time (for rebuilding the alerts from the ledger).
SELECT id FROM items WHERE id > %(after)s ORDER BY id LIMIT %(limit)s;

-- name: items_under_certificate
SELECT DISTINCT ei.item_id
FROM custody_events e JOIN custody_event_items ei ON ei.event_id = e.id
WHERE e.euc_id = %(euc_id)s;

-- name: items_shipped_later_on_lines
-- The items of the exports that come after these events on the certificate lines they were
-- shipped under (in the order event_details' euc_line_shipped_through counts them: date, then
-- when the act was first recorded (corrected_acts), then recording time, then id). Recording
-- such an export, declaring it erroneous, or naming it a correction (which moves it to the
-- place of the act it records again) changes how many items those later exports took through
-- the line, and so their EUC_QUANTITY_EXCEEDED, though the new record names none of them.
SELECT DISTINCT ei.item_id
FROM custody_events g
LEFT JOIN corrected_acts ga ON ga.event_id = g.id
JOIN custody_events x
     ON x.euc_id = g.euc_id
    AND coalesce(x.euc_line_number, only_line(x.euc_id))
        = coalesce(g.euc_line_number, only_line(g.euc_id))
    AND x.event_type = 'EXPORT'
LEFT JOIN corrected_acts xa ON xa.event_id = x.id
JOIN custody_event_items ei ON ei.event_id = x.id
WHERE g.id = ANY(%(event_ids)s::uuid[]) AND g.event_type = 'EXPORT'
  AND coalesce(g.euc_line_number, only_line(g.euc_id)) IS NOT NULL
  AND (x.occurred_on, coalesce(xa.first_recorded_at, x.recorded_at), x.recorded_at, x.id)
      > (g.occurred_on, coalesce(ga.first_recorded_at, g.recorded_at), g.recorded_at, g.id);

-- name: lock_certificates
-- Serialise the writers of facts about the same certificates across transactions, held to the
-- end, before any item lock: exports under a certificate (recorded, corrected, declared
-- erroneous, imported) and its revocation, consents and delivery verifications. Each changes
-- the findings of items the other cannot see until it commits: an export moves the count of
-- items shipped through its line for every later export on it, and a revocation, consent or
-- verification changes every item shipped under the certificate, which it finds by the
-- exports it can see. A request takes it before it stores anything; an import once its
-- records are stored, before it derives (service.repository.imports.touched_items): only the
-- derivation needs it, since whichever writer derives second sees the other's facts and
-- derives again what they change. One advisory lock per stripe (256), in order, in one
-- statement: no waiting in a cycle.
SELECT count(pg_advisory_xact_lock(%(lock_space)s, stripe)) AS locked
FROM (SELECT DISTINCT hashtext(euc_id::text) & 255 AS stripe
      FROM unnest(%(euc_ids)s::uuid[]) AS euc_id
      ORDER BY 1) AS stripes;

-- name: lock_all_items
-- Every stripe of lock_items, in order, for `alerts rebuild`: it stores every item's row, so it
-- waits for the refreshes in flight and holds new ones off until it commits. (And every stripe
-- of lock_certificates, in their lock space, before it: the rebuild shares out every
-- certificate's consents of a quantity again.)
SELECT count(pg_advisory_xact_lock(%(lock_space)s, stripe)) AS locked
FROM generate_series(0, 255) AS stripe;

-- name: lock_items
-- Serialise refreshes of the same items across transactions (and, in a lock space of their own,
-- writers of the same items' events: alerts.lock_item_writes, taken before any certificate's
-- lock, so that a writer reads the certificates the items were shipped under
-- (certificates_shipping) with every other writer's shipment of them committed; consents and
-- revocations, which name a certificate, take none): one advisory lock per stripe
-- (256 stripes, so a shipment of thousands of items takes at most 256 locks), in order, so two
-- transactions never wait on each other in a cycle. Held until the transaction ends.
SELECT count(pg_advisory_xact_lock(%(lock_space)s, stripe)) AS locked
FROM (SELECT DISTINCT hashtext(item_id::text) & 255 AS stripe
      FROM unnest(%(item_ids)s::uuid[]) AS item_id ORDER BY 1) AS stripes;

-- name: lock_items_in
-- lock_items for every item whose id is in a table (the braces: its name), in one statement,
-- for a transaction that refreshes many items batch by batch: locking batch after batch would
-- take the stripes out of order across batches, and two such transactions could each hold a
-- stripe the other waits for. The stripes are lock_items' own.
SELECT count(pg_advisory_xact_lock(%(lock_space)s, stripe)) AS locked
FROM (SELECT DISTINCT hashtext(id::text) & 255 AS stripe FROM {table} ORDER BY 1) AS stripes;

-- name: certificates_shipping
-- The certificates the items were shipped under (by a standing or an erroneous event: a
-- certificate's consents are shared out over its items' moves, which an event of any of them
-- can change).
SELECT DISTINCT s.euc_id
FROM custody_event_items si JOIN custody_events s ON s.id = si.event_id
WHERE si.item_id = ANY(%(item_ids)s::uuid[]) AND s.euc_id IS NOT NULL;
