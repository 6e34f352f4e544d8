#!/usr/bin/env bash
# Where a spread registration's CPU goes in the server: a profile of the release server while it
# registers, with its email delivered over SMTP to a local sink (examples/smtp_sink.rs), as in
# bench/run.sh.
#
#   bench/profile.sh [callgrind|perfstat|syscalls|perf] [REGISTRATIONS]     (default: callgrind 2000)
#
# - callgrind: the server runs under `valgrind --tool=callgrind` (about 50 times slower, but the
#   instruction counts repeat to within a percent from run to run, whatever else the machine
#   does); counters are zeroed after a warm-up of 300 registrations and dumped after the measured
#   ones, then `callgrind_annotate` prints the functions by their own and by their inclusive cost.
#   Divide by REGISTRATIONS for instructions per registration (user space only).
# - perfstat: `perf stat` on the server during the measured registrations: task clock and context
#   switches per registration (the kernel's share, which callgrind cannot see).
# - syscalls: `strace -c -f` on every thread of the server during the measured registrations: the
#   system calls per registration, by name (strace slows the server several times over; the counts,
#   not the times, are the figures to read).
# - perf: `perf record -g` on the server; then `perf report --no-children` (or a flame graph:
#   `perf script | stackcollapse-perf.pl | flamegraph.pl > flame.svg`, from the FlameGraph
#   scripts). Needs a machine where perf can sample (not the development VM, where it records
#   nothing).
# Needs PostgreSQL on 127.0.0.1 (BENCH_PG, as bench/run.sh) and psql; the output goes to
# PROFILE_OUT (default: a new directory under /tmp, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-callgrind}
N=${2:-2000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-18180}
OUT=${PROFILE_OUT:-$(mktemp -d /tmp/roadshow-profile.XXXXXX)}
case "$PG" in
  postgres://*@127.0.0.1:*|postgresql://*@127.0.0.1:*|postgres://*@localhost:*) ;;
  *) echo "BENCH_PG must point at 127.0.0.1 (got $PG)" >&2; exit 2 ;;
esac
case "$MODE" in
  callgrind) command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; } ;;
  perfstat|perf) command -v perf >/dev/null || { echo "perf not found (apt-get install linux-perf)" >&2; exit 2; } ;;
  syscalls) command -v strace >/dev/null || { echo "strace not found (apt-get install strace)" >&2; exit 2; } ;;
  *) echo "usage: bench/profile.sh [callgrind|perfstat|syscalls|perf] [REGISTRATIONS]" >&2; exit 2 ;;
esac

timeout 1200 cargo build --release --bin roadshow --example loadgen --example smtp_sink
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BENCH_SERVER_BIN:-$TARGET/release/roadshow}
mkdir -p "$OUT"
cp "$TARGET/release/examples/loadgen" "$TARGET/release/examples/smtp_sink" "$OUT/"

DB="roadshow_profile_$(date +%s)_$$"
URL="$PG/$DB?sslmode=disable"
SERVER_PID=""; SINK_PID=""; STAT_PID=""
cleanup() {
  for pid in "$STAT_PID" "$SERVER_PID" "$SINK_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

psql -q -v ON_ERROR_STOP=1 "$PG/postgres" -c "CREATE DATABASE $DB" >/dev/null
RUST_LOG=warn DATABASE_URL="$URL" timeout 60 "$BIN" migrate >/dev/null
"$OUT/smtp_sink" "$OUT/sink.count" > "$OUT/sink.url" 2>"$OUT/sink.log" &
SINK_PID=$!
for _ in $(seq 1 100); do [ -s "$OUT/sink.url" ] && break; sleep 0.1; done
PRE=()
[ "$MODE" = callgrind ] && PRE=(valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out")
env ROADSHOW_BACKGROUND=true ROADSHOW_SMTP_URL="$(head -n 1 "$OUT/sink.url")" DATABASE_URL="$URL" \
  ROADSHOW_BIND="127.0.0.1:$PORT" ROADSHOW_PUBLIC_URL="http://127.0.0.1:$PORT" ROADSHOW_RATE_LIMIT_PER_MINUTE=0 \
  ROADSHOW_DB_POOL_SIZE=16 ROADSHOW_HTTP_WORKERS=2 RUST_LOG=warn \
  "${PRE[@]}" "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 0.2
done
TOKEN=$(RUST_LOG=warn DATABASE_URL="$URL" timeout 60 "$BIN" create-admin --email profile@example.com)
load() { # registrations
  ROADSHOW_BENCH_TOKEN="$TOKEN" timeout 1800 "$OUT/loadgen" --base-url "http://127.0.0.1:$PORT" --database-url "$URL" \
    --clients 16 --workloads spread --spread-events 50 --spread-requests "$1" --mail-drain --max-seconds 1500 \
    --server-pid "$SERVER_PID"
}
echo "== warm-up: 300 registrations"
load 300 > "$OUT/warmup.out"
case "$MODE" in
  callgrind) callgrind_control -z "$SERVER_PID" >/dev/null ;;
  perfstat) perf stat -e task-clock,context-switches,cpu-migrations -p "$SERVER_PID" -o "$OUT/perfstat.txt" & STAT_PID=$! ;;
  perf) perf record -g -o "$OUT/perf.data" -p "$SERVER_PID" 2>"$OUT/perf.log" & STAT_PID=$! ;;
  syscalls)
    strace -c -f -o "$OUT/strace.txt" -p "$SERVER_PID" 2>"$OUT/strace.log" & STAT_PID=$!
    sleep 1 ;;   # strace attaches to each thread in turn
esac
echo "== measured: $N registrations, their email delivered"
load "$N" | tee "$OUT/load.out" | grep -E '^RESULT|delivered'
case "$MODE" in
  callgrind)
    callgrind_control -d "$SERVER_PID" >/dev/null
    DUMP=$(ls "$OUT"/callgrind.out.* | head -n 1)
    echo "== $DUMP: own cost (instructions; divide by $N for one registration)"
    callgrind_annotate --threshold=99 "$DUMP" | sed -n '/file:function/,$p' | head -n 40
    echo "== inclusive cost"
    callgrind_annotate --inclusive=yes --threshold=99 "$DUMP" | sed -n '/file:function/,$p' | head -n 60
    ;;
  perfstat)
    kill -INT "$STAT_PID"; wait "$STAT_PID" || true; STAT_PID=""
    cat "$OUT/perfstat.txt"
    awk -v n="$N" '/task-clock/ { gsub(",", "", $1); printf "task clock per registration: %.0f us\n", $1 * 1000 / n }
                   /context-switches/ { gsub(",", "", $1); printf "context switches per registration: %.1f\n", $1 / n }' "$OUT/perfstat.txt"
    ;;
  syscalls)
    kill -INT "$STAT_PID"; wait "$STAT_PID" || true; STAT_PID=""
    echo "== system calls per registration (all threads; strace -c)"
    python3 - "$OUT/strace.txt" "$N" <<'PY'
import re, sys
n = int(sys.argv[2]); rows = []
for line in open(sys.argv[1]):
    f = line.split()
    # % time, seconds, usecs/call, calls, [errors,] syscall
    if len(f) >= 5 and re.fullmatch(r"[0-9.]+", f[0]) and f[-1] != "total":
        rows.append((int(f[3]), f[-1]))
total = sum(c for c, _ in rows)
for calls, name in sorted(rows, reverse=True):
    if calls / n >= 0.05:
        print(f"  {name:<16} {calls / n:6.2f}")
print(f"  {'all':<16} {total / n:6.2f}")
PY
    ;;
  perf)
    kill -INT "$STAT_PID"; wait "$STAT_PID" || true; STAT_PID=""
    perf report -i "$OUT/perf.data" --no-children --stdio 2>/dev/null | head -n 60
    ;;
esac
echo "(output kept in $OUT)"
