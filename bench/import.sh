#!/usr/bin/env bash
# Targets import, side by side with the databases' own bulk loaders, in one run on one machine.
#
#   bench/import.sh [ROWS]        (default 1000000)
#
# 1. `vrs gen targets` writes ROWS synthetic targets (UTF-8, header, four birth-date styles).
# 2. SQLite: `sqlite3 .import --csv` into a table with the uniqueness our schema enforces
#    (primary key 宛名番号, unique My Number, unique coupon) and into a plain table; then `vrs import`.
# 3. PostgreSQL: `psql \copy` into the same two tables; then `vrs import` into a fresh database.
# Peak memory of `vrs import` is printed from /usr/bin/time (maximum resident set size).
# PostgreSQL is reached at $BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); each run
# creates and drops the databases vrs_bench_peer and vrs_bench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
PG_BASE=${PG%/*}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q -p vrs
VRS=$PWD/target/release/vrs
FILE=$WORK/targets.csv
"$VRS" gen targets --municipality 382060 --count "$ROWS" --seed 42 --out "$FILE"
echo "file: $ROWS rows, $(du -h "$FILE" | cut -f1)"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }

PEER_COLUMNS="my_number TEXT, atena_number TEXT, municipality_code TEXT, coupon_number TEXT, name TEXT, name_kana TEXT, birth_date TEXT, sex TEXT, moved_in_from TEXT"
UNIQUE_COLUMNS="my_number TEXT UNIQUE, atena_number TEXT PRIMARY KEY, municipality_code TEXT, coupon_number TEXT UNIQUE, name TEXT, name_kana TEXT, birth_date TEXT, sex TEXT, moved_in_from TEXT"

# --- SQLite ---------------------------------------------------------------------------------------
sqlite_peer() { # $1 = columns
  local db=$WORK/peer.db
  rm -f "$db"
  sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE t ($1);" >/dev/null
  local t0; t0=$(now)
  sqlite3 "$db" ".import --csv --skip 1 $FILE t"
  elapsed "$t0" "$(now)"
}
S_PLAIN=$(sqlite_peer "$PEER_COLUMNS")
S_UNIQUE=$(sqlite_peer "$UNIQUE_COLUMNS")
mkdir -p "$WORK/sqlite"
( cd "$WORK/sqlite" && "$VRS" init >/dev/null )
t0=$(now)
( cd "$WORK/sqlite" && /usr/bin/time -f "%M" -o "$WORK/mem-sqlite" "$VRS" import targets "$FILE" --municipality 382060 )
S_VRS=$(elapsed "$t0" "$(now)")
t0=$(now)
( cd "$WORK/sqlite" && "$VRS" import targets "$FILE" --municipality 382060 )
S_AGAIN=$(elapsed "$t0" "$(now)")

# --- PostgreSQL -----------------------------------------------------------------------------------
psql -q "$PG" -c "DROP DATABASE IF EXISTS vrs_bench_peer WITH (FORCE)" -c "DROP DATABASE IF EXISTS vrs_bench WITH (FORCE)" \
  -c "CREATE DATABASE vrs_bench_peer" -c "CREATE DATABASE vrs_bench"
pg_peer() { # $1 = columns
  psql -q "$PG_BASE/vrs_bench_peer" -c "DROP TABLE IF EXISTS t" -c "CREATE TABLE t ($1)"
  local t0; t0=$(now)
  psql -q "$PG_BASE/vrs_bench_peer" -c "\\copy t FROM '$FILE' WITH (FORMAT csv, HEADER true)"
  elapsed "$t0" "$(now)"
}
P_PLAIN=$(pg_peer "$PEER_COLUMNS")
P_UNIQUE=$(pg_peer "$UNIQUE_COLUMNS")
mkdir -p "$WORK/pg"
export VRS_DATABASE_URL=$PG_BASE/vrs_bench
( cd "$WORK/pg" && "$VRS" init >/dev/null )
t0=$(now)
( cd "$WORK/pg" && /usr/bin/time -f "%M" -o "$WORK/mem-pg" "$VRS" import targets "$FILE" --municipality 382060 )
P_VRS=$(elapsed "$t0" "$(now)")
t0=$(now)
( cd "$WORK/pg" && "$VRS" import targets "$FILE" --municipality 382060 )
P_AGAIN=$(elapsed "$t0" "$(now)")
unset VRS_DATABASE_URL
psql -q "$PG" -c "DROP DATABASE vrs_bench_peer WITH (FORCE)" -c "DROP DATABASE vrs_bench WITH (FORCE)"

printf '\n%-11s %-34s %9s %12s\n' backend "load of $ROWS rows" seconds "vs indexed"
printf '%-11s %-34s %9.2f %12s\n' sqlite "sqlite3 .import, plain table" "$S_PLAIN" "$(ratio "$S_PLAIN" "$S_UNIQUE")"
printf '%-11s %-34s %9.2f %12s\n' sqlite "sqlite3 .import, unique columns" "$S_UNIQUE" 1.00
printf '%-11s %-34s %9.2f %12s\n' sqlite "vrs import (new file)" "$S_VRS" "$(ratio "$S_VRS" "$S_UNIQUE")"
printf '%-11s %-34s %9.2f %12s\n' sqlite "vrs import (same file again)" "$S_AGAIN" "$(ratio "$S_AGAIN" "$S_UNIQUE")"
printf '%-11s %-34s %9.2f %12s\n' postgres "psql \\copy, plain table" "$P_PLAIN" "$(ratio "$P_PLAIN" "$P_UNIQUE")"
printf '%-11s %-34s %9.2f %12s\n' postgres "psql \\copy, unique columns" "$P_UNIQUE" 1.00
printf '%-11s %-34s %9.2f %12s\n' postgres "vrs import (new file)" "$P_VRS" "$(ratio "$P_VRS" "$P_UNIQUE")"
printf '%-11s %-34s %9.2f %12s\n' postgres "vrs import (same file again)" "$P_AGAIN" "$(ratio "$P_AGAIN" "$P_UNIQUE")"
echo "peak memory of vrs import: sqlite $(( $(cat "$WORK/mem-sqlite") / 1024 )) MiB, postgres $(( $(cat "$WORK/mem-pg") / 1024 )) MiB"
