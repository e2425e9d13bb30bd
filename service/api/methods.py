"""What a route answers about its methods: OPTIONS, and the Allow header of a 405."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, Response


def allow(methods: Iterable[str]) -> str:
    """An Allow header's value: the methods in one order (Werkzeug gives a set, whose order
    changes from one process to the next)."""
    return ", ".join(sorted(methods))


def no_content(headers: dict[str, str] | None = None) -> Response:
    """A 204: no body, so no Content-Type (Werkzeug would call the nothing text/html)."""
    response = Response(status=204, headers=headers)
    del response.headers["Content-Type"]
    return response


class Application(Flask):
    """Flask, answering OPTIONS on a route as a JSON API does: 204 with the route's methods in
    Allow and no body (Flask's own answer is an empty 200 typed text/html). A path that is no
    route is a 404 problem like any other request's. No key is asked for: a browser's CORS
    preflight carries none (service.api.headers adds the CORS headers for allowed origins).

    A path with a doubled slash (`/v1//parties`) is no route either: Werkzeug would merge the
    slashes and answer 308 with an HTML page, which Flask sends past the error handlers, and a
    client that follows it sends its POST again to a URL it never wrote."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Before any route is added: each rule takes the map's setting when it is bound.
        self.url_map.merge_slashes = False

    def make_default_options_response(self) -> Response:
        methods = super().make_default_options_response().allow
        return no_content({"Allow": allow(methods)})
