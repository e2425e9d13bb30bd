-- name: set_for_transaction
-- A server setting for the rest of the caller's transaction (set back at its end).
SELECT set_config(%(name)s, %(value)s, true);

-- name: current
SELECT current_setting(%(name)s) AS value;
