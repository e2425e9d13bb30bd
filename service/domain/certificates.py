"""End-user certificates: whether one is valid today, and how much of each line is used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.domain.records import AgencyRef, ShownParty
from service.domain.wording import counted
from service.errors import InvalidInput, PermissionDenied, StateConflict

STATUSES = ("VALID", "NOT_YET_ISSUED", "EXPIRED", "REVOKED")
# The most line items a certificate may have.
MAX_EUC_LINES = 200


def status_on(
    today: date, issued_on: date, expires_on: date | None, revoked_on: date | None
) -> str:
    """REVOKED once its revocation takes effect, NOT_YET_ISSUED before the day it was issued,
    EXPIRED after its last day, else VALID. A certificate may be recorded dated tomorrow (UTC:
    the issuing country's day may be ahead), and a shipment made today under it is
    EUC_NOT_YET_ISSUED: it read VALID to an officer verifying it all the same."""
    if revoked_on is not None and revoked_on <= today:
        return "REVOKED"
    if issued_on > today:
        return "NOT_YET_ISSUED"
    if expires_on is not None and expires_on < today:
        return "EXPIRED"
    return "VALID"


def check_recorder(recorded_by: AgencyRef, agency_id: UUID, act: str) -> None:
    """Refuse a revocation or a re-export consent by an agency other than the one that
    recorded the certificate: each changes the findings and the alert list of every
    agency, and that agency answers for the certificate's record. The refusal names it, which
    discloses nothing: a certificate carries no classification, and every agency reads its
    recorder."""
    if recorded_by.id != agency_id:
        raise PermissionDenied(
            f"only the agency that recorded this certificate ({recorded_by.name}) may {act}"
        )


def check_withdrawer(
    recorded_by: AgencyRef, agency_id: UUID, record: str, *, administrator: bool = False
) -> None:
    """Refuse the withdrawal of a revocation or a re-export consent (`record`, as the refusal
    names it) by an agency other than the one that recorded it, unless the caller administers
    the registry: an agency that has left, or a recorder that will not act on its own error,
    would otherwise leave a record everyone knows to be wrong standing in every agency's
    findings. An administrator's withdrawal of another agency's record is audited as such
    (service.api.eucs)."""
    if administrator or recorded_by.id == agency_id:
        return
    raise PermissionDenied(
        f"only the agency that recorded {record} ({recorded_by.name}), or an administrator, "
        "may withdraw it"
    )


@dataclass(frozen=True, slots=True)
class Verifiers:
    """Who may vouch that a certificate's goods reached its end user: the agency that recorded
    the certificate, and agencies of the importing state (the certificate's issuing and
    destination countries) or of the exporting state (its exporter's country, None when no
    exporter is named or the caller may not see it)."""

    recorded_by: AgencyRef
    issuing_country: str
    destination_country: str
    exporting_country: str | None


def check_verifier(verifiers: Verifiers, agency_id: UUID, agency_country: str | None) -> None:
    """Refuse a delivery verification by an agency that is neither the certificate's recorder
    nor of a state party to the transfer. Post-shipment verification is the exporting state's
    (an on-site check by its officials, or by others on its behalf: the agency that holds the
    certificate's record) or the importing state's (its authority's delivery verification
    certificate); a verification takes EUC_NOT_VERIFIED off every agency's chains, so recorded
    by a third state's agency it would vouch for a delivery nobody answerable checked. An agency
    with no country on record can be shown to be neither state's."""
    if agency_id == verifiers.recorded_by.id:
        return
    states = dict.fromkeys(
        country
        for country in (
            verifiers.issuing_country,
            verifiers.destination_country,
            verifiers.exporting_country,
        )
        if country is not None
    )
    if agency_country is not None and agency_country in states:
        return
    yours = f"this agency's is {agency_country}" if agency_country else "this agency has none"
    raise PermissionDenied(
        "a delivery verification is recorded by the agency that recorded this certificate "
        f"({verifiers.recorded_by.name}) or by an agency of the importing or exporting state "
        f"({', '.join(states)}) on record: {yours}"
    )


# Each date that a fact about a certificate carries, and the refusals of one dated before the
# certificate's issue: before the day it was issued, and before today for a certificate recorded
# as issued on a day still to come.
_DATED_AFTER_ISSUE = {
    "revoked_on": (
        "a certificate cannot be revoked before it was issued (on {issued})",
        "a certificate recorded as issued on {issued}, a day still to come, can be revoked "
        "from {today}, not before",
    ),
    "granted_on": (
        "a re-export consent cannot be granted before its certificate was issued (on {issued})",
        "a re-export consent under a certificate recorded as issued on {issued}, a day still "
        "to come, can be granted from {today}, not before",
    ),
    "verified_on": (
        "a delivery cannot be verified before its certificate was issued (on {issued})",
        "a delivery under a certificate recorded as issued on {issued}, a day still to come, "
        "can be verified from {today}, not before",
    ),
}


def check_after_issue(field: str, issued_on: date, on: date, today: date) -> None:
    """Refuse a revocation, re-export consent or delivery verification (`field` its date)
    dated before the certificate was issued, as a certificate may not expire before it is
    issued: a revocation would make every export under it read as made after it, and a consent
    or verification would vouch for shipments no certificate had authorised yet.

    A certificate recorded as issued after today (the registry refuses one now, but stored
    certificates from before that rule may say 9999-12-31) takes such facts from today: else no
    revocation could ever be dated late enough (none may be dated in the future), and it would
    read VALID for good."""
    if on >= min(issued_on, today):
        return
    before, still_to_come = _DATED_AFTER_ISSUE[field]
    template = still_to_come if issued_on > today else before
    detail = template.format(issued=issued_on, today=today)
    raise InvalidInput.for_field("body", field, detail)


def check_consent_before_revocation(granted_on: date, revoked_on: date | None) -> None:
    """Refuse a re-export consent granted on or after the day the certificate's standing
    revocation takes effect: a revoked certificate authorises nothing from then, and a consent
    under it would make a re-transfer read as lawful in every agency's chains (no
    RETRANSFER_WITHOUT_CONSENT) though the papers it rests on no longer stand."""
    if revoked_on is None or granted_on < revoked_on:
        return
    raise StateConflict(
        f"this certificate is revoked from {revoked_on}: a re-export consent granted on "
        f"{granted_on} cannot stand under it (withdraw the revocation first if it was recorded "
        "in error)"
    )


def check_consent_quantity(quantity: int | None, shipped: int) -> None:
    """Refuse a re-export consent for more items than were shipped under the certificate: it
    re-transfers items the end user received under it, and a quantity beyond those would stand
    ready to cover items that came some other way."""
    if quantity is None or quantity <= shipped:
        return
    if shipped == 0:
        so_far = "no item was"
    else:
        so_far = f"only {shipped} item was" if shipped == 1 else f"only {shipped} items were"
    raise InvalidInput.for_field(
        "body",
        "quantity",
        f"a consent covers items shipped under its certificate, and {so_far} shipped under "
        f"this one: it cannot cover {quantity}",
    )


@dataclass(frozen=True, slots=True)
class ConsentedItems:
    """What the standing (not withdrawn) re-export consents under a certificate cover, counted
    as the cap counts them: the items they name (an item named by two counts once: a later
    consent for its onward move names it again), the quantities of those that name no item
    (that many more items, which nothing says are among those named), and whether one names
    neither (it covers every item shipped)."""

    named: frozenset[UUID] = frozenset()
    by_quantity: int = 0
    every_item: bool = False

    def with_consent(self, quantity: int | None, item_ids: tuple[UUID, ...]) -> ConsentedItems:
        if item_ids:
            return ConsentedItems(self.named | set(item_ids), self.by_quantity, self.every_item)
        if quantity is not None:
            return ConsentedItems(self.named, self.by_quantity + quantity, self.every_item)
        return ConsentedItems(self.named, self.by_quantity, every_item=True)

    def count(self, shipped: int) -> int:
        return (shipped if self.every_item else len(self.named)) + self.by_quantity


@dataclass(frozen=True, slots=True)
class ErroneousEvent:
    """An event under a certificate declared erroneous that shipped an item no standing event
    under it ships: the standing consents may since cover more than stands shipped."""

    id: UUID
    event_type: str
    occurred_on: date


@dataclass(frozen=True, slots=True)
class ConsentCover:
    """What the standing re-export consents under a certificate cover against the items
    shipped under it, as the cap counts them for the reader (the events it may know of). While
    they cover more (`over_cover`), every new consent is refused (check_consents_cap) until one
    is withdrawn; `message` says so, and why, and is None otherwise."""

    shipped: int
    covered: int
    over_cover: int
    message: str | None


def consent_cover(
    standing: ConsentedItems, shipped: int, erroneous: tuple[ErroneousEvent, ...]
) -> ConsentCover:
    """What the standing consents cover against the items shipped, and, where they cover more,
    a sentence naming the surplus and the erroneous events that took items off."""
    covered = standing.count(shipped)
    over = max(covered - shipped, 0)
    if not over:
        return ConsentCover(shipped, covered, 0, None)
    cause = _cause(erroneous)
    return ConsentCover(
        shipped,
        covered,
        over,
        f"The standing re-export consents cover {counted(covered, 'item')}, {over} more than "
        f"the {shipped} shipped under this certificate by the events you may know of"
        f"{', ' + cause if cause else ''}: a new consent is refused until one recorded in "
        "error is withdrawn.",
    )


def _cause(erroneous: tuple[ErroneousEvent, ...]) -> str:
    """Why the standing consents cover more than stands shipped, where an event declared
    erroneous took items off (the first three named); '' where none did (consents recorded
    before the cap held each to what was shipped on its own)."""
    if not erroneous:
        return ""
    named = [f"the {e.event_type.lower()} of {e.occurred_on} (event {e.id})" for e in erroneous[:3]]
    if len(erroneous) > 3:
        named.append(f"{len(erroneous) - 3} more")
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"since {listed} {'was' if len(erroneous) == 1 else 'were'} declared erroneous"


def check_consents_cap(
    standing: ConsentedItems,
    quantity: int | None,
    item_ids: tuple[UUID, ...],
    shipped: int,
    erroneous: tuple[ErroneousEvent, ...] = (),
) -> None:
    """Refuse a re-export consent that would make the standing consents under a certificate
    cover more items than were shipped under it: each consent re-transfers items the end user
    received under the certificate, and consents that add up to more stand ready to cover items
    that came some other way, as a single consent for too many would (check_consent_quantity).
    A consent recorded in error is withdrawn first, and counts no more. Where they already
    cover more, the refusal says by how many, and which erroneous events took items off."""
    before = standing.count(shipped)
    after = standing.with_consent(quantity, item_ids).count(shipped)
    if after <= shipped:
        return
    were = "item was" if shipped == 1 else "items were"
    surplus = ""
    if before > shipped:
        cause = _cause(erroneous)
        surplus = f", {before - shipped} more than were shipped{' ' + cause if cause else ''}"
    this_one = (
        f"{len(item_ids)} named" if item_ids
        else f"{quantity}" if quantity is not None
        else "every one shipped"
    )  # fmt: skip
    raise StateConflict(
        f"{shipped} {were} shipped under this certificate and its standing re-export "
        f"consents already cover {before}{surplus}: a consent for {this_one} would make them "
        f"cover {after} (withdraw a consent recorded in error first)"
    )


@dataclass(frozen=True, slots=True)
class LineUsage:
    line_number: int
    description: str
    authorised: int
    shipped: int
    remaining: int  # negative when the line was over-shipped
    item_ids: tuple[UUID, ...]
    # shipped by exports another agency restricted: counted, not named
    withheld: int


@dataclass(frozen=True, slots=True)
class Usage:
    euc_id: UUID
    certificate_number: str
    status: str
    lines: tuple[LineUsage, ...]
    consents_cover: ConsentCover


def line_usage(
    line_number: int, description: str, authorised: int, shipped: int, item_ids: tuple[UUID, ...]
) -> LineUsage:
    return LineUsage(
        line_number,
        description,
        authorised,
        shipped,
        authorised - shipped,
        item_ids,
        withheld=shipped - len(item_ids),
    )


@dataclass(frozen=True, slots=True)
class VerificationAnswer:
    """What a border or licensing officer learns from a certificate number: whether it is
    registered, whether it is valid today, and the facts to hold against the paper."""

    registered: bool
    valid: bool
    status: str | None
    certificate_number: str
    issuing_country: str
    euc_id: UUID | None = None
    issuing_authority: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    revoked_on: date | None = None
    destination_country: str | None = None
    end_user: ShownParty | None = None
