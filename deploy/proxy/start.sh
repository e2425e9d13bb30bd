#!/bin/sh
# The proxy's start (the proxy image's entrypoint): the secret it shares with the API goes into
# the configuration nginx includes, then nginx runs in the foreground as PID 1, so that it
# receives `docker stop`'s SIGTERM itself.
#
# The secret is what the proxy sends as X-Import-Key-Checked on an import whose key it checked
# (nginx.conf): the API believes the header only with it (TRACE_REGISTRY_PROXY_SECRET there), so
# that another host on the proxy's network cannot say so. It comes from TRACE_REGISTRY_PROXY_SECRET,
# or else the file TRACE_REGISTRY_PROXY_SECRET_FILE names (compose: the one the API made on its
# first start). Without one the proxy does not start: every import through it would be counted
# twice against its key's rate.
set -eu
secret="${TRACE_REGISTRY_PROXY_SECRET:-}"
if [ -z "$secret" ] && [ -n "${TRACE_REGISTRY_PROXY_SECRET_FILE:-}" ] \
    && [ -r "$TRACE_REGISTRY_PROXY_SECRET_FILE" ]; then
    secret="$(cat "$TRACE_REGISTRY_PROXY_SECRET_FILE")"
fi
# The API's own rule (service.config): 32 or more letters, digits, - and _, so that it is
# written into nginx's configuration as it is.
case "$secret" in
    "" | *[!A-Za-z0-9_-]*) valid=no ;;
    *) if [ "${#secret}" -ge 32 ]; then valid=yes; else valid=no; fi ;;
esac
if [ "$valid" = no ]; then
    echo "trace-registry proxy: set TRACE_REGISTRY_PROXY_SECRET (or TRACE_REGISTRY_PROXY_SECRET_FILE)" \
        "to the API's TRACE_REGISTRY_PROXY_SECRET: 32 or more letters, digits, - and _" >&2
    exit 1
fi
umask 077
printf 'proxy_set_header X-Import-Key-Checked "%s";\n' "$secret" >/tmp/nginx-import-key-checked.conf
exec nginx -c /etc/trace-registry-proxy/nginx.conf -e stderr -g "daemon off;"
