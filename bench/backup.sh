#!/usr/bin/env bash
# Backup and restore of one municipality's area, side by side with the databases' own tools, in one
# run on one machine, on SQLite and on PostgreSQL.
#
#   bench/backup.sh [PEOPLE]        (default 200000)
#
# For each backend, `vrs-stats-bench --load-only` creates a fresh database with one municipality of
# PEOPLE synthetic targets and about 2.2 doses a person (sealed, audited, as `vrs import` stores
# them). Then, timed with /usr/bin/time (wall seconds, peak memory):
#   - `vrs backup --municipality CODE` (a consistent snapshot, sealed) and the file's size;
#   - `vrs restore --into` a fresh database of the same backend (rows checked, chains recomputed
#     before writing, recounted and re-verified after);
#   - the peer: SQLite's `sqlite3 .backup` (a page copy of the whole file) and `VACUUM INTO`;
#     PostgreSQL's `pg_dump -Fc` of the whole database and `pg_restore` into a fresh one.
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the run
# creates and drops vrs_bench_backup, vrs_bench_restore and vrs_bench_peer. BACKENDS="sqlite" skips
# PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-200000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
PG_BASE=${PG%/*}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q -p vrs -p vrs-bench
VRS=$PWD/target/release/vrs
LOAD=$PWD/target/release/vrs-stats-bench
echo "machine: $(nproc) cores; one municipality of $PEOPLE targets"

# Runs a command, prints "<label>: <seconds> s, <peak MB> MB".
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  read -r secs kb <"$WORK/time"
  printf '%-44s %8.2f s %8.0f MB\n' "$label:" "$secs" "$((kb / 1024))"
}
size() { printf '%-44s %8.1f MB\n' "$1 size:" "$(echo "scale=1; $(stat -c %s "$2") / 1048576" | bc)"; }

for backend in $BACKENDS; do
  echo "== $backend"
  case $backend in
    sqlite)
      SRC=sqlite://$WORK/source.db; DST=sqlite://$WORK/restored.db ;;
    postgres)
      for db in vrs_bench_backup vrs_bench_restore vrs_bench_peer; do
        psql -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
      done
      SRC=$PG_BASE/vrs_bench_backup; DST=$PG_BASE/vrs_bench_restore ;;
  esac
  rm -f "$WORK/master.key"
  "$LOAD" --database "$SRC" --municipalities 1 --people "$PEOPLE" --load-only "$WORK/master.key" >"$WORK/load"
  CODE=$(awk -F'\t' '/^loaded/ { print $2 }' "$WORK/load")
  grep '^load:' "$WORK/load"
  export VRS_KEY_FILE=$WORK/master.key
  rm -f "$WORK/area.vrsbak"
  measure "vrs backup --municipality $CODE" "$VRS" --database "$SRC" backup --municipality "$CODE" --out "$WORK/area.vrsbak"
  size "  backup file" "$WORK/area.vrsbak"
  measure "vrs restore --into (fresh $backend)" "$VRS" --database "$SRC" restore "$WORK/area.vrsbak" --into "$DST"
  case $backend in
    sqlite)
      rm -f "$WORK/peer.db" "$WORK/vacuum.db"
      measure "peer: sqlite3 .backup (whole file)" sqlite3 "$WORK/source.db" ".backup $WORK/peer.db"
      size "  peer file" "$WORK/peer.db"
      measure "peer: VACUUM INTO" sqlite3 "$WORK/source.db" "VACUUM INTO '$WORK/vacuum.db'"
      size "  VACUUM INTO file" "$WORK/vacuum.db"
      rm -f "$WORK/source.db"* "$WORK/restored.db"* ;;
    postgres)
      measure "peer: pg_dump -Fc (whole database)" pg_dump -Fc -f "$WORK/peer.dump" "$SRC"
      size "  peer dump" "$WORK/peer.dump"
      measure "peer: pg_restore into a fresh database" pg_restore -d "$PG_BASE/vrs_bench_peer" "$WORK/peer.dump"
      for db in vrs_bench_backup vrs_bench_restore vrs_bench_peer; do
        psql -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
      done ;;
  esac
done
