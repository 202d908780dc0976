#!/usr/bin/env bash
# A run database keeps an outbox inside its own folder relative to that folder, so a run
# copied or restored elsewhere with its outbox writes beside itself, never into the folder
# it came from. An outbox outside the database's folder is kept absolute, and runs made
# before this (absolute paths) keep working.
source "$(dirname "$0")/lib.sh"
export CCAFLOW_STDLIB="$source_dir/stdlib"

setup_run() {  # setup_run FOLDER [--outbox DIR]: a run created and its two gates approved
  local folder=$1; shift
  mkdir -p "$folder"
  cp "$source_dir/tests/golden/plans/small/small.flow" "$source_dir/tests/golden/plans/small/customers.csv" "$folder/"
  (cd "$folder" && "$ccaflow" run small.flow --db run.db --as-of 2026-12-01 "$@" >/dev/null &&
     "$ccaflow" approve jrc --db run.db --by ann >/dev/null && "$ccaflow" approve plan_filed --db run.db --by ann >/dev/null) ||
    fail "setting up $folder"
}
stored() { sqlite3 "$1" "SELECT outbox_dir FROM run"; }
in_dir() {  # in_dir FOLDER COMMAND...: the command run in FOLDER (its out.txt and err.txt there)
  cd "$1" || { fail "no folder $1"; return; }
  shift
  "$@"
  cd "$work"
}
notice=notices/business.opt_out.first.2027-01-04.csv

# The default outbox, DB.outbox, is kept relative to the database's folder.
setup_run original
[ "$(stored original/run.db)" = run.db.outbox ] && pass || fail "the default outbox is stored as '$(stored original/run.db)'"

# A copy of the run, made before the first notice, writes its files into its own outbox;
# the original's outbox gets nothing until the original runs.
cp -a original copy
in_dir copy expect_exit 0 "the copy runs" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04
[ -f "copy/run.db.outbox/$notice" ] && pass || fail "the copy's notice is not in its own outbox"
[ ! -e original/run.db.outbox ] && pass || fail "the copy wrote into the original's outbox: $(find original/run.db.outbox -type f)"
# Resumed from a copy restored under yet another name and folder: the same.
mkdir -p restored/deeper && cp -a copy/run.db restored/deeper/run.db && cp -a copy/run.db.outbox restored/deeper/
in_dir restored expect_exit 0 "a restored copy resumes" -- "$ccaflow" resume --db deeper/run.db --as-of 2027-01-05
[ "$(find copy/run.db.outbox -type f | wc -l)" = 1 ] && pass || fail "the restored copy wrote into the copy's outbox"
in_dir original expect_exit 0 "the original runs" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04
cmp -s "original/run.db.outbox/$notice" "copy/run.db.outbox/$notice" && pass || fail "the original and the copy wrote different notices"

# --outbox inside the folder, given in any spelling, is one folder; another is refused.
setup_run inside --outbox ./out/
[ "$(stored inside/run.db)" = out ] && pass || fail "an outbox inside the folder is stored as '$(stored inside/run.db)'"
in_dir inside expect_exit 0 "the same outbox spelled otherwise" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04 --outbox out
[ -f "inside/out/$notice" ] && pass || fail "the notice is not in inside/out"
in_dir inside expect_exit 2 "another outbox" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-05 --outbox other
expect_in inside/err.txt "run.db writes to the outbox $work/inside/out; it cannot move to other" "the refusal names the folder"

# An outbox outside the database's folder is kept absolute.
setup_run apart --outbox ../apart-outbox
[ "$(stored apart/run.db)" = "$work/apart-outbox" ] && pass || fail "an outbox elsewhere is stored as '$(stored apart/run.db)'"
in_dir apart expect_exit 0 "a run with its outbox elsewhere" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04
[ -f "apart-outbox/$notice" ] && pass || fail "the notice is not in apart-outbox"

# A run made before relative outboxes, its outbox stored absolute, keeps writing there.
setup_run older
sqlite3 older/run.db "UPDATE run SET outbox_dir = '$work/older-outbox'"
in_dir older expect_exit 0 "an older run" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04
[ -f "older-outbox/$notice" ] && pass || fail "the older run's notice is not in its absolute outbox"

finish
