"""Record parties, items, certificates and events through the API with sensible defaults, so
that each test states only what it is about."""

from __future__ import annotations

import itertools
from typing import Any

from tests.contract import ContractClient

_serials = itertools.count(100_001)


class RegistryBuilder:
    def __init__(self, api: ContractClient) -> None:
        self.api = api

    def party(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Arsenal Nord", "kind": "MANUFACTURER", "country": "BE", **fields}
        return self.api.created("/v1/parties", body)

    def item(self, **fields: Any) -> dict[str, Any]:
        body = {
            "manufacturer": "FN Herstal",
            "model": "FAL",
            "category": "RIFLE",
            "serial_number": f"FN-{next(_serials)}",
            **fields,
        }
        return self.api.created("/v1/items", body)

    def euc(
        self, exporter: dict[str, Any], end_user: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {
            "certificate_number": f"EUC/{next(_serials)}",
            "issuing_country": end_user["country"],
            "issuing_authority": "Ministry of Defence",
            "issued_on": "2010-03-01",
            "expires_on": "2012-03-01",
            "exporter_party_id": exporter["id"],
            "end_user_party_id": end_user["id"],
            "destination_country": end_user["country"],
            "stated_end_use": "Equipment of the national army",
            "non_reexport_clause": True,
            "line_items": [{"description": "Rifles", "category": "RIFLE", "quantity": 100}],
            **fields,
        }
        return self.api.created("/v1/eucs", body)

    def event(self, event_type: str, items: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        body = {
            "event_type": event_type,
            "occurred_on": "2010-05-02",
            "country": "BE",
            "item_ids": [item["id"] for item in items],
            **fields,
        }
        return self.api.created("/v1/events", body)

    def export(self) -> dict[str, Any]:
        """A maker's rifle exported to an army under a certificate's first line: an event with
        every reference it can carry set (parties, item, certificate, line)."""
        maker = self.party(name="Arsenal", kind="MANUFACTURER", country="BG")
        army = self.party(name="Army", kind="ARMED_FORCES", country="IQ")
        item = self.item()
        euc = self.euc(maker, army)
        return self.event(
            "EXPORT",
            [item],
            from_party_id=maker["id"],
            to_party_id=army["id"],
            owner_party_id=army["id"],
            destination_country="IQ",
            euc_id=euc["id"],
            euc_line_number=1,
        )
