-- Version 5: delivered rows of the webhook outbox are purged by `trace-registry worker` after
-- TRACE_REGISTRY_DELIVERY_RETENTION_DAYS (they were kept for ever), which reads them oldest first
-- by an index of their delivery time; and GET /v1/webhooks, which pages an agency's webhooks by
-- id, gets an index led by the agency (the only one was partial, of active webhooks, and held no
-- id). Indexes only: no table is rewritten, and nothing is deleted here (the worker does it, in
-- batches). Writes of the two tables wait while their index is built.
CREATE INDEX agency_webhooks_agency_pages ON agency_webhooks (agency_id, id);

CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;
