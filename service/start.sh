#!/bin/sh
# The one start-up path of the service: the container's entrypoint runs it, `trace-registry serve`
# runs it, and the tests run it. It applies the schema to an empty database, or migrates one of an
# earlier schema version, then hands the process over to gunicorn (so that gunicorn receives the
# container's signals).
set -eu
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to serve}"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m service.cli db init
exec "$PYTHON" -m gunicorn --config python:service.gunicorn_conf "service:create_app()"
