"""openapi.yaml is a valid OpenAPI 3.1 document and tells the truth about the app."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

import jsonschema
import orjson
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from openapi_core.exceptions import OpenAPIError
from openapi_spec_validator import validate
from werkzeug.wrappers import Response

from service.domain import audit, certificates, matching, records, traces
from service.domain.manufacturers import Manufacturer
from service.repository.agencies import Agency, ApiKey
from service.repository.alerts import AlertEntry
from service.repository.imports import ImportRecord, ImportSummary
from service.repository.notifications import Notification
from service.repository.webhooks import Webhook
from service.schemas import admin as admin_schemas
from service.schemas import fields
from service.schemas import imports as import_schemas
from service.schemas import registry as schemas
from service.schemas import traces as trace_schemas
from tests.contract import check_against_contract
from tests.paths import ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
COMPONENTS = SPEC["components"]["schemas"]


def test_it_is_a_valid_openapi_3_1_document() -> None:
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_its_paths_are_the_apps_routes(app: Flask) -> None:
    in_app = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    in_spec = {
        (path, method)
        for path, operations in SPEC["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert in_spec == in_app


def test_the_app_serves_this_document(client: FlaskClient) -> None:
    response = client.get("/openapi.yaml")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == (ROOT / "openapi.yaml").read_text()


def _properties(name: str) -> set[str]:
    """Property names of a component, following allOf."""
    schema = COMPONENTS[name]
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            names |= _properties(part["$ref"].rsplit("/", 1)[1])
        names |= set(part.get("properties", {}))
    return names


INPUT_SCHEMAS = pytest.mark.parametrize(
    ("schema", "component"),
    [
        (schemas.PartyIn, "PartyCreate"),
        (schemas.ItemIn, "ItemCreate"),
        (schemas.ImportMarkingIn, "ImportMarking"),
        (schemas.EucIn, "EucCreate"),
        (schemas.EucLineIn, "EucLineCreate"),
        (schemas.EventIn, "EventCreate"),
        (schemas.CorrectionIn, "Correction"),
        (schemas.ErrorDeclarationIn, "ErrorDeclarationCreate"),
        (trace_schemas.ObservedWeaponIn, "ObservedWeapon"),
        (trace_schemas.TraceContextIn, "TraceContext"),
        (trace_schemas.TraceIn, "TraceCreate"),
        (trace_schemas.TraceBatchIn, "TraceBatchCreate"),
        (schemas.RevocationIn, "RevocationCreate"),
        (schemas.RevocationWithdrawalIn, "RevocationWithdrawalCreate"),
        (schemas.ConsentWithdrawalIn, "ConsentWithdrawalCreate"),
        (schemas.ConsentIn, "ConsentCreate"),
        (schemas.DeliveryVerificationIn, "DeliveryVerificationCreate"),
        (schemas.PartyVerificationIn, "PartyVerificationCreate"),
        (trace_schemas.WebhookIn, "WebhookCreate"),
        (admin_schemas.AgencyIn, "AgencyCreate"),
        (admin_schemas.KeyIn, "ApiKeyCreate"),
        (admin_schemas.KeyRevocationIn, "ApiKeyRevocationCreate"),
    ],
)


@INPUT_SCHEMAS
def test_request_bodies_have_the_input_schemas_fields(schema: type[Schema], component: str) -> None:
    assert set(schema().fields) == _properties(component)


def _property(component: str, name: str) -> dict[str, Any] | None:
    """A component's property schema, following allOf."""
    schema = COMPONENTS[component]
    if name in schema.get("properties", {}):
        found: dict[str, Any] = schema["properties"][name]
        return found
    for part in schema.get("allOf", []):
        inner = _property(part["$ref"].rsplit("/", 1)[1], name) if "$ref" in part else None
        if inner is not None:
            return inner
    return None


# Texts that one text rule or another refuses: a soft hyphen and a right-to-left override
# (ShownText's format characters), a line break and a tab (one line), a direction mark (kept).
_TEXT_PROBES = ("A\u00adB", "A\u202eB", "A\nB", "A\tB", "A\u200fB", "A B")


@INPUT_SCHEMAS
def test_request_bodies_take_the_texts_their_fields_take(
    schema: type[Schema], component: str
) -> None:
    """Found by fuzzing: a party's registration_number was declared plain text on one line,
    where the service holds it to ShownText's rule and refused a soft hyphen the document
    allowed. Every text field of an input schema takes what its property's schema takes."""
    for name, field in schema().fields.items():
        if not isinstance(field, fields.Text):
            continue
        declared = _property(component, name)
        assert declared is not None, name
        validator = jsonschema.Draft202012Validator({**declared, "components": SPEC["components"]})
        for probe in _TEXT_PROBES:
            assert validator.is_valid(probe) == _takes(field, probe), (name, probe)


@pytest.mark.parametrize(
    ("record", "component"),
    [
        (records.Party, "Party"),
        (records.RestrictedPartyRef, "PartyRef"),
        (records.RedactedParty, "RedactedParty"),
        (records.RedactedEvent, "RedactedEvent"),
        (records.AgencyRef, "AgencyRef"),
        (records.Item, "Item"),
        (records.EndUserCertificate, "EndUserCertificate"),
        (records.EucLineItem, "EucLineItem"),
        (records.EucRef, "EucRef"),
        (records.ErrorDeclaration, "ErrorDeclaration"),
        (records.CustodyEvent, "CustodyEvent"),
        (records.EventRecord, "EventRecord"),
        (records.CustodyChain, "CustodyChain"),
        (traces.TraceAnswer, "TraceAnswer"),
        (traces.TraceCandidate, "TraceCandidate"),
        (traces.TraceSummary, "TraceSummary"),
        (traces.ManufacturerRef, "ManufacturerRef"),
        (matching.Difference, "Difference"),
        (Manufacturer, "Manufacturer"),
        (records.Finding, "Finding"),
        (records.PartyVerification, "PartyVerification"),
        (records.EucRevocation, "EucRevocation"),
        (records.RevocationWithdrawal, "RevocationWithdrawal"),
        (records.ReexportConsent, "ReexportConsent"),
        (records.ConsentWithdrawal, "ConsentWithdrawal"),
        (records.DeliveryVerification, "DeliveryVerification"),
        (certificates.Usage, "EucUsage"),
        (certificates.VerificationAnswer, "EucVerification"),
        (Notification, "Notification"),
        (Webhook, "Webhook"),
        (AlertEntry, "Alert"),
        (Agency, "Agency"),
        (ApiKey, "ApiKey"),
        (audit.AuditEntry, "AuditEntry"),
        (audit.Problem, "AuditProblem"),
        (audit.Head, "AuditHead"),
        (ImportRecord, "ImportRecord"),
        (ImportSummary, "ImportSummary"),
    ],
)
def test_responses_have_the_records_fields(record: type, component: str) -> None:
    # a field named with a leading underscore is not serialised (service.domain.records), and
    # the contract's additionalProperties: false holds every answer to it
    fields = {field.name for field in dataclasses.fields(record) if not field.name.startswith("_")}
    assert fields == _properties(component)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/v1/items", schemas.ItemQuery),
        ("/v1/traces", trace_schemas.TraceQuery),
        ("/v1/manufacturers", trace_schemas.ManufacturerQuery),
        ("/v1/notifications", trace_schemas.NotificationQuery),
        ("/v1/alerts", trace_schemas.AlertQuery),
        ("/v1/admin/agencies", admin_schemas.Page),
        ("/v1/admin/keys", admin_schemas.KeyQuery),
        ("/v1/admin/audit", admin_schemas.AuditQuery),
        ("/v1/imports", import_schemas.ImportListQuery),
    ],
)
def test_list_queries_match_the_query_schema(path: str, schema: type[Schema]) -> None:
    parameters = SPEC["paths"][path]["get"]["parameters"]
    names = {
        p["name"]
        if "name" in p
        else SPEC["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
        for p in parameters
    }
    assert names == set(schema().fields)


@pytest.mark.parametrize(
    ("record", "inline"),
    [
        (traces.ObservedWeapon, ("TraceAnswer", "weapon")),
        (traces.TraceContext, ("TraceAnswer", "context")),
        (traces.Interpretation, ("TraceAnswer", "interpretation")),
    ],
)
def test_records_described_inline_have_their_fields(record: type, inline: tuple[str, str]) -> None:
    component, field = inline
    described = set(COMPONENTS[component]["properties"][field]["properties"])
    assert {f.name for f in dataclasses.fields(record)} == described


class TestTheCheckerBites:
    """The contract check used by every API test must fail on a response that drifts."""

    PARTY: ClassVar[dict[str, Any]] = {
        "id": "01a20319-aa6e-7891-b470-36d4211e05e9",
        "name": "Arsenal",
        "kind": "MANUFACTURER",
        "country": "BE",
        "registration_number": None,
        "address": None,
        "classification": "UNRESTRICTED",
        "recorded_by": {"id": "01a20319-8b97-74fc-a381-6bd6c60fb547", "name": "Agency"},
        "recorded_at": "2026-11-22T11:52:23.404169Z",
        "verifications": [],
    }

    def respond(self, body: Any, status: int = 200, mimetype: str = "application/json") -> Any:
        return Response(orjson.dumps(body), status=status, mimetype=mimetype)

    def check(self, response: Response) -> None:
        check_against_contract("GET", f"/v1/parties/{self.PARTY['id']}", response)

    def test_a_faithful_response_passes(self) -> None:
        self.check(self.respond(self.PARTY))

    @pytest.mark.parametrize(
        "drifted",
        [
            {**PARTY, "secret_column": 1},
            {key: value for key, value in PARTY.items() if key != "address"},
            {**PARTY, "kind": "WARLORD"},
            {**PARTY, "country": "ZZ"},
            {**PARTY, "recorded_by": {**PARTY["recorded_by"], "key": "x"}},
            # a redacted party that lets its name slip through
            {
                "id": PARTY["id"],
                "classification": "RESTRICTED",
                "redacted": True,
                "recorded_by": PARTY["recorded_by"],
                "recorded_at": PARTY["recorded_at"],
                "name": "Arsenal",
            },
        ],
    )
    def test_a_drifted_body_fails(self, drifted: dict[str, Any]) -> None:
        with pytest.raises(OpenAPIError):
            self.check(self.respond(drifted))

    def test_an_undeclared_status_fails(self) -> None:
        with pytest.raises(OpenAPIError):
            self.check(self.respond(self.PARTY, status=418))

    def test_an_extra_field_deep_in_a_chain_fails(self) -> None:
        event = {
            "id": self.PARTY["id"], "event_type": "THEFT", "occurred_on": "2015-01-01",
            "country": "BE", "destination_country": None, "from_party": None,
            "to_party": None, "owner_party": None, "euc": None, "euc_line_number": None,
            "licence_number": None, "document_reference": None, "notes": None,
            "classification": "UNRESTRICTED", "recorded_by": self.PARTY["recorded_by"],
            "recorded_at": self.PARTY["recorded_at"],
            "error_declaration": None,
        }  # fmt: skip
        response = self.respond({**event, "item_ids": [], "leak": True})
        with pytest.raises(OpenAPIError):
            check_against_contract("GET", f"/v1/events/{self.PARTY['id']}", response)


def test_a_party_name_of_one_ascii_character_is_valid_in_the_document_as_in_the_service() -> None:
    """A fuzzer (schemathesis, ASCII) takes every string the document allows as one the service
    must accept: the document said nothing of the letter, number or symbol a name needs, and a
    name "*" that it allowed was refused with 400."""
    patterns = patterns_of(COMPONENTS["PartyName"])
    field = fields.PartyName(max_length=300)

    def accepted(text: str) -> bool:
        try:
            field.deserialize(text)
        except ValidationError:
            return False
        return True

    for character in map(chr, range(0x20, 0x7F)):
        allowed = all(re.search(pattern, character) for pattern in patterns)
        assert allowed == accepted(character), repr(character)


def patterns_of(schema: dict[str, Any]) -> list[str]:
    """Every pattern a string must match to be valid against the schema, through allOf and
    $ref."""
    if "$ref" in schema:
        return patterns_of(COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]])
    own = [schema["pattern"]] if "pattern" in schema else []
    return own + [pattern for part in schema.get("allOf", []) for pattern in patterns_of(part)]


# Characters where the one-line rule, the control-character rule, ShownText's format-character
# rule and the stripping of spaces meet.
_EDGES = st.sampled_from(
    [*"aZ9é-/ \t\n\r\x0b\x0c\x1c\x85\xa0\u00ad\u1680\u2000\u200b\u200e\u2028\u2029\u202e",
     *"\u3000\ufeff\ufdd0\ufffe\x00\x1f\x7f\x9f\u0661"]
)  # fmt: skip


def _takes(field: fields.Text, text: str) -> bool:
    try:
        field.deserialize(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "text", ["KG-1", "KG-1\n2", "\tKG-1\r\n", "KG\r1", "KG\t1", "K\u2028G", "\u2029KG", "K G"]
)
def test_the_one_line_pattern_takes_what_a_one_line_field_takes(text: str) -> None:
    """Line breaks and tabs at a value's ends are dropped with its spaces; within it, refused."""
    pattern = COMPONENTS["OneLineText"]["pattern"]

    assert bool(re.search(pattern, text)) == _takes(fields.Text(one_line=True), text)


@settings(max_examples=3000, deadline=None)
@given(st.text(_EDGES, max_size=6))
def test_the_one_line_patterns_say_in_one_what_their_two_rules_say(text: str) -> None:
    """One pattern per schema: schemathesis could not generate a batch of traces through a
    one-line pattern and Text's own in allOf, each filtering the other's strings
    (filter_too_much). The one pattern must still take exactly what the field takes, and
    ShownText's on one line exactly what ShownText's pattern and the one-line rule both take."""
    one_line = COMPONENTS["OneLineText"]["pattern"]
    shown_one_line = COMPONENTS["OneLineShownText"]["pattern"]
    shown = COMPONENTS["ShownText"]["pattern"]

    assert bool(re.search(one_line, text)) == _takes(fields.Text(one_line=True), text)
    assert bool(re.search(shown_one_line, text)) == (
        bool(re.search(shown, text)) and bool(re.search(one_line, text))
    )
