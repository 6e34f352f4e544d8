#!/usr/bin/env bash
# National scale (issue 13): the same calls on an empty and on a program-sized PostgreSQL database,
# side by side, in one run.
#
#   bench/scale.sh             (needs PostgreSQL on 127.0.0.1 as BENCH_PG, psql, python3)
#
# 1. builds the release server once;
# 2. creates two scratch databases, migrates both with `roadshow migrate`, and fills one with
#    bench/seed_scale.sql (200,000 businesses, 1,000,000 registrations over 5,000 events, a
#    20,000-seat webinar, 100,000 sent emails, 10,000 audit rows; a few minutes);
# 3. starts a release server on each (public cache off, so every public read reaches the
#    database; rate limits and background work off) and runs bench/scale_measure.py, which builds
#    the same small fixture on both through the API and times every call on both, interleaved;
# 4. prints a table (median ms empty, seeded, ratio) and the servers' RSS;
# 5. starts a third server on the seeded database with the public cache on and sends it
#    SCALE_CACHE_REQUESTS (20,000) anonymous reads with varied query strings
#    (bench/scale_cache.py), printing its RSS before, at the peak and after; stops the servers and
#    drops the databases (SCALE_KEEP=1 keeps them; SCALE_SEEDED_DB=name reuses a seeded database
#    made by an earlier run with SCALE_KEEP=1 and skips the seeding).
# Every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_PARAMS=${BENCH_PG_PARAMS:-sslmode=disable}
PORT=${BENCH_PORT:-18180}
POOL=${BENCH_DB_POOL_SIZE:-16}
WORKERS=${BENCH_HTTP_WORKERS:-2}
REPS=${SCALE_REPS:-15}
SCALE_CACHE_REQUESTS=${SCALE_CACHE_REQUESTS:-20000}
case "$PG" in
  postgres://*@127.0.0.1:*|postgresql://*@127.0.0.1:*|postgres://*@localhost:*) ;;
  *) echo "BENCH_PG must point at 127.0.0.1 (got $PG)" >&2; exit 2 ;;
esac

TARGET=${CARGO_TARGET_DIR:-target}   # where cargo puts the build
if [ -n "${BENCH_SERVER_BIN:-}" ]; then
  BIN=$BENCH_SERVER_BIN   # another build to measure (no build here)
else
  echo "== build (release, once)"
  timeout 1800 cargo build --release --bin roadshow
  BIN=$TARGET/release/roadshow
fi

SUFFIX="$(date +%s)_$$"
EMPTY_DB="roadshow_scale_empty_$SUFFIX"
SEEDED_DB=${SCALE_SEEDED_DB:-roadshow_scale_seeded_$SUFFIX}
WORK=$(mktemp -d)
PIDS=()
CREATED=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${SCALE_KEEP:-0}" != 1 ]; then
    for db in "${CREATED[@]}"; do psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  else
    echo "kept databases: ${CREATED[*]:-none} (and $SEEDED_DB)"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

url() { echo "$PG/$1?$PG_PARAMS"; }

echo "== databases"
psql -q "$PG/postgres" -c "CREATE DATABASE $EMPTY_DB" && CREATED+=("$EMPTY_DB")
DATABASE_URL=$(url "$EMPTY_DB") timeout 120 "$BIN" migrate
if [ -z "${SCALE_SEEDED_DB:-}" ]; then
  psql -q "$PG/postgres" -c "CREATE DATABASE $SEEDED_DB" && CREATED+=("$SEEDED_DB")
  DATABASE_URL=$(url "$SEEDED_DB") timeout 120 "$BIN" migrate
  echo "== seeding $SEEDED_DB (bench/seed_scale.sql)"
  start=$(date +%s)
  timeout 1800 psql -q -v ON_ERROR_STOP=1 -f bench/seed_scale.sql "$(url "$SEEDED_DB")" >"$WORK/seed.log"
  grep -v '^Time:' "$WORK/seed.log" | tail -n 12
  echo "seeded in $(( $(date +%s) - start )) s"
else
  DATABASE_URL=$(url "$SEEDED_DB") timeout 120 "$BIN" migrate   # new migrations of this build
fi
# The counters folded, as the scheduler of any running process keeps them (the measured servers
# run without background work, so that nothing else uses the CPU while they are timed).
DATABASE_URL=$(url "$EMPTY_DB") timeout 600 "$BIN" fold-counters
DATABASE_URL=$(url "$SEEDED_DB") timeout 600 "$BIN" fold-counters
# The tables and the planner's statistics as autovacuum would keep them (a server without
# autovacuum has none; the bulk load leaves dead row versions, e.g. of events whose topic and host
# lists the triggers filled, and with three times as many dead as live rows the planner walks the
# events instead of the search index: 14 ms instead of 0.5).
psql -q "$(url "$EMPTY_DB")" -c "VACUUM ANALYZE"
psql -q "$(url "$SEEDED_DB")" -c "VACUUM ANALYZE"

start_server() { # label db port [public cache entries]
  local token
  token=$(DATABASE_URL=$(url "$2") timeout 60 "$BIN" create-admin --email "scale-$1-$SUFFIX@bench.example" --name "Scale $1")
  DATABASE_URL=$(url "$2") ROADSHOW_BIND="127.0.0.1:$3" ROADSHOW_PUBLIC_URL="http://127.0.0.1:$3" \
    ROADSHOW_RATE_LIMIT_PER_MINUTE=0 ROADSHOW_DB_POOL_SIZE="$POOL" ROADSHOW_HTTP_WORKERS="$WORKERS" \
    ROADSHOW_BACKGROUND=false ROADSHOW_PUBLIC_CACHE_ENTRIES="${4:-0}" ROADSHOW_MAIL_DIR="$WORK/mail-$1" RUST_LOG=warn \
    timeout 1800 "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$3/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  # The server's own pid (timeout forks it as its child).
  local child
  child=$(pgrep -P "$pid" | head -n 1)
  SPEC+=("$1=http://127.0.0.1:$3,$(url "$2"),$token,${child:-$pid}")
}

SPEC=()
echo "== servers"
start_server empty "$EMPTY_DB" "$PORT"
start_server seeded "$SEEDED_DB" "$((PORT + 1))"

echo "== measuring ($REPS repetitions per call, the two servers interleaved)"
SCALE_FOLD_BIN="$BIN" timeout 1200 python3 -B bench/scale_measure.py --reps="$REPS" "${SPEC[@]}" >"$WORK/result.json"
python3 -B bench/scale_table.py "$WORK/result.json"
cp "$WORK/result.json" "${SCALE_RESULT:-/tmp/scale_result.json}"

# 5. Memory under anonymous reads that the cache cannot share: a third server on the seeded
#    database with the public cache on (the default limits), varied query strings.
echo "== varied anonymous reads, public cache on ($SCALE_CACHE_REQUESTS requests at most)"
SPEC=()
start_server cached "$SEEDED_DB" "$((PORT + 2))" 10000
cached_pid=${SPEC[0]##*,}
timeout 600 python3 -B bench/scale_cache.py "http://127.0.0.1:$((PORT + 2))" "$cached_pid" \
  --requests="$SCALE_CACHE_REQUESTS" --clients=8 --seconds=180 | tee "${SCALE_CACHE_RESULT:-/tmp/scale_cache.json}"
