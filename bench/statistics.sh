#!/usr/bin/env bash
# The national statistics dashboard's reads, side by side with the same national questions asked of
# the raw records (a plain GROUP BY over `doses`), in one run, on SQLite and on PostgreSQL.
#
#   bench/statistics.sh [PEOPLE_PER_MUNICIPALITY] [MUNICIPALITIES]      (default 50000 100)
#
# For each backend, `vrs-stats-bench` (crates/vrs-bench) creates a fresh database, loads
# MUNICIPALITIES areas spread over the master list with PEOPLE_PER_MUNICIPALITY synthetic targets
# each and about 2.2 doses a person (≈ 11 M doses at the defaults) over a campaign of about 700 days,
# runs the statistics job once over the whole country, then times REPEAT (default 20) calls each of:
# the nation's sums, the nation's per-municipality figures, the whole national dashboard before
# rendering, a prefecture's sums and its whole dashboard, one municipality's sums, and the job after
# one municipality changed (min / median / max ms). The peer then asks the same database's `doses`
# table the national questions directly — doses per day and dose number, and doses per
# municipality — with the sqlite3 CLI (`.timer on`) or psql (`\timing`), best of 3.
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the run
# creates and drops the database vrs_bench_stats. Set BACKENDS="sqlite" to skip PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-50000}
MUNICIPALITIES=${2:-100}
REPEAT=${REPEAT:-20}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q -p vrs-bench
BENCH=$PWD/target/release/vrs-stats-bench
echo "machine: $(nproc) cores; $MUNICIPALITIES municipalities × $PEOPLE targets; $REPEAT timed runs each"

PEER_DAILY="SELECT administered_on, dose_number, count(*) FROM doses GROUP BY administered_on, dose_number"
PEER_MUNICIPALITY="SELECT municipality_code, count(*) FROM doses GROUP BY municipality_code"

# Best of 3 of a query, in ms. $1 = backend, $2 = database, $3 = query.
peer() {
  case $1 in
    sqlite)
      printf '.timer on\n.output /dev/null\n%s;\n%s;\n%s;\n' "$3" "$3" "$3" | sqlite3 "$2" \
        | awk '/^Run Time/ { ms = $4 * 1000; if (best == "" || ms < best) best = ms } END { printf "%.2f", best }' ;;
    postgres)
      psql -X -q "$2" -o /dev/null -c '\timing on' -c "$3" -c "$3" -c "$3" \
        | awk '/^Time:/ { if (best == "" || $2 < best) best = $2 } END { printf "%.2f", best }' ;;
  esac
}

for backend in $BACKENDS; do
  case $backend in
    sqlite) DB=sqlite://$WORK/vrs.db; PEER_DB=$WORK/vrs.db ;;
    postgres)
      psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_stats WITH (FORCE)" -c "CREATE DATABASE vrs_bench_stats"
      DB=${PG%/*}/vrs_bench_stats; PEER_DB=$DB ;;
  esac
  echo "== $backend"
  "$BENCH" --database "$DB" --municipalities "$MUNICIPALITIES" --people "$PEOPLE" --repeat "$REPEAT" | tee "$WORK/$backend.out"
  grep '^result' "$WORK/$backend.out" | cut -f2- | sed "s/^/$backend\t/" >>"$WORK/results"
  printf '%s\tpeer: GROUP BY day, dose number over doses\t%s\n' "$backend" "$(peer "$backend" "$PEER_DB" "$PEER_DAILY")" >>"$WORK/peers"
  printf '%s\tpeer: GROUP BY municipality over doses\t%s\n' "$backend" "$(peer "$backend" "$PEER_DB" "$PEER_MUNICIPALITY")" >>"$WORK/peers"
  if [ "$backend" = postgres ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_stats WITH (FORCE)"; fi
done

printf '\n%-9s %-48s %10s %10s %10s\n' backend measure min median max
awk -F'\t' '{ printf "%-9s %-48s %10s %10s %10s\n", $1, $2, $3, $4, $5 }' "$WORK/results"
awk -F'\t' '{ printf "%-9s %-48s %10s %10s %10s\n", $1, $2, $3, "(best", "of 3)" }' "$WORK/peers"
echo "(load_s and refresh_s in seconds; everything else in ms)"
