-- name: strong_candidates
-- Tiers 1 to 3: the same normalised serial, the same confusable skeleton, or the same serial
-- with letters between digits ignored. Three btree equalities, OR-ed in one bitmap scan.
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.serial_norm = %(serial_norm)s
   OR i.serial_skeleton = %(serial_skeleton)s
   OR i.serial_ncic = %(serial_ncic)s
-- If the limit bites (a short serial that many makers' items share), the stronger tiers are
-- kept, and within a tier the named maker's items, then the serial exactly as marked (an exact
-- match must never be cut for older items of the same normalised serial), then the named model's
-- items (model_key, NULL when none is named: every item alike), as in every query here. The
-- named maker is the name's key and, for a name the table does not know that reads like one
-- maker's names (`Glok`), that maker's (alike_key, the name's own key otherwise, so that another
-- maker's item compares false and an item of no known maker NULL, last, as with the name's key
-- alone): every query here puts both first, as service.tracing._of_sought_maker seeks both. The
-- serial as marked is compared as the matcher compares it, without the direction marks and
-- joiners that show nothing (showing_nothing).
ORDER BY i.serial_norm = %(serial_norm)s DESC,
         i.serial_skeleton = %(serial_skeleton)s DESC,
         i.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) DESC NULLS LAST,
         translate(i.serial_number, %(showing_nothing)s, '') = %(as_marked)s DESC,
         i.model_key = %(model_key)s DESC NULLS LAST,
         i.id
LIMIT %(limit)s;

-- name: strong_candidate_chains
-- The chains of the strong candidates, found again by the same three equalities, so that this
-- query can travel in one pipeline with strong_candidates (one round trip for both).
SELECT * FROM chain_entries
WHERE chain_item_id IN (
    SELECT i.id FROM items i
    WHERE i.serial_norm = %(serial_norm)s
       OR i.serial_skeleton = %(serial_skeleton)s
       OR i.serial_ncic = %(serial_ncic)s
    ORDER BY i.serial_norm = %(serial_norm)s DESC,
             i.serial_skeleton = %(serial_skeleton)s DESC,
             i.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) DESC NULLS LAST,
             translate(i.serial_number, %(showing_nothing)s, '') = %(as_marked)s DESC,
             i.model_key = %(model_key)s DESC NULLS LAST,
             i.id
    LIMIT %(limit)s)
ORDER BY chain_item_id, occurred_on, recorded_at, id;

-- name: wildcard_candidates
-- Tier 4: a partial serial as a LIKE pattern, answered by the trigram index of item_serials; the
-- named manufacturer's items first, then the named model's (item_serials carries both: a partial
-- reading fits dozens of one maker's serials in sequence, and its other models' filled the
-- limit). Only the kept candidates are read from items.
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM (SELECT s.item_id, s.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) AS named
      FROM item_serials s
      WHERE s.serial_norm LIKE %(pattern)s
      ORDER BY s.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) DESC NULLS LAST,
               s.model_key = %(model_key)s DESC NULLS LAST,
               s.item_id
      LIMIT %(limit)s) AS found
JOIN items i ON i.id = found.item_id
JOIN agencies a ON a.id = i.recorded_by_agency_id
ORDER BY found.named DESC NULLS LAST, i.id;

-- name: loose_wildcard_candidates
-- Tier 4 again, when the pattern alone found none of the named manufacturer's items (of any,
-- when none is named): a regular expression (matching.loose_regex) in which each `?` may stand
-- for nothing (a separator the normalised serial does not keep) and look-alike characters are
-- one bracket class, answered by the same trigram index from the runs the reading knows.
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM (SELECT s.item_id, s.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) AS named
      FROM item_serials s
      WHERE s.serial_norm ~ %(regex)s
      ORDER BY s.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) DESC NULLS LAST,
               s.model_key = %(model_key)s DESC NULLS LAST,
               s.item_id
      LIMIT %(limit)s) AS found
JOIN items i ON i.id = found.item_id
JOIN agencies a ON a.id = i.recorded_by_agency_id
ORDER BY found.named DESC NULLS LAST, i.id;

-- name: near_miss_candidates
-- Tier 5: serials that share enough trigrams with the searched form of the reading (its
-- normalised serial, or its confusable skeleton when it holds look-alike letters;
-- pg_trgm.similarity_threshold, set per connection) and whose skeletons are at most four
-- Levenshtein edits apart; the matcher keeps those within two edits of optimal string alignment
-- (where a transposition counts once, and look-alikes read for one another count none: two
-- transpositions are four Levenshtein edits, and three let them through no more).
-- The search runs on item_serials (narrow rows: a cheap recheck); only the kept candidates are
-- read from items. levenshtein takes at most 255 characters, and a serial of 64 may normalise to
-- more (U+FDFA is 15 letters): such a registered serial is passed over, not an error for every
-- near miss whose trigrams lead to it (the service never sends a reading that long).
-- Past the limit, the named manufacturer's items are kept first (as in the other tiers): ordered
-- by closeness alone, a reading whose serial runs in another maker's sequence lost the named
-- maker's item, one transposition away, to seventy of theirs. The named model's come after
-- the closest, not before (found in review: sixty of the model named, three edits away, which
-- the matcher drops, crowded out the weapon two edits away, its model misread); the maker's
-- search has already kept the model's first among the maker's items as near. And of the named
-- maker's (of any, when none is named) those within two Levenshtein edits come first, near
-- misses for certain (the matcher's edits are never more): fifty serials the trigrams found
-- closer, three or four edits away, which the matcher drops, filled the limit before them, and
-- a reading with no maker named answered NO_MATCH (bench/near_misses --unnamed). The distance
-- is computed once a row (OFFSET 0 keeps it apart from the filter on it).
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM (SELECT s.item_id, similarity(s.serial_norm, %(searched)s) AS closeness,
             s.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) AS named
      FROM (SELECT t.item_id, t.serial_norm, t.manufacturer_key, t.model_key,
                   CASE WHEN length(t.serial_norm) <= 255
                        THEN levenshtein_less_equal(serial_skeleton(t.serial_norm),
                                                    %(skeleton)s, 4)
                   END AS edits
            FROM item_serials t
            WHERE t.serial_norm %% %(searched)s
            OFFSET 0) AS s
      WHERE s.edits <= 4
      ORDER BY named DESC NULLS LAST, s.edits <= 2 DESC, closeness DESC,
               s.model_key = %(model_key)s DESC NULLS LAST, s.item_id
      LIMIT %(limit)s) AS near
JOIN items i ON i.id = near.item_id
JOIN agencies a ON a.id = i.recorded_by_agency_id
ORDER BY near.named DESC NULLS LAST, near.closeness DESC, i.id;

-- name: one_edit_candidates
-- Tier 5 for a short serial: the items whose confusable skeleton is one of the given ones (those
-- one edit from the reading's skeleton: a look-alike read for another costs no edit), the named
-- manufacturer's first, then the named model's. Trigrams miss them: '3958' and '3598' share one
-- trigram of nine (similarity 0.11).
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
WHERE i.serial_skeleton = ANY(%(skeletons)s::text[])
ORDER BY i.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s) DESC NULLS LAST,
         i.model_key = %(model_key)s DESC NULLS LAST,
         i.id
LIMIT %(limit)s;

-- name: maker_near_miss_candidates
-- Tier 5 for a named manufacturer: every item of the maker (and of the one maker a name not in
-- the table reads like) whose confusable skeleton is within two edits of optimal string alignment
-- (OSA) of the reading's, the nearest first. The trigram searches cannot promise that: a short
-- serial two characters wrong (`729435` read `720485`) keeps 1 trigram in 6, and a transposition
-- with a wrong character in 9 (`AK1174094` read `KA1174794`) 0.18 of them, under any threshold
-- they can use. So the maker's items are read whole, on the btree of the maker's items that
-- carries each one's skeleton (items_manufacturer, an index-only scan: 125,799 Glock pistols in
-- 8-25 ms on the million-item data set), in two steps (OFFSET 0 keeps the inner scan apart):
-- within three Levenshtein edits, a cheap bound over every item of the maker, then the exact test
-- over the few hundred that pass it. Levenshtein counts a transposition twice: a transposition
-- with one other edit is three, and is the reading with that pair swapped (`swapped_once`) within
-- one edit of the serial, but for a character put between the pair (`swapped_apart`, three OSA
-- edits: kept, fifty of them filled the limit before a true near miss); two transpositions are
-- three or four (`720485`, `274085`: three), looked up on the skeleton's btree among the
-- reading's forms with two pairs swapped (`swapped_twice`: 6 probes for 6 characters, 1,891 for
-- 64, serials as long as the reading), UNION leaving out what both steps find. `edits` counts as OSA does (ordered by
-- Levenshtein, a transposition ranked with two characters wrong and was cut past the limit by
-- them); of those as near, the named model's first (the index carries no model: when a model is
-- named, it is read for each of the few hundred found, where a join read every item, the planner
-- expecting 80,000 found). levenshtein takes at most 255 characters: a longer registered serial
-- is passed over.
SELECT i.id, i.manufacturer, i.model, i.category, i.caliber, i.serial_number, i.serial_norm,
       i.country_of_manufacture, i.year_of_manufacture, i.import_markings, i.other_markings,
       a.id AS recorded_by_id, a.name AS recorded_by_name, i.recorded_at, i.manufacturer_key
FROM (SELECT found.id, found.edits
      FROM (SELECT within.id,
                   CASE WHEN within.serial_skeleton = ANY(%(swapped_once)s::text[]) THEN 1
                        ELSE least(levenshtein_less_equal(within.serial_skeleton, %(skeleton)s,
                                                          2), 2)
                   END AS edits
            FROM (SELECT m.id, m.serial_skeleton
                  FROM items m
                  WHERE m.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s)
                    AND CASE WHEN length(m.serial_skeleton) <= 255
                             THEN levenshtein_less_equal(m.serial_skeleton, %(skeleton)s, 3) <= 3
                        END
                  OFFSET 0) AS within
            WHERE levenshtein_less_equal(within.serial_skeleton, %(skeleton)s, 2) <= 2
               OR EXISTS (SELECT
                          FROM unnest(%(swapped_once)s::text[], %(swapped_apart)s::text[])
                               AS swapped (skeleton, apart)
                          WHERE levenshtein_less_equal(within.serial_skeleton, swapped.skeleton,
                                                       1) <= 1
                            AND within.serial_skeleton NOT LIKE swapped.apart)
            UNION
            SELECT m.id,
                   CASE WHEN m.serial_skeleton = ANY(%(swapped_once)s::text[]) THEN 1 ELSE 2 END
            FROM items m
            WHERE m.serial_skeleton = ANY(%(swapped_twice)s::text[])
              AND m.manufacturer_key IN (%(manufacturer_key)s, %(alike_key)s)) AS found
      ORDER BY found.edits,
               CASE WHEN %(model_key)s::text IS NOT NULL
                    THEN (SELECT k.model_key FROM items k WHERE k.id = found.id) = %(model_key)s
               END DESC NULLS LAST,
               found.id
      LIMIT %(limit)s) AS near
JOIN items i ON i.id = near.id
JOIN agencies a ON a.id = i.recorded_by_agency_id
ORDER BY near.edits, i.id;

-- name: set_similarity
-- The session's pg_trgm similarity threshold (near-miss searches; see service/db.py).
SELECT set_config('pg_trgm.similarity_threshold', %(threshold)s, false);

-- name: insert_trace
-- The trace, a notification to every other agency that recorded a hit item (or an event of
-- it), the webhook deliveries of those notifications and, when audit_id is given, the request's
-- audit entry (the columns of audit.insert_entry): one statement, so one round trip and, outside
-- a transaction, one commit for the answer and its entry together.
WITH trace AS (
    INSERT INTO traces (id, agency_id, key_prefix, batch_id, case_reference, purpose, legal_basis,
                        requesting_officer, seizure_country, seized_on, serial_number, status,
                        candidate_item_ids, answer, created_at)
    VALUES (%(id)s, %(agency_id)s, %(key_prefix)s, %(batch_id)s, %(case_reference)s, %(purpose)s,
            %(legal_basis)s, %(requesting_officer)s, %(seizure_country)s, %(seized_on)s,
            %(serial_number)s, %(status)s, %(candidate_item_ids)s, %(answer)s::json,
            %(created_at)s)
    RETURNING id
), told AS (
    INSERT INTO notifications (agency_id, kind, item_id, trace_id, by_agency_id, case_reference,
                               purpose, match_basis, observed_serial)
    SELECT DISTINCT owner.agency_id, 'TRACE_HIT', hit.item_id, %(id)s, %(agency_id)s,
           %(case_reference)s, %(purpose)s, hit.basis, %(serial_number)s
    FROM unnest(%(hit_item_ids)s::uuid[], %(hit_bases)s::text[]) AS hit (item_id, basis)
    CROSS JOIN LATERAL (
        SELECT i.recorded_by_agency_id AS agency_id FROM items i WHERE i.id = hit.item_id
        UNION
        SELECT e.recorded_by_agency_id FROM custody_event_items ei
        JOIN custody_events e ON e.id = ei.event_id WHERE ei.item_id = hit.item_id
          AND NOT EXISTS (SELECT 1 FROM event_error_declarations d WHERE d.event_id = e.id)
    ) AS owner
    WHERE owner.agency_id <> %(agency_id)s AND EXISTS (SELECT 1 FROM trace)
    RETURNING id, agency_id
), audited AS (
    INSERT INTO audit_log (id, agency_id, key_prefix, method, route, path, status, serials,
                           record_ids, case_reference, purpose, records_returned, details)
    SELECT %(audit_id)s, %(audit_agency_id)s, %(audit_key_prefix)s, %(audit_method)s,
           %(audit_route)s, %(audit_path)s, %(audit_status)s, %(audit_serials)s,
           %(audit_record_ids)s, %(audit_case_reference)s, %(audit_purpose)s,
           %(audit_records_returned)s, %(audit_details)s
    WHERE %(audit_id)s::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM trace)
)
INSERT INTO webhook_deliveries (notification_id, webhook_id, next_attempt_at)
-- Due now, or with the webhook's failed delivery (schema.sql, delivery_due); evaluated only for
-- a webhook that joins: a trace that tells no webhook costs no more.
SELECT told.id, w.id, delivery_due(w.id)
-- not to a suspended webhook: its backlog stops growing (the notification stays)
FROM told JOIN agency_webhooks w ON w.agency_id = told.agency_id AND w.deactivated_at IS NULL
     AND w.suspended_at IS NULL;

-- name: get_trace
SELECT answer::text AS answer FROM traces WHERE id = %(id)s AND agency_id = %(agency_id)s;

-- name: disclosed
-- What stored traces disclosed, as their request's audit entry named it (the case, the serial
-- read, the candidate items): for the entry of a request answered again from them (an
-- Idempotency-Key's replay). One trace by its id, or a batch's by its batch id.
SELECT id, case_reference, purpose, serial_number, candidate_item_ids
FROM traces
WHERE agency_id = %(agency_id)s AND id = %(trace_id)s
UNION ALL
SELECT id, case_reference, purpose, serial_number, candidate_item_ids
FROM traces
WHERE agency_id = %(agency_id)s AND batch_id = %(batch_id)s
ORDER BY id;

-- name: batch_answers
-- A batch's stored answers, in the order they were given (ids made in that order).
SELECT answer::text AS answer FROM traces
WHERE batch_id = %(batch_id)s AND agency_id = %(agency_id)s
ORDER BY id;

-- name: list_traces
-- Newest first. The dates are optional filters (a case or a batch has a query of its own).
SELECT id, status, created_at, batch_id, case_reference, serial_number,
       cardinality(candidate_item_ids) AS candidate_count
FROM traces
WHERE agency_id = %(agency_id)s
  AND (%(created_from)s::timestamptz IS NULL OR created_at >= %(created_from)s)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s)
  AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s;

-- name: list_case_traces
-- list_traces for one case: through the case's index. The service's plans are generic, and a
-- generic plan uses no index for an optional filter (`$2 IS NULL OR case_reference = $2`):
-- through the agency's index, an old case was found only after every trace the agency made since.
SELECT id, status, created_at, batch_id, case_reference, serial_number,
       cardinality(candidate_item_ids) AS candidate_count
FROM traces
WHERE agency_id = %(agency_id)s AND case_reference = %(case_reference)s
  AND (%(created_from)s::timestamptz IS NULL OR created_at >= %(created_from)s)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s)
  AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s;

-- name: list_batch_traces
-- list_traces for one batch: through the batch's index, however many traces the agency made
-- since (through the agency's, an old batch was found only after all of them).
SELECT id, status, created_at, batch_id, case_reference, serial_number,
       cardinality(candidate_item_ids) AS candidate_count
FROM traces
WHERE batch_id = %(batch_id)s AND agency_id = %(agency_id)s
  AND (%(case_reference)s::text IS NULL OR case_reference = %(case_reference)s)
  AND (%(created_from)s::timestamptz IS NULL OR created_at >= %(created_from)s)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s)
  AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s;
