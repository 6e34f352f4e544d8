#!/usr/bin/env bash
# National scale on SQLite (issue 13): the calls that read many rows, on an empty and a seeded
# SQLite file side by side, in one run.
#
#   bench/scale_sqlite.sh      (needs sqlite3 3.39 or newer, python3)
#
# Builds the release server once (or measures BENCH_SERVER_BIN), migrates an empty file and a
# second one that bench/seed_scale_sqlite.sql fills (1,000,000 registrations; about a minute;
# SCALE_SQLITE_SEEDED=/abs/file.db reuses a seeded file and only migrates it), starts a release
# server on each (public cache, rate limits and background work off) and runs
# bench/scale_sqlite.py, which builds the same fixture on both and times each call on both,
# interleaved. Prints a table (median ms empty, seeded, ratio) and the servers' RSS. Files are
# made in a scratch directory and removed at the end. Every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-18280}
WORKERS=${BENCH_HTTP_WORKERS:-2}
REPS=${SCALE_REPS:-15}
if [ -n "${BENCH_SERVER_BIN:-}" ]; then
  BIN=$BENCH_SERVER_BIN
else
  echo "== build (release, once)"
  timeout 1800 cargo build --release --bin roadshow
  BIN=${CARGO_TARGET_DIR:-target}/release/roadshow
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

EMPTY=$WORK/empty.db
SEEDED=${SCALE_SQLITE_SEEDED:-$WORK/seeded.db}
echo "== databases"
DATABASE_URL="sqlite://$EMPTY" timeout 120 "$BIN" migrate
DATABASE_URL="sqlite://$SEEDED" timeout 120 "$BIN" migrate
if [ -z "${SCALE_SQLITE_SEEDED:-}" ]; then
  echo "== seeding (bench/seed_scale_sqlite.sql)"
  start=$(date +%s)
  timeout 1800 sqlite3 "$SEEDED" < bench/seed_scale_sqlite.sql | tail -n 4
  echo "seeded in $(( $(date +%s) - start )) s, $(( $(stat -c %s "$SEEDED") / 1048576 )) MB"
fi
# The counters folded, as the scheduler of any running process keeps them (the measured servers
# run without background work).
DATABASE_URL="sqlite://$EMPTY" timeout 600 "$BIN" fold-counters
DATABASE_URL="sqlite://$SEEDED" timeout 600 "$BIN" fold-counters

SPEC=()
start_server() { # label file port
  local token
  token=$(DATABASE_URL="sqlite://$2" timeout 60 "$BIN" create-admin --email "scale-$1-$$@bench.example" --name "Scale $1")
  DATABASE_URL="sqlite://$2" ROADSHOW_BIND="127.0.0.1:$3" ROADSHOW_PUBLIC_URL="http://127.0.0.1:$3" \
    ROADSHOW_RATE_LIMIT_PER_MINUTE=0 ROADSHOW_HTTP_WORKERS="$WORKERS" ROADSHOW_BACKGROUND=false \
    ROADSHOW_PUBLIC_CACHE_ENTRIES=0 ROADSHOW_MAIL_DIR="$WORK/mail-$1" RUST_LOG=warn \
    timeout 1800 "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$3/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  local child
  child=$(pgrep -P "$pid" | head -n 1)
  SPEC+=("$1=http://127.0.0.1:$3,$token,${child:-$pid},sqlite://$2")
}
echo "== servers"
start_server empty "$EMPTY" "$PORT"
start_server seeded "$SEEDED" "$((PORT + 1))"

echo "== measuring ($REPS repetitions per call, the two servers interleaved)"
SCALE_FOLD_BIN="$BIN" timeout 1200 python3 -B bench/scale_sqlite.py --reps="$REPS" "${SPEC[@]}" >"$WORK/result.json"
python3 -B bench/scale_table.py "$WORK/result.json"
cp "$WORK/result.json" "${SCALE_RESULT:-/tmp/scale_sqlite_result.json}"
