#!/usr/bin/env bash
# Backup and restore of one municipality's area, side by side with the databases' own tools, in one
# run on one machine, on SQLite and on PostgreSQL.
#
#   bench/backup.sh [PEOPLE]        (default 200000)
#   bench/backup.sh memory PEOPLE…  (peak memory of backup and restore at each size; no peers)
#
# For each backend, `vrs-stats-bench --load-only` creates a fresh database with one municipality of
# PEOPLE synthetic targets and about 2.2 doses a person (sealed, audited, as `vrs import` stores
# them). Then, timed with /usr/bin/time (wall seconds, peak memory):
#   - `vrs backup --municipality CODE` (a consistent snapshot, sealed) and the file's size;
#   - `vrs restore --into` a fresh database of the same backend (rows checked, chains recomputed
#     before writing, recounted and re-verified after);
#   - the peer: SQLite's `sqlite3 .backup` (a page copy of the whole file) and `VACUUM INTO`;
#     PostgreSQL's `pg_dump -Fc` of the whole database and `pg_restore` into a fresh one.
# The memory mode loads one municipality of each size in turn and prints, per backend and size, the
# wall time and peak resident memory (`/usr/bin/time`'s "Maximum resident set size") of `vrs backup`
# and `vrs restore --into`, as one table row each: how memory grows with the area.
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the run
# creates and drops vrs_bench_backup, vrs_bench_restore and vrs_bench_peer. BACKENDS="sqlite" skips
# PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=compare
if [ "${1:-}" = memory ]; then
  MODE=memory
  shift
  SIZES=("$@")
  [ ${#SIZES[@]} -gt 0 ] || SIZES=(250000 500000 1000000)
fi
PEOPLE=${1:-200000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
PG_BASE=${PG%/*}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# PROFILE=dev uses the test build (dependencies optimized, the workspace's crates not): for
# memory figures when a release build is not at hand; its times are not comparable.
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = dev ]; then
  cargo build -q -p vrs -p vrs-bench
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/debug
else
  cargo build --release -q -p vrs -p vrs-bench
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
fi
VRS=$BIN/vrs
LOAD=$BIN/vrs-stats-bench
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB; $PROFILE build; one municipality of ${SIZES[*]:-$PEOPLE} targets"

# Runs a command, prints "<label>: <seconds> s, <peak MB> MB".
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  read -r secs kb <"$WORK/time"
  printf '%-44s %8.2f s %8.0f MB\n' "$label:" "$secs" "$((kb / 1024))"
}
size() { printf '%-44s %8.1f MB\n' "$1 size:" "$(echo "scale=1; $(stat -c %s "$2") / 1048576" | bc)"; }

# Runs a command; prints "<seconds> <peak MB>".
peak() {
  /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  local secs kb
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$WORK/time")
  kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time")
  echo "$secs $((kb / 1024))"
}

if [ $MODE = memory ]; then
  printf '%-9s %9s %10s %12s %12s %12s %12s %10s\n' backend people doses "backup s" "backup MB" "restore s" "restore MB" "file MB"
  for backend in $BACKENDS; do
    for people in "${SIZES[@]}"; do
      case $backend in
        sqlite)
          rm -f "$WORK"/*.db*
          SRC=sqlite://$WORK/source.db; DST=sqlite://$WORK/restored.db ;;
        postgres)
          for db in vrs_bench_backup vrs_bench_restore; do
            psql -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
          done
          SRC=$PG_BASE/vrs_bench_backup; DST=$PG_BASE/vrs_bench_restore ;;
      esac
      rm -f "$WORK/master.key" "$WORK/area.vrsbak"
      "$LOAD" --database "$SRC" --municipalities 1 --people "$people" --load-only "$WORK/master.key" >"$WORK/load"
      CODE=$(awk -F'\t' '/^loaded/ { print $2 }' "$WORK/load")
      doses=$(awk '/^load:/ { print $4 }' "$WORK/load")
      export VRS_KEY_FILE=$WORK/master.key
      read -r bs bm < <(peak "$VRS" --database "$SRC" backup --municipality "$CODE" --out "$WORK/area.vrsbak")
      read -r rs rmb < <(peak "$VRS" --database "$SRC" restore "$WORK/area.vrsbak" --into "$DST")
      mb=$(echo "scale=1; $(stat -c %s "$WORK/area.vrsbak") / 1048576" | bc)
      printf '%-9s %9s %10s %12s %12s %12s %12s %10s\n' "$backend" "$people" "${doses:-?}" "$bs" "$bm" "$rs" "$rmb" "$mb"
    done
    if [ "$backend" = postgres ]; then
      for db in vrs_bench_backup vrs_bench_restore; do psql -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
    fi
  done
  exit 0
fi

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
