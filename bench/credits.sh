#!/usr/bin/env bash
# Credit-pool drain: the whole pool granted through the API, from a seeded database (a benchmark).
#
#   bench/credits.sh                   # the default pool: 200,000 grants of $50 ($10,000,000)
#   bench/credits.sh --grants 20000    # a quick run: the pool set to 20,000 grants first
#
# (needs PostgreSQL on 127.0.0.1 reachable as BENCH_PG, and psql)
#
# 1. builds the release server and examples/loadgen once;
# 2. creates a scratch database, migrated by the binary, and seeds it with SQL
#    (bench/credits_seed.sql): grants + 50 confirmed registrations, each of its own business, at
#    published roadshow stops with consistent seat shards, with their confirmation emails;
# 3. starts the release server on 127.0.0.1 (the same settings as bench/run.sh) and runs
#    examples/loadgen's credits workload: 64 clients check in every registration through
#    `POST /api/v1/admin/registrations/{id}/check-in` until none is left; the pool fills at the
#    last grant and the remaining check-ins answer `pool_empty`. It checks the answers, the pool
#    (grant_count = the maximum, granted_cents = the total), reconcile, and the database;
# 4. prints a summary, stops the server and drops the database.
# Bounded in time: BENCH_CREDITS_MAX_SECONDS (default 1800) for the check-ins.
set -euo pipefail
cd "$(dirname "$0")/.."

GRANTS=200000
EXTRA=50
while [ $# -gt 0 ]; do
  case "$1" in
    --grants) GRANTS=$2; shift 2 ;;
    --extra) EXTRA=$2; shift 2 ;;
    *) echo "usage: bench/credits.sh [--grants N] [--extra N]" >&2; exit 2 ;;
  esac
done
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_PARAMS=${BENCH_PG_PARAMS:-sslmode=disable}
PORT=${BENCH_PORT:-18081}
CLIENTS=${BENCH_HOT_CLIENTS:-64}
POOL=${BENCH_DB_POOL_SIZE:-16}
WORKERS=${BENCH_HTTP_WORKERS:-2}
ANALYZE_SECONDS=${BENCH_ANALYZE_SECONDS:-5}
MAX_SECONDS=${BENCH_CREDITS_MAX_SECONDS:-1800}
LOADGEN_ARGS=${BENCH_LOADGEN_ARGS:-}

case "$PG" in
  postgres://*@127.0.0.1:*|postgresql://*@127.0.0.1:*|postgres://*@localhost:*) ;;
  *) echo "BENCH_PG must point at 127.0.0.1 (got $PG)" >&2; exit 2 ;;
esac
command -v psql >/dev/null || { echo "psql not found" >&2; exit 2; }

echo "== build (release, once)"
timeout 1200 cargo build --release --bin roadshow --example loadgen
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BENCH_SERVER_BIN:-$TARGET/release/roadshow}
LOADGEN=$TARGET/release/examples/loadgen

APP_DB="roadshow_credits_$(date +%s)_$$"
APP_URL="$PG/$APP_DB?$PG_PARAMS"
WORK=$(mktemp -d)
SERVER_PID=""
ANALYZE_PID=""

# As in bench/run.sh: without autovacuum, analyze the tables it would, while the check-ins grow
# credit_grants, credit_ledger, the outbox and the audit log from their seeded sizes. And vacuum
# the tables it would (default thresholds: 50 rows + 20% dead): every grant updates the one pool
# row and the national reserve's row, and without VACUUM their tables keep every dead version
# that pruning could not remove (in a first drain without it, credit_pool had grown to 785 pages
# for its one row after 82,000 grants, and grants/s had fallen from about 290 to about 75).
AUTOVACUUM=$(psql -tA "$PG/postgres" -c "SHOW autovacuum" 2>/dev/null || echo unknown)
ANALYZE_DUE="SELECT format('ANALYZE %I', s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) \\gexec
SELECT format('VACUUM %I', s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) \\gexec"
start_analyze() {
  [ "$AUTOVACUUM" = "off" ] || return 0
  ( while sleep "$ANALYZE_SECONDS"; do echo "$ANALYZE_DUE" | psql -q "$1" >/dev/null 2>&1 || true; done ) &
  ANALYZE_PID=$!
}
cleanup() {
  if [ -n "$ANALYZE_PID" ]; then kill "$ANALYZE_PID" 2>/dev/null || true; wait "$ANALYZE_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $APP_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

N=$((GRANTS + EXTRA))
echo "== scratch database $APP_DB: $N confirmed registrations of distinct businesses"
psql -q -v ON_ERROR_STOP=1 "$PG/postgres" -c "CREATE DATABASE $APP_DB" >/dev/null
RUST_LOG=warn DATABASE_URL="$APP_URL" timeout 60 "$BIN" migrate
SEED0=$(date +%s.%N)
timeout 900 psql -q -v ON_ERROR_STOP=1 -v n="$N" "$APP_URL" -f bench/credits_seed.sql >/dev/null
SEED_SECONDS=$(awk -v a="$SEED0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "   seeded in ${SEED_SECONDS}s (with ANALYZE); database size $(psql -tA "$APP_URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"

echo "== release server on 127.0.0.1:$PORT (pool $POOL, $WORKERS HTTP workers, rate limit off)"
DATABASE_URL="$APP_URL" ROADSHOW_BIND="127.0.0.1:$PORT" ROADSHOW_PUBLIC_URL="http://127.0.0.1:$PORT" \
  ROADSHOW_RATE_LIMIT_PER_MINUTE=0 ROADSHOW_DB_POOL_SIZE="$POOL" ROADSHOW_HTTP_WORKERS="$WORKERS" \
  ROADSHOW_BACKGROUND=false ROADSHOW_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server not ready" >&2; exit 1; }
TOKEN=$(RUST_LOG=warn DATABASE_URL="$APP_URL" timeout 60 "$BIN" create-admin --email bench-admin@example.com)

POOL_ARG=()
[ "$GRANTS" = 200000 ] || POOL_ARG=(--credit-pool-grants "$GRANTS")
echo "== loadgen credits: check in all $N registrations, $CLIENTS clients (pool of $GRANTS grants)"
start_analyze "$APP_URL"
# shellcheck disable=SC2086
ROADSHOW_BENCH_TOKEN="$TOKEN" timeout $((MAX_SECONDS + 300)) "$LOADGEN" --base-url "http://127.0.0.1:$PORT" \
  --database-url "$APP_URL" --clients "$CLIENTS" --server-pid "$SERVER_PID" --workloads credits \
  --credit-checkins 0 --max-seconds "$MAX_SECONDS" "${POOL_ARG[@]}" $LOADGEN_ARGS | tee "$WORK/loadgen.out"
LOADGEN_STATUS=${PIPESTATUS[0]}
if grep -qE "ERROR|WARN|panicked" "$WORK/server.log"; then
  echo "server log (warnings and errors, first 10 lines):"
  grep -E "ERROR|WARN|panicked" "$WORK/server.log" | head -n 10
fi

field() { { grep "^RESULT workload=$1 " "$WORK/loadgen.out" || true; } | { grep -Eo "$2=[0-9a-z.]+" || true; } | cut -d= -f2; }
echo
echo "== summary ($(nproc) cores; server, PostgreSQL and loadgen share them)"
echo "seeded:                   $N registrations in ${SEED_SECONDS}s"
echo "check-ins:                $(field credits requests) in $(field credits seconds)s = $(field credits rate)/s (p50 $(field credits p50_ms) ms, p99 $(field credits p99_ms) ms)"
echo "grants:                   $(field credit_grants requests) in $(field credit_grants seconds)s = $(field credit_grants rate)/s"
echo "pool after:               grant_count $(field credit_pool grant_count) of $(field credit_pool max_grants), granted_cents $(field credit_pool granted_cents)"
echo "answers:                  $(field credit_pool granted) granted, $(field credit_pool pool_empty) pool_empty"
echo "reconcile balanced:       $(field credit_pool balanced)"
echo "CPU per check-in (us):    PostgreSQL $(field credits cpu_pg_us), server $(field credits cpu_server_us), loadgen $(field credits cpu_loadgen_us), other $(field credits cpu_other_us); machine $(field credits busy_pct)% busy"
exit "$LOADGEN_STATUS"
