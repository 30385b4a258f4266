#!/usr/bin/env bash
# Dose registration from site tablets, side by side with GET /healthz of the same server, in one
# run, on SQLite and on PostgreSQL; then a kill -9 during a registration load, and a check that every
# acknowledged registration is in the database afterwards.
#
#   bench/doses.sh [TARGETS] [SECONDS] [CONCURRENCY]      (default 1000000 20 64)
#   BIN=/path/to/release bench/doses.sh …                 (binaries built elsewhere)
#
# For each backend: `vrs init`, `vrs import targets` (TARGETS synthetic people of 西条市), `vrs
# accounts create` (a site tablet), `vrs serve` on loopback; `vrs-load healthz` then `vrs-load
# doses` (one dose per person, distinct coupons, one Idempotency-Key each) for SECONDS each with
# CONCURRENCY connections. Then `vrs-load doses` again, `kill -9` of the server in the middle of it,
# a restart, and every acknowledged coupon looked up in `vrs export doses --format csv`. Each load
# prints the server's CPU time per request answered (and on PostgreSQL the database's).
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the run
# creates and drops the database vrs_bench_doses. Set BACKENDS="sqlite" to skip PostgreSQL. PERF=1
# records `perf record -g` (or PERF_ARGS) of the server during the registration load (reports kept in the work
# directory, whose path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=${1:-1000000}
SECS=${2:-20}
CONC=${3:-64}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-sqlite postgres}
PORT=18080
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null
  if [ "${PERF:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# BIN=dir runs the `vrs` and `vrs-load` found there (e.g. two builds compared in turn) instead of
# building this checkout.
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p vrs -p vrs-bench
  BIN=$PWD/target/release
fi
VRS=$BIN/vrs
LOAD=$BIN/vrs-load
"$VRS" gen targets --municipality 382060 --count "$TARGETS" --seed 42 --out "$WORK/targets.csv"
echo "machine: $(nproc) cores; targets: $TARGETS; $SECS s per run; $CONC connections"

start_server() {
  "$VRS" --database "$DB" --key-file "$WORK/master.key" serve --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 200); do curl -fs "$URL/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

# The server's CPU time (user + system, clock ticks) so far, and per request answered by a load:
# a figure of the server's own cost that the load generator sharing the cores does not move.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }
# PostgreSQL's processes' CPU time (the server's connections are its backends; all of them
# persist through a load, so what they used is in their own counters).
db_ticks() {
  local t=0 pid
  for pid in $(pgrep -x postgres); do t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0) )); done
  echo "$t"
}
per_request() { # per_request TICKS LOAD_JSON
  local n
  n=$(grep -o '"acknowledged":[0-9]*' "$2" | cut -d: -f2)
  echo "$(awk -v t="$1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f µs", t / hz / n * 1e6 }') ($n answered)"
}
# The whole machine's idle and I/O-wait time (every core, clock ticks) and all of its time: a load
# that leaves the cores idle is bound by something other than CPU (a commit's sync, a lock, the
# one writer), and one that leaves none is bound by the cores the load generator shares.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, $6, t }' /proc/stat; }
idle_share() { # idle_share NAME "IDLE IOWAIT TOTAL" (machine_ticks before the load)
  local i0 w0 t0 i1 w1 t1
  read -r i0 w0 t0 <<<"$2"
  read -r i1 w1 t1 <<<"$(machine_ticks)"
  awk -v n="$1" -v i=$((i1 - i0)) -v w=$((w1 - w0)) -v t=$((t1 - t0)) \
    'BEGIN { printf "machine idle during %s: %.1f %% (waiting on I/O: %.1f %%)\n", n, 100 * i / t, 100 * w / t }'
}
cpu_per_request() { # cpu_per_request NAME TICKS_BEFORE LOAD_JSON [DB_TICKS_BEFORE]
  echo "server CPU per $1: $(per_request $(( $(cpu_ticks) - $2 )) "$3")"
  if [ -n "${4:-}" ]; then echo "database CPU per $1: $(per_request $(( $(db_ticks) - $4 )) "$3")"; fi
}

for backend in $BACKENDS; do
  case $backend in
    sqlite) DB=sqlite://$WORK/sqlite/vrs.db ;;
    postgres)
      psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_doses WITH (FORCE)" -c "CREATE DATABASE vrs_bench_doses"
      DB=${PG%/*}/vrs_bench_doses ;;
  esac
  V=("$VRS" --database "$DB" --key-file "$WORK/master.key")
  "${V[@]}" init >/dev/null
  "${V[@]}" import targets "$WORK/targets.csv" --municipality 382060 >/dev/null
  PASSWORD=$("${V[@]}" accounts create "bench-tablet-$backend" --role site_tablet --municipality 382060 2>/dev/null | cut -f2)
  start_server
  echo "== $backend"
  db_before=; [ "$backend" = postgres ] && db_before=$(db_ticks)
  machine_before=$(machine_ticks)
  cpu_before=$(cpu_ticks); "$LOAD" --url "$URL" --concurrency "$CONC" --seconds "$SECS" healthz | tee "$WORK/healthz.json"
  cpu_per_request healthz "$cpu_before" "$WORK/healthz.json" $db_before
  idle_share healthz "$machine_before"
  [ "$backend" = postgres ] && db_before=$(db_ticks)
  machine_before=$(machine_ticks)
  cpu_before=$(cpu_ticks)
  [ "${PERF:-0}" = 1 ] && { perf record ${PERF_ARGS:--g} -o "$WORK/perf-$backend.data" -p "$SERVER" 2>/dev/null & PERF_PID=$!; }
  "$LOAD" --url "$URL" --concurrency "$CONC" --seconds "$SECS" doses --user "bench-tablet-$backend" \
    --password "$PASSWORD" --municipality 382060 --count "$TARGETS" --seed 42 --acked "$WORK/acked-$backend-1" | tee "$WORK/doses.json"
  if [ "${PERF:-0}" = 1 ]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" || true
    perf report -i "$WORK/perf-$backend.data" --no-children --percent-limit 1 --stdio >"$WORK/perf-$backend.txt" 2>/dev/null || true
    echo "profile of the registration load: $WORK/perf-$backend.txt"
  fi
  cpu_per_request registrations "$cpu_before" "$WORK/doses.json" $db_before
  idle_share registrations "$machine_before"
  FIRST=$(wc -l <"$WORK/acked-$backend-1")
  echo "server memory after the registration load: $(grep -E 'VmHWM' /proc/$SERVER/status | tr -s ' \t' ' ') (peak), $(grep -E 'VmRSS' /proc/$SERVER/status | tr -s ' \t' ' ')"
  # kill -9 in the middle of a registration load; the tablet's password was changed by the first run.
  "$LOAD" --url "$URL" --concurrency "$CONC" --seconds 6 doses --user "bench-tablet-$backend" \
    --password "Bench-$PASSWORD-9x" --municipality 382060 --count "$TARGETS" --seed 42 --from "$FIRST" \
    --acked "$WORK/acked-$backend-2" >"$WORK/killed-run.json" &
  LOADER=$!
  sleep 3
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
  wait "$LOADER" || true
  start_server
  "${V[@]}" export doses --municipality 382060 --format csv --encoding utf-8 --out "$WORK/stored.csv" 2>/dev/null
  cut -d, -f8 "$WORK/stored.csv" | tail -n +2 | sort -u >"$WORK/stored-coupons"
  cat "$WORK/acked-$backend-1" "$WORK/acked-$backend-2" | cut -d, -f1 | cut -d- -f2 | sort -u >"$WORK/acked-coupons"
  ACKED=$(wc -l <"$WORK/acked-coupons")
  MISSING=$(comm -23 "$WORK/acked-coupons" "$WORK/stored-coupons" | wc -l)
  echo "kill -9 during load: $(wc -l <"$WORK/acked-$backend-2") acknowledged in the killed run; $ACKED acknowledged in all, $MISSING of them missing after restart"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
  [ "$MISSING" -eq 0 ] || { echo "LOST ACKNOWLEDGED DOSES" >&2; exit 1; }
  if [ "$backend" = postgres ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_doses WITH (FORCE)"; fi
done
