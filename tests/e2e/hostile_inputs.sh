#!/usr/bin/env bash
# Hostile customer and ingest files, and damaged run databases: each gets a message that
# names the file, line and column and an exit status; a refused file changes nothing in the
# run, and a damaged database is never written to, repaired or started over.
source "$(dirname "$0")/lib.sh"
export CCAFLOW_STDLIB="$source_dir/stdlib"
cp "$source_dir"/tests/e2e/data/optouts/* .

"$ccaflow" run small.flow --db run.db --as-of 2026-12-01 >/dev/null 2>&1 || fail "first run"
"$ccaflow" approve jrc --db run.db --by ann >/dev/null 2>&1 || fail "approve"
"$ccaflow" run small.flow --db run.db --as-of 2027-04-10 >/dev/null 2>&1 || fail "run to April"
snapshot() { sqlite3 run.db .dump | sha256sum; }
before=$(snapshot)
unchanged() {  # what
  [ "$(snapshot)" = "$before" ] && pass || fail "$1 changed the run"
}
# refused EXIT WHAT EXPECTED-TEXT -- command...: the exit status, the message, nothing changed.
refused() {
  local code=$1 what=$2 text=$3; shift 4
  expect_exit "$code" "$what" -- "$@"
  expect_in err.txt "$text" "$what"
  unchanged "$what"
}
H=account,customer_class,rate_schedule,city,county,read_cycle
long_line() { python3 -c "import sys; print(sys.argv[1]); print('H1,' + 'x' * 100_000_000)" "$1" > "$2"; }

# --- customer files (plan reads them; run would too)
printf '%s\nH1,residential,D,"Oxnard,Ventura,1\n' "$H" > quote.csv
refused 1 "customers: unbalanced quote" 'quote.csv:2:1: error: a quoted field is never closed: a `"` is missing' -- "$ccaflow" plan small.flow --customers quote.csv
printf '%s\nH1,residential,D,Oxnard\n' "$H" > fields.csv
refused 1 "customers: too few fields" "fields.csv:2:1: error: expected 6 fields, as in the header, but found 4" -- "$ccaflow" plan small.flow --customers fields.csv
printf '%s,color\nH1,residential,D,Oxnard,Ventura,1,red\n' "$H" > unknown.csv
refused 1 "customers: unknown column" "unknown.csv:1:1: error: unknown column \`color\`; the columns are account," -- "$ccaflow" plan small.flow --customers unknown.csv
printf 'account,customer_class,rate_schedule,city,county\nH1,residential,D,Oxnard,Ventura\n' > missing.csv
refused 1 "customers: missing column" "missing.csv:1:1: error: missing column \`read_cycle\`" -- "$ccaflow" plan small.flow --customers missing.csv
printf '%s\nH1,residential,D,Oxnard,Ventura,x1\n' "$H" > number.csv
refused 1 "customers: bad number" "number.csv:2:33: error: read_cycle must be a whole number from 1 to 21, not \`x1\`" -- "$ccaflow" plan small.flow --customers number.csv
printf '%s,direct_access\nH1,residential,D,Oxnard,Ventura,1,maybe\n' "$H" > flag.csv
refused 1 "customers: bad flag" "flag.csv:2:35: error: \`direct_access\` must be true or false, not \`maybe\`" -- "$ccaflow" plan small.flow --customers flag.csv
printf '%s\nH1,residential,D,Oxnard,Ventura,1\nH1,residential,D,Oxnard,Ventura,1\n' "$H" > dup.csv
refused 1 "customers: duplicate account" "dup.csv:3:1: error: duplicate account \`H1\` (first on line 2)" -- "$ccaflow" plan small.flow --customers dup.csv
: > empty.csv
refused 1 "customers: empty file" "empty.csv: error: the file is empty: no header and no accounts" -- "$ccaflow" plan small.flow --customers empty.csv
long_line "$H" long.csv
refused 1 "customers: a 100 MB line" "long.csv:2:1: error: line 2 is longer than 1048576 bytes" -- timeout 60 "$ccaflow" plan small.flow --customers long.csv
# A new run whose customer file is bad writes nothing.
refused 1 "run: a bad customer file" "quote.csv:2:1: error: a quoted field is never closed" -- "$ccaflow" run small.flow --db new.db --customers quote.csv --as-of 2026-12-01
[ ! -e new.db ] && [ ! -e new.db.creating ] && pass || fail "a refused first run left a database behind"

# --- opt-out files
printf 'account,received_on\n"H1,2027-04-01\n' > o_quote.csv
refused 1 "optouts: unbalanced quote" 'o_quote.csv:2:1: error: a quoted field is never closed' -- "$ccaflow" ingest optouts o_quote.csv --db run.db
printf 'account,received_on\nH1,2027-04-01,web,x\n' > o_fields.csv
refused 1 "optouts: field count" "o_fields.csv:2:1: error: expected 2 fields, as in the header, but found 4" -- "$ccaflow" ingest optouts o_fields.csv --db run.db
printf 'account,when\nH1,2027-04-01\n' > o_unknown.csv
refused 1 "optouts: unknown column" "o_unknown.csv:1:1: error: unknown column \`when\`: the header is account,received_on[,channel]" -- "$ccaflow" ingest optouts o_unknown.csv --db run.db
printf 'account,reaccount,received_on,channel\nH1,2027-04-01,web\n' > o_shift.csv
refused 1 "optouts: unknown column before the known ones" "o_shift.csv:1:1: error: unknown column \`reaccount\`" -- "$ccaflow" ingest optouts o_shift.csv --db run.db
printf 'account\nH1\n' > o_missing.csv
refused 1 "optouts: missing column" "o_missing.csv:1:1: error: the header must name account and received_on" -- "$ccaflow" ingest optouts o_missing.csv --db run.db
printf 'account,received_on\nH1,2027-13-01\n' > o_date.csv
refused 1 "optouts: bad date" "o_date.csv:2:4: error: received_on must be a date as YYYY-MM-DD, not \`2027-13-01\`" -- "$ccaflow" ingest optouts o_date.csv --db run.db
printf 'account,received_on\nH1,2027-04-01\nH1,2027-04-02\n' > o_dup.csv
refused 1 "optouts: duplicate account" "o_dup.csv:3:1: error: account \`H1\` opts out twice in this file (first on line 2)" -- "$ccaflow" ingest optouts o_dup.csv --db run.db
printf 'account,received_on\nH1,2027-04-01\nNOPE,2027-04-01\n' > o_unknown_account.csv
refused 1 "optouts: an account not in the run" "o_unknown_account.csv:3:1: error: no account \`NOPE\` in this run" -- "$ccaflow" ingest optouts o_unknown_account.csv --db run.db
: > o_empty.csv
refused 1 "optouts: empty file" "o_empty.csv: error: the file is empty: it needs the header account,received_on" -- "$ccaflow" ingest optouts o_empty.csv --db run.db
long_line account,received_on o_long.csv
refused 1 "optouts: a 100 MB line" "o_long.csv:2:1: error: line 2 is longer than 1048576 bytes: is this the opt-out file?" -- timeout 60 "$ccaflow" ingest optouts o_long.csv --db run.db
expect_in err.txt "o_long.csv was not ingested: nothing changed" "nothing changed is said"

# --- move-in and change files (customer columns)
printf '%s,service_start\nM1,residential,D,Oxnard,Ventura,6,2027-02-30\n' "$H" > m_date.csv
refused 1 "move-ins: bad date" "m_date.csv:2:35: error: service_start must be a date as YYYY-MM-DD, not \`2027-02-30\`" -- "$ccaflow" ingest move-ins m_date.csv --db run.db
printf '%s\nM1,residential,D,Oxnard,Ventura,6\n' "$H" > m_missing.csv
refused 1 "move-ins: missing column" "m_missing.csv:1:1: error: missing column \`service_start\`" -- "$ccaflow" ingest move-ins m_missing.csv --db run.db
printf '%s,service_start\nM1,residential,D,"Oxnard,Ventura,6,2027-05-01\n' "$H" > m_quote.csv
refused 1 "move-ins: unbalanced quote" "m_quote.csv:2:1: error: a quoted field is never closed" -- "$ccaflow" ingest move-ins m_quote.csv --db run.db
: > m_empty.csv
refused 1 "move-ins: empty file" "m_empty.csv: error: the file is empty" -- "$ccaflow" ingest move-ins m_empty.csv --db run.db
printf '%s\nH1,residential,D,Oxnard,Ventura,1,true\n' "$H" > c_fields.csv
refused 1 "changes: field count" "c_fields.csv:2:1: error: expected 6 fields, as in the header, but found 7" -- "$ccaflow" ingest changes c_fields.csv --db run.db
printf '%s\nH1,residential,D,Oxnard,Ventura,1\nH1,residential,D,Oxnard,Ventura,1\n' "$H" > c_dup.csv
refused 1 "changes: duplicate account" "c_dup.csv:3:1: error: duplicate account \`H1\` (first on line 2)" -- "$ccaflow" ingest changes c_dup.csv --db run.db
long_line "$H" c_long.csv
refused 1 "changes: a 100 MB line" "c_long.csv:2:1: error: line 2 is longer than 1048576 bytes" -- timeout 60 "$ccaflow" ingest changes c_long.csv --db run.db

# --- X12 814 response files
: > r_empty.814
refused 1 "responses: empty file" "r_empty.814:1:1: error: an X12 file starts with an ISA segment" -- "$ccaflow" ingest responses r_empty.814 --db run.db
printf 'ISA*00*x~GS*GE~ST*814*0001~' > r_cut.814
refused 1 "responses: cut short" "r_cut.814:1:1: error: an X12 file ends with an IEA segment" -- "$ccaflow" ingest responses r_cut.814 --db run.db
printf 'ISA*00*\x89PNG\r\n\x1a\n\x00\xff\xfe' > r_binary.814  # binary bytes, the same every time
refused 1 "responses: binary" "r_binary.814:1:1: error: the file holds bytes that are not text" -- "$ccaflow" ingest responses r_binary.814 --db run.db
# A good file beside a bad one: neither is taken.
cp "$source_dir/tests/fuzz/inputs/responses/two_groups.814" good.814
refused 1 "responses: one bad file of two" "r_cut.814:1:1: error" -- "$ccaflow" ingest responses good.814 r_cut.814 --db run.db

# --- damaged databases: exit 4, never written to
sqlite3 run.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null  # the whole run in run.db, to copy and damage
size=$(stat -c %s run.db)
cp run.db half.db && truncate -s $((size / 2)) half.db && cp half.db half.orig
for cmd in "resume --db half.db --as-of 2027-04-11" "status --db half.db" "run small.flow --db half.db --as-of 2027-04-11" \
           "ingest optouts o_date.csv --db half.db"; do
  # shellcheck disable=SC2086
  expect_exit 4 "truncated database: $cmd" -- "$ccaflow" $cmd
  expect_in err.txt "half.db is damaged (" "truncated database named damaged: $cmd"
  expect_in err.txt "ccaflow never repairs a run database: restore it from a backup, then resume" "what to do: $cmd"
done
cmp -s half.db half.orig && pass || fail "the truncated database was written to"

page() { sqlite3 run.db "SELECT rootpage FROM sqlite_schema WHERE name = '$1'"; }
# clobber FILE PAGE OFFSET HEX: overwrite bytes of one page.
clobber() { python3 -c "import sys; f = open(sys.argv[1], 'r+b'); f.seek(4096 * (int(sys.argv[2]) - 1) + int(sys.argv[3])); f.write(bytes.fromhex(sys.argv[4]))" "$@"; }
cp run.db tasks.db && clobber tasks.db "$(page tasks)" 8 "$(printf 'ff%.0s' $(seq 64))" && cp tasks.db tasks.orig
expect_exit 4 "a damaged tasks page: resume" -- "$ccaflow" resume --db tasks.db --as-of 2027-04-11
expect_in err.txt "tasks.db is damaged (" "damaged page named"
cmp -s tasks.db tasks.orig && pass || fail "the damaged database was written to"
# Damage in an index that a day's work may not read: status reads every page (quick_check).
cp run.db index.db && clobber index.db "$(page responses_by_account)" 0 0d0000000005 && cp index.db index.orig
expect_exit 4 "a damaged index page: status" -- "$ccaflow" status --db index.db
expect_in err.txt "index.db is damaged (PRAGMA quick_check: *** in database main ***" "quick_check finds it"
expect_exit 4 "status --format json too" -- "$ccaflow" status --db index.db --format json
cmp -s index.db index.orig && pass || fail "status wrote to the damaged database"

finish
