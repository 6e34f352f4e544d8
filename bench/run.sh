#!/usr/bin/env bash
# Registration benchmark: pgbench ceilings + HTTP load against a release server, in one run.
#
#   bench/run.sh            (needs PostgreSQL on 127.0.0.1 reachable as BENCH_PG, pgbench, psql)
#
# 1. builds the release server and examples/loadgen once;
# 2. creates two scratch databases (one for pgbench, one for the server), migrated by the binary;
# 3. pgbench: the bare SQL transaction of one registration (bench/registration.sql) spread over
#    1,000 events, on one hot event with the naive single counter row, and on one hot event with
#    our 16 seat shards;
# 4. starts the release server on 127.0.0.1 and runs examples/loadgen (spread, hot, reads, then
#    experts: 10,000 bookings at 10 stops, the slot list of a stop with 40 experts x 30 slots by
#    time and matched, 64 clients racing for its 1,200 slots; then credits: the 10,000 oldest
#    confirmed registrations, spread ones, checked in by 64 clients, each granting its business
#    $50 from the ad-credit pool), which also checks the invariants afterwards;
# 5. prints a summary with the ratios, stops the server and drops both databases.
# Every step is bounded in time; a full run takes about 5 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# Same connection options for pgbench and the server: no TLS over loopback (libpq's default
# sslmode=prefer would encrypt every round trip on both sides).
PG_PARAMS=${BENCH_PG_PARAMS:-sslmode=disable}
PORT=${BENCH_PORT:-18080}
PGBENCH_SECONDS=${BENCH_PGBENCH_SECONDS:-15}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-16}   # spread ceiling: as many as the server's pool
HOT_CLIENTS=${BENCH_HOT_CLIENTS:-64}
POOL=${BENCH_DB_POOL_SIZE:-16}
WORKERS=${BENCH_HTTP_WORKERS:-2}
ANALYZE_SECONDS=${BENCH_ANALYZE_SECONDS:-5}   # see start_analyze
LOADGEN_ARGS=${BENCH_LOADGEN_ARGS:-}
SCRIPT=${BENCH_PGBENCH_SCRIPT:-bench/registration.sql}

case "$PG" in
  postgres://*@127.0.0.1:*|postgresql://*@127.0.0.1:*|postgres://*@localhost:*) ;;
  *) echo "BENCH_PG must point at 127.0.0.1 (got $PG)" >&2; exit 2 ;;
esac
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -n 1 || true)
[ -x "$PGBENCH" ] || { echo "pgbench not found (apt-get install postgresql-client or the server package)" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql not found" >&2; exit 2; }

echo "== build (release, once)"
timeout 1200 cargo build --release --bin roadshow --example loadgen --example smtp_sink
TARGET=${CARGO_TARGET_DIR:-target}   # where cargo put the build
BIN=${BENCH_SERVER_BIN:-$TARGET/release/roadshow}   # override to compare another build
LOADGEN=$TARGET/release/examples/loadgen
SINK=$TARGET/release/examples/smtp_sink

SUFFIX="$(date +%s)_$$"
APP_DB="roadshow_bench_$SUFFIX"
PGB_DB="roadshow_pgbench_$SUFFIX"
APP_URL="$PG/$APP_DB?$PG_PARAMS"
PGB_URL="$PG/$PGB_DB?$PG_PARAMS"
WORK=$(mktemp -d)
SERVER_PID=""
SINK_PID=""
ANALYZE_PID=""

# A PostgreSQL server without autovacuum (a development or CI server, like the one this was
# written on) never refreshes the planner's statistics while the benchmark grows its tables from
# empty, and plans made for empty tables then scan what they should look up: the UPDATE of the
# outbox that refusing marketing consent sends with every other registration went from an index
# lookup to a 15 ms scan of every pending email at 17,000 registrations, and the spread ceiling
# fell by two thirds within one run. Then, while a phase runs, every ANALYZE_SECONDS, analyze each
# table that autovacuum would (default thresholds: 50 rows + 10% changed since the last ANALYZE),
# as it keeps a production database's statistics current. The cost shows in PostgreSQL's CPU per
# request of the write phases (the read phases change nothing, so nothing is analyzed then).
# Likewise it vacuums each table autovacuum would (50 rows + 20% dead): the credits phase updates
# one pool row per grant, and without VACUUM that one-row table grew to 58 pages within 10,000
# grants here, and grants/s fell from 380 to 229 within the phase (bench/credits.sh, the same).
AUTOVACUUM=$(psql -tA "$PG/postgres" -c "SHOW autovacuum" 2>/dev/null || echo unknown)
ANALYZE_DUE="SELECT format('ANALYZE %I', s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) \\gexec
SELECT format('VACUUM %I', s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) \\gexec"
start_analyze() { # url
  [ "$AUTOVACUUM" = "off" ] || return 0
  ( while sleep "$ANALYZE_SECONDS"; do echo "$ANALYZE_DUE" | psql -q "$1" >/dev/null 2>&1 || true; done ) &
  ANALYZE_PID=$!
}
stop_analyze() {
  if [ -n "$ANALYZE_PID" ]; then
    kill "$ANALYZE_PID" 2>/dev/null || true
    wait "$ANALYZE_PID" 2>/dev/null || true
    ANALYZE_PID=""
  fi
}

cleanup() {
  stop_analyze
  for pid in "$SERVER_PID" "$SINK_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  for db in "$APP_DB" "$PGB_DB"; do
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== scratch databases $APP_DB, $PGB_DB"
psql -q -v ON_ERROR_STOP=1 "$PG/postgres" -c "CREATE DATABASE $APP_DB" -c "CREATE DATABASE $PGB_DB" >/dev/null
RUST_LOG=warn DATABASE_URL="$PGB_URL" timeout 60 "$BIN" migrate
psql -q -v ON_ERROR_STOP=1 "$PGB_URL" -f bench/pgbench_setup.sql >/dev/null

tps() { grep -Eo 'tps = [0-9.]+' | awk '{print $3}'; }
# CPU clock ticks (1/100 s) used so far by every postgres process (children included: backends that
# exited are accounted to the postmaster), and by this shell's finished children.
pg_ticks() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { s += $14 + $15 + $16 + $17 } END { print s + 0 }'; }
# Busy clock ticks of all CPUs (user, nice, system, irq, softirq, steal): how busy the machine was,
# other programs included.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# (`times` must run in this shell, not in a pipeline's subshell, which has no children.)
child_ticks() {
  times > "$WORK/times"
  tail -n 1 "$WORK/times" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "%d\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 100 }'
}
run_pgbench() { # name clients seconds -D…   prints "tx/s pg-us-per-tx client-us-per-tx"
  local name=$1 clients=$2 seconds=$3; shift 3
  local out pg0 pg1 c0 c1 m0 m1
  child_ticks > "$WORK/c0"; pg0=$(pg_ticks); m0=$(machine_ticks)
  out=$(timeout $((seconds + 60)) "$PGBENCH" -n -M prepared -f "$SCRIPT" "$@" \
          -c "$clients" -j 2 -T "$seconds" "$PGB_URL" 2>&1) || { echo "$out" >&2; exit 1; }
  pg1=$(pg_ticks); m1=$(machine_ticks); child_ticks > "$WORK/c1"; c0=$(cat "$WORK/c0"); c1=$(cat "$WORK/c1")
  local t lat n pgus cus busy
  t=$(echo "$out" | tps)
  lat=$(echo "$out" | grep -Eo 'latency average = [0-9.]+' | awk '{print $4}')
  n=$(echo "$out" | grep -Eo 'processed: [0-9]+' | awk '{print $2}')
  pgus=$(awk -v a="$pg0" -v b="$pg1" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 10000 / n }')
  cus=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 10000 / n }')
  busy=$(awk -v a="$m0" -v b="$m1" -v s="$seconds" -v c="$(nproc)" 'BEGIN { printf "%.0f", (b - a) / (s * c) }')
  printf '  pgbench %-8s %3d clients: %8.1f tx/s, latency avg %s ms; CPU per tx: PostgreSQL %s us, pgbench %s us; machine %s%% busy\n' \
    "$name" "$clients" "$t" "$lat" "$pgus" "$cus" "$busy" >&2
  echo "$t $pgus $cus"
}

echo "== pgbench ceilings (${PGBENCH_SECONDS}s each; spread with and without email in 3 alternating pairs)"
# With and without the email statement alternate, a third of the time each, and each figure is the
# median of its three: the tables grow during the runs, which would otherwise favour whichever
# runs first.
[ "$AUTOVACUUM" = "off" ] && echo "   (autovacuum is off on this server: ANALYZE and VACUUM as it would, every ${ANALYZE_SECONDS}s, instead)"
start_analyze "$PGB_URL"
PAIR_SECONDS=$(( (PGBENCH_SECONDS + 2) / 3 ))
: > "$WORK/with"; : > "$WORK/without"
for _ in 1 2 3; do
  run_pgbench spread "$PGBENCH_CLIENTS" "$PAIR_SECONDS" -D spread=1 -D naive=0 -D mail=1 -D event=none >> "$WORK/with"
  run_pgbench no-email "$PGBENCH_CLIENTS" "$PAIR_SECONDS" -D spread=1 -D naive=0 -D mail=0 -D event=none >> "$WORK/without"
done
median_row() { sort -n -k1,1 "$1" | sed -n 2p; }   # the middle of three runs, by tx/s
read -r PGB_SPREAD PGB_SPREAD_PG PGB_SPREAD_CLIENT < <(median_row "$WORK/with")
read -r PGB_NOMAIL PGB_NOMAIL_PG _ < <(median_row "$WORK/without")
read -r PGB_NAIVE _ _ < <(run_pgbench naive "$HOT_CLIENTS" "$PGBENCH_SECONDS" -D spread=0 -D naive=1 -D mail=1 -D event=pgb-naive)
read -r PGB_SHARDED _ _ < <(run_pgbench sharded "$HOT_CLIENTS" "$PGBENCH_SECONDS" -D spread=0 -D naive=0 -D mail=1 -D event=pgb-sharded)
[ -n "$PGB_SPREAD" ] && [ -n "$PGB_NOMAIL" ] && [ -n "$PGB_NAIVE" ] && [ -n "$PGB_SHARDED" ] \
  || { echo "a pgbench run failed (see above)" >&2; exit 1; }
stop_analyze

# Email: delivered over SMTP to a local sink (examples/smtp_sink.rs, its own process), as
# production delivers it; loadgen waits after each registration workload until no email is pending
# before it samples the CPU, so each registration's CPU includes delivering its email.
# BENCH_MAIL=off runs without the worker (no delivery at all; the CPU figures then leave it out).
MAIL=${BENCH_MAIL:-smtp}
MAIL_ENV=(ROADSHOW_BACKGROUND=false)
MAIL_ARGS=()
if [ "$MAIL" = smtp ]; then
  "$SINK" "$WORK/sink.count" > "$WORK/sink.url" 2>"$WORK/sink.log" &
  SINK_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/sink.url" ] && break; sleep 0.1; done
  SINK_URL=$(head -n 1 "$WORK/sink.url")
  case "$SINK_URL" in smtp://127.0.0.1:*) ;; *) echo "SMTP sink did not start" >&2; cat "$WORK/sink.log" >&2; exit 1 ;; esac
  MAIL_ENV=(ROADSHOW_BACKGROUND=true ROADSHOW_SMTP_URL="$SINK_URL")
  MAIL_ARGS=(--mail-drain)
fi

echo "== release server on 127.0.0.1:$PORT (pool $POOL, $WORKERS HTTP workers, rate limit off, mail: $MAIL${SINK_URL:+ to $SINK_URL})"
env "${MAIL_ENV[@]}" DATABASE_URL="$APP_URL" ROADSHOW_BIND="127.0.0.1:$PORT" ROADSHOW_PUBLIC_URL="http://127.0.0.1:$PORT" \
  ROADSHOW_RATE_LIMIT_PER_MINUTE=0 ROADSHOW_DB_POOL_SIZE="$POOL" ROADSHOW_HTTP_WORKERS="$WORKERS" \
  ROADSHOW_MAIL_DIR="$WORK/mail" RUST_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server not ready" >&2; exit 1; }
TOKEN=$(RUST_LOG=warn DATABASE_URL="$APP_URL" timeout 60 "$BIN" create-admin --email bench-admin@example.com)

echo "== loadgen"
start_analyze "$APP_URL"
# shellcheck disable=SC2086
ROADSHOW_BENCH_TOKEN="$TOKEN" timeout 600 "$LOADGEN" --base-url "http://127.0.0.1:$PORT" \
  --database-url "$APP_URL" --clients "$HOT_CLIENTS" --server-pid "$SERVER_PID" "${MAIL_ARGS[@]}" $LOADGEN_ARGS | tee "$WORK/loadgen.out"
LOADGEN_STATUS=${PIPESTATUS[0]}
stop_analyze
if grep -qE "ERROR|WARN|panicked" "$WORK/server.log"; then
  echo "server log (warnings and errors, first 10 lines):"
  grep -E "ERROR|WARN|panicked" "$WORK/server.log" | head -n 10
fi

field() { # workload key   (empty when that workload did not run: see BENCH_LOADGEN_ARGS)
  { grep "^RESULT workload=$1 " "$WORK/loadgen.out" || true; } | { grep -Eo "$2=[0-9.]+" || true; } | cut -d= -f2
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }
HTTP_SPREAD=$(field spread rate); HTTP_HOT=$(field hot rate); HTTP_SEATS=$(field hot_seats rate); READS=$(field reads rate)
X_SEED=$(field expert_seed rate); X_LIST=$(field expert_slots rate); X_MATCHED=$(field expert_slots_matched rate)
X_RACE=$(field expert_race rate); X_RACE_SLOTS=$(field expert_race_slots rate)
C_CHECKIN=$(field credits rate); C_GRANTS=$(field credit_grants rate)

echo
echo "== summary ($(nproc) cores; server, PostgreSQL, pgbench and loadgen share them)"
printf '%-44s %10s %9s %9s\n' "measure" "per second" "p50 ms" "p99 ms"
printf '%-44s %10.0f %9s %9s\n' "pgbench spread (1,000 events) ceiling" "$PGB_SPREAD" - -
printf '%-44s %10.0f %9s %9s\n' "pgbench spread without the email statements" "$PGB_NOMAIL" - -
printf '%-44s %10.0f %9s %9s\n' "pgbench hot event, naive single row" "$PGB_NAIVE" - -
printf '%-44s %10.0f %9s %9s\n' "pgbench hot event, 16 shards SKIP LOCKED" "$PGB_SHARDED" - -
printf '%-44s %10.0f %9s %9s\n' "HTTP spread registrations" "${HTTP_SPREAD:-0}" "$(field spread p50_ms)" "$(field spread p99_ms)"
printf '%-44s %10.0f %9s %9s\n' "HTTP hot event, 64 clients, seats + waitlist" "${HTTP_HOT:-0}" "$(field hot p50_ms)" "$(field hot p99_ms)"
printf '%-44s %10.0f %9s %9s\n' "HTTP hot event, until the seats were gone" "${HTTP_SEATS:-0}" - -
printf '%-44s %10.0f %9s %9s\n' "HTTP reads (list + get, 64 clients)" "${READS:-0}" "$(field reads p50_ms)" "$(field reads p99_ms)"
if [ -n "$X_SEED" ]; then
  printf '%-44s %10.0f %9s %9s\n' "HTTP expert bookings, 10 stops, no contention" "$X_SEED" "$(field expert_seed p50_ms)" "$(field expert_seed p99_ms)"
  printf '%-44s %10.0f %9s %9s\n' "HTTP stop's slot list by time (200 of 1,200)" "${X_LIST:-0}" "$(field expert_slots p50_ms)" "$(field expert_slots p99_ms)"
  printf '%-44s %10.0f %9s %9s\n' "HTTP stop's slot list matched (1,200 ranked)" "${X_MATCHED:-0}" "$(field expert_slots_matched p50_ms)" "$(field expert_slots_matched p99_ms)"
  printf '%-44s %10.0f %9s %9s\n' "HTTP race for 1,200 slots, 3 per slot (all)" "${X_RACE:-0}" "$(field expert_race p50_ms)" "$(field expert_race p99_ms)"
  printf '%-44s %10.0f %9s %9s\n' "HTTP race: bookings until the slots were gone" "${X_RACE_SLOTS:-0}" - -
fi
if [ -n "$C_CHECKIN" ]; then
  printf '%-44s %10.0f %9s %9s\n' 'HTTP check-ins granting $50 each, 64 clients' "$C_CHECKIN" "$(field credits p50_ms)" "$(field credits p99_ms)"
  printf '%-44s %10.0f %9s %9s\n' "HTTP credit grants (until the last grant)" "${C_GRANTS:-0}" - -
fi
echo
echo "HTTP spread / pgbench spread ceiling: $(ratio "$HTTP_SPREAD" "$PGB_SPREAD")   (target >= 0.90)"
echo "HTTP hot seats / pgbench naive row:   $(ratio "$HTTP_SEATS" "$PGB_NAIVE")   (target >= 5; whole burst with waitlist: $(ratio "$HTTP_HOT" "$PGB_NAIVE"))"
echo "pgbench sharded / naive hot row:      $(ratio "$PGB_SHARDED" "$PGB_NAIVE")"
echo "pgbench spread with / without email:  $(ratio "$PGB_SPREAD" "$PGB_NOMAIL")   (outbox cost; target >= 0.90)"
echo "reads: $(printf '%.0f' "${READS:-0}") req/s, p99 $(field reads p99_ms) ms   (target >= 10000 req/s, p99 < 20 ms)"
if [ -n "$X_SEED" ]; then
  echo "expert bookings / spread registrations: $(ratio "$X_SEED" "$HTTP_SPREAD")   (both without contention, 64 clients)"
  echo "race bookings / hot event seats:        $(ratio "$X_RACE_SLOTS" "$HTTP_SEATS")   (64 clients on one stop / one event)"
  echo "slot list by time / public reads:       $(ratio "$X_LIST" "$READS")   (matched / by time: $(ratio "$X_MATCHED" "$X_LIST"))"
fi
if [ -n "$C_CHECKIN" ]; then
  echo "check-ins granting / spread registrations: $(ratio "$C_CHECKIN" "$HTTP_SPREAD")   (every grant updates the one pool row)"
  echo "check-ins granting / pgbench naive row:    $(ratio "$C_CHECKIN" "$PGB_NAIVE")   (both queue on a single row)"
fi
echo
echo "CPU per request (us), the server's CPU as a share of PostgreSQL's (srv/pg), and how busy the"
echo "machine was (% of all cores; other programs and other databases' PostgreSQL backends make a"
echo "phase slower, not its figures wrong). Mail: $MAIL (with smtp, a registration's CPU includes"
echo "delivering its email to the sink; the sink's own CPU is in 'other'):"
echo "(kernel: the part of the server's CPU spent in the kernel on its behalf: system calls, wake-ups, the network stack.)"
printf '  %-22s %8s %8s %7s %7s %8s %8s %8s %6s\n' workload PostgreSQL server kernel srv/pg loadgen other pg-other busy%
for w in spread hot reads expert_seed expert_slots expert_slots_matched expert_race credits; do
  [ -n "$(field "$w" cpu_pg_us)" ] || continue
  printf '  %-22s %8s %8s %7s %7s %8s %8s %8s %6s\n' "$w" "$(field "$w" cpu_pg_us)" "$(field "$w" cpu_server_us)" \
    "$(field "$w" cpu_server_sys_us)" "$(ratio "$(field "$w" cpu_server_us)" "$(field "$w" cpu_pg_us)")" \
    "$(field "$w" cpu_loadgen_us)" "$(field "$w" cpu_other_us)" "$(field "$w" cpu_pg_elsewhere_us)" "$(field "$w" busy_pct)"
done
for w in spread hot; do
  [ -n "$(field "$w" cpu_pg_us)" ] || continue
  echo "server / PostgreSQL CPU per $w registration: $(ratio "$(field "$w" cpu_server_us)" "$(field "$w" cpu_pg_us)")" \
       "($(field "$w" cpu_server_us) / $(field "$w" cpu_pg_us) us; target <= 0.20)"
done
if [ -n "$HTTP_SEATS" ] && [ -n "$HTTP_SPREAD" ]; then
  echo "hot seats / spread registrations (rate): $(ratio "$HTTP_SEATS" "$HTTP_SPREAD")   (target >= 0.90)"
fi
if [ -n "$SINK_PID" ]; then
  SENT=$(psql -tA "$APP_URL" -c "SELECT count(*) FROM outbox WHERE status = 'sent'" 2>/dev/null || echo "?")
  sleep 0.3
  echo "emails received by the SMTP sink: $(cat "$WORK/sink.count" 2>/dev/null || echo "?"); outbox rows sent: $SENT"
fi
# Where the CPU of one registration goes. pgbench, PostgreSQL, the server and the load generator share
# this machine's cores, so the HTTP rate can reach the pgbench ceiling only in the proportion of
# their CPU costs per registration: the last line is that bound, measured in this run.
S_PG=$(field spread cpu_pg_us); S_SRV=$(field spread cpu_server_us); S_LG=$(field spread cpu_loadgen_us)
if [ -n "$S_PG" ] && [ -n "$S_SRV" ]; then
  echo
  echo "CPU per spread registration (us): pgbench path: PostgreSQL $PGB_SPREAD_PG + pgbench $PGB_SPREAD_CLIENT;" \
       "HTTP path: PostgreSQL $S_PG + server $S_SRV + loadgen $S_LG"
  echo "HTTP / pgbench rate that this CPU split allows: $(awk -v a="$PGB_SPREAD_PG" -v b="$PGB_SPREAD_CLIENT" \
       -v c="$S_PG" -v d="$S_SRV" -v e="$S_LG" 'BEGIN { printf "%.2f", (a + b) / (c + d + e) }')"
  echo "outbox's share of PostgreSQL's CPU per registration: $(awk -v a="$PGB_SPREAD_PG" -v b="$PGB_NOMAIL_PG" \
       'BEGIN { printf "%.0f%%", (a - b) * 100 / a }')"
fi
exit "$LOADGEN_STATUS"
