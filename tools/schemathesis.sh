#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with schemathesis: positive and
# negative data, every check, and stateful sequences that follow the document's links.
# Starts `rendan serve` on a fresh data directory and a free port, and exits non-zero on any
# failure (or when the fuzzer's own token stopped working, which would hide failures behind
# 401s).
#
#   tools/schemathesis.sh              # builds rendan (debug) with cargo first
#   RENDAN_BIN=path/to/rendan tools/schemathesis.sh
#
# Environment: SCHEMATHESIS_VENV (a venv with schemathesis; default
# ~/.cache/rendan-schemathesis), ST_EXAMPLES (cases per operation and phase, default 100),
# ST_SEED (default 1; the run is reproducible), ST_WORKERS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${SCHEMATHESIS_VENV:-$HOME/.cache/rendan-schemathesis}
st="$venv/bin/st"
py="$venv/bin/python"
if [ ! -x "$st" ]; then
    echo "schemathesis: no $st; create it with: python3 -m venv $venv && $venv/bin/pip install schemathesis" >&2
    exit 2
fi

bin=${RENDAN_BIN:-}
if [ -z "$bin" ]; then
    cargo build -q -p rendan
    bin="${CARGO_TARGET_DIR:-target}/debug/rendan"
fi

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export RENDAN_DATA_DIR="$work/data"
# The fuzzer's admin token, and a channel token it may revoke (see the config below).
token=$("$bin" token create --principal fuzzer --role admin)
"$bin" token create --principal victim --role channel >/dev/null

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    if "$py" -c "import urllib.request,sys; urllib.request.urlopen('$base/healthz', timeout=1)" 2>/dev/null; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
    sleep 0.2
done

api() {
    "$py" - "$base" "$token" "$@" <<'EOF'
import json, sys, urllib.request
base, token, path, expr = sys.argv[1:5]
req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
data = json.load(urllib.request.urlopen(req, timeout=10))
print(eval(expr, {"d": data}))
EOF
}
victim=$(api /api/v1/tokens 'next(t["id"] for t in d if t["principal"] == "victim")')

# DELETE /tokens/{id} revokes the victim's token only: with the fuzzer's own token revoked,
# every later request would be a 401 that no check counts as a failure.
# POST /orders may answer 422 to a well-formed order: whether a warehouse serves the
# customer's coordinates is the topology's business, not something JSON Schema can state.
cat >"$work/schemathesis.toml" <<EOF
[[operations]]
include-name = "DELETE /tokens/{id}"
parameters = { "path.id" = $victim }

[[operations]]
include-name = "POST /orders"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
# Half the customers near Varese, which a warehouse serves, so that orders are placed and
# the stateful phase has orders and production orders to read, cancel and complete.
parameters = { "body.customer.lat" = { dictionary = "varese-lat", probability = 0.5 }, "body.customer.lon" = { dictionary = "varese-lon", probability = 0.5 } }

# A well-formed crew or booking may still be refused by rules a schema cannot state: a shift
# that ends before it starts, a date already past at the depot.
[[operations]]
include-name = "POST /crews"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /orders/{id}/appointment"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Slots are asked for up to 183 days after today at the depot: a rule of the calendar, which a
# schema cannot state.
[[operations]]
include-name = "GET /orders/{id}/slots"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Rules of the calendar and of stored facts that a schema cannot state: a service-level range
# ends after it starts and spans at most 366 days; a stop event's time is not ahead of the
# clock and falls on a day the order was visited; a crew token names a crew that exists; a
# webhook is for a channel that exists, and an admin must name it.
[[operations]]
include-name = "GET /service-levels"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /stops/{order}/events"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /tokens"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /webhooks"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# The network watch's rules a schema cannot state: a range ends after it starts and spans at
# most 92 days; contracts are named in the settings; a window gives exactly one of node or
# region and either start and end or a weekly schedule, and a planned one starts at least the
# notice (an hour) from now.
[[operations]]
include-name = "GET /network/availability"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "GET /network/sla"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /network/maintenance"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "PUT /network/maintenance/{id}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# An order has no appointment until one is booked with POST /orders/{id}/appointment, so a
# GET or DELETE of it right after POST /orders answers the documented 404; the
# resource-availability check reads any path below a created order as part of what
# POST /orders created.
[[operations]]
include-name = "GET /orders/{id}/appointment"
checks.ensure_resource_availability.enabled = false

[[operations]]
include-name = "DELETE /orders/{id}/appointment"
checks.ensure_resource_availability.enabled = false

[dictionaries.varese-lat]
values = [45.82]

[dictionaries.varese-lon]
values = [8.83]
EOF

set +e
# Optimising a busy day may take its whole 10 s while the fuzzer and the server share two
# cores: requests may take up to 30 s before they count as failed.
# Run from the scratch directory: schemathesis keeps a cache of past failures in the
# working directory and replays them on the next run. Every check is on by default; naming
# them on the command line (`--checks all`) would override the per-operation settings above.
hooks="$PWD/tools/schemathesis_hooks.py"
(cd "$work" && SCHEMATHESIS_HOOKS="$hooks" "$st" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --mode all \
    --max-examples "${ST_EXAMPLES:-100}" \
    --seed "${ST_SEED:-1}" \
    --workers "${ST_WORKERS:-2}" \
    --request-timeout 30 \
    --report junit --report-dir "$work/report")
status=$?
set -e

alive=$(api /api/v1/tokens 'len(d)' 2>/dev/null || echo dead)
orders=$(api '/api/v1/orders?limit=500' 'len(d["items"])' 2>/dev/null || echo '?')
echo "schemathesis: exit $status; tokens now $alive; orders created $orders (first page)"
if [ "$alive" = dead ]; then
    echo "schemathesis: the fuzzer's token no longer works; the run proves nothing" >&2
    exit 1
fi
if grep -qE ' ERROR |panicked' "$work/serve.log"; then
    echo "schemathesis: the server logged errors:" >&2
    grep -E ' ERROR |panicked' "$work/serve.log" | head -20 >&2
    exit 1
fi
exit "$status"
