"""Agencies' names are unique as read (agencies_name_as_read): the database refuses a name that
differs from another only by direction marks or joiners, whoever writes it, and naming one agency
waits for no other."""

from __future__ import annotations

import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest
from psycopg import errors

from service.config import Settings
from service.db import Connection, connect
from service.domain.text import KEPT_FORMAT_CHARACTERS
from service.errors import Duplicate
from service.repository import agencies

NAME = "\u0634\u0631\u0637\u0629 \u062f\u0628\u064a"


@pytest.mark.parametrize("mark", sorted(KEPT_FORMAT_CHARACTERS))
def test_the_database_refuses_a_name_that_reads_as_another_s_whoever_writes_it(
    db: Connection, mark: str
) -> None:
    # a script's INSERT, which no advisory lock of the code's ever held back
    db.execute("INSERT INTO agencies (name) VALUES (%s)", [NAME])

    with pytest.raises(errors.UniqueViolation) as refused:
        db.execute("INSERT INTO agencies (name) VALUES (%s)", [NAME + mark])

    assert refused.value.diag.constraint_name == "agencies_name_as_read"


def test_naming_an_agency_waits_for_no_other_agency_named_in_a_transaction_still_open(
    db: Connection, settings: Settings
) -> None:
    # The advisory lock named agencies one at a time: a seed's transaction, holding it for
    # minutes, held every other agency's creation back.
    with connect(settings) as other, other.transaction():
        agencies.create_agency(other, "Customs Service", None)
        db.execute("SET lock_timeout = '2s'")

        created = agencies.create_agency(db, "Border Police", None)
        ensured, fresh = agencies.ensure_agency(db, "Coast Guard")

    assert created.name == "Border Police" and fresh and ensured.name == "Coast Guard"


@pytest.mark.parametrize("create", ["create_agency", "ensure_agency"])
def test_a_name_that_reads_as_one_being_named_at_once_is_refused_once_that_one_is_stored(
    db: Connection, settings: Settings, create: str
) -> None:
    with ThreadPoolExecutor(1) as pool, connect(settings) as first:
        with first.transaction():
            agencies.create_agency(first, NAME, None)
            second = pool.submit(
                lambda: (
                    agencies.create_agency(db, NAME + "\u200f", None)
                    if create == "create_agency"
                    else agencies.ensure_agency(db, NAME + "\u200f")
                )
            )
        with pytest.raises(Duplicate, match="reads as that of the agency"):
            second.result(timeout=10)

    assert db.execute("SELECT count(*) AS n FROM agencies").fetchone() == {"n": 1}


# "Bộ Công an" (Viet Nam's Ministry of Public Security): its ộ decomposed (o, dot below,
# circumflex) and half composed (ô, dot below), neither in NFC.
MINISTRY = "B\u1ed9 C\u00f4ng an"
NOT_NFC_TWINS = (unicodedata.normalize("NFD", MINISTRY), "B\u00f4\u0323 C\u00f4ng an")


@pytest.mark.parametrize("create", ["create_agency", "ensure_agency"])
def test_a_name_that_reads_as_twins_stored_only_outside_nfc_is_refused(
    db: Connection, create: str
) -> None:
    # Migration 0010 keeps twins that differ only in their normal form as they are: when no
    # member is in NFC, agencies_name_as_read (which compares names as stored) let a third in.
    for written in NOT_NFC_TWINS:
        assert not unicodedata.is_normalized("NFC", written)
        db.execute("INSERT INTO agencies (name) VALUES (%s)", [written])

    with pytest.raises(Duplicate, match="reads as that of the agency") as refused:
        if create == "create_agency":
            agencies.create_agency(db, MINISTRY, None)
        else:
            agencies.ensure_agency(db, MINISTRY)

    assert any(repr(twin) in str(refused.value) for twin in NOT_NFC_TWINS)
    assert db.execute("SELECT count(*) AS n FROM agencies").fetchone() == {"n": 2}
    assert agencies.find_agency_as_read(db, MINISTRY) is not None
