"""What a database's schema is, read from PostgreSQL's catalogue, so that two databases can be
compared: one migrated from an earlier version, one set up from today's schema.sql."""

from __future__ import annotations

from typing import Any

from service.db import Connection

# The schema's own objects: those an extension brought (pg_trgm's functions, say) are the
# extension's, and its name stands for them.
_NOT_FROM_AN_EXTENSION = """
NOT EXISTS (SELECT 1 FROM pg_depend d
            WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')
"""

_QUERIES = {
    "extensions": """
        SELECT extname, extversion, extnamespace::regnamespace::text FROM pg_extension
        ORDER BY 1""",
    "schema privileges": """
        SELECT nspowner::regrole::text, nspacl::text FROM pg_namespace WHERE nspname = 'public'""",
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.reloptions, c.relacl::text,
               c.relowner::regrole::text, c.relrowsecurity, c.relforcerowsecurity, c.relreplident
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind <> 'c'
          AND {relations_of_the_schema}
        ORDER BY 1""",
    # By name, not by position: ALTER TABLE ... ADD COLUMN can only add a column last, where
    # schema.sql may declare it elsewhere, and every statement of the service names its columns.
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity,
               a.attgenerated, a.attcompression, a.attcollation::regcollation::text,
               a.attacl::text, a.attstorage, a.attstattarget::text
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'p', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped AND {relations_of_the_schema}
        ORDER BY 1, 2""",
    "constraints": """
        SELECT coalesce(c.conrelid::regclass::text, c.contypid::regtype::text), c.conname,
               pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred
        FROM pg_constraint c
        WHERE c.connamespace = 'public'::regnamespace
        ORDER BY 1, 2""",
    "indexes": """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND {indexes_of_the_schema}
        ORDER BY 1""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
        ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid),
               p.proacl::text, p.proowner::regrole::text
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p', 'w')
          AND {functions_of_the_schema}
        ORDER BY 1, 2""",
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid)
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
        ORDER BY 1""",
    "types": """
        SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
               t.typdefault, t.typacl::text, t.typowner::regrole::text,
               (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
                FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels
        FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0
          AND t.typcategory <> 'A' AND {types_of_the_schema}
        ORDER BY 1""",
    # Rules other than a view's own (_RETURN): a DO INSTEAD rule changes what a statement does.
    "rules": """
        SELECT c.relname, r.rulename, pg_get_ruledef(r.oid), r.ev_enabled
        FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
        WHERE c.relnamespace = 'public'::regnamespace AND r.rulename <> '_RETURN'
        ORDER BY 1, 2""",
    "extended statistics": """
        SELECT s.stxname, s.stxrelid::regclass::text, pg_get_statisticsobjdef(s.oid)
        FROM pg_statistic_ext s
        WHERE s.stxnamespace = 'public'::regnamespace
        ORDER BY 1""",
    "policies": """
        SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies WHERE schemaname = 'public'
        ORDER BY 1, 2""",
    "reference data": """
        SELECT 'countries' AS reference, md5(string_agg(c::text, ',' ORDER BY c.code))
        FROM countries c
        UNION ALL
        SELECT 'manufacturers', md5(string_agg(m::text, ',' ORDER BY m.key)) FROM manufacturers m
        UNION ALL
        SELECT 'manufacturer_aliases',
               md5(string_agg(a::text, ',' ORDER BY a::text)) FROM manufacturer_aliases a""",
}
_PLACES = {
    "relations_of_the_schema": _NOT_FROM_AN_EXTENSION.format(catalog="pg_class", oid="c.oid"),
    "indexes_of_the_schema": _NOT_FROM_AN_EXTENSION.format(catalog="pg_class", oid="c.oid"),
    "functions_of_the_schema": _NOT_FROM_AN_EXTENSION.format(catalog="pg_proc", oid="p.oid"),
    "types_of_the_schema": _NOT_FROM_AN_EXTENSION.format(catalog="pg_type", oid="t.oid"),
}


def schema_of(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every object of the public schema, by kind, as rows of what defines it."""
    return {
        kind: [
            tuple(_hashable(value) for value in row.values())
            for row in conn.execute(query.format(**_PLACES)).fetchall()
        ]
        for kind, query in _QUERIES.items()
    }


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def differences(
    first: dict[str, list[tuple[Any, ...]]], second: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    """What one schema has that the other lacks, kind by kind, readable in a test's failure."""
    found = []
    for kind in first:
        only_first = sorted(set(first[kind]) - set(second[kind]), key=repr)
        only_second = sorted(set(second[kind]) - set(first[kind]), key=repr)
        found += [f"{kind}, only in the first: {row}" for row in only_first]
        found += [f"{kind}, only in the second: {row}" for row in only_second]
    return found
