-- `trace-registry seed --items N --seed S`: a synthetic registry, written set by set.
--
-- Determinism. Every value is a function of the seed and a row number. A pseudo-random draw is
-- `hashint8extended(<row key>, %(hash_seed)s + <stream>) & 9223372036854775807` (a non-negative
-- bigint), never random(), so the same seed gives the same registry whatever order PostgreSQL
-- evaluates rows in. Streams: 0-1 items, 10-19 lots, 20-29 items' chains, 30 events.
--
-- Ids are deterministic as well, laid out like a UUIDv7 with a fixed timestamp so that they sort
-- in the order rows are written (index inserts stay local): the high half is %(id_high)s plus a
-- tag, the low half %(id_low)s plus a number.
--   tag 1 manufacturer party (maker_no)      tag 4 certificate (lot_no)
--   tag 2 country party (country_no*256+slot) tag 5 an item's own event (n*16 + k)
--   tag 3 item (n)                            tag 6 shipment event (lot_no*2, +1 for the import)
--
-- A country's parties sit in fixed slots: 0 customs, 1-2 exporters (makers' countries only),
-- 8-15 the state pool (8-11 armed forces, 12-14 police and border guard, 15 interior ministry),
-- 16-35 dealers and 36-235 private holders (16-235 the civilian pool).
--
-- The temporary tables synthetic_models and synthetic_plan live for the load's transaction only.

-- name: synthetic_models
-- The model catalogue of service/seed/synthetic.py as rows; made a temporary table. Items record
-- the reference manufacturer's key when the name is one of its aliases, as the API does.
SELECT m.*, manufacturer_key_for(m.name_key) AS manufacturer_key
FROM jsonb_to_recordset(%(models)s::jsonb) AS m (
    model_no integer, maker_no integer, manufacturer text, name_key text, model text,
    model_key text, category text, caliber text, country text, country_no integer, body text,
    prefix text, suffix text, family integer, first_year integer, last_year integer,
    lot_size integer, civil_per_mille integer, family_makers integer, blocks bigint,
    multiplier bigint, shift bigint)

-- name: synthetic_plan
-- One row per item: its model, its place in the model's numbering, its lot (the items made,
-- shipped and certified together) and everything its chain needs. Made a temporary table.
WITH drawn AS (
    SELECT n,
           width_bucket((hashint8extended(n, %(hash_seed)s) & 9223372036854775807)::float8
                        / 9223372036854775808.0, %(model_bounds)s::float8[]) AS model_no,
           hashint8extended(n, %(hash_seed)s + 1) & 9223372036854775807 AS twin_draw
    FROM generate_series(1, %(items)s::bigint) AS n
),
numbered AS (
    -- A family shares one numbering (models of one serial format, prefix and suffix), in model
    -- order, so that the items of a lot carry consecutive numbers, as on real production runs.
    SELECT d.n, d.twin_draw, m.*,
           row_number() OVER (PARTITION BY d.model_no ORDER BY d.n) - 1 AS model_seq,
           count(*) OVER (PARTITION BY d.model_no) AS model_count,
           row_number() OVER (PARTITION BY m.family ORDER BY d.model_no, d.n) - 1 AS family_seq,
           count(*) OVER (PARTITION BY m.family) AS family_count
    FROM drawn d JOIN synthetic_models m USING (model_no)
),
lots AS (
    SELECT x.*, x.model_seq / x.lot_size AS batch,
           x.model_no * 10000000::bigint + x.model_seq / x.lot_size AS lot_no,
           x.model_seq %% x.lot_size = 0 AS lot_leader,
           least(x.lot_size, x.model_count - x.model_seq / x.lot_size * x.lot_size) AS lot_quantity
    FROM numbered x
),
lot_draws AS (
    SELECT l.*,
           hashint8extended(l.lot_no, %(hash_seed)s + 10) & 9223372036854775807 AS year_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 11) & 9223372036854775807 AS export_draw,
           (hashint8extended(l.lot_no, %(hash_seed)s + 12) & 9223372036854775807)::float8
               / 9223372036854775808.0 AS destination_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 13) & 9223372036854775807 AS civil_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 14) & 9223372036854775807 AS consignee_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 15) & 9223372036854775807 AS exporter_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 16) & 9223372036854775807 AS shipping_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 17) & 9223372036854775807 AS transit_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 18) & 9223372036854775807 AS certificate_draw,
           hashint8extended(l.lot_no, %(hash_seed)s + 19) & 9223372036854775807 AS lines_draw
    FROM lots l
),
lot_facts AS (
    SELECT l.*,
           l.first_year + (l.year_draw %% (l.last_year - l.first_year + 1))::integer AS year,
           l.export_draw %% 1000 < %(export_per_mille)s AS exported,
           width_bucket(l.destination_draw, %(country_bounds)s::float8[]) - 1 AS drawn_country_no,
           l.civil_draw %% 1000 < l.civil_per_mille AS civil
    FROM lot_draws l
),
placed AS (
    SELECT f.*,
           CASE WHEN NOT f.exported THEN f.country_no
                WHEN f.drawn_country_no = f.country_no
                    THEN (f.drawn_country_no + 1) %% %(country_count)s
                ELSE f.drawn_country_no END AS chain_no,
           CASE WHEN f.civil THEN 16 ELSE 8 END AS pool_base,
           CASE WHEN f.civil THEN 220 ELSE 8 END AS pool_size,
           -- the lot's consignee, the chain's first holder: a dealer, or any state body
           (f.consignee_draw %% CASE WHEN f.civil THEN 20 ELSE 8 END)::integer AS consignee,
           1 + (f.exporter_draw %% 2)::integer AS exporter_slot,
           make_date(f.year + 1, 1, 1) + (f.shipping_draw %% 90)::integer AS exported_on
    FROM lot_facts f
),
chained AS (
    SELECT p.*,
           hashint8extended(p.n, %(hash_seed)s + 20) & 9223372036854775807 AS length_draw,
           hashint8extended(p.n, %(hash_seed)s + 21) & 9223372036854775807 AS step_draw,
           hashint8extended(p.n, %(hash_seed)s + 22) & 9223372036854775807 AS made_draw,
           hashint8extended(p.n, %(hash_seed)s + 23) & 9223372036854775807 AS handover_draw,
           hashint8extended(p.n, %(hash_seed)s + 24) & 9223372036854775807 AS special_draw,
           hashint8extended(p.n, %(hash_seed)s + 25) & 9223372036854775807 AS seizure_draw,
           CASE WHEN p.exported THEN 4 ELSE 2 END AS anchor_k,
           CASE WHEN p.exported THEN 4 ELSE 3 END AS shortest
    FROM placed p
),
numbers AS (
    -- The item's number in its family's space: blocks of 100 consecutive numbers, the blocks
    -- shuffled by an affine bijection (the multiplier is coprime with the number of blocks).
    SELECT c.*,
           ((c.family_seq / 100) * c.multiplier + c.shift) %% c.blocks * 100
               + c.family_seq %% 100 AS num,
           lpad((c.year %% 100)::text, 2, '0') AS yy
    FROM chained c
)
SELECT s.n, s.model_no, s.maker_no, s.family, s.family_seq, s.family_count,
       -- a twin takes the serial of an item of another maker in its family (see insert_items)
       s.family_makers > 1 AND s.twin_draw %% 1000 < %(twin_per_mille)s AS twin,
       (s.family_seq + s.family_count / 2) %% s.family_count AS twin_source_seq,
       s.prefix || CASE s.body
           WHEN 'L3D3' THEN substr(%(latin)s, (s.num / 1000 / 529 %% 23)::integer + 1, 1)
                         || substr(%(latin)s, (s.num / 1000 / 23 %% 23)::integer + 1, 1)
                         || substr(%(latin)s, (s.num / 1000 %% 23)::integer + 1, 1)
                         || lpad((s.num %% 1000)::text, 3, '0')
           WHEN 'L3D4' THEN substr(%(latin)s, (s.num / 10000 / 529 %% 23)::integer + 1, 1)
                         || substr(%(latin)s, (s.num / 10000 / 23 %% 23)::integer + 1, 1)
                         || substr(%(latin)s, (s.num / 10000 %% 23)::integer + 1, 1)
                         || lpad((s.num %% 10000)::text, 4, '0')
           WHEN 'L1D6' THEN substr(%(latin)s, (s.num / 1000000 %% 23)::integer + 1, 1)
                         || lpad((s.num %% 1000000)::text, 6, '0')
           WHEN 'L2D5' THEN substr(%(latin)s, (s.num / 100000 / 23 %% 23)::integer + 1, 1)
                         || substr(%(latin)s, (s.num / 100000 %% 23)::integer + 1, 1)
                         || lpad((s.num %% 100000)::text, 5, '0')
           WHEN 'D2-D6' THEN lpad((s.num / 1000000)::text, 2, '0') || '-'
                          || lpad((s.num %% 1000000)::text, 6, '0')
           WHEN 'D3-D5' THEN lpad((s.num / 100000)::text, 3, '0') || '-'
                          || lpad((s.num %% 100000)::text, 5, '0')
           WHEN 'D5' THEN lpad(s.num::text, 5, '0')
           WHEN 'D6' THEN lpad(s.num::text, 6, '0')
           WHEN 'D7' THEN lpad(s.num::text, 7, '0')
           WHEN 'D8' THEN lpad(s.num::text, 8, '0')
           WHEN 'C2 D4' THEN substr(%(cyrillic)s, (s.num / 10000 / 19 %% 19)::integer + 1, 1)
                          || substr(%(cyrillic)s, (s.num / 10000 %% 19)::integer + 1, 1)
                          || ' ' || lpad((s.num %% 10000)::text, 4, '0')
           WHEN 'YY D6' THEN s.yy || ' ' || lpad(s.num::text, 6, '0')
           WHEN 'YY/D6' THEN s.yy || '/' || lpad(s.num::text, 6, '0')
       END || s.suffix AS natural_serial,
       s.lot_no, s.batch, s.lot_leader, s.lot_quantity, s.year, s.exported, s.civil,
       s.country_no AS origin_no, (%(countries)s::text[])[s.country_no + 1] AS origin,
       s.chain_no, (%(countries)s::text[])[s.chain_no + 1] AS chain_country,
       s.pool_base, s.pool_size, s.consignee, s.exporter_slot,
       1 + (s.step_draw %% (s.pool_size - 1))::integer AS step,
       s.anchor_k,
       -- up to 15 events: shortest + floor(span * u * v), u uniform in [0, 1), v in [0.54, 1):
       -- as likely short as middling, rarer towards 15, 8 on average
       s.shortest + floor((16 - s.shortest) * (s.length_draw %% 1000000) / 1000000.0
           * (0.54 + 0.46 * (s.length_draw / 1000000 %% 1000000) / 1000000.0))::integer
           AS chain_length,
       CASE WHEN s.special_draw %% 1000 < %(special_per_mille)s
            THEN (ARRAY['LOSS', 'THEFT', 'SEIZURE', 'DESTRUCTION'])[(s.special_draw / 1000 %% 4)::integer + 1]
       END AS special,
       -- a third of seizures happen abroad, in another country of the list
       CASE WHEN s.seizure_draw %% 3 = 0
            THEN (s.chain_no + 1 + (s.seizure_draw / 3 %% (%(country_count)s - 1))::integer)
                 %% %(country_count)s
            ELSE s.chain_no END AS seize_no,
       make_date(s.year, 1, 1) + (s.made_draw %% 300)::integer AS made_on,
       make_date(s.year, 1, 1) + (s.made_draw %% 300)::integer
           + 5 + (s.handover_draw %% 30)::integer AS handed_on,
       s.exported_on,
       s.exported_on + 7 + (s.transit_draw %% 45)::integer AS imported_on,
       s.exported_on - 30 - (s.certificate_draw %% 180)::integer AS issued_on,
       s.certificate_draw / 1000 %% 10 < 9 AS non_reexport,
       1 + (s.lines_draw %% 10 >= 5)::integer + (s.lines_draw %% 10 >= 8)::integer AS euc_lines
FROM numbers s
ORDER BY s.n

-- name: synthetic_parties
-- The manufacturers, then every country's customs, exporters (makers' countries only), state
-- bodies, dealers and private holders.
WITH countries_used AS (
    SELECT c.no - 1 AS country_no, c.code, k.name AS country_name
    FROM unnest(%(countries)s::text[]) WITH ORDINALITY AS c (code, no)
    JOIN countries k ON k.code = c.code
),
slots (slot, kind, template) AS (
    VALUES (0, 'LAW_ENFORCEMENT', 'Customs Service of {country}'),
           (8, 'ARMED_FORCES', 'Armed Forces of {country}'),
           (9, 'ARMED_FORCES', 'Army of {country}: Central Arms Depot'),
           (10, 'ARMED_FORCES', 'Army of {country}: 1st Infantry Brigade'),
           (11, 'ARMED_FORCES', 'Navy of {country}'),
           (12, 'LAW_ENFORCEMENT', 'National Police of {country}'),
           (13, 'LAW_ENFORCEMENT', 'Border Guard of {country}'),
           (14, 'LAW_ENFORCEMENT', 'National Police of {country}: Special Operations Unit'),
           (15, 'GOVERNMENT', 'Ministry of the Interior of {country}: Central Armoury')
),
country_parties AS (
    SELECT c.country_no, c.code, s.slot, s.kind,
           replace(s.template, '{country}', c.country_name) AS name
    FROM countries_used c CROSS JOIN slots s
    UNION ALL
    SELECT c.country_no, c.code, 16 + j, 'DEALER',
           'Gun dealer ' || c.code || '-' || lpad((j + 1)::text, 3, '0') || ' (synthetic)'
    FROM countries_used c CROSS JOIN generate_series(0, 19) AS j
    UNION ALL
    SELECT c.country_no, c.code, 36 + j, 'PRIVATE_HOLDER',
           'Private holder ' || c.code || '-' || lpad((j + 1)::text, 4, '0') || ' (synthetic)'
    FROM countries_used c CROSS JOIN generate_series(0, 199) AS j
    UNION ALL
    SELECT c.country_no, c.code, e.slot, 'EXPORTER',
           CASE e.slot
               WHEN 1 THEN coalesce(%(exporters)s::jsonb ->> c.code,
                                    c.country_name || ' Defence Exports (synthetic)')
               ELSE c.country_name || ' Arms Trading Company (synthetic)'
           END
    FROM countries_used c CROSS JOIN generate_series(1, 2) AS e (slot)
    WHERE c.code = ANY (%(maker_countries)s::text[])
)
INSERT INTO parties (id, name, kind, country, recorded_by_agency_id)
SELECT encode(int8send(%(id_high)s + 1) || int8send(%(id_low)s + m.maker_no), 'hex')::uuid,
       m.manufacturer, 'MANUFACTURER', m.country, %(agency_id)s
FROM (SELECT DISTINCT maker_no, manufacturer, country FROM synthetic_models) AS m
UNION ALL
SELECT encode(int8send(%(id_high)s + 2)
              || int8send(%(id_low)s + p.country_no * 256 + p.slot), 'hex')::uuid,
       p.name, p.kind, p.code, %(agency_id)s
FROM country_parties p

-- name: synthetic_items
-- Serials are normalised as service.domain.serials.normalise_serial does it for the characters
-- the formats use: upper case, everything but letters and digits dropped, Cyrillic look-alikes
-- folded to Latin with the same table (passed in from LOOKALIKE_TO_LATIN).
INSERT INTO items (id, manufacturer, manufacturer_key, model, model_key, category, caliber,
                   serial_number, serial_norm, country_of_manufacture, year_of_manufacture,
                   import_markings, recorded_by_agency_id)
SELECT encode(int8send(%(id_high)s + 3) || int8send(%(id_low)s + p.n), 'hex')::uuid,
       m.manufacturer, m.manufacturer_key, m.model, m.model_key, m.category, m.caliber,
       s.serial_number,
       translate(regexp_replace(upper(s.serial_number), '[^0-9A-ZА-ЯЁ]', '', 'g'),
                 %(lookalikes)s, %(latin_twins)s),
       m.country, p.year,
       CASE WHEN p.exported THEN jsonb_build_array(jsonb_build_object(
                'country', p.chain_country, 'year', extract(year FROM p.imported_on)::integer,
                'marking', p.chain_country || ' ' || to_char(p.imported_on, 'YY')))
            ELSE '[]'::jsonb END,
       %(agency_id)s
FROM synthetic_plan p
JOIN synthetic_models m USING (model_no)
-- the twin's source: an item of another maker that is no twin itself
LEFT JOIN synthetic_plan src
       ON p.twin AND src.family = p.family AND src.family_seq = p.twin_source_seq
      AND src.maker_no <> p.maker_no AND NOT src.twin
CROSS JOIN LATERAL (SELECT coalesce(src.natural_serial, p.natural_serial) AS serial_number) s

-- name: synthetic_certificates
-- One end-user certificate per exported lot, issued by the destination for its consignee.
INSERT INTO end_user_certificates (id, certificate_number, certificate_key, issuing_country,
                                   issuing_authority, issued_on, expires_on, exporter_party_id,
                                   end_user_party_id, destination_country, stated_end_use,
                                   non_reexport_clause, recorded_by_agency_id)
SELECT encode(int8send(%(id_high)s + 4) || int8send(%(id_low)s + p.lot_no), 'hex')::uuid,
       c.number, regexp_replace(upper(c.number), '[^0-9A-Z]', '', 'g'), p.chain_country,
       a.authority || ' of ' || k.name, p.issued_on, p.issued_on + 730,
       encode(int8send(%(id_high)s + 2)
              || int8send(%(id_low)s + p.origin_no * 256 + p.exporter_slot), 'hex')::uuid,
       encode(int8send(%(id_high)s + 2)
              || int8send(%(id_low)s + p.chain_no * 256 + p.pool_base + p.consignee), 'hex')::uuid,
       p.chain_country, a.end_use || ' in ' || k.name, p.non_reexport, %(agency_id)s
FROM synthetic_plan p
JOIN countries k ON k.code = p.chain_country
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.civil THEN 'National Firearms Licensing Authority'
                WHEN p.consignee < 4 THEN 'Ministry of Defence'
                ELSE 'Ministry of the Interior' END AS authority,
           CASE WHEN p.civil THEN 'Resale to licensed civilian holders'
                WHEN p.consignee < 4 THEN 'Equipment of the armed forces'
                ELSE 'Equipment of the police and border guard' END AS end_use,
           CASE WHEN p.civil THEN 'FLA' WHEN p.consignee < 4 THEN 'MOD' ELSE 'MOI' END AS code
) AS a
CROSS JOIN LATERAL (
    SELECT p.chain_country || '/' || a.code || '/EUC/' || to_char(p.issued_on, 'YYYY') || '/'
           || lpad(p.model_no::text, 2, '0') || '-' || lpad(p.batch::text, 5, '0') AS number
) AS c
WHERE p.lot_leader AND p.exported

-- name: synthetic_certificate_lines
-- Line 1 is the lot's weapons (the exports cite it); some certificates add parts and ammunition.
INSERT INTO euc_line_items (euc_id, line_number, description, category, model, quantity)
SELECT encode(int8send(%(id_high)s + 4) || int8send(%(id_low)s + p.lot_no), 'hex')::uuid,
       l.line_number,
       CASE l.line_number
           WHEN 1 THEN m.model || ' ' || lower(replace(m.category, '_', ' ')) || 's, '
                       || m.caliber
           WHEN 2 THEN 'Spare parts kits for ' || m.model
           ELSE 'Ammunition, ' || m.caliber || ' (rounds)'
       END,
       CASE l.line_number WHEN 1 THEN m.category END,
       CASE l.line_number WHEN 1 THEN m.model END,
       CASE l.line_number
           WHEN 1 THEN p.lot_quantity
           WHEN 2 THEN greatest(1, p.lot_quantity / 5)
           ELSE p.lot_quantity * 500
       END
FROM synthetic_plan p
JOIN synthetic_models m USING (model_no)
CROSS JOIN LATERAL generate_series(1, p.euc_lines) AS l (line_number)
WHERE p.lot_leader AND p.exported

-- name: synthetic_shipments
-- The export of each exported lot under line 1 of its certificate, and its import.
INSERT INTO custody_events (id, event_type, occurred_on, country, destination_country,
                            from_party_id, to_party_id, euc_id, euc_line_number, item_count,
                            licence_number, document_reference, recorded_by_agency_id)
SELECT encode(int8send(%(id_high)s + 6)
              || int8send(%(id_low)s + p.lot_no * 2 + s.leg), 'hex')::uuid,
       CASE s.leg WHEN 0 THEN 'EXPORT' ELSE 'IMPORT' END,
       CASE s.leg WHEN 0 THEN p.exported_on ELSE p.imported_on END,
       CASE s.leg WHEN 0 THEN p.origin ELSE p.chain_country END,
       CASE s.leg WHEN 0 THEN p.chain_country END,
       encode(int8send(%(id_high)s + 2)
              || int8send(%(id_low)s + p.origin_no * 256 + p.exporter_slot), 'hex')::uuid,
       encode(int8send(%(id_high)s + 2)
              || int8send(%(id_low)s + p.chain_no * 256 + p.pool_base + p.consignee), 'hex')::uuid,
       encode(int8send(%(id_high)s + 4) || int8send(%(id_low)s + p.lot_no), 'hex')::uuid,
       1,
       p.lot_quantity,
       CASE s.leg WHEN 0 THEN p.origin || '/EL/' || to_char(p.exported_on, 'YYYY') || '/'
                              || lpad(p.model_no::text, 2, '0') || '-' || lpad(p.batch::text, 5, '0')
       END,
       CASE s.leg WHEN 1 THEN p.chain_country || '-CUS-' || to_char(p.imported_on, 'YYYYMMDD')
                              || '-' || p.lot_no
       END,
       %(agency_id)s
FROM synthetic_plan p
CROSS JOIN (VALUES (0), (1)) AS s (leg)
WHERE p.lot_leader AND p.exported

-- name: synthetic_item_events
-- Each item's own events for items first..last: its manufacture, the hand-over (to an exporter,
-- or at home to the lot's first holder), then transfers between holders of the chain's country,
-- the last of which may be a loss, theft, seizure or destruction. Dates rise along the chain:
-- tail event t of T falls at anchor + 1 + (span * (t - 1 + f) / T) with f in [0, 0.5).
INSERT INTO custody_events (id, event_type, occurred_on, country, from_party_id, to_party_id,
                            item_count, notes, recorded_by_agency_id)
SELECT encode(int8send(%(id_high)s + 5) || int8send(%(id_low)s + p.n * 16 + e.k), 'hex')::uuid,
       e.event_type,
       CASE WHEN e.k = 1 THEN p.made_on
            WHEN e.t <= 0 THEN p.handed_on
            ELSE e.anchor_on + 1 + floor((%(end_date)s::date - e.anchor_on - 1)
                     * (e.t - 1 + 0.5 * (hashint8extended(p.n * 16 + e.k, %(hash_seed)s + 30)
                                         & 9223372036854775807)::float8 / 9223372036854775808.0)
                     / (p.chain_length - p.anchor_k))::integer
       END,
       CASE WHEN e.k <= 2 THEN p.origin
            WHEN e.event_type = 'SEIZURE' THEN (%(countries)s::text[])[p.seize_no + 1]
            ELSE p.chain_country END,
       CASE WHEN e.k = 1 THEN NULL
            WHEN e.k = 2
                THEN encode(int8send(%(id_high)s + 1) || int8send(%(id_low)s + p.maker_no), 'hex')::uuid
            ELSE encode(int8send(%(id_high)s + 2)
                        || int8send(%(id_low)s + p.chain_no * 256 + p.pool_base
                                    + (p.consignee + (e.t - 1) * p.step) %% p.pool_size), 'hex')::uuid
       END,
       CASE WHEN e.k = 1
                THEN encode(int8send(%(id_high)s + 1) || int8send(%(id_low)s + p.maker_no), 'hex')::uuid
            WHEN e.k = 2 AND p.exported
                THEN encode(int8send(%(id_high)s + 2)
                            || int8send(%(id_low)s + p.origin_no * 256 + p.exporter_slot), 'hex')::uuid
            WHEN e.event_type = 'SEIZURE'
                THEN encode(int8send(%(id_high)s + 2) || int8send(%(id_low)s + p.seize_no * 256), 'hex')::uuid
            WHEN e.event_type IN ('LOSS', 'THEFT', 'DESTRUCTION') THEN NULL
            ELSE encode(int8send(%(id_high)s + 2)
                        || int8send(%(id_low)s + p.chain_no * 256 + p.pool_base
                                    + (p.consignee + greatest(e.t, 0) * p.step) %% p.pool_size), 'hex')::uuid
       END,
       1,
       CASE e.event_type
           WHEN 'LOSS' THEN 'Missing at the annual inventory (synthetic record).'
           WHEN 'THEFT' THEN 'Reported stolen (synthetic record).'
           WHEN 'SEIZURE' THEN 'Seized during a check (synthetic record).'
           WHEN 'DESTRUCTION' THEN 'Destroyed as surplus (synthetic record).'
       END,
       %(agency_id)s
FROM synthetic_plan p
CROSS JOIN LATERAL (
    SELECT k.k, k.k - p.anchor_k AS t,
           CASE WHEN p.exported THEN p.imported_on ELSE p.handed_on END AS anchor_on,
           CASE WHEN k.k = 1 THEN 'MANUFACTURE'
                WHEN k.k = p.chain_length AND k.k > p.anchor_k AND p.special IS NOT NULL
                    THEN p.special
                ELSE 'TRANSFER' END AS event_type
    FROM generate_series(1, p.chain_length) AS k (k)
    WHERE NOT (p.exported AND k.k IN (3, 4))
) AS e
WHERE p.n BETWEEN %(first)s AND %(last)s

-- name: synthetic_event_items
-- Which events each of items first..last is in: its own, and its lot's export and import.
INSERT INTO custody_event_items (item_id, event_id)
SELECT encode(int8send(%(id_high)s + 3) || int8send(%(id_low)s + p.n), 'hex')::uuid,
       CASE WHEN p.exported AND k.k IN (3, 4)
            THEN encode(int8send(%(id_high)s + 6)
                        || int8send(%(id_low)s + p.lot_no * 2 + k.k - 3), 'hex')::uuid
            ELSE encode(int8send(%(id_high)s + 5) || int8send(%(id_low)s + p.n * 16 + k.k), 'hex')::uuid
       END
FROM synthetic_plan p
CROSS JOIN LATERAL generate_series(1, p.chain_length) AS k (k)
WHERE p.n BETWEEN %(first)s AND %(last)s

-- name: synthetic_registry_is_empty
-- Whether nothing is recorded yet: only then may a load drop and rebuild indexes.
SELECT NOT EXISTS (SELECT 1 FROM items) AND NOT EXISTS (SELECT 1 FROM custody_events)
       AND NOT EXISTS (SELECT 1 FROM parties) AS empty

-- name: synthetic_secondary_indexes
-- The indexes of the loaded tables that back no constraint of their own (btrees, the trigram
-- GIN, partial unique indexes): a load into an empty registry drops them and builds them after.
SELECT n.nspname AS schema, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = ANY (%(tables)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
ORDER BY c.relname

-- name: synthetic_loading_settings
-- Settings for the load's transaction only: no statement timeout, memory for sorts and builds.
SELECT set_config('statement_timeout', '0', true),
       set_config('work_mem', %(work_mem)s, true),
       set_config('maintenance_work_mem', %(maintenance_work_mem)s, true)

-- name: synthetic_event_item_count
SELECT count(*) AS n
FROM custody_event_items ei JOIN items i ON i.id = ei.item_id
WHERE i.recorded_by_agency_id = %(agency_id)s
