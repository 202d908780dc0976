#!/usr/bin/env bash
# The runtime's refusals and recoveries, with their exit codes and messages: one writer at
# a time, unknown schemas, a changed workflow, a failed task that resume finishes, a
# first run whose inputs are bad (nothing written), approvals that make no sense.
source "$(dirname "$0")/lib.sh"
export CCAFLOW_STDLIB="$source_dir/stdlib"
cp "$source_dir/tests/golden/plans/small/small.flow" "$source_dir/tests/golden/plans/small/customers.csv" .

expect_exit 0 "first run" -- "$ccaflow" run small.flow --db run.db --as-of 2026-12-01
expect_in out.txt "created run.db: Small Power (SMP), 10 accounts (7 eligible), 94 tasks" "creation"
[ "$(stat -c %a run.db)" = 600 ] && pass || fail "run.db is mode $(stat -c %a run.db), not 600"
expect_exit 0 "status" -- "$ccaflow" status --db run.db
expect_in out.txt "0 done, 0 running, 2 waiting for approval, 92 pending, 0 failed (of 94)" "status counts"

# Approvals.
expect_exit 1 "approve an unknown task" -- "$ccaflow" approve jcr --db run.db --by ann
expect_in err.txt "run.db has no task \`jcr\` (did you mean \`jrc\`?)" "unknown task"
expect_exit 1 "approve a notice" -- "$ccaflow" approve homes.opt_out.first --db run.db --by ann
expect_in err.txt "is a notice task; only milestones and gates are approved" "not a gate"
expect_exit 0 "approve jrc" -- "$ccaflow" approve jrc --db run.db --by ann --note "posted"
expect_exit 1 "approve jrc twice" -- "$ccaflow" approve jrc --db run.db --by ann
expect_in err.txt "\`jrc\` is not waiting for approval: it was approved by operator:ann at" "approved twice"
expect_exit 0 "approve plan_filed" -- "$ccaflow" approve plan_filed --db run.db --by ann

# One writer: a second process gets exit 4 at once, naming the holder.
echo "pid 4242, ccaflow run, since 2026-11-27 09:00:00 UTC" > run.db.lock
python3 -c 'import fcntl, time; f = open("run.db.lock", "a"); fcntl.flock(f, fcntl.LOCK_EX); print(flush=True); time.sleep(30)' > held.txt &
holder=$!
for _ in $(seq 50); do [ -s held.txt ] && break; sleep 0.1; done
start=$(date +%s%N)
expect_exit 4 "a second writer" -- "$ccaflow" run small.flow --db run.db --as-of 2026-12-02
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect_in err.txt "run.db is in use by another process (pid 4242, ccaflow run, since 2026-11-27 09:00:00 UTC)" "holder named"
[ "$elapsed" -lt 2000 ] && pass || fail "the refusal took ${elapsed} ms"
expect_exit 4 "approve while another writes" -- "$ccaflow" approve x --db run.db --by ann
expect_exit 0 "status reads while another writes" -- "$ccaflow" status --db run.db
kill $holder; wait $holder 2>/dev/null

# A changed workflow: exit 5 naming what differs; resume still runs the stored one.
sed 's/param residential_enroll = 2027-05-03/param residential_enroll = 2027-06-01/' small.flow > changed.flow
cp changed.flow small2.flow
expect_exit 5 "run with a changed workflow" -- "$ccaflow" run changed.flow --db run.db --as-of 2026-12-02
expect_in err.txt "changed.flow is not the workflow stored in run.db" "differs message"
expect_in err.txt "moved:   homes.opt_out.first: 2027-03-04..2027-04-02 -> 2027-04-02..2027-05-01" "moved task"
expect_in err.txt "\`ccaflow resume --db run.db\` continues the stored workflow" "resume hint"
expect_exit 0 "resume runs the stored workflow" -- "$ccaflow" resume --db run.db --as-of 2027-01-04
expect_in out.txt "done      business.opt_out.first: 3 of 3 accounts -> notices/business.opt_out.first.2027-01-04.csv" "resumed work"

# A failed task: the outbox cannot take the CCASR file; exit 3, status says why, and
# resume finishes it once the obstacle is gone, with nothing repeated.
mkdir -p run.db.outbox && touch run.db.outbox/ccasr
expect_exit 3 "a task that cannot write its file" -- "$ccaflow" run small.flow --db run.db --as-of 2027-03-01
expect_in err.txt "task business.connect.c06 failed (attempt 1): cannot create the outbox folder $work/run.db.outbox/ccasr: a file of that name is in the way; trying again" "failure reported"
expect_in err.txt "task business.connect.c06 failed (attempt 4): cannot create the outbox folder" "retries exhausted"
expect_exit 0 "status after a failure" -- "$ccaflow" status --db run.db
expect_in out.txt "business.connect.c06  after 4 attempts: cannot create the outbox folder" "status shows why"
expect_exit 0 "status json after a failure" -- "$ccaflow" status --db run.db --format json
python3 -c "
import json, sys
doc = json.load(open('out.txt'))
t = [t for t in doc['tasks'] if t['id'] == 'business.connect.c06'][0]
assert t['state'] == 'failed' and 'outbox' in t['error'], t
assert doc['effects']['ccasr'] == 1, doc['effects']
" && pass || fail "status json shows the failed task"
expect_exit 3 "run again leaves it failed" -- "$ccaflow" run small.flow --db run.db --as-of 2027-03-01
rm run.db.outbox/ccasr
expect_exit 0 "resume after the fix" -- "$ccaflow" resume --db run.db --as-of 2027-03-01
expect_in out.txt "done      business.connect.c06: 1 of 1 accounts -> ccasr/business.connect.c06.814" "finished"
[ "$(sqlite3 run.db "select count(*) from effects where task = (select id from tasks where key = 'business.connect.c06')")" = 1 ] && pass || fail "the CCASR effect was doubled"
[ "$(stat -c %a run.db.outbox)" = 700 ] || [ "$(stat -c %a run.db.outbox/ccasr)" = 700 ] && pass || fail "outbox folders are not 0700"

# Databases that are not runs this ccaflow can use: exit 4, and nothing is changed.
cp run.db newer.db && sqlite3 newer.db "PRAGMA user_version = 99"
expect_exit 4 "a newer schema" -- "$ccaflow" resume --db newer.db --as-of 2027-03-02
expect_in err.txt "newer.db has schema version 99, and this ccaflow reads versions 1 to 3: use the ccaflow that created it (a newer one)" "schema message"
expect_exit 4 "status of a newer schema" -- "$ccaflow" status --db newer.db
printf 'this is not a database, just some text that is long enough to have a header\n%.0s' {1..20} > text.db
cp text.db text.before
expect_exit 4 "not an SQLite file" -- "$ccaflow" run small.flow --db text.db --as-of 2027-03-02
expect_in err.txt "text.db is not a ccaflow run database (not an SQLite file)" "not a database"
cmp -s text.db text.before && pass || fail "the text file was changed"
sqlite3 other.db "CREATE TABLE t (x); PRAGMA user_version = 1"
expect_exit 4 "someone else's SQLite file" -- "$ccaflow" status --db other.db
expect_in err.txt "other.db is not a ccaflow run database (its tables are not ccaflow's)" "foreign tables"
expect_exit 4 "resume without a database" -- "$ccaflow" resume --db missing.db
expect_in err.txt "missing.db: no such run database" "missing database"

# Paths that are not run databases: usage errors (2), or databases this ccaflow will not
# use (4), before anything is written.
expect_exit 2 "--db in a missing folder" -- "$ccaflow" run small.flow --db nowhere/x.db --as-of 2026-12-01
expect_in err.txt "--db nowhere/x.db: there is no folder nowhere" "missing folder"
mkdir adir.db
expect_exit 2 "--db naming a folder" -- "$ccaflow" run small.flow --db adir.db --as-of 2026-12-01
expect_in err.txt "--db adir.db is a folder, not a database file" "folder"
expect_exit 2 "--db :memory:" -- "$ccaflow" run small.flow --db :memory: --as-of 2026-12-01
[ ! -e :memory: ] && pass || fail "a file named :memory: was created"
expect_exit 2 "--db /dev/null" -- "$ccaflow" resume --db /dev/null
expect_exit 4 "resume without a database leaves no lock file" -- "$ccaflow" resume --db absent.db
[ ! -e absent.db.lock ] && pass || fail "absent.db.lock was created"
: > truncated.db
expect_exit 4 "an empty (truncated) database is never started over" -- "$ccaflow" run small.flow --db truncated.db --as-of 2026-12-01
expect_in err.txt "truncated.db is empty: it holds no run (a lost or truncated run database?)" "truncated message"
[ ! -s truncated.db ] && pass || fail "the truncated database was written to"
# A first run killed while building its database leaves only DB.creating, which the next
# first run clears.
echo "half a database" > again.db.creating
expect_exit 0 "a first run after a killed one" -- "$ccaflow" run small.flow --db again.db --as-of 2026-12-01
[ ! -e again.db.creating ] && [ -s again.db ] && pass || fail "again.db.creating was not replaced"
ln -s run.db link.db
python3 -c 'import fcntl, time; f = open("run.db", "rb"); fcntl.flock(f, fcntl.LOCK_EX); print(flush=True); time.sleep(30)' > held2.txt &
holder=$!
for _ in $(seq 50); do [ -s held2.txt ] && break; sleep 0.1; done
expect_exit 4 "a writer through a hard link or another name waits its turn" -- "$ccaflow" resume --db link.db --as-of 2027-03-02
expect_in err.txt "through another name for the same database file" "another name"
kill $holder; wait $holder 2>/dev/null

# A first run whose inputs are bad writes nothing.
printf 'account,customer_class,rate_schedule,city,county,read_cycle\nA1,residential,D,Ojai,Ventura,3\nA1,residential,D,Ojai,Ventura,4\n' > dup.csv
expect_exit 1 "a first run with a damaged customer file" -- "$ccaflow" run small.flow --db fresh.db --customers dup.csv --as-of 2026-12-01
expect_in err.txt "dup.csv:3:1: error: duplicate account \`A1\` (first on line 2)" "customer error"
[ ! -e fresh.db ] && [ ! -e fresh.db-wal ] && pass || fail "a failed first run left a database behind"
expect_exit 1 "a first run with a broken workflow" -- "$ccaflow" run broken.flow --db fresh.db --as-of 2026-12-01
[ ! -e fresh.db ] && pass || fail "a broken workflow left a database behind"
expect_exit 2 "a bad --as-of" -- "$ccaflow" run small.flow --db run.db --as-of tomorrow
finish
