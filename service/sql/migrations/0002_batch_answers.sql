-- Version 2: a batch trace's idempotent answer is made again from the batch's stored traces
-- instead of being kept whole a second time (a 1,000-weapon batch answers 100 MB and more).
ALTER TABLE idempotency_keys ADD COLUMN batch_id uuid;
-- Builds over every stored trace, with writes to traces held back while it does: run at
-- start-up, before the service answers.
CREATE INDEX traces_batch ON traces (batch_id, id) WHERE batch_id IS NOT NULL;
