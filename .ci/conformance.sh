#!/usr/bin/env bash
# Conformance: schemathesis against the real server, once on SQLite and once on PostgreSQL.
#
# Runs the binary `cargo test` already built (`$CARGO_TARGET_DIR/debug/roadshow`; it builds nothing),
# on a fresh database with the demo data loaded, a staff admin token and two registrations (for
# the manage-token operations), listening on 127.0.0.1 only. Schemathesis reads GET
# /api/openapi.json and sends generated requests to every operation; any answer the document does
# not describe (a status, content type, body schema or header), any 5xx, and any staff operation
# that lets a request without a valid token through, is a failure (.ci/schemathesis.toml).
# Prints, per backend, the operations, test cases and failures; exits non-zero on any failure.
#
# Usage: .ci/conformance.sh [sqlite] [postgres]   (default: both)
# Environment: ROADSHOW_TEST_POSTGRES_URL (a database on the server to create the run's own in),
# CONFORMANCE_MAX_EXAMPLES (default 10), CONFORMANCE_SEED (default 20261201), CONFORMANCE_WORKERS
# (default 1), CONFORMANCE_BIN (another server binary), CONFORMANCE_CONFIG (another settings file),
# CONFORMANCE_LOG (the server's RUST_LOG), CONFORMANCE_KEEP=1 (keep server logs and reports).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
bin="${CONFORMANCE_BIN:-$target/debug/roadshow}"
venv="$target/conformance-venv"
requirements=.ci/conformance-requirements.txt
max_examples="${CONFORMANCE_MAX_EXAMPLES:-10}"
seed="${CONFORMANCE_SEED:-20261201}"
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

if [ ! -x "$bin" ]; then
  echo "FAIL: $bin is missing; run \`cargo test\` (or \`cargo build\`) first" >&2
  exit 1
fi

# Schemathesis and everything it pulls in, at the versions in the requirements file, in a virtual
# environment beside the build (reused while the requirements file is unchanged).
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null || [ ! -x "$venv/bin/st" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
  cp "$requirements" "$stamp"
fi
"$venv/bin/st" --version

work="$(mktemp -d "${TMPDIR:-/tmp}/roadshow-conformance.XXXXXX")"
server_pid=""
pg_db=""
pg_admin_url=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

drop_pg_db() {
  if [ -n "$pg_db" ]; then
    psql "$pg_admin_url" -qc "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || true
    pg_db=""
  fi
}

cleanup() {
  stop_server
  drop_pg_db
  if [ -n "${CONFORMANCE_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server's settings for the run.
# - Rate limit: every request comes from 127.0.0.1, and schemathesis sends hundreds of public writes
#   a minute. Under the default 60 a minute almost all of them would be answered 429 before the
#   handler runs (a documented answer, so it would pass while testing nothing). A limit no run can
#   reach keeps the limiter itself in the path (it still counts every public write in the
#   database) while every request reaches its handler.
# - Background workers on, as in production: the email worker delivers what the requests queue
#   (to .eml files in the run's directory, no SMTP) while schemathesis keeps writing.
# - The link-email and per-address caps keep their defaults: they decide whether an email is
#   sent, never the HTTP answer.
# (An array for `env`, not a function wrapping the command: `function &` would leave $! naming a
# subshell, and killing that would leave the server running.)
set_server_env() {
  server_env=(
    DATABASE_URL="$1"
    ROADSHOW_BIND=127.0.0.1:0
    ROADSHOW_PUBLIC_URL=http://127.0.0.1:8080
    ROADSHOW_MAIL_DIR="$work/mail"
    ROADSHOW_RATE_LIMIT_PER_MINUTE=1000000
    ROADSHOW_BACKGROUND=true
    ROADSHOW_HTTP_WORKERS=2
    NO_COLOR=1
    RUST_LOG="${CONFORMANCE_LOG:-warn,roadshow=info}"
  )
}

# One worker: with two, schemathesis generates in two Python threads, and CPython 3.11 (Debian 12's)
# now and then fails such a run with "AST constructor recursion depth mismatch" (its AST recursion
# counter is not thread-safe; the server is not involved). A run of a few dozen operations takes
# well under a minute per database with one.
# run_schemathesis REPORT_NAME BASE_URL STAFF_TOKEN EVENT_ID REGISTRATION_ID MANAGE_TOKEN [FILTER...]
run_schemathesis() {
  local name="$1" base="$2"
  ROADSHOW_STAFF_TOKEN="$3" ROADSHOW_EVENT_ID="$4" ROADSHOW_REGISTRATION_ID="$5" ROADSHOW_MANAGE_TOKEN="$6" \
    "$venv/bin/st" --no-color --config-file "${CONFORMANCE_CONFIG:-.ci/schemathesis.toml}" run "$base/api/openapi.json" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers "${CONFORMANCE_WORKERS:-1}" \
    --wait-for-schema 30 \
    --report json --report-json-path "$work/report-$name.json" \
    "${@:7}"
}

total_failures=0
summary=()

run_backend() {
  local backend="$1" db_url
  case "$backend" in
    sqlite)
      db_url="sqlite://$work/conformance.db"
      ;;
    postgres)
      pg_admin_url="${ROADSHOW_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
      # Named like the test databases, so .ci/run's clean-up also drops one an interrupted run left.
      pg_db="roadshow_test_conformance_$$"
      psql "$pg_admin_url" -qc "CREATE DATABASE \"$pg_db\"" >/dev/null
      db_url="${pg_admin_url%/*}/$pg_db"
      ;;
    *)
      echo "unknown backend $backend (sqlite or postgres)" >&2
      return 2
      ;;
  esac
  echo
  echo "--- conformance on $backend"
  set_server_env "$db_url"
  env "${server_env[@]}" "$bin" demo-data
  local token
  token="$(env "${server_env[@]}" "$bin" create-admin --email conformance-admin@example.org --name 'Conformance run')"

  local log="$work/server-$backend.log"
  env "${server_env[@]}" "$bin" serve >"$log" 2>&1 &
  server_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*roadshow is listening.*port=\([0-9]*\).*/\1/p' | head -n1)"
    [ -n "$port" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "FAIL: the server did not start on $backend:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "FAIL: the server did not say which port it listens on:" >&2
    cat "$log" >&2
    return 1
  fi
  local base="http://127.0.0.1:$port"

  # A published event and two registrations for it, for the operations on an event and those a
  # registrant calls with its manage token. Two passes: everything but a registrant's cancel and
  # erase operations, as the first registrant; then those, as the second (cancelling or erasing
  # the first would leave the reads nothing but 404s).
  local registrant_path='^/(api/v1/registrations|manage)/\{id\}' registrant_method='^(DELETE|POST)$'
  local -A setup=()
  local line
  while IFS= read -r line; do
    case "$line" in
      *=*) setup["${line%%=*}"]="${line#*=}" ;;
    esac
  done < <("$venv/bin/python" .ci/conformance_setup.py "$base" "$registrant_path" "$registrant_method")
  if [ ${#setup[@]} -ne 6 ]; then
    echo "FAIL: could not register two attendees on $backend to get manage tokens" >&2
    return 1
  fi

  local status=0 reports=("$work/report-$backend-1.json")
  run_schemathesis "$backend-1" "$base" "$token" "${setup[event_id]}" \
    "${setup[registration_id_1]}" "${setup[manage_token_1]}" \
    --exclude-path-regex "$registrant_path" --exclude-method-regex "$registrant_method" || status=$?
  if [ "${setup[second_pass_operations]}" -gt 0 ]; then
    reports+=("$work/report-$backend-2.json")
    run_schemathesis "$backend-2" "$base" "$token" "${setup[event_id]}" \
      "${setup[registration_id_2]}" "${setup[manage_token_2]}" \
      --include-path-regex "$registrant_path" --include-method-regex "$registrant_method" || status=$?
  fi

  stop_server
  drop_pg_db
  local counts
  counts="$("$venv/bin/python" .ci/conformance_counts.py "${reports[@]}")" || counts="unreadable report"
  echo "conformance $backend: $counts (schemathesis exit status $status)"
  summary+=("$backend: $counts")
  if [ "$status" -ne 0 ]; then
    total_failures=$((total_failures + 1))
    echo "--- server log ($backend), warnings and errors:"
    grep -E 'WARN|ERROR' "$log" | tail -n 40 || true
  fi
}

for backend in "${backends[@]}"; do
  run_backend "$backend"
done

echo
echo "conformance summary (max $max_examples examples per operation, seed $seed):"
printf '  %s\n' "${summary[@]}"
if [ "$total_failures" -ne 0 ]; then
  echo "FAIL: schemathesis found answers the OpenAPI document does not describe" >&2
  exit 1
fi
