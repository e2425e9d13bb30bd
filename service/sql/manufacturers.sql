-- name: directory
-- Every manufacturer with every name it goes by (a small reference table, read whole).
SELECT m.key, m.name, m.country, m.notes,
       array_agg(a.alias ORDER BY a.alias) AS aliases,
       array_agg(a.alias_key ORDER BY a.alias) AS alias_keys
FROM manufacturers m JOIN manufacturer_aliases a ON a.manufacturer_key = m.key
GROUP BY m.key
ORDER BY m.name;
