-- Version 12: the database records the Unicode version its keys were folded under.
--
-- Every lookup key is folded in Python (items.serial_norm, manufacturer_key and model_key, their
-- copy in item_serials, end_user_certificates.certificate_key, parties.registration_number_key,
-- manufacturer_aliases.alias_key: service.domain.serials, service.domain.registrations), by the
-- rules of the interpreter's unicodedata: Python 3.11 is Unicode 14.0.0, 3.12 is 15.0.0, 3.13 is
-- 15.1.0. A character assigned since folds otherwise (under 15.0.0, 4,387 characters fold to
-- another key than under 14.0.0: Unicode 15's Cyrillic modifier letters U+1E030... to their
-- letters where 14.0.0 dropped them, letters of new scripts kept where 14.0.0 dropped them as
-- unassigned), and a key folded under one version is silently missed by a lookup under another.
--
-- The table key_folding holds the version, one row per folding (the last is in force). This
-- migration records 14.0.0, the version every key so far was folded under: the service's image
-- is python:3.11, and migration 0010 wrote its folded letters as Python 3.11 folds them. A
-- database whose keys some process folded under a later Python (pyproject allowed one) holds
-- keys of both: `trace-registry db refold`, under the Python whose version is wanted, folds every
-- key again and records that version. From now on, every process that folds keys or compares
-- against them (the service, `worker`, `import`, `seed` and the other commands) refuses a
-- database whose version is not its interpreter's, naming both.
--
-- A new table, nothing else: no stored row changes.
CREATE TABLE key_folding (
    folding          integer PRIMARY KEY CHECK (folding > 0),
    unicode_version  text NOT NULL CHECK (unicode_version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    folded_at        timestamptz NOT NULL DEFAULT now()
);

INSERT INTO key_folding (folding, unicode_version) VALUES (1, '14.0.0');

GRANT SELECT ON key_folding TO trace_registry_service;
