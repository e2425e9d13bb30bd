# The trace-registry API: gunicorn, started by the project's own start-up script (service/start.sh).
#
#   docker build -t trace-registry .
#   docker build --target proxy -t trace-registry-proxy .
#   docker compose up            # with PostgreSQL and the proxy: see docker-compose.yml
#
# Stage `build` turns the source into a wheel (schema.sql and openapi.yaml go inside it, see
# pyproject.toml); the runtime stage installs that wheel, and nothing else of the source, into a
# virtual environment. No BuildKit-only syntax (RUN --mount, heredocs): the classic builder works.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md schema.sql openapi.yaml ./
COPY service/ service/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# The buffering proxy that stands in front of the API in docker-compose.yml (deploy/proxy/nginx.conf
# says why): Debian's nginx, on the same Debian as the API's image. Built with `--target proxy`;
# the API is the last stage, what a plain `docker build` makes.
FROM python:3.11-slim AS proxy
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 trace-registry \
 && useradd --no-log-init --uid 10001 --gid trace-registry --shell /usr/sbin/nologin trace-registry
COPY deploy/proxy/ /etc/trace-registry-proxy/
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4)"]
# start.sh writes the secret it shares with the API into nginx's configuration, then execs nginx
# in the foreground, so that it is PID 1 and receives `docker stop`'s SIGTERM itself.
ENTRYPOINT ["/bin/sh", "/etc/trace-registry-proxy/start.sh"]

FROM python:3.11-slim
# PYTHON is the interpreter start.sh runs; PATH puts the `trace-registry` command at hand for
# `docker compose exec api trace-registry keys create ...`.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHON=/opt/venv/bin/python

# A home of its own: gunicorn (25.1 and later) puts its control socket in ~/.gunicorn.
RUN groupadd --gid 10001 trace-registry \
 && useradd --no-log-init --create-home --home-dir /home/trace-registry \
        --uid 10001 --gid trace-registry --shell /usr/sbin/nologin trace-registry

# Dependencies come from the package index, the project from the wheel built above. The build fails
# here if the wheel lacks a file the service reads at run time; /app/start.sh is a link to the
# start.sh inside the installed package, so the container starts exactly as the tests do.
# /var/lib/trace-registry-proxy is the API's: a new volume mounted there (compose's proxy-secret)
# takes its owner, so that start.sh may write the secret it shares with the proxy.
COPY --from=build /wheels/ /tmp/wheels/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels \
 && package="$(/opt/venv/bin/python -c 'import os, service; print(os.path.dirname(service.__file__))')" \
 && test -f "$package/start.sh" \
 && test -f "$package/sql/schema.sql" \
 && test -f "$package/openapi.yaml" \
 && test -f "$package/sql/migrations/0002_batch_answers.sql" \
 && mkdir -p /app /var/lib/trace-registry-proxy \
 && chown trace-registry:trace-registry /var/lib/trace-registry-proxy \
 && ln -s "$package/start.sh" /app/start.sh

# Production by default: the service then refuses to start without a TRACE_REGISTRY_SECRET_KEY of
# its own. It listens on every interface of the container; publishing the port decides who can
# reach it.
ENV TRACE_REGISTRY_ENV=production \
    TRACE_REGISTRY_HOST=0.0.0.0 \
    TRACE_REGISTRY_PORT=8000

WORKDIR /app
# Numeric, so that runtimes enforcing "non-root" (Kubernetes runAsNonRoot) can check it.
USER 10001:10001
EXPOSE 8000

# slim images have no curl; the probe bypasses any proxy configured in the environment.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:' + os.environ.get('TRACE_REGISTRY_PORT', '8000') + '/healthz', timeout=4)"]

# start.sh needs DATABASE_URL, applies schema.sql to an empty database or migrates one of an
# earlier schema version (`db init`), then execs gunicorn, which thus runs as PID 1 and receives
# `docker stop`'s SIGTERM itself.
ENTRYPOINT ["/bin/sh", "/app/start.sh"]
