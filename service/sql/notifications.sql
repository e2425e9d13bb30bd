-- name: insert_lookup_notifications
-- Tell every other agency that recorded the item (or an event of it) that it was looked up. An
-- event declared erroneous gives its recorder no interest in the item: any agency may record an
-- event on any item, and one declared erroneous at once (so no chain shows it) would otherwise
-- let it listen in on every investigation of the weapon. traces.sql's `insert` says the same.
WITH told AS (
    INSERT INTO notifications (agency_id, kind, item_id, by_agency_id, case_reference, purpose)
    SELECT owner.agency_id, 'ITEM_LOOKUP', %(item_id)s, %(by_agency_id)s, %(case_reference)s,
           %(purpose)s
    FROM (
        SELECT i.recorded_by_agency_id AS agency_id FROM items i WHERE i.id = %(item_id)s
        UNION
        SELECT e.recorded_by_agency_id FROM custody_event_items ei
        JOIN custody_events e ON e.id = ei.event_id WHERE ei.item_id = %(item_id)s
          AND NOT EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id)
    ) AS owner
    WHERE owner.agency_id <> %(by_agency_id)s
    RETURNING id, agency_id
)
INSERT INTO webhook_deliveries (notification_id, webhook_id, next_attempt_at)
-- Due now, or with the webhook's failed delivery (schema.sql, delivery_due).
SELECT told.id, w.id, delivery_due(w.id)
-- not to a suspended webhook: its backlog stops growing (the notification stays)
FROM told JOIN agency_webhooks w ON w.agency_id = told.agency_id AND w.deactivated_at IS NULL
     AND w.suspended_at IS NULL;

-- name: list_notifications
-- The agency's notifications, newest first; optionally only those not yet acknowledged.
SELECT n.id, n.kind, n.item_id, i.serial_number, i.manufacturer, i.model, n.trace_id,
       b.id AS by_agency_id, b.name AS by_agency_name, n.case_reference, n.purpose,
       n.match_basis, n.observed_serial, n.created_at, n.acknowledged_at
FROM notifications n
JOIN items i ON i.id = n.item_id
JOIN agencies b ON b.id = n.by_agency_id
WHERE n.agency_id = %(agency_id)s
  AND (NOT %(unacknowledged)s OR n.acknowledged_at IS NULL)
  AND n.id < %(before)s
ORDER BY n.id DESC
LIMIT %(limit)s;

-- name: get_notification
SELECT n.id, n.kind, n.item_id, i.serial_number, i.manufacturer, i.model, n.trace_id,
       b.id AS by_agency_id, b.name AS by_agency_name, n.case_reference, n.purpose,
       n.match_basis, n.observed_serial, n.created_at, n.acknowledged_at
FROM notifications n
JOIN items i ON i.id = n.item_id
JOIN agencies b ON b.id = n.by_agency_id
WHERE n.id = %(id)s AND n.agency_id = %(agency_id)s;

-- name: acknowledge
UPDATE notifications SET acknowledged_at = clock_timestamp()
WHERE id = %(id)s AND agency_id = %(agency_id)s AND acknowledged_at IS NULL;

-- name: notification_by_id
SELECT n.id, n.kind, n.item_id, i.serial_number, i.manufacturer, i.model, n.trace_id,
       b.id AS by_agency_id, b.name AS by_agency_name, n.case_reference, n.purpose,
       n.match_basis, n.observed_serial, n.created_at, n.acknowledged_at
FROM notifications n
JOIN items i ON i.id = n.item_id
JOIN agencies b ON b.id = n.by_agency_id
WHERE n.id = %(id)s;
