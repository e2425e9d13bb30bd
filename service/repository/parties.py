"""Parties: manufacturers, exporters, importers, governments, forces, dealers, holders."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from service.db import Connection
from service.domain.inputs import NewParty, NewPartyVerification
from service.domain.records import Party, PartyVerification
from service.domain.registrations import registration_key
from service.repository.queries import load
from service.repository.rows import agency_from_json, agency_ref, timestamp

SQL = load("parties")


def insert(conn: Connection, agency_id: UUID, party: NewParty) -> Party:
    """Record a party; a registration number whose key another agency's unrestricted party, or
    one of the agency's own, holds in the country raises psycopg's UniqueViolation."""
    number = party.registration_number
    with conn.transaction():
        row = conn.execute(
            SQL["insert_party"],
            {
                "name": party.name,
                "kind": party.kind,
                "country": party.country,
                "registration_number": number,
                "registration_number_key": None if number is None else registration_key(number),
                "address": party.address,
                "classification": party.classification,
                "agency_id": agency_id,
            },
        ).fetchone()
        assert row is not None
        stored = get(conn, row["id"])
    assert stored is not None
    return stored


def get(conn: Connection, party_id: UUID) -> Party | None:
    row = conn.execute(SQL["get_party"], {"id": party_id}).fetchone()
    if row is None:
        return None
    return Party(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        country=row["country"],
        registration_number=row["registration_number"],
        address=row["address"],
        classification=row["classification"],
        recorded_by=agency_ref(row, "recorded_by"),
        recorded_at=row["recorded_at"],
        verifications=tuple(
            PartyVerification(
                id=UUID(document["id"]),
                verified_on=date.fromisoformat(document["verified_on"]),
                method=document["method"],
                notes=document["notes"],
                recorded_by=agency_from_json(document["recorded_by"]),
                recorded_at=timestamp(document["recorded_at"]),
            )
            for document in row["verifications"]
        ),
    )


def add_verification(
    conn: Connection, agency_id: UUID, party_id: UUID, verification: NewPartyVerification
) -> Party:
    """Record that an agency verified the party."""
    params = {"party_id": party_id, "agency_id": agency_id, **vars(verification)}
    conn.execute(SQL["insert_party_verification"], params)
    stored = get(conn, party_id)
    assert stored is not None
    return stored
