#!/usr/bin/env bash
# Property-based API testing of the server against its own OpenAPI document, on SQLite
# and on PostgreSQL, with schemathesis from PyPI.
#
#   scripts/schemathesis.sh                 # both engines, debug build
#   PROFILE=release ENGINES=postgres MAX_EXAMPLES=50 scripts/schemathesis.sh
#
# For each engine it starts `crm serve` on loopback over a fresh database (SQLite: a
# temporary data dir; PostgreSQL: a new database on TEST_DATABASE_URL's server, dropped
# at the end), creates a tenant with `crm admin create-tenant`, and runs
# `schemathesis run /api/v1/openapi.json` with that admin's token and the checks
# `not_a_server_error` and `response_schema_conformance`. Exits non-zero when any check
# failed on any engine; prints the case counts of each run.
#
# Settings (environment):
#   ENGINES        "sqlite postgres" (default) or one of them
#   PROFILE        debug (default) or release
#   CRM_BIN        a built `crm` binary to use instead of building one
#   CARGO_LOCK     a lock file to hold (flock) while cargo builds, for shared machines
#   MAX_EXAMPLES   cases per operation and phase (default 25)
#   SEED           schemathesis seed (default 1, so runs repeat)
#   CHECKS         the checks (default not_a_server_error,response_schema_conformance;
#                  e.g. add status_code_conformance,content_type_conformance)
#   TEST_DATABASE_URL  PostgreSQL server to create the database on
#                  (default postgres://postgres@127.0.0.1:5432/test)
#   PORT           first port to listen on (default 18380; PostgreSQL uses PORT+1)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENGINES=${ENGINES:-"sqlite postgres"}
PROFILE=${PROFILE:-debug}
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
SEED=${SEED:-1}
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
PORT=${PORT:-18380}
CHECKS=${CHECKS:-not_a_server_error,response_schema_conformance}
VENV="$ROOT/.venv-schemathesis"

# 1. schemathesis in a local virtualenv (gitignored).
if [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "== installing schemathesis into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5'
fi
"$VENV/bin/schemathesis" --version

# 2. The server binary.
if [ -z "${CRM_BIN:-}" ]; then
    build=(cargo build -p crm-host --bin crm)
    [ "$PROFILE" = release ] && build+=(--release)
    if [ -n "${CARGO_LOCK:-}" ]; then build=(flock "$CARGO_LOCK" "${build[@]}"); fi
    echo "== ${build[*]}"
    "${build[@]}"
    CRM_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/crm"
fi

WORK=$(mktemp -d)
SERVER_PID=""
PG_DB=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The URL of another database on the same server as $PG_URL.
pg_url_of() {
    local base=${PG_URL%%\?*}
    echo "${base%/*}/$1"
}

failed=0
summary=()
for engine in $ENGINES; do
    data="$WORK/$engine"
    mkdir -p "$data"
    unset DATABASE_URL
    port=$PORT
    case "$engine" in
        sqlite) ;;
        postgres)
            port=$((PORT + 1))
            PG_DB="crm_schemathesis_$$"
            psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
            psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
            export DATABASE_URL
            DATABASE_URL=$(pg_url_of "$PG_DB")
            ;;
        *) echo "unknown engine $engine" >&2; exit 2 ;;
    esac
    echo "== $engine: data in $data${DATABASE_URL:+, database $DATABASE_URL}"

    # 3. A tenant and its admin's token, as the README's tour does (last line: the token).
    token=$("$CRM_BIN" --data-dir "$data" admin create-tenant --name "ООО Шиматезис" | tail -n 1)
    case "$token" in crm_*) ;; *) echo "create-tenant printed no token: $token" >&2; exit 1 ;; esac

    # 4. The server, on loopback only.
    "$CRM_BIN" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$WORK/$engine-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$WORK/$engine-server.log"; exit 1; }

    # 5. schemathesis: every operation, positive and negative data, the two checks.
    set +e
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
        --workers 2 --request-timeout 30 --no-color \
        2>&1 | tee "$WORK/$engine-schemathesis.log"
    rc=${PIPESTATUS[0]}
    set -e
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if grep -q "panicked\|request failed" "$WORK/$engine-server.log"; then
        echo "== $engine: the server logged failures:"; grep "panicked\|request failed" "$WORK/$engine-server.log" | head -20
        rc=1
    fi
    if [ -n "$PG_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null; PG_DB=""; fi
    log="$WORK/$engine-schemathesis.log"
    tested=$(grep -E '^ *Tested: ' "$log" | head -n 1 | tr -s ' ' | sed 's/^ //')
    cases=$(grep -A1 '^Test cases:' "$log" | tail -n 1 | tr -s ' ' | sed 's/^ //')
    summary+=("$engine (exit $rc): operations ${tested#Tested: }; test cases: $cases")
    [ "$rc" -eq 0 ] || failed=1
done

echo
echo "== schemathesis summary"
printf '%s\n' "${summary[@]}"
exit $failed
