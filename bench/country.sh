#!/usr/bin/env bash
# The synthetic country at national size, and what staff and sites do in it: person lookups in
# process and over HTTP, side by side with the database's own unique-index lookup, and the server's
# memory during a dose registration load, in one run, on PostgreSQL and on SQLite.
#
#   bench/country.sh [PEOPLE] [SQLITE_PEOPLE]      (default 10000000 1000000)
#
# For each backend, `vrs-country-bench load` (crates/vrs-bench) creates a fresh database and shares
# PEOPLE synthetic people among the 1,741 populated municipalities of the master list. Where the
# weights come from (crates/vrs-bench/src/country.rs): the 20 designated cities pinned at their 2020
# census populations (横浜市 3,777 k, 大阪市 2,752 k, 名古屋市 2,332 k, 札幌市 1,973 k, 福岡市
# 1,612 k …), Tokyo's 23 special wards sharing their census total, the rest of the census total
# shared by cities, towns and villages at relative means 1 : 0.13 : 0.04 with a log-normal spread
# (σ 0.9) drawn from each code; scaled to PEOPLE by largest remainders. People are written through
# the store's bulk import (sealed, checked, audited as `vrs import` stores them) with about 2.2 doses
# a person over a campaign of about 700 days (see crates/vrs-bench/src/load.rs); the largest area,
# 横浜市 (141003), gets its people and no doses, for the registration load. Seed 42 (SEED). Then, in process, about
# LOOKUPS (default 10000) people drawn across the country in proportion to population are searched
# by My Number and by kana + birth date (the store's read, and as staff make it, audited): p50 / p99.
# Then `vrs serve` (LG-WAN = loopback), and once its statistics job's first pass over the new
# country is done (the server idle), `vrs-country-bench http`: REQUESTS (default 2000) of each
# search as municipal staff of the largest municipality, one at a time (p50 / p99). The peer: the
# same database's row by a unique index of the same area (coupon number), `pgbench -c 1` with
# per-transaction latencies (PostgreSQL only). Last, `vrs-load doses` registers doses in 横浜市 from
# CONC (default 64) connections for SECS (default 20) seconds while the server's VmRSS is sampled
# every 0.2 s; its peak and the process's VmHWM (peak since start) are printed.
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the run
# creates and drops the database vrs_bench_country. BACKENDS="sqlite" skips PostgreSQL. PERF=1
# runs the HTTP lookups a second time under `perf record -g` of the server (report in the work
# directory, kept); the figures are the first, unprofiled run's.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-10000000}
SQLITE_PEOPLE=${2:-1000000}
SEED=${SEED:-42}
LOOKUPS=${LOOKUPS:-10000}
REQUESTS=${REQUESTS:-2000}
SECS=${SECS:-20}
CONC=${CONC:-64}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-postgres sqlite}
UNDOSED=141003
PORT=18081
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null
  [ "${PERF:-0}" = 1 ] && echo "work directory kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -q -p vrs -p vrs-bench
VRS=$PWD/target/release/vrs
BENCH=$PWD/target/release/vrs-country-bench
LOAD=$PWD/target/release/vrs-load
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB; seed $SEED; $LOOKUPS lookups in process, $REQUESTS over HTTP; registration $SECS s × $CONC connections"

start_server() {
  VRS_LGWAN_NETWORKS=127.0.0.1/32 VRS_LOG=warn "$VRS" --database "$DB" --key-file "$WORK/master.key" \
    serve --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do curl -fs "$URL/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# p50, p99, max (ms) of pgbench's per-transaction log (latency in µs, third column).
pg_peer() {
  local area=$1 count=$2
  printf '\\set c random(1, %s)\nSELECT * FROM residents WHERE municipality_code = '"'"'%s'"'"' AND coupon_number = lpad(:c::text, 10, '"'"'0'"'"')::char(10);\n' \
    "$count" "$area" >"$WORK/pgbench-peer.sql"
  (cd "$WORK" && pgbench -n -c 1 -t "$REQUESTS" -f pgbench-peer.sql -l --log-prefix=peer "$DB" >/dev/null 2>&1)
  cat "$WORK"/peer.* | awk '{ print $3 / 1000 }' | sort -n | awk '{ v[NR] = $1 } END {
    i50 = int((NR - 1) * 0.50 + 0.5) + 1; i99 = int((NR - 1) * 0.99 + 0.5) + 1
    printf "%.3f\t%.3f\t%.3f\t%d", v[i50], v[i99], v[NR], NR }'
  rm -f "$WORK"/peer.*
}

for backend in $BACKENDS; do
  case $backend in
    postgres)
      N=$PEOPLE
      psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_country WITH (FORCE)" -c "CREATE DATABASE vrs_bench_country"
      DB=${PG%/*}/vrs_bench_country ;;
    sqlite) N=$SQLITE_PEOPLE; mkdir -p "$WORK/sqlite"; DB=sqlite://$WORK/sqlite/vrs.db ;;
  esac
  rm -f "$WORK/master.key"
  echo "== $backend: $N people"
  "$BENCH" load --database "$DB" --key-file "$WORK/master.key" --people "$N" --seed "$SEED" \
    --undosed "$UNDOSED" --lookups "$LOOKUPS" | tee "$WORK/$backend.out"
  read -r _ _ LARGEST LARGEST_N < <(grep -P '^area\tlargest' "$WORK/$backend.out")
  read -r _ _ _ UNDOSED_N < <(grep -P '^area\tundosed' "$WORK/$backend.out")
  grep '^result' "$WORK/$backend.out" | cut -f2- | sed "s/^/$backend\t/" >>"$WORK/results"

  V=("$VRS" --database "$DB" --key-file "$WORK/master.key")
  STAFF=$("${V[@]}" accounts create "bench-staff-$backend" --role municipal_staff --municipality "$LARGEST" 2>/dev/null | cut -f2)
  TABLET=$("${V[@]}" accounts create "bench-tablet-$backend" --role site_tablet --municipality "$UNDOSED" 2>/dev/null | cut -f2)
  start_server
  # The server's statistics job makes its first pass over every municipality of the new country
  # (minutes at 10 M people); the lookups are timed once it is done and the server is idle.
  t0=$(date +%s)
  while :; do
    a=$(awk '{ print $14 + $15 }' "/proc/$SERVER/stat"); sleep 5
    b=$(awk '{ print $14 + $15 }' "/proc/$SERVER/stat")
    [ $((b - a)) -lt $((5 * $(getconf CLK_TCK) / 20)) ] && break
  done
  echo "statistics job's first pass done; server idle after $(( $(date +%s) - t0 )) s"
  "$BENCH" http --url "$URL" --user "bench-staff-$backend" --password "$STAFF" --municipality "$LARGEST" \
    --count "$LARGEST_N" --seed "$SEED" --requests "$REQUESTS" | tee "$WORK/$backend-http.out"
  if [ "${PERF:-0}" = 1 ]; then
    # The same lookups again, profiled; the figures are those of the run above, without the profiler.
    perf record -g -o "$WORK/perf-$backend.data" -p "$SERVER" 2>/dev/null & PERF_PID=$!
    # (the first run changed the account's first password as a new account must)
    "$BENCH" http --url "$URL" --user "bench-staff-$backend" --password "Bench-$STAFF-9x" \
      --municipality "$LARGEST" --count "$LARGEST_N" --seed "$SEED" --requests "$REQUESTS" \
      >"$WORK/$backend-http-profiled.out"
    kill -INT "$PERF_PID"; wait "$PERF_PID" || true
    perf report -i "$WORK/perf-$backend.data" --no-children --percent-limit 2 --stdio >"$WORK/perf-$backend.txt" 2>/dev/null || true
  fi
  grep '^result' "$WORK/$backend-http.out" | cut -f2- | sed "s/^/$backend\t/" >>"$WORK/results"
  "$LOAD" --url "$URL" --concurrency "$CONC" --seconds 5 healthz | tee "$WORK/$backend-healthz.json"
  if [ "$backend" = postgres ]; then
    printf '%s\tpeer: row by unique index (coupon, %s, pgbench -c 1)\t%s\n' "$backend" "$LARGEST" \
      "$(pg_peer "$LARGEST" "$LARGEST_N")" >>"$WORK/results"
  fi

  # Registration load in 横浜市 with the server's memory sampled.
  : >"$WORK/rss"
  ( while kill -0 "$SERVER" 2>/dev/null; do awk '/^VmRSS/ { print $2 }' "/proc/$SERVER/status" >>"$WORK/rss" 2>/dev/null; sleep 0.2; done ) &
  SAMPLER=$!
  BEFORE=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER/status")
  "$LOAD" --url "$URL" --concurrency "$CONC" --seconds "$SECS" doses --user "bench-tablet-$backend" \
    --password "$TABLET" --municipality "$UNDOSED" --count "$UNDOSED_N" --seed "$SEED" | tee "$WORK/$backend-doses.json"
  HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVER/status")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
  wait "$SAMPLER" 2>/dev/null || true
  PEAK=$(sort -n "$WORK/rss" | tail -1)
  printf '%s\tserver RSS before registration (MB)\t%s\n' "$backend" "$(mb "$BEFORE")" >>"$WORK/memory"
  printf '%s\tserver peak VmRSS during registration (MB, %d samples)\t%s\n' "$backend" "$(wc -l <"$WORK/rss")" "$(mb "$PEAK")" >>"$WORK/memory"
  printf '%s\tserver VmHWM, whole life (MB)\t%s\n' "$backend" "$(mb "$HWM")" >>"$WORK/memory"
  if [ "$backend" = postgres ]; then
    psql -At "$DB" -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
    psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_country WITH (FORCE)"
  else
    echo "database size: $(du -sh "$WORK/sqlite" | cut -f1)"
    rm -rf "$WORK/sqlite"
  fi
done

printf '\n%-9s %-52s %10s %10s %10s %8s\n' backend measure p50 p99 max n
awk -F'\t' '{ printf "%-9s %-52s %10s %10s %10s %8s\n", $1, $2, $3, $4, $5, $6 }' "$WORK/results"
echo "(load_s in seconds, doses a count; everything else in ms)"
awk -F'\t' '{ printf "%-9s %-52s %10s\n", $1, $2, $3 }' "$WORK/memory"
