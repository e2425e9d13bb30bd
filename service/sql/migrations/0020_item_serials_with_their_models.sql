-- Version 20: when more items match a partial serial or a near miss than a search keeps (50),
-- the named manufacturer's were kept first, then the rest by id: of one maker's items, the
-- model named lost its place to the maker's other models (service/sql/traces.sql). The trigram
-- searches read item_serials, not the items, so it now carries each item's model_key as well.
-- It is a copy of the items' keys, made again here from them (1,000,000 items: 3.0 s, most of
-- it the trigram index; traces with a partial serial or a near miss wait for the table
-- meanwhile). Nothing recorded changes.

-- Items are recorded after, not meanwhile: a service of the version before, still serving
-- during a rolling deploy, had its item's insert wait for item_serials inside the trigger as
-- that version wrote it (no model), and fail once the migration committed.
LOCK TABLE items IN SHARE MODE;
DROP INDEX item_serials_trigrams;
TRUNCATE item_serials;
ALTER TABLE item_serials ADD COLUMN model_key text NOT NULL;
INSERT INTO item_serials (item_id, serial_norm, manufacturer_key, model_key)
SELECT id, serial_norm, manufacturer_key, model_key FROM items;
CREATE INDEX item_serials_trigrams ON item_serials USING gin (serial_norm gin_trgm_ops);
-- The table is new to the planner: without statistics until autovacuum comes round, it read a
-- pattern's matches as a guess.
ANALYZE item_serials;

CREATE OR REPLACE FUNCTION item_serials_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- named with its schema: a session's temporary item_serials must not take the rows
    INSERT INTO public.item_serials (item_id, serial_norm, manufacturer_key, model_key)
    SELECT id, serial_norm, manufacturer_key, model_key FROM added;
    RETURN NULL;
END
$$;
