-- Version 19: a near-miss trace that names a manufacturer reads every one of that maker's items
-- within two edits of the reading (service/sql/traces.sql, maker_near_miss_candidates), where
-- the trigram searches lost a short serial two characters wrong and, of several items two edits
-- away, listed the one they found first. It reads the maker's serials from items_manufacturer
-- alone, which now carries each item's skeleton (INCLUDE): an index-only scan, not a read of
-- the items' rows. The index is made again (1,000,000 items: about 2 s, under the lock CREATE
-- INDEX takes: items can be read, not written, meanwhile). schema.sql also changed in a
-- comment of chain_entries (what a reader without another agency's restricted move reads once
-- a consent is full), which the stored view does not keep. Nothing recorded changes.

DROP INDEX items_manufacturer;
-- A maker's items in order, each with its skeleton: the near-miss search of a named maker reads
-- every one of its serials from this index alone (an index-only scan; see traces.sql,
-- maker_near_miss_candidates), not from the items' rows.
CREATE INDEX items_manufacturer ON items (manufacturer_key, id) INCLUDE (serial_skeleton);
