"""What a failed webhook delivery records, and so what its agency is shown.

The agency reads its deliveries' `last_error` (GET /v1/webhooks/{id}/deliveries). So the worker
records one of the fixed sentences below, filled only with what the agency gave (its URL's
host), what the policy says (a port, the seconds a delivery has) or a status its receiver
answered; never the failure's own detail, which goes to the worker's log. A webhook may name a
name only the deployment's resolver knows, or a host on a network the deployment lets
deliveries reach (TRACE_REGISTRY_WEBHOOK_NETWORKS): shown whole, the detail (the address a
name resolved to, a service's banner that answered instead of HTTP, a TLS library's message)
would let an agency map what the worker can see. A stored text that is none of these sentences
(one written before they were) is shown as GENERIC.
"""

from __future__ import annotations

import re
import string
from typing import Final

# What each sentence may be filled with: nothing an agency did not give or cannot know.
_FIELDS: Final = {
    "host": r"[A-Za-z0-9.:%_-]{1,260}",
    "seconds": r"[0-9]{1,6}(?:\.[0-9]{1,3})?",
    "status": r"[0-9]{3}",
    "port": r"[0-9]{1,5}",
    "ports": r"[0-9]{1,5}(?:, [0-9]{1,5}){0,99}",
}
SENTENCES: Final = {
    "status": "HTTP {status}",
    "redirect": "HTTP {status}: redirects are not followed (register the URL it names instead)",
    "cut": "no complete answer within {seconds} s",
    "slow_lookup": "{host} was not resolved within {seconds} s",
    "lookups_busy": "{host} was not looked up: too many slow name lookups are running",
    "no_lookup": "{host} was not looked up: the worker could not start a lookup",
    "unanswered": "{host} did not answer within {seconds} s",
    "unresolved": "{host} does not resolve to an address deliveries may reach",
    "refused": "{host} refused the connection",
    "unreachable": "the connection to {host} failed",
    "certificate": "the TLS certificate of {host} was not accepted (expired, self-signed, "
    "or not issued for this name)",
    "tls": "the TLS handshake with {host} failed",
    "not_http": "{host} did not answer in HTTP",
    "port": "port {port} is not one deliveries may use: {ports} (TRACE_REGISTRY_WEBHOOK_PORTS)",
    "unsendable": "the webhook's URL cannot be sent as stored: register it again",
    "not_web": "not an http or https URL",
}
GENERIC: Final = "the delivery failed (the service's log has the details)"


def describe(kind: str, **values: object) -> str:
    """The sentence of a kind of failure, filled; KeyError for an unknown kind or field."""
    return SENTENCES[kind].format(**values)


def _pattern(sentence: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(sentence):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(_FIELDS[field])
    return re.compile("".join(parts))


_SHOWABLE: Final = tuple(_pattern(sentence) for sentence in SENTENCES.values())


def shown(stored: str | None) -> str | None:
    """What an agency is shown of a stored `last_error`: the text itself if it is one of the
    sentences, else GENERIC."""
    if stored is None:
        return None
    if any(pattern.fullmatch(stored) for pattern in _SHOWABLE):
        return stored
    return GENERIC
