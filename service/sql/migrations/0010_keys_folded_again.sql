-- Version 10: keys folded again where the code's rules changed, and text stored before the NFC
-- rule found by what compares it. The schema is as it was (but for its comments); rows change.
--
-- 1. Modifier letters. A serial's, a manufacturer's and a model's keys, and a certificate's,
-- dropped a modifier letter that is a raised or lowered letter (ᴬ U+1D2C, ʰ, ₐ, ᵸ): "ᴬ123" was
-- "123". The code now folds it to its letter (service.domain.serials), and this migration keys
-- again each item and certificate whose text holds one: items.serial_norm, manufacturer_key and
-- model_key, item_serials (the trigram search's copy of both), end_user_certificates.
-- certificate_key. Each folds to one letter, written below as the code folds it (Python 3.11,
-- Unicode 14: the tests check it letter by letter). The rest of a key is unchanged, so it is
-- taken from the key stored: a key is a string of what each character folds to, and a text whose
-- other characters are ASCII, or hold one run of others, places the new letters exactly. A text
-- holding more than one such run (a Cyrillic letter, a modifier letter, another Cyrillic one) is
-- left keyed as before and named in a NOTICE (no such serial is known). The manufacturers and
-- their aliases hold no modifier letter (schema.sql's rows), so their keys stand.
--
-- Keys that another row holds ("ᴬ123" and "A123" of one manufacturer and model would be one
-- item under items_identity; two certificates of a country, one under end_user_certificates_
-- issuing_country_certificate_key_key): the migration neither fails nor merges them, and changes
-- no record as written. A row whose new keys another row holds keeps its keys as before and is
-- named in a NOTICE with that row (`trace-registry db init` prints it); of rows that would take
-- the same new keys, the earliest recorded takes them. Rows are moved in passes, in the order
-- recorded, until a pass moves none: keys one row gives up may be another's new ones. A trace
-- reading "ᴬ123" then finds the item that holds "A123"; an examiner decides whether the two are
-- one weapon.
--
-- 2. A trace's case reference recorded before the NFC rule may be decomposed ("e" and a
-- combining accent), which the filter GET /v1/traces?case_reference= (in NFC, by the
-- traces_agency_case index) never found: it is stored in NFC now, the same text to a reader
-- (Unicode's canonical equivalence). The stored answer and the audit trail stay as they were:
-- the answer is what was sent, the audit trail is a hash chain.
--
-- 3. Agencies named before their NFC rule may have a twin that differs from another name only
-- in its normal form, which agencies_name_as_read (as read, not normalised) let through. As 0009
-- did for its twins, each later one is named in a NOTICE (and kept as it is, with its name); an
-- agency with no twin has its name stored in NFC, so that the index refuses a twin from now on.
--
-- 4. Migration 0006 keyed a registration number with letters beyond ASCII by the database's
-- upper(), which maps one character to one: "ß" stayed "ß" where the code writes "SS", "ǰ"
-- stayed "ǰ" (the code: "J" and a caron), "ᾳ" became "ᾼ" (the code: "ΑΙ"), and under a ctype
-- without Unicode case (C, POSIX) no such letter was upper-cased at all. Those parties are keyed
-- again here by the code's steps (NFKC, its case folding then upper case, written below, the
-- separators dropped, NFKC again, until nothing changes), whatever the database's ctype. A key
-- another party holds under the registration indexes is left as before and named in a NOTICE.
--
-- Items, certificates, traces and parties are ledger tables: their append-only triggers are
-- set aside for the rows changed here, only when there are any (ALTER TABLE waits for the
-- service of version 9 to let go of the table).

-- The modifier letters that fold to a letter, and that letter, in one string each.
CREATE TEMPORARY TABLE modifier_letters ON COMMIT DROP AS
SELECT E'\u02b0\u02b1\u02b2\u02b3\u02b4\u02b5\u02b6\u02b7\u02b8\u02e0\u02e1\u02e2\u02e3\u02e4'
       || E'\u10fc\u1d2c\u1d2d\u1d2e\u1d30\u1d31\u1d32\u1d33\u1d34\u1d35\u1d36\u1d37\u1d38\u1d39'
       || E'\u1d3a\u1d3c\u1d3d\u1d3e\u1d3f\u1d40\u1d41\u1d42\u1d43\u1d44\u1d45\u1d46\u1d47\u1d48'
       || E'\u1d49\u1d4a\u1d4b\u1d4c\u1d4d\u1d4f\u1d50\u1d51\u1d52\u1d53\u1d54\u1d55\u1d56\u1d57'
       || E'\u1d58\u1d59\u1d5a\u1d5b\u1d5c\u1d5d\u1d5e\u1d5f\u1d60\u1d61\u1d62\u1d63\u1d64\u1d65'
       || E'\u1d66\u1d67\u1d68\u1d69\u1d6a\u1d78\u1d9b\u1d9c\u1d9d\u1d9e\u1d9f\u1da0\u1da1\u1da2'
       || E'\u1da3\u1da4\u1da5\u1da6\u1da7\u1da8\u1da9\u1daa\u1dab\u1dac\u1dad\u1dae\u1daf\u1db0'
       || E'\u1db1\u1db2\u1db3\u1db4\u1db5\u1db6\u1db7\u1db8\u1db9\u1dba\u1dbb\u1dbc\u1dbd\u1dbe'
       || E'\u1dbf\u2071\u207f\u2090\u2091\u2092\u2093\u2094\u2095\u2096\u2097\u2098\u2099\u209a'
       || E'\u209b\u209c\u2c7c\u2c7d\u2d6f\ua69c\ua69d\ua770\ua7f2\ua7f3\ua7f4\ua7f8\ua7f9\uab5c'
       || E'\uab5d\uab5e\uab5f\uab69\U00010783\U00010784\U00010785\U00010787\U00010788\U00010789'
       || E'\U0001078a\U0001078b\U0001078c\U0001078d\U0001078e\U0001078f\U00010790\U00010791'
       || E'\U00010792\U00010793\U00010794\U00010795\U00010796\U00010797\U00010798\U00010799'
       || E'\U0001079a\U0001079b\U0001079c\U0001079d\U0001079e\U0001079f\U000107a0\U000107a1'
       || E'\U000107a2\U000107a3\U000107a4\U000107a5\U000107a6\U000107a7\U000107a8\U000107a9'
       || E'\U000107aa\U000107ab\U000107ac\U000107ad\U000107ae\U000107af\U000107b0\U000107b2'
       || E'\U000107b3\U000107b4\U000107b5\U000107b6\U000107b7\U000107b8\U000107b9\U000107ba'::text AS letters,
       E'\u0048\ua7aa\u004a\u0052\u0279\u027b\u0281\u0057\u0059\u0194\u004c\u0053\u0058\u0295'
       || E'\u1c9c\u0041\u00c6\u0042\u0044\u0045\u018e\u0047\u0048\u0049\u004a\u004b\u004c\u004d'
       || E'\u004e\u004f\u0222\u0050\u0052\u0054\u0055\u0057\u0041\u2c6f\u2c6d\u1d02\u0042\u0044'
       || E'\u0045\u018f\u0190\ua7ab\u0047\u004b\u004d\u014a\u004f\u0186\u1d16\u1d17\u0050\u0054'
       || E'\u0055\u1d1d\u019c\u0056\u1d25\u0042\u0393\u0394\u03a6\u0058\u0049\u0052\u0055\u0056'
       || E'\u0042\u0393\u0050\u03a6\u0058\u0048\u2c70\u0043\u0255\u00d0\ua7ab\u0046\u025f\ua7ac'
       || E'\ua78d\u0197\u0196\ua7ae\u1d7b\ua7b2\u026d\u1d85\u029f\u2c6e\u0270\u019d\u0273\u0274'
       || E'\u019f\u0278\ua7c5\u01a9\u01ab\u0244\u01b1\u1d1c\u01b2\u0245\u005a\u0290\u0291\u01b7'
       || E'\u0398\u0049\u004e\u0041\u0045\u004f\u0058\u018f\u0048\u004b\u004c\u004d\u004e\u0050'
       || E'\u0053\u0054\u004a\u0056\u2d61\u042a\u042c\ua76e\u0043\u0046\u0051\u0126\u0152\ua726'
       || E'\uab37\u2c62\uab52\u028d\u00c6\u0299\u0181\u02a3\uab66\u02a5\u02a4\u0189\u018a\u1d91'
       || E'\u0258\u025e\u02a9\u0264\u0262\u0193\u029b\u0126\u029c\u0267\u0284\u02aa\u02ab\ua7ad'
       || E'\U0001df04\ua78e\u026e\U0001df05\u028e\U0001df06\u00d8\u0276\u0277\u0051\u027a'
       || E'\U0001df08\u2c64\u027e\u01a6\u02a8\u02a6\uab67\u02a7\u01ae\u2c71\u028f\u02a1\u02a2'
       || E'\u0298\u01c0\u01c1\u01c2\U0001df0a\U0001df1e'::text AS folded;

-- The key of `marking` under the code's rule now, from its key under the earlier one (which
-- dropped the modifier letters); NULL when that key does not place the new letters.
CREATE FUNCTION pg_temp.refolded(marking text, earlier_key text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    modifiers text;
    letters text;
    one text;
    was text;
    becomes text;
    -- what the characters before and after the one run of non-ASCII others fold to
    was_before text := '';
    becomes_before text := '';
    was_after text := '';
    becomes_after text := '';
    runs integer := 0;
    in_run boolean := false;
BEGIN
    SELECT m.letters, m.folded INTO modifiers, letters FROM modifier_letters m;
    FOREACH one IN ARRAY regexp_split_to_array(marking, '') LOOP
        IF one ~ '^[A-Za-z0-9]$' THEN
            was := upper(one);
            becomes := was;
        ELSIF ascii(one) < 128 THEN
            CONTINUE;  -- a separator: nothing, then and now
        ELSIF strpos(modifiers, one) > 0 THEN
            was := '';
            becomes := translate(one, modifiers, letters);
        ELSE
            runs := runs + CASE WHEN in_run THEN 0 ELSE 1 END;
            in_run := true;
            CONTINUE;
        END IF;
        in_run := false;
        IF runs = 0 THEN
            was_before := was_before || was;
            becomes_before := becomes_before || becomes;
        ELSE
            was_after := was_after || was;
            becomes_after := becomes_after || becomes;
        END IF;
    END LOOP;
    IF runs = 0 AND earlier_key = was_before THEN
        RETURN becomes_before;
    ELSIF runs = 1 AND length(earlier_key) >= length(was_before) + length(was_after)
          AND left(earlier_key, length(was_before)) = was_before
          AND right(earlier_key, length(was_after)) = was_after THEN
        RETURN becomes_before
            || substr(earlier_key, length(was_before) + 1,
                      length(earlier_key) - length(was_before) - length(was_after))
            || becomes_after;
    END IF;
    RETURN NULL;
END
$$;

-- An item's manufacturer key is its name's key, or the reference manufacturer's when the name
-- is an alias: the name's earlier key is the stored one or one of that manufacturer's aliases'.
CREATE FUNCTION pg_temp.refolded_manufacturer(manufacturer text, earlier_key text) RETURNS text
LANGUAGE sql STABLE
RETURN (SELECT CASE WHEN count(DISTINCT name_key) = 1 THEN manufacturer_key_for(min(name_key)) END
        FROM (SELECT pg_temp.refolded(manufacturer, candidate) AS name_key
              FROM (SELECT earlier_key AS candidate
                    UNION SELECT alias_key FROM manufacturer_aliases
                          WHERE manufacturer_key = earlier_key) AS candidates) AS keyed
        WHERE name_key IS NOT NULL);

CREATE TEMPORARY TABLE refolded_items ON COMMIT DROP AS
SELECT id, recorded_at, serial_number, serial_norm, manufacturer_key, model_key,
       CASE WHEN serial_number ~ pattern
            THEN pg_temp.refolded(serial_number, serial_norm) ELSE serial_norm END AS new_serial,
       CASE WHEN manufacturer ~ pattern
            THEN pg_temp.refolded_manufacturer(manufacturer, manufacturer_key)
            ELSE manufacturer_key END AS new_manufacturer,
       CASE WHEN model ~ pattern
            THEN pg_temp.refolded(model, model_key) ELSE model_key END AS new_model,
       false AS done
FROM items, (SELECT '[' || letters || ']' AS pattern FROM modifier_letters) AS modifiers
WHERE serial_number ~ pattern OR manufacturer ~ pattern OR model ~ pattern;

CREATE TEMPORARY TABLE refolded_certificates ON COMMIT DROP AS
SELECT id, recorded_at, certificate_number, issuing_country, certificate_key,
       pg_temp.refolded(certificate_number, certificate_key) AS new_key, false AS done
FROM end_user_certificates, (SELECT '[' || letters || ']' AS pattern FROM modifier_letters) AS m
WHERE certificate_number ~ pattern;

DO $$
DECLARE
    item record;
    holder record;
    certificate record;
    moved integer;
BEGIN
    FOR item IN SELECT * FROM refolded_items
                WHERE num_nulls(new_serial, new_manufacturer, new_model) > 0 ORDER BY id LOOP
        RAISE NOTICE 'item % (serial %) keeps its keys: the code''s could not be derived from them here',
            item.id, to_json(item.serial_number);
    END LOOP;
    DELETE FROM refolded_items
    WHERE num_nulls(new_serial, new_manufacturer, new_model) > 0
       OR (new_serial, new_manufacturer, new_model) = (serial_norm, manufacturer_key, model_key);
    FOR certificate IN SELECT * FROM refolded_certificates WHERE new_key IS NULL ORDER BY id LOOP
        RAISE NOTICE 'certificate % (number %) keeps its key: the code''s could not be derived from it here',
            certificate.id, to_json(certificate.certificate_number);
    END LOOP;
    DELETE FROM refolded_certificates
    WHERE new_key IS NULL OR new_key = certificate_key;

    IF EXISTS (SELECT FROM refolded_items) THEN
        ALTER TABLE items DISABLE TRIGGER items_append_only;
        -- Passes in the order recorded, until one moves nothing: a key an earlier row held may
        -- be free once that row has moved to its own.
        LOOP
            moved := 0;
            FOR item IN SELECT * FROM refolded_items WHERE NOT done ORDER BY recorded_at, id LOOP
                CONTINUE WHEN EXISTS (
                    SELECT FROM items i
                    WHERE (i.serial_norm, i.manufacturer_key, i.model_key)
                        = (item.new_serial, item.new_manufacturer, item.new_model));
                UPDATE items SET serial_norm = item.new_serial,
                                 manufacturer_key = item.new_manufacturer,
                                 model_key = item.new_model
                WHERE id = item.id;
                UPDATE refolded_items SET done = true WHERE id = item.id;
                moved := moved + 1;
            END LOOP;
            EXIT WHEN moved = 0;
        END LOOP;
        ALTER TABLE items ENABLE TRIGGER items_append_only;
        -- in one pass over item_serials, which has no index but its trigrams'
        UPDATE item_serials s SET serial_norm = r.new_serial, manufacturer_key = r.new_manufacturer
        FROM refolded_items r
        WHERE r.done AND s.item_id = r.id;
        FOR item IN SELECT * FROM refolded_items WHERE NOT done ORDER BY recorded_at, id LOOP
            SELECT id, serial_number INTO holder FROM items i
            WHERE (i.serial_norm, i.manufacturer_key, i.model_key)
                = (item.new_serial, item.new_manufacturer, item.new_model);
            RAISE NOTICE 'item % (serial %) keeps its keys (%, %, %): item % (serial %) holds the keys the code gives it (%, %, %)',
                item.id, to_json(item.serial_number), item.serial_norm, item.manufacturer_key,
                item.model_key, holder.id, to_json(holder.serial_number), item.new_serial,
                item.new_manufacturer, item.new_model;
        END LOOP;
    END IF;

    IF EXISTS (SELECT FROM refolded_certificates) THEN
        ALTER TABLE end_user_certificates DISABLE TRIGGER end_user_certificates_append_only;
        LOOP
            moved := 0;
            FOR certificate IN SELECT * FROM refolded_certificates WHERE NOT done
                               ORDER BY recorded_at, id LOOP
                CONTINUE WHEN EXISTS (
                    SELECT FROM end_user_certificates c
                    WHERE c.issuing_country = certificate.issuing_country
                      AND c.certificate_key = certificate.new_key);
                UPDATE end_user_certificates SET certificate_key = certificate.new_key
                WHERE id = certificate.id;
                UPDATE refolded_certificates SET done = true WHERE id = certificate.id;
                moved := moved + 1;
            END LOOP;
            EXIT WHEN moved = 0;
        END LOOP;
        ALTER TABLE end_user_certificates ENABLE TRIGGER end_user_certificates_append_only;
        FOR certificate IN SELECT * FROM refolded_certificates WHERE NOT done
                           ORDER BY recorded_at, id LOOP
            SELECT id, certificate_number INTO holder FROM end_user_certificates c
            WHERE c.issuing_country = certificate.issuing_country
              AND c.certificate_key = certificate.new_key;
            RAISE NOTICE 'certificate % (%, number %) keeps its key %: certificate % (number %) holds the key the code gives it (%)',
                certificate.id, certificate.issuing_country, to_json(certificate.certificate_number),
                certificate.certificate_key, holder.id, to_json(holder.certificate_number),
                certificate.new_key;
        END LOOP;
    END IF;
END
$$;

-- 2. Case references in NFC (ASCII ones are, and are most).
DO $$
BEGIN
    IF EXISTS (SELECT FROM traces WHERE case_reference !~ '^[\x01-\x7f]*$'
                                    AND case_reference IS NOT NFC NORMALIZED) THEN
        ALTER TABLE traces DISABLE TRIGGER traces_append_only;
        UPDATE traces SET case_reference = normalize(case_reference, NFC)
        WHERE case_reference !~ '^[\x01-\x7f]*$' AND case_reference IS NOT NFC NORMALIZED;
        ALTER TABLE traces ENABLE TRIGGER traces_append_only;
    END IF;
END
$$;

-- 3. Agencies whose names read alike but for their normal form.
DO $$
DECLARE
    twin record;
BEGIN
    CREATE TEMPORARY TABLE agency_readings ON COMMIT DROP AS
    SELECT id, name, translate(name, E'\u061c\u200c\u200d\u200e\u200f', '') AS as_read,
           first_value(id) OVER readings AS first_id,
           first_value(name) OVER readings AS first_name,
           first_value(translate(name, E'\u061c\u200c\u200d\u200e\u200f', '')) OVER readings
               AS first_as_read,
           count(*) OVER (PARTITION BY normalize(
               translate(name, E'\u061c\u200c\u200d\u200e\u200f', ''), NFC)) AS readers
    FROM agencies
    WINDOW readings AS (
        PARTITION BY normalize(translate(name, E'\u061c\u200c\u200d\u200e\u200f', ''), NFC)
        ORDER BY created_at, id);
    -- those that read as another only in the same normal form are 0009's, named then
    FOR twin IN SELECT * FROM agency_readings
                WHERE id <> first_id AND as_read <> first_as_read ORDER BY id LOOP
        RAISE NOTICE 'agency % (%) reads as agency % (%) but for its normal form: its name is kept as it is',
            twin.id, to_json(twin.name), twin.first_id, to_json(twin.first_name);
    END LOOP;
    UPDATE agencies a SET name = normalize(a.name, NFC)
    FROM agency_readings r
    WHERE r.id = a.id AND r.readers = 1 AND a.name IS NOT NFC NORMALIZED;
END
$$;

-- 4. Registration numbers beyond ASCII, keyed as the code keys them. The characters whose case
-- folding then upper case is one other character, and those it makes several of:
CREATE TEMPORARY TABLE upper_case ON COMMIT DROP AS
SELECT E'\u0061\u0062\u0063\u0064\u0065\u0066\u0067\u0068\u0069\u006a\u006b\u006c\u006d\u006e'
       || E'\u006f\u0070\u0071\u0072\u0073\u0074\u0075\u0076\u0077\u0078\u0079\u007a\u00b5\u00e0'
       || E'\u00e1\u00e2\u00e3\u00e4\u00e5\u00e6\u00e7\u00e8\u00e9\u00ea\u00eb\u00ec\u00ed\u00ee'
       || E'\u00ef\u00f0\u00f1\u00f2\u00f3\u00f4\u00f5\u00f6\u00f8\u00f9\u00fa\u00fb\u00fc\u00fd'
       || E'\u00fe\u00ff\u0101\u0103\u0105\u0107\u0109\u010b\u010d\u010f\u0111\u0113\u0115\u0117'
       || E'\u0119\u011b\u011d\u011f\u0121\u0123\u0125\u0127\u0129\u012b\u012d\u012f\u0131\u0133'
       || E'\u0135\u0137\u013a\u013c\u013e\u0140\u0142\u0144\u0146\u0148\u014b\u014d\u014f\u0151'
       || E'\u0153\u0155\u0157\u0159\u015b\u015d\u015f\u0161\u0163\u0165\u0167\u0169\u016b\u016d'
       || E'\u016f\u0171\u0173\u0175\u0177\u017a\u017c\u017e\u017f\u0180\u0183\u0185\u0188\u018c'
       || E'\u0192\u0195\u0199\u019a\u019e\u01a1\u01a3\u01a5\u01a8\u01ad\u01b0\u01b4\u01b6\u01b9'
       || E'\u01bd\u01bf\u01c5\u01c6\u01c8\u01c9\u01cb\u01cc\u01ce\u01d0\u01d2\u01d4\u01d6\u01d8'
       || E'\u01da\u01dc\u01dd\u01df\u01e1\u01e3\u01e5\u01e7\u01e9\u01eb\u01ed\u01ef\u01f2\u01f3'
       || E'\u01f5\u01f9\u01fb\u01fd\u01ff\u0201\u0203\u0205\u0207\u0209\u020b\u020d\u020f\u0211'
       || E'\u0213\u0215\u0217\u0219\u021b\u021d\u021f\u0223\u0225\u0227\u0229\u022b\u022d\u022f'
       || E'\u0231\u0233\u023c\u023f\u0240\u0242\u0247\u0249\u024b\u024d\u024f\u0250\u0251\u0252'
       || E'\u0253\u0254\u0256\u0257\u0259\u025b\u025c\u0260\u0261\u0263\u0265\u0266\u0268\u0269'
       || E'\u026a\u026b\u026c\u026f\u0271\u0272\u0275\u027d\u0280\u0282\u0283\u0287\u0288\u0289'
       || E'\u028a\u028b\u028c\u0292\u029d\u029e\u0345\u0371\u0373\u0377\u037b\u037c\u037d\u03ac'
       || E'\u03ad\u03ae\u03af\u03b1\u03b2\u03b3\u03b4\u03b5\u03b6\u03b7\u03b8\u03b9\u03ba\u03bb'
       || E'\u03bc\u03bd\u03be\u03bf\u03c0\u03c1\u03c2\u03c3\u03c4\u03c5\u03c6\u03c7\u03c8\u03c9'
       || E'\u03ca\u03cb\u03cc\u03cd\u03ce\u03d0\u03d1\u03d5\u03d6\u03d7\u03d9\u03db\u03dd\u03df'
       || E'\u03e1\u03e3\u03e5\u03e7\u03e9\u03eb\u03ed\u03ef\u03f0\u03f1\u03f2\u03f3\u03f4\u03f5'
       || E'\u03f8\u03fb\u0430\u0431\u0432\u0433\u0434\u0435\u0436\u0437\u0438\u0439\u043a\u043b'
       || E'\u043c\u043d\u043e\u043f\u0440\u0441\u0442\u0443\u0444\u0445\u0446\u0447\u0448\u0449'
       || E'\u044a\u044b\u044c\u044d\u044e\u044f\u0450\u0451\u0452\u0453\u0454\u0455\u0456\u0457'
       || E'\u0458\u0459\u045a\u045b\u045c\u045d\u045e\u045f\u0461\u0463\u0465\u0467\u0469\u046b'
       || E'\u046d\u046f\u0471\u0473\u0475\u0477\u0479\u047b\u047d\u047f\u0481\u048b\u048d\u048f'
       || E'\u0491\u0493\u0495\u0497\u0499\u049b\u049d\u049f\u04a1\u04a3\u04a5\u04a7\u04a9\u04ab'
       || E'\u04ad\u04af\u04b1\u04b3\u04b5\u04b7\u04b9\u04bb\u04bd\u04bf\u04c2\u04c4\u04c6\u04c8'
       || E'\u04ca\u04cc\u04ce\u04cf\u04d1\u04d3\u04d5\u04d7\u04d9\u04db\u04dd\u04df\u04e1\u04e3'
       || E'\u04e5\u04e7\u04e9\u04eb\u04ed\u04ef\u04f1\u04f3\u04f5\u04f7\u04f9\u04fb\u04fd\u04ff'
       || E'\u0501\u0503\u0505\u0507\u0509\u050b\u050d\u050f\u0511\u0513\u0515\u0517\u0519\u051b'
       || E'\u051d\u051f\u0521\u0523\u0525\u0527\u0529\u052b\u052d\u052f\u0561\u0562\u0563\u0564'
       || E'\u0565\u0566\u0567\u0568\u0569\u056a\u056b\u056c\u056d\u056e\u056f\u0570\u0571\u0572'
       || E'\u0573\u0574\u0575\u0576\u0577\u0578\u0579\u057a\u057b\u057c\u057d\u057e\u057f\u0580'
       || E'\u0581\u0582\u0583\u0584\u0585\u0586\u10d0\u10d1\u10d2\u10d3\u10d4\u10d5\u10d6\u10d7'
       || E'\u10d8\u10d9\u10da\u10db\u10dc\u10dd\u10de\u10df\u10e0\u10e1\u10e2\u10e3\u10e4\u10e5'
       || E'\u10e6\u10e7\u10e8\u10e9\u10ea\u10eb\u10ec\u10ed\u10ee\u10ef\u10f0\u10f1\u10f2\u10f3'
       || E'\u10f4\u10f5\u10f6\u10f7\u10f8\u10f9\u10fa\u10fd\u10fe\u10ff\u13f8\u13f9\u13fa\u13fb'
       || E'\u13fc\u13fd\u1c80\u1c81\u1c82\u1c83\u1c84\u1c85\u1c86\u1c87\u1c88\u1d79\u1d7d\u1d8e'
       || E'\u1e01\u1e03\u1e05\u1e07\u1e09\u1e0b\u1e0d\u1e0f\u1e11\u1e13\u1e15\u1e17\u1e19\u1e1b'
       || E'\u1e1d\u1e1f\u1e21\u1e23\u1e25\u1e27\u1e29\u1e2b\u1e2d\u1e2f\u1e31\u1e33\u1e35\u1e37'
       || E'\u1e39\u1e3b\u1e3d\u1e3f\u1e41\u1e43\u1e45\u1e47\u1e49\u1e4b\u1e4d\u1e4f\u1e51\u1e53'
       || E'\u1e55\u1e57\u1e59\u1e5b\u1e5d\u1e5f\u1e61\u1e63\u1e65\u1e67\u1e69\u1e6b\u1e6d\u1e6f'
       || E'\u1e71\u1e73\u1e75\u1e77\u1e79\u1e7b\u1e7d\u1e7f\u1e81\u1e83\u1e85\u1e87\u1e89\u1e8b'
       || E'\u1e8d\u1e8f\u1e91\u1e93\u1e95\u1e9b\u1ea1\u1ea3\u1ea5\u1ea7\u1ea9\u1eab\u1ead\u1eaf'
       || E'\u1eb1\u1eb3\u1eb5\u1eb7\u1eb9\u1ebb\u1ebd\u1ebf\u1ec1\u1ec3\u1ec5\u1ec7\u1ec9\u1ecb'
       || E'\u1ecd\u1ecf\u1ed1\u1ed3\u1ed5\u1ed7\u1ed9\u1edb\u1edd\u1edf\u1ee1\u1ee3\u1ee5\u1ee7'
       || E'\u1ee9\u1eeb\u1eed\u1eef\u1ef1\u1ef3\u1ef5\u1ef7\u1ef9\u1efb\u1efd\u1eff\u1f00\u1f01'
       || E'\u1f02\u1f03\u1f04\u1f05\u1f06\u1f07\u1f10\u1f11\u1f12\u1f13\u1f14\u1f15\u1f20\u1f21'
       || E'\u1f22\u1f23\u1f24\u1f25\u1f26\u1f27\u1f30\u1f31\u1f32\u1f33\u1f34\u1f35\u1f36\u1f37'
       || E'\u1f40\u1f41\u1f42\u1f43\u1f44\u1f45\u1f51\u1f53\u1f55\u1f57\u1f60\u1f61\u1f62\u1f63'
       || E'\u1f64\u1f65\u1f66\u1f67\u1f70\u1f71\u1f72\u1f73\u1f74\u1f75\u1f76\u1f77\u1f78\u1f79'
       || E'\u1f7a\u1f7b\u1f7c\u1f7d\u1fb0\u1fb1\u1fbe\u1fd0\u1fd1\u1fe0\u1fe1\u1fe5\u2126\u212a'
       || E'\u212b\u214e\u2170\u2171\u2172\u2173\u2174\u2175\u2176\u2177\u2178\u2179\u217a\u217b'
       || E'\u217c\u217d\u217e\u217f\u2184\u24d0\u24d1\u24d2\u24d3\u24d4\u24d5\u24d6\u24d7\u24d8'
       || E'\u24d9\u24da\u24db\u24dc\u24dd\u24de\u24df\u24e0\u24e1\u24e2\u24e3\u24e4\u24e5\u24e6'
       || E'\u24e7\u24e8\u24e9\u2c30\u2c31\u2c32\u2c33\u2c34\u2c35\u2c36\u2c37\u2c38\u2c39\u2c3a'
       || E'\u2c3b\u2c3c\u2c3d\u2c3e\u2c3f\u2c40\u2c41\u2c42\u2c43\u2c44\u2c45\u2c46\u2c47\u2c48'
       || E'\u2c49\u2c4a\u2c4b\u2c4c\u2c4d\u2c4e\u2c4f\u2c50\u2c51\u2c52\u2c53\u2c54\u2c55\u2c56'
       || E'\u2c57\u2c58\u2c59\u2c5a\u2c5b\u2c5c\u2c5d\u2c5e\u2c5f\u2c61\u2c65\u2c66\u2c68\u2c6a'
       || E'\u2c6c\u2c73\u2c76\u2c81\u2c83\u2c85\u2c87\u2c89\u2c8b\u2c8d\u2c8f\u2c91\u2c93\u2c95'
       || E'\u2c97\u2c99\u2c9b\u2c9d\u2c9f\u2ca1\u2ca3\u2ca5\u2ca7\u2ca9\u2cab\u2cad\u2caf\u2cb1'
       || E'\u2cb3\u2cb5\u2cb7\u2cb9\u2cbb\u2cbd\u2cbf\u2cc1\u2cc3\u2cc5\u2cc7\u2cc9\u2ccb\u2ccd'
       || E'\u2ccf\u2cd1\u2cd3\u2cd5\u2cd7\u2cd9\u2cdb\u2cdd\u2cdf\u2ce1\u2ce3\u2cec\u2cee\u2cf3'
       || E'\u2d00\u2d01\u2d02\u2d03\u2d04\u2d05\u2d06\u2d07\u2d08\u2d09\u2d0a\u2d0b\u2d0c\u2d0d'
       || E'\u2d0e\u2d0f\u2d10\u2d11\u2d12\u2d13\u2d14\u2d15\u2d16\u2d17\u2d18\u2d19\u2d1a\u2d1b'
       || E'\u2d1c\u2d1d\u2d1e\u2d1f\u2d20\u2d21\u2d22\u2d23\u2d24\u2d25\u2d27\u2d2d\ua641\ua643'
       || E'\ua645\ua647\ua649\ua64b\ua64d\ua64f\ua651\ua653\ua655\ua657\ua659\ua65b\ua65d\ua65f'
       || E'\ua661\ua663\ua665\ua667\ua669\ua66b\ua66d\ua681\ua683\ua685\ua687\ua689\ua68b\ua68d'
       || E'\ua68f\ua691\ua693\ua695\ua697\ua699\ua69b\ua723\ua725\ua727\ua729\ua72b\ua72d\ua72f'
       || E'\ua733\ua735\ua737\ua739\ua73b\ua73d\ua73f\ua741\ua743\ua745\ua747\ua749\ua74b\ua74d'
       || E'\ua74f\ua751\ua753\ua755\ua757\ua759\ua75b\ua75d\ua75f\ua761\ua763\ua765\ua767\ua769'
       || E'\ua76b\ua76d\ua76f\ua77a\ua77c\ua77f\ua781\ua783\ua785\ua787\ua78c\ua791\ua793\ua794'
       || E'\ua797\ua799\ua79b\ua79d\ua79f\ua7a1\ua7a3\ua7a5\ua7a7\ua7a9\ua7b5\ua7b7\ua7b9\ua7bb'
       || E'\ua7bd\ua7bf\ua7c1\ua7c3\ua7c8\ua7ca\ua7d1\ua7d7\ua7d9\ua7f6\uab53\uab70\uab71\uab72'
       || E'\uab73\uab74\uab75\uab76\uab77\uab78\uab79\uab7a\uab7b\uab7c\uab7d\uab7e\uab7f\uab80'
       || E'\uab81\uab82\uab83\uab84\uab85\uab86\uab87\uab88\uab89\uab8a\uab8b\uab8c\uab8d\uab8e'
       || E'\uab8f\uab90\uab91\uab92\uab93\uab94\uab95\uab96\uab97\uab98\uab99\uab9a\uab9b\uab9c'
       || E'\uab9d\uab9e\uab9f\uaba0\uaba1\uaba2\uaba3\uaba4\uaba5\uaba6\uaba7\uaba8\uaba9\uabaa'
       || E'\uabab\uabac\uabad\uabae\uabaf\uabb0\uabb1\uabb2\uabb3\uabb4\uabb5\uabb6\uabb7\uabb8'
       || E'\uabb9\uabba\uabbb\uabbc\uabbd\uabbe\uabbf\uff41\uff42\uff43\uff44\uff45\uff46\uff47'
       || E'\uff48\uff49\uff4a\uff4b\uff4c\uff4d\uff4e\uff4f\uff50\uff51\uff52\uff53\uff54\uff55'
       || E'\uff56\uff57\uff58\uff59\uff5a\U00010428\U00010429\U0001042a\U0001042b\U0001042c'
       || E'\U0001042d\U0001042e\U0001042f\U00010430\U00010431\U00010432\U00010433\U00010434'
       || E'\U00010435\U00010436\U00010437\U00010438\U00010439\U0001043a\U0001043b\U0001043c'
       || E'\U0001043d\U0001043e\U0001043f\U00010440\U00010441\U00010442\U00010443\U00010444'
       || E'\U00010445\U00010446\U00010447\U00010448\U00010449\U0001044a\U0001044b\U0001044c'
       || E'\U0001044d\U0001044e\U0001044f\U000104d8\U000104d9\U000104da\U000104db\U000104dc'
       || E'\U000104dd\U000104de\U000104df\U000104e0\U000104e1\U000104e2\U000104e3\U000104e4'
       || E'\U000104e5\U000104e6\U000104e7\U000104e8\U000104e9\U000104ea\U000104eb\U000104ec'
       || E'\U000104ed\U000104ee\U000104ef\U000104f0\U000104f1\U000104f2\U000104f3\U000104f4'
       || E'\U000104f5\U000104f6\U000104f7\U000104f8\U000104f9\U000104fa\U000104fb\U00010597'
       || E'\U00010598\U00010599\U0001059a\U0001059b\U0001059c\U0001059d\U0001059e\U0001059f'
       || E'\U000105a0\U000105a1\U000105a3\U000105a4\U000105a5\U000105a6\U000105a7\U000105a8'
       || E'\U000105a9\U000105aa\U000105ab\U000105ac\U000105ad\U000105ae\U000105af\U000105b0'
       || E'\U000105b1\U000105b3\U000105b4\U000105b5\U000105b6\U000105b7\U000105b8\U000105b9'
       || E'\U000105bb\U000105bc\U00010cc0\U00010cc1\U00010cc2\U00010cc3\U00010cc4\U00010cc5'
       || E'\U00010cc6\U00010cc7\U00010cc8\U00010cc9\U00010cca\U00010ccb\U00010ccc\U00010ccd'
       || E'\U00010cce\U00010ccf\U00010cd0\U00010cd1\U00010cd2\U00010cd3\U00010cd4\U00010cd5'
       || E'\U00010cd6\U00010cd7\U00010cd8\U00010cd9\U00010cda\U00010cdb\U00010cdc\U00010cdd'
       || E'\U00010cde\U00010cdf\U00010ce0\U00010ce1\U00010ce2\U00010ce3\U00010ce4\U00010ce5'
       || E'\U00010ce6\U00010ce7\U00010ce8\U00010ce9\U00010cea\U00010ceb\U00010cec\U00010ced'
       || E'\U00010cee\U00010cef\U00010cf0\U00010cf1\U00010cf2\U000118c0\U000118c1\U000118c2'
       || E'\U000118c3\U000118c4\U000118c5\U000118c6\U000118c7\U000118c8\U000118c9\U000118ca'
       || E'\U000118cb\U000118cc\U000118cd\U000118ce\U000118cf\U000118d0\U000118d1\U000118d2'
       || E'\U000118d3\U000118d4\U000118d5\U000118d6\U000118d7\U000118d8\U000118d9\U000118da'
       || E'\U000118db\U000118dc\U000118dd\U000118de\U000118df\U00016e60\U00016e61\U00016e62'
       || E'\U00016e63\U00016e64\U00016e65\U00016e66\U00016e67\U00016e68\U00016e69\U00016e6a'
       || E'\U00016e6b\U00016e6c\U00016e6d\U00016e6e\U00016e6f\U00016e70\U00016e71\U00016e72'
       || E'\U00016e73\U00016e74\U00016e75\U00016e76\U00016e77\U00016e78\U00016e79\U00016e7a'
       || E'\U00016e7b\U00016e7c\U00016e7d\U00016e7e\U00016e7f\U0001e922\U0001e923\U0001e924'
       || E'\U0001e925\U0001e926\U0001e927\U0001e928\U0001e929\U0001e92a\U0001e92b\U0001e92c'
       || E'\U0001e92d\U0001e92e\U0001e92f\U0001e930\U0001e931\U0001e932\U0001e933\U0001e934'
       || E'\U0001e935\U0001e936\U0001e937\U0001e938\U0001e939\U0001e93a\U0001e93b\U0001e93c'
       || E'\U0001e93d\U0001e93e\U0001e93f\U0001e940\U0001e941\U0001e942\U0001e943'::text AS letters,
       E'\u0041\u0042\u0043\u0044\u0045\u0046\u0047\u0048\u0049\u004a\u004b\u004c\u004d\u004e'
       || E'\u004f\u0050\u0051\u0052\u0053\u0054\u0055\u0056\u0057\u0058\u0059\u005a\u039c\u00c0'
       || E'\u00c1\u00c2\u00c3\u00c4\u00c5\u00c6\u00c7\u00c8\u00c9\u00ca\u00cb\u00cc\u00cd\u00ce'
       || E'\u00cf\u00d0\u00d1\u00d2\u00d3\u00d4\u00d5\u00d6\u00d8\u00d9\u00da\u00db\u00dc\u00dd'
       || E'\u00de\u0178\u0100\u0102\u0104\u0106\u0108\u010a\u010c\u010e\u0110\u0112\u0114\u0116'
       || E'\u0118\u011a\u011c\u011e\u0120\u0122\u0124\u0126\u0128\u012a\u012c\u012e\u0049\u0132'
       || E'\u0134\u0136\u0139\u013b\u013d\u013f\u0141\u0143\u0145\u0147\u014a\u014c\u014e\u0150'
       || E'\u0152\u0154\u0156\u0158\u015a\u015c\u015e\u0160\u0162\u0164\u0166\u0168\u016a\u016c'
       || E'\u016e\u0170\u0172\u0174\u0176\u0179\u017b\u017d\u0053\u0243\u0182\u0184\u0187\u018b'
       || E'\u0191\u01f6\u0198\u023d\u0220\u01a0\u01a2\u01a4\u01a7\u01ac\u01af\u01b3\u01b5\u01b8'
       || E'\u01bc\u01f7\u01c4\u01c4\u01c7\u01c7\u01ca\u01ca\u01cd\u01cf\u01d1\u01d3\u01d5\u01d7'
       || E'\u01d9\u01db\u018e\u01de\u01e0\u01e2\u01e4\u01e6\u01e8\u01ea\u01ec\u01ee\u01f1\u01f1'
       || E'\u01f4\u01f8\u01fa\u01fc\u01fe\u0200\u0202\u0204\u0206\u0208\u020a\u020c\u020e\u0210'
       || E'\u0212\u0214\u0216\u0218\u021a\u021c\u021e\u0222\u0224\u0226\u0228\u022a\u022c\u022e'
       || E'\u0230\u0232\u023b\u2c7e\u2c7f\u0241\u0246\u0248\u024a\u024c\u024e\u2c6f\u2c6d\u2c70'
       || E'\u0181\u0186\u0189\u018a\u018f\u0190\ua7ab\u0193\ua7ac\u0194\ua78d\ua7aa\u0197\u0196'
       || E'\ua7ae\u2c62\ua7ad\u019c\u2c6e\u019d\u019f\u2c64\u01a6\ua7c5\u01a9\ua7b1\u01ae\u0244'
       || E'\u01b1\u01b2\u0245\u01b7\ua7b2\ua7b0\u0399\u0370\u0372\u0376\u03fd\u03fe\u03ff\u0386'
       || E'\u0388\u0389\u038a\u0391\u0392\u0393\u0394\u0395\u0396\u0397\u0398\u0399\u039a\u039b'
       || E'\u039c\u039d\u039e\u039f\u03a0\u03a1\u03a3\u03a3\u03a4\u03a5\u03a6\u03a7\u03a8\u03a9'
       || E'\u03aa\u03ab\u038c\u038e\u038f\u0392\u0398\u03a6\u03a0\u03cf\u03d8\u03da\u03dc\u03de'
       || E'\u03e0\u03e2\u03e4\u03e6\u03e8\u03ea\u03ec\u03ee\u039a\u03a1\u03f9\u037f\u0398\u0395'
       || E'\u03f7\u03fa\u0410\u0411\u0412\u0413\u0414\u0415\u0416\u0417\u0418\u0419\u041a\u041b'
       || E'\u041c\u041d\u041e\u041f\u0420\u0421\u0422\u0423\u0424\u0425\u0426\u0427\u0428\u0429'
       || E'\u042a\u042b\u042c\u042d\u042e\u042f\u0400\u0401\u0402\u0403\u0404\u0405\u0406\u0407'
       || E'\u0408\u0409\u040a\u040b\u040c\u040d\u040e\u040f\u0460\u0462\u0464\u0466\u0468\u046a'
       || E'\u046c\u046e\u0470\u0472\u0474\u0476\u0478\u047a\u047c\u047e\u0480\u048a\u048c\u048e'
       || E'\u0490\u0492\u0494\u0496\u0498\u049a\u049c\u049e\u04a0\u04a2\u04a4\u04a6\u04a8\u04aa'
       || E'\u04ac\u04ae\u04b0\u04b2\u04b4\u04b6\u04b8\u04ba\u04bc\u04be\u04c1\u04c3\u04c5\u04c7'
       || E'\u04c9\u04cb\u04cd\u04c0\u04d0\u04d2\u04d4\u04d6\u04d8\u04da\u04dc\u04de\u04e0\u04e2'
       || E'\u04e4\u04e6\u04e8\u04ea\u04ec\u04ee\u04f0\u04f2\u04f4\u04f6\u04f8\u04fa\u04fc\u04fe'
       || E'\u0500\u0502\u0504\u0506\u0508\u050a\u050c\u050e\u0510\u0512\u0514\u0516\u0518\u051a'
       || E'\u051c\u051e\u0520\u0522\u0524\u0526\u0528\u052a\u052c\u052e\u0531\u0532\u0533\u0534'
       || E'\u0535\u0536\u0537\u0538\u0539\u053a\u053b\u053c\u053d\u053e\u053f\u0540\u0541\u0542'
       || E'\u0543\u0544\u0545\u0546\u0547\u0548\u0549\u054a\u054b\u054c\u054d\u054e\u054f\u0550'
       || E'\u0551\u0552\u0553\u0554\u0555\u0556\u1c90\u1c91\u1c92\u1c93\u1c94\u1c95\u1c96\u1c97'
       || E'\u1c98\u1c99\u1c9a\u1c9b\u1c9c\u1c9d\u1c9e\u1c9f\u1ca0\u1ca1\u1ca2\u1ca3\u1ca4\u1ca5'
       || E'\u1ca6\u1ca7\u1ca8\u1ca9\u1caa\u1cab\u1cac\u1cad\u1cae\u1caf\u1cb0\u1cb1\u1cb2\u1cb3'
       || E'\u1cb4\u1cb5\u1cb6\u1cb7\u1cb8\u1cb9\u1cba\u1cbd\u1cbe\u1cbf\u13f0\u13f1\u13f2\u13f3'
       || E'\u13f4\u13f5\u0412\u0414\u041e\u0421\u0422\u0422\u042a\u0462\ua64a\ua77d\u2c63\ua7c6'
       || E'\u1e00\u1e02\u1e04\u1e06\u1e08\u1e0a\u1e0c\u1e0e\u1e10\u1e12\u1e14\u1e16\u1e18\u1e1a'
       || E'\u1e1c\u1e1e\u1e20\u1e22\u1e24\u1e26\u1e28\u1e2a\u1e2c\u1e2e\u1e30\u1e32\u1e34\u1e36'
       || E'\u1e38\u1e3a\u1e3c\u1e3e\u1e40\u1e42\u1e44\u1e46\u1e48\u1e4a\u1e4c\u1e4e\u1e50\u1e52'
       || E'\u1e54\u1e56\u1e58\u1e5a\u1e5c\u1e5e\u1e60\u1e62\u1e64\u1e66\u1e68\u1e6a\u1e6c\u1e6e'
       || E'\u1e70\u1e72\u1e74\u1e76\u1e78\u1e7a\u1e7c\u1e7e\u1e80\u1e82\u1e84\u1e86\u1e88\u1e8a'
       || E'\u1e8c\u1e8e\u1e90\u1e92\u1e94\u1e60\u1ea0\u1ea2\u1ea4\u1ea6\u1ea8\u1eaa\u1eac\u1eae'
       || E'\u1eb0\u1eb2\u1eb4\u1eb6\u1eb8\u1eba\u1ebc\u1ebe\u1ec0\u1ec2\u1ec4\u1ec6\u1ec8\u1eca'
       || E'\u1ecc\u1ece\u1ed0\u1ed2\u1ed4\u1ed6\u1ed8\u1eda\u1edc\u1ede\u1ee0\u1ee2\u1ee4\u1ee6'
       || E'\u1ee8\u1eea\u1eec\u1eee\u1ef0\u1ef2\u1ef4\u1ef6\u1ef8\u1efa\u1efc\u1efe\u1f08\u1f09'
       || E'\u1f0a\u1f0b\u1f0c\u1f0d\u1f0e\u1f0f\u1f18\u1f19\u1f1a\u1f1b\u1f1c\u1f1d\u1f28\u1f29'
       || E'\u1f2a\u1f2b\u1f2c\u1f2d\u1f2e\u1f2f\u1f38\u1f39\u1f3a\u1f3b\u1f3c\u1f3d\u1f3e\u1f3f'
       || E'\u1f48\u1f49\u1f4a\u1f4b\u1f4c\u1f4d\u1f59\u1f5b\u1f5d\u1f5f\u1f68\u1f69\u1f6a\u1f6b'
       || E'\u1f6c\u1f6d\u1f6e\u1f6f\u1fba\u1fbb\u1fc8\u1fc9\u1fca\u1fcb\u1fda\u1fdb\u1ff8\u1ff9'
       || E'\u1fea\u1feb\u1ffa\u1ffb\u1fb8\u1fb9\u0399\u1fd8\u1fd9\u1fe8\u1fe9\u1fec\u03a9\u004b'
       || E'\u00c5\u2132\u2160\u2161\u2162\u2163\u2164\u2165\u2166\u2167\u2168\u2169\u216a\u216b'
       || E'\u216c\u216d\u216e\u216f\u2183\u24b6\u24b7\u24b8\u24b9\u24ba\u24bb\u24bc\u24bd\u24be'
       || E'\u24bf\u24c0\u24c1\u24c2\u24c3\u24c4\u24c5\u24c6\u24c7\u24c8\u24c9\u24ca\u24cb\u24cc'
       || E'\u24cd\u24ce\u24cf\u2c00\u2c01\u2c02\u2c03\u2c04\u2c05\u2c06\u2c07\u2c08\u2c09\u2c0a'
       || E'\u2c0b\u2c0c\u2c0d\u2c0e\u2c0f\u2c10\u2c11\u2c12\u2c13\u2c14\u2c15\u2c16\u2c17\u2c18'
       || E'\u2c19\u2c1a\u2c1b\u2c1c\u2c1d\u2c1e\u2c1f\u2c20\u2c21\u2c22\u2c23\u2c24\u2c25\u2c26'
       || E'\u2c27\u2c28\u2c29\u2c2a\u2c2b\u2c2c\u2c2d\u2c2e\u2c2f\u2c60\u023a\u023e\u2c67\u2c69'
       || E'\u2c6b\u2c72\u2c75\u2c80\u2c82\u2c84\u2c86\u2c88\u2c8a\u2c8c\u2c8e\u2c90\u2c92\u2c94'
       || E'\u2c96\u2c98\u2c9a\u2c9c\u2c9e\u2ca0\u2ca2\u2ca4\u2ca6\u2ca8\u2caa\u2cac\u2cae\u2cb0'
       || E'\u2cb2\u2cb4\u2cb6\u2cb8\u2cba\u2cbc\u2cbe\u2cc0\u2cc2\u2cc4\u2cc6\u2cc8\u2cca\u2ccc'
       || E'\u2cce\u2cd0\u2cd2\u2cd4\u2cd6\u2cd8\u2cda\u2cdc\u2cde\u2ce0\u2ce2\u2ceb\u2ced\u2cf2'
       || E'\u10a0\u10a1\u10a2\u10a3\u10a4\u10a5\u10a6\u10a7\u10a8\u10a9\u10aa\u10ab\u10ac\u10ad'
       || E'\u10ae\u10af\u10b0\u10b1\u10b2\u10b3\u10b4\u10b5\u10b6\u10b7\u10b8\u10b9\u10ba\u10bb'
       || E'\u10bc\u10bd\u10be\u10bf\u10c0\u10c1\u10c2\u10c3\u10c4\u10c5\u10c7\u10cd\ua640\ua642'
       || E'\ua644\ua646\ua648\ua64a\ua64c\ua64e\ua650\ua652\ua654\ua656\ua658\ua65a\ua65c\ua65e'
       || E'\ua660\ua662\ua664\ua666\ua668\ua66a\ua66c\ua680\ua682\ua684\ua686\ua688\ua68a\ua68c'
       || E'\ua68e\ua690\ua692\ua694\ua696\ua698\ua69a\ua722\ua724\ua726\ua728\ua72a\ua72c\ua72e'
       || E'\ua732\ua734\ua736\ua738\ua73a\ua73c\ua73e\ua740\ua742\ua744\ua746\ua748\ua74a\ua74c'
       || E'\ua74e\ua750\ua752\ua754\ua756\ua758\ua75a\ua75c\ua75e\ua760\ua762\ua764\ua766\ua768'
       || E'\ua76a\ua76c\ua76e\ua779\ua77b\ua77e\ua780\ua782\ua784\ua786\ua78b\ua790\ua792\ua7c4'
       || E'\ua796\ua798\ua79a\ua79c\ua79e\ua7a0\ua7a2\ua7a4\ua7a6\ua7a8\ua7b4\ua7b6\ua7b8\ua7ba'
       || E'\ua7bc\ua7be\ua7c0\ua7c2\ua7c7\ua7c9\ua7d0\ua7d6\ua7d8\ua7f5\ua7b3\u13a0\u13a1\u13a2'
       || E'\u13a3\u13a4\u13a5\u13a6\u13a7\u13a8\u13a9\u13aa\u13ab\u13ac\u13ad\u13ae\u13af\u13b0'
       || E'\u13b1\u13b2\u13b3\u13b4\u13b5\u13b6\u13b7\u13b8\u13b9\u13ba\u13bb\u13bc\u13bd\u13be'
       || E'\u13bf\u13c0\u13c1\u13c2\u13c3\u13c4\u13c5\u13c6\u13c7\u13c8\u13c9\u13ca\u13cb\u13cc'
       || E'\u13cd\u13ce\u13cf\u13d0\u13d1\u13d2\u13d3\u13d4\u13d5\u13d6\u13d7\u13d8\u13d9\u13da'
       || E'\u13db\u13dc\u13dd\u13de\u13df\u13e0\u13e1\u13e2\u13e3\u13e4\u13e5\u13e6\u13e7\u13e8'
       || E'\u13e9\u13ea\u13eb\u13ec\u13ed\u13ee\u13ef\uff21\uff22\uff23\uff24\uff25\uff26\uff27'
       || E'\uff28\uff29\uff2a\uff2b\uff2c\uff2d\uff2e\uff2f\uff30\uff31\uff32\uff33\uff34\uff35'
       || E'\uff36\uff37\uff38\uff39\uff3a\U00010400\U00010401\U00010402\U00010403\U00010404'
       || E'\U00010405\U00010406\U00010407\U00010408\U00010409\U0001040a\U0001040b\U0001040c'
       || E'\U0001040d\U0001040e\U0001040f\U00010410\U00010411\U00010412\U00010413\U00010414'
       || E'\U00010415\U00010416\U00010417\U00010418\U00010419\U0001041a\U0001041b\U0001041c'
       || E'\U0001041d\U0001041e\U0001041f\U00010420\U00010421\U00010422\U00010423\U00010424'
       || E'\U00010425\U00010426\U00010427\U000104b0\U000104b1\U000104b2\U000104b3\U000104b4'
       || E'\U000104b5\U000104b6\U000104b7\U000104b8\U000104b9\U000104ba\U000104bb\U000104bc'
       || E'\U000104bd\U000104be\U000104bf\U000104c0\U000104c1\U000104c2\U000104c3\U000104c4'
       || E'\U000104c5\U000104c6\U000104c7\U000104c8\U000104c9\U000104ca\U000104cb\U000104cc'
       || E'\U000104cd\U000104ce\U000104cf\U000104d0\U000104d1\U000104d2\U000104d3\U00010570'
       || E'\U00010571\U00010572\U00010573\U00010574\U00010575\U00010576\U00010577\U00010578'
       || E'\U00010579\U0001057a\U0001057c\U0001057d\U0001057e\U0001057f\U00010580\U00010581'
       || E'\U00010582\U00010583\U00010584\U00010585\U00010586\U00010587\U00010588\U00010589'
       || E'\U0001058a\U0001058c\U0001058d\U0001058e\U0001058f\U00010590\U00010591\U00010592'
       || E'\U00010594\U00010595\U00010c80\U00010c81\U00010c82\U00010c83\U00010c84\U00010c85'
       || E'\U00010c86\U00010c87\U00010c88\U00010c89\U00010c8a\U00010c8b\U00010c8c\U00010c8d'
       || E'\U00010c8e\U00010c8f\U00010c90\U00010c91\U00010c92\U00010c93\U00010c94\U00010c95'
       || E'\U00010c96\U00010c97\U00010c98\U00010c99\U00010c9a\U00010c9b\U00010c9c\U00010c9d'
       || E'\U00010c9e\U00010c9f\U00010ca0\U00010ca1\U00010ca2\U00010ca3\U00010ca4\U00010ca5'
       || E'\U00010ca6\U00010ca7\U00010ca8\U00010ca9\U00010caa\U00010cab\U00010cac\U00010cad'
       || E'\U00010cae\U00010caf\U00010cb0\U00010cb1\U00010cb2\U000118a0\U000118a1\U000118a2'
       || E'\U000118a3\U000118a4\U000118a5\U000118a6\U000118a7\U000118a8\U000118a9\U000118aa'
       || E'\U000118ab\U000118ac\U000118ad\U000118ae\U000118af\U000118b0\U000118b1\U000118b2'
       || E'\U000118b3\U000118b4\U000118b5\U000118b6\U000118b7\U000118b8\U000118b9\U000118ba'
       || E'\U000118bb\U000118bc\U000118bd\U000118be\U000118bf\U00016e40\U00016e41\U00016e42'
       || E'\U00016e43\U00016e44\U00016e45\U00016e46\U00016e47\U00016e48\U00016e49\U00016e4a'
       || E'\U00016e4b\U00016e4c\U00016e4d\U00016e4e\U00016e4f\U00016e50\U00016e51\U00016e52'
       || E'\U00016e53\U00016e54\U00016e55\U00016e56\U00016e57\U00016e58\U00016e59\U00016e5a'
       || E'\U00016e5b\U00016e5c\U00016e5d\U00016e5e\U00016e5f\U0001e900\U0001e901\U0001e902'
       || E'\U0001e903\U0001e904\U0001e905\U0001e906\U0001e907\U0001e908\U0001e909\U0001e90a'
       || E'\U0001e90b\U0001e90c\U0001e90d\U0001e90e\U0001e90f\U0001e910\U0001e911\U0001e912'
       || E'\U0001e913\U0001e914\U0001e915\U0001e916\U0001e917\U0001e918\U0001e919\U0001e91a'
       || E'\U0001e91b\U0001e91c\U0001e91d\U0001e91e\U0001e91f\U0001e920\U0001e921'::text AS upper_cased;
CREATE TEMPORARY TABLE upper_case_expanding (letter text PRIMARY KEY, upper_cased text NOT NULL)
ON COMMIT DROP;
INSERT INTO upper_case_expanding VALUES
    (E'\u00df', E'\u0053\u0053'),
    (E'\u0130', E'\u0049\u0307'),
    (E'\u0149', E'\u02bc\u004e'),
    (E'\u01f0', E'\u004a\u030c'),
    (E'\u0390', E'\u0399\u0308\u0301'),
    (E'\u03b0', E'\u03a5\u0308\u0301'),
    (E'\u0587', E'\u0535\u0552'),
    (E'\u1e96', E'\u0048\u0331'),
    (E'\u1e97', E'\u0054\u0308'),
    (E'\u1e98', E'\u0057\u030a'),
    (E'\u1e99', E'\u0059\u030a'),
    (E'\u1e9a', E'\u0041\u02be'),
    (E'\u1e9e', E'\u0053\u0053'),
    (E'\u1f50', E'\u03a5\u0313'),
    (E'\u1f52', E'\u03a5\u0313\u0300'),
    (E'\u1f54', E'\u03a5\u0313\u0301'),
    (E'\u1f56', E'\u03a5\u0313\u0342'),
    (E'\u1f80', E'\u1f08\u0399'),
    (E'\u1f81', E'\u1f09\u0399'),
    (E'\u1f82', E'\u1f0a\u0399'),
    (E'\u1f83', E'\u1f0b\u0399'),
    (E'\u1f84', E'\u1f0c\u0399'),
    (E'\u1f85', E'\u1f0d\u0399'),
    (E'\u1f86', E'\u1f0e\u0399'),
    (E'\u1f87', E'\u1f0f\u0399'),
    (E'\u1f88', E'\u1f08\u0399'),
    (E'\u1f89', E'\u1f09\u0399'),
    (E'\u1f8a', E'\u1f0a\u0399'),
    (E'\u1f8b', E'\u1f0b\u0399'),
    (E'\u1f8c', E'\u1f0c\u0399'),
    (E'\u1f8d', E'\u1f0d\u0399'),
    (E'\u1f8e', E'\u1f0e\u0399'),
    (E'\u1f8f', E'\u1f0f\u0399'),
    (E'\u1f90', E'\u1f28\u0399'),
    (E'\u1f91', E'\u1f29\u0399'),
    (E'\u1f92', E'\u1f2a\u0399'),
    (E'\u1f93', E'\u1f2b\u0399'),
    (E'\u1f94', E'\u1f2c\u0399'),
    (E'\u1f95', E'\u1f2d\u0399'),
    (E'\u1f96', E'\u1f2e\u0399'),
    (E'\u1f97', E'\u1f2f\u0399'),
    (E'\u1f98', E'\u1f28\u0399'),
    (E'\u1f99', E'\u1f29\u0399'),
    (E'\u1f9a', E'\u1f2a\u0399'),
    (E'\u1f9b', E'\u1f2b\u0399'),
    (E'\u1f9c', E'\u1f2c\u0399'),
    (E'\u1f9d', E'\u1f2d\u0399'),
    (E'\u1f9e', E'\u1f2e\u0399'),
    (E'\u1f9f', E'\u1f2f\u0399'),
    (E'\u1fa0', E'\u1f68\u0399'),
    (E'\u1fa1', E'\u1f69\u0399'),
    (E'\u1fa2', E'\u1f6a\u0399'),
    (E'\u1fa3', E'\u1f6b\u0399'),
    (E'\u1fa4', E'\u1f6c\u0399'),
    (E'\u1fa5', E'\u1f6d\u0399'),
    (E'\u1fa6', E'\u1f6e\u0399'),
    (E'\u1fa7', E'\u1f6f\u0399'),
    (E'\u1fa8', E'\u1f68\u0399'),
    (E'\u1fa9', E'\u1f69\u0399'),
    (E'\u1faa', E'\u1f6a\u0399'),
    (E'\u1fab', E'\u1f6b\u0399'),
    (E'\u1fac', E'\u1f6c\u0399'),
    (E'\u1fad', E'\u1f6d\u0399'),
    (E'\u1fae', E'\u1f6e\u0399'),
    (E'\u1faf', E'\u1f6f\u0399'),
    (E'\u1fb2', E'\u1fba\u0399'),
    (E'\u1fb3', E'\u0391\u0399'),
    (E'\u1fb4', E'\u0386\u0399'),
    (E'\u1fb6', E'\u0391\u0342'),
    (E'\u1fb7', E'\u0391\u0342\u0399'),
    (E'\u1fbc', E'\u0391\u0399'),
    (E'\u1fc2', E'\u1fca\u0399'),
    (E'\u1fc3', E'\u0397\u0399'),
    (E'\u1fc4', E'\u0389\u0399'),
    (E'\u1fc6', E'\u0397\u0342'),
    (E'\u1fc7', E'\u0397\u0342\u0399'),
    (E'\u1fcc', E'\u0397\u0399'),
    (E'\u1fd2', E'\u0399\u0308\u0300'),
    (E'\u1fd3', E'\u0399\u0308\u0301'),
    (E'\u1fd6', E'\u0399\u0342'),
    (E'\u1fd7', E'\u0399\u0308\u0342'),
    (E'\u1fe2', E'\u03a5\u0308\u0300'),
    (E'\u1fe3', E'\u03a5\u0308\u0301'),
    (E'\u1fe4', E'\u03a1\u0313'),
    (E'\u1fe6', E'\u03a5\u0342'),
    (E'\u1fe7', E'\u03a5\u0308\u0342'),
    (E'\u1ff2', E'\u1ffa\u0399'),
    (E'\u1ff3', E'\u03a9\u0399'),
    (E'\u1ff4', E'\u038f\u0399'),
    (E'\u1ff6', E'\u03a9\u0342'),
    (E'\u1ff7', E'\u03a9\u0342\u0399'),
    (E'\u1ffc', E'\u03a9\u0399'),
    (E'\ufb00', E'\u0046\u0046'),
    (E'\ufb01', E'\u0046\u0049'),
    (E'\ufb02', E'\u0046\u004c'),
    (E'\ufb03', E'\u0046\u0046\u0049'),
    (E'\ufb04', E'\u0046\u0046\u004c'),
    (E'\ufb05', E'\u0053\u0054'),
    (E'\ufb06', E'\u0053\u0054'),
    (E'\ufb13', E'\u0544\u0546'),
    (E'\ufb14', E'\u0544\u0535'),
    (E'\ufb15', E'\u0544\u053b'),
    (E'\ufb16', E'\u054e\u0546'),
    (E'\ufb17', E'\u0544\u053d');

-- service.domain.registrations._fold: NFKC, case folded then upper case, separators dropped,
-- NFKC again.
CREATE FUNCTION pg_temp.registration_fold(number text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    expanding record;
    folded text := normalize(number, NFKC);
BEGIN
    FOR expanding IN SELECT * FROM upper_case_expanding
                     WHERE strpos(folded, letter) > 0 LOOP
        folded := replace(folded, expanding.letter, expanding.upper_cased);
    END LOOP;
    folded := translate(folded, (SELECT letters FROM upper_case),
                        (SELECT upper_cased FROM upper_case));
    RETURN normalize(
        translate(folded,
                  -- service.domain.registrations.SEPARATORS
                  E' \t\n\x0b\f\r\x1c\x1d\x1e\x1f\u0085\u1680\u2028\u2029'
                  || E'-\u2010\u2011\u2012\u2013\u2014\u2015\u2212./',
                  ''),
        NFKC);
END
$$;

CREATE FUNCTION pg_temp.registration_key(number text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    key text := pg_temp.registration_fold(number);
    again text;
BEGIN
    LOOP
        again := pg_temp.registration_fold(key);
        EXIT WHEN again = key;
        key := again;
    END LOOP;
    RETURN nullif(key, '');
END
$$;

DO $$
DECLARE
    party record;
    holder record;
    moved integer;
BEGIN
    -- 0006 keyed exactly the numbers that are ASCII once NFKC-normalised; a party of no key
    -- gave it up to an earlier one then, and stays so.
    CREATE TEMPORARY TABLE rekeyed_parties ON COMMIT DROP AS
    SELECT * FROM (
        SELECT id, recorded_at, country, registration_number, registration_number_key AS key,
               pg_temp.registration_key(registration_number) AS new_key,
               classification <> 'RESTRICTED' AS shared, recorded_by_agency_id AS agency_id,
               false AS done
        FROM parties
        WHERE registration_number_key IS NOT NULL
          AND normalize(registration_number, NFKC) !~ '^[\x01-\x7f]*$') AS keyed
    WHERE new_key IS DISTINCT FROM key;
    IF NOT EXISTS (SELECT FROM rekeyed_parties) THEN
        RETURN;
    END IF;
    ALTER TABLE parties DISABLE TRIGGER parties_append_only;
    LOOP
        moved := 0;
        FOR party IN SELECT * FROM rekeyed_parties WHERE NOT done ORDER BY recorded_at, id LOOP
            CONTINUE WHEN party.new_key IS NULL OR EXISTS (
                SELECT FROM parties p
                WHERE p.country = party.country AND p.registration_number_key = party.new_key
                  AND (p.recorded_by_agency_id = party.agency_id
                       OR (p.classification <> 'RESTRICTED' AND party.shared)));
            UPDATE parties SET registration_number_key = party.new_key WHERE id = party.id;
            UPDATE rekeyed_parties SET done = true WHERE id = party.id;
            moved := moved + 1;
        END LOOP;
        EXIT WHEN moved = 0;
    END LOOP;
    ALTER TABLE parties ENABLE TRIGGER parties_append_only;
    FOR party IN SELECT * FROM rekeyed_parties WHERE NOT done ORDER BY recorded_at, id LOOP
        SELECT id, registration_number INTO holder FROM parties p
        WHERE p.country = party.country AND p.registration_number_key = party.new_key
          AND (p.recorded_by_agency_id = party.agency_id
               OR (p.classification <> 'RESTRICTED' AND party.shared))
        ORDER BY p.recorded_at, p.id LIMIT 1;
        RAISE NOTICE 'party % (%, "%") keeps its registration number key %: party % ("%") holds the key the code gives it (%)',
            party.id, party.country, party.registration_number, party.key, holder.id,
            holder.registration_number, party.new_key;
    END LOOP;
END
$$;

DROP FUNCTION pg_temp.registration_key(text);
DROP FUNCTION pg_temp.registration_fold(text);
DROP FUNCTION pg_temp.refolded_manufacturer(text, text);
DROP FUNCTION pg_temp.refolded(text, text);
