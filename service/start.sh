#!/bin/sh
# The one start-up path of the service: the container's entrypoint runs it, `trace-registry serve`
# runs it, and the tests run it. It applies the schema to an empty database, or migrates one of an
# earlier schema version, then hands the process over to gunicorn (so that gunicorn receives the
# container's signals).
set -eu
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to serve}"
PYTHON="${PYTHON:-python3}"
# The secret the deployment's proxy proves with that it checked an import's key
# (TRACE_REGISTRY_PROXY_SECRET): given, or else read from TRACE_REGISTRY_PROXY_SECRET_FILE, which
# is made on first start when missing (compose shares it with the proxy in a volume, so that no
# secret is written in the compose file and none need be set to start).
if [ -z "${TRACE_REGISTRY_PROXY_SECRET:-}" ] && [ -n "${TRACE_REGISTRY_PROXY_SECRET_FILE:-}" ]; then
    if [ ! -s "$TRACE_REGISTRY_PROXY_SECRET_FILE" ]; then
        # Whole or not at all: written aside, then renamed.
        (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))' \
            >"$TRACE_REGISTRY_PROXY_SECRET_FILE.new" \
            && mv "$TRACE_REGISTRY_PROXY_SECRET_FILE.new" "$TRACE_REGISTRY_PROXY_SECRET_FILE")
    fi
    TRACE_REGISTRY_PROXY_SECRET="$(cat "$TRACE_REGISTRY_PROXY_SECRET_FILE")"
    export TRACE_REGISTRY_PROXY_SECRET
fi
"$PYTHON" -m service.cli db init
exec "$PYTHON" -m gunicorn --config python:service.gunicorn_conf "service:create_app()"
