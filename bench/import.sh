#!/usr/bin/env bash
# Targets import, side by side with the databases' own bulk loaders, in one run on one machine.
#
#   bench/import.sh [ROWS]        (default 1000000)
#
# 1. `vrs gen targets` writes ROWS synthetic targets (UTF-8, header, four birth-date styles).
# 2. SQLite: `sqlite3 .import --csv` into three tables: a plain one; one with the uniqueness our
#    schema enforces (primary key 宛名番号, unique My Number, unique coupon, each within the
#    municipality); and one with every index `residents` has (those three, the partial index of
#    people moved in, and the search index of birth date, kana name and kanji name), the peer of
#    the goal ("the database's own loader into the same indexed table"). Then `vrs import`.
# 3. PostgreSQL: `psql \copy` into the same three tables; then `vrs import` into a fresh database.
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
UNIQUE_COLUMNS="$PEER_COLUMNS, PRIMARY KEY (municipality_code, atena_number), UNIQUE (municipality_code, my_number), UNIQUE (municipality_code, coupon_number)"
# The other indexes of `residents`, on the plain columns they stand for (ours are keyed HMACs): the
# people moved in, and one search index led by the birth date.
SAME_INDEXES="CREATE INDEX t_moved_in ON t (municipality_code, moved_in_from) WHERE moved_in_from <> '';
CREATE INDEX t_search ON t (municipality_code, birth_date, name_kana, name);"

# --- SQLite ---------------------------------------------------------------------------------------
sqlite_peer() { # $1 = columns, $2 = more indexes
  local db=$WORK/peer.db
  rm -f "$db"
  sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE t ($1); ${2:-}" >/dev/null
  local t0; t0=$(now)
  sqlite3 "$db" ".import --csv --skip 1 $FILE t"
  elapsed "$t0" "$(now)"
}
S_PLAIN=$(sqlite_peer "$PEER_COLUMNS")
S_UNIQUE=$(sqlite_peer "$UNIQUE_COLUMNS")
S_SAME=$(sqlite_peer "$UNIQUE_COLUMNS" "$SAME_INDEXES")
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
pg_peer() { # $1 = columns, $2 = more indexes
  psql -q "$PG_BASE/vrs_bench_peer" -c "DROP TABLE IF EXISTS t" -c "CREATE TABLE t ($1); ${2:-}"
  local t0; t0=$(now)
  psql -q "$PG_BASE/vrs_bench_peer" -c "\\copy t FROM '$FILE' WITH (FORMAT csv, HEADER true)"
  elapsed "$t0" "$(now)"
}
P_PLAIN=$(pg_peer "$PEER_COLUMNS")
P_UNIQUE=$(pg_peer "$UNIQUE_COLUMNS")
P_SAME=$(pg_peer "$UNIQUE_COLUMNS" "$SAME_INDEXES")
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

row() { # backend, what, seconds, unique-peer seconds, same-indexes-peer seconds
  printf '%-11s %-38s %9.2f %10s %14s\n' "$1" "$2" "$3" "$(ratio "$3" "$4")" "$(ratio "$3" "$5")"
}
printf '\n%-11s %-38s %9s %10s %14s\n' backend "load of $ROWS rows" seconds "vs unique" "vs same index"
row sqlite "sqlite3 .import, plain table" "$S_PLAIN" "$S_UNIQUE" "$S_SAME"
row sqlite "sqlite3 .import, unique columns" "$S_UNIQUE" "$S_UNIQUE" "$S_SAME"
row sqlite "sqlite3 .import, same indexes (peer)" "$S_SAME" "$S_UNIQUE" "$S_SAME"
row sqlite "vrs import (new file)" "$S_VRS" "$S_UNIQUE" "$S_SAME"
row sqlite "vrs import (same file again)" "$S_AGAIN" "$S_UNIQUE" "$S_SAME"
row postgres "psql \\copy, plain table" "$P_PLAIN" "$P_UNIQUE" "$P_SAME"
row postgres "psql \\copy, unique columns" "$P_UNIQUE" "$P_UNIQUE" "$P_SAME"
row postgres "psql \\copy, same indexes (peer)" "$P_SAME" "$P_UNIQUE" "$P_SAME"
row postgres "vrs import (new file)" "$P_VRS" "$P_UNIQUE" "$P_SAME"
row postgres "vrs import (same file again)" "$P_AGAIN" "$P_UNIQUE" "$P_SAME"
echo "peak memory of vrs import: sqlite $(( $(cat "$WORK/mem-sqlite") / 1024 )) MiB, postgres $(( $(cat "$WORK/mem-pg") / 1024 )) MiB"
