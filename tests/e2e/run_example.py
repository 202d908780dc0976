#!/usr/bin/env python3
"""End to end: the example territory run day by day through the real binary, from before
the first gate to after the last post-enrollment notice, approving each gate on its due
date; then the counts and dates per phase are checked against the plan and the read
schedule. Usage: run_example.py CCAFLOW SOURCE_DIR"""
import csv
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ccaflow, source = sys.argv[1], sys.argv[2]
env = dict(os.environ, CCAFLOW_STDLIB=os.path.join(source, "stdlib"))
env.pop("CCAFLOW_CRASH_AFTER_EFFECTS", None)
env.pop("CCAFLOW_BATCH_SIZE", None)
env.pop("CCAFLOW_MERGE_CHUNK", None)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def call(args, cwd):
    p = subprocess.run([ccaflow] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: ccaflow {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


work = tempfile.mkdtemp(prefix="ccaflow_example_")
try:
    shutil.copytree(os.path.join(source, "examples", "territory"), os.path.join(work, "example"))
    plan = json.loads(call(["plan", "example/territory.flow", "--format", "json"], work))
    day, last = datetime.date(2026, 10, 1), datetime.date(2027, 8, 6)
    runs = approvals = 0
    while day <= last:
        call(["run", "example/territory.flow", "--db", "ecp.db", "--as-of", day.isoformat()], work)
        runs += 1
        status = json.loads(call(["status", "--db", "ecp.db", "--format", "json"], work))
        for task in status["tasks"]:
            if task["state"] == "waiting" and task["latest"] <= day.isoformat():
                call(["approve", task["id"], "--db", "ecp.db", "--by", "implementation.manager"], work)
                approvals += 1
        day += datetime.timedelta(days=1)

    status = json.loads(call(["status", "--db", "ecp.db", "--format", "json"], work))
    check(all(t["state"] == "done" for t in status["tasks"]), "every task is done")
    check(approvals == 6, f"six gates approved on their due dates (got {approvals})")
    eligible = plan["customers"]["eligible"]
    check(status["effects"] == {"notice": 4 * eligible, "ccasr": eligible, "switch": eligible},
          f"four notices, one Connect and one switch per eligible account: {status['effects']}")
    for phase, counted in zip(plan["phases"], status["phases"]):
        check(counted == {"phase": phase["id"], "eligible": phase["accounts"], "notified": phase["accounts"],
                          "ccasr_sent": phase["accounts"], "enrolled": phase["accounts"]}, f"phase counts {counted}")

    db = sqlite3.connect(os.path.join(work, "ecp.db"))
    outbox = os.path.join(work, "ecp.db.outbox")
    # Pre-enrollment notices go out on the plan's send date, to every account of the phase.
    for task in plan["tasks"]:
        if task["kind"] == "notice" and task["stage"] == "pre":
            path = os.path.join(outbox, "notices", f"{task['id']}.{task['send']}.csv")
            rows = list(csv.DictReader(open(path, newline="")))
            check(len(rows) == task["accounts"], f"{path} has {len(rows)} rows, not {task['accounts']}")
            check(all(r["send_date"] == task["send"] for r in rows), f"{path}: send dates")
    # Each CCASR batch: one 814 transaction per account, effective on the cycle's switch date.
    switch_of = {(p["id"], c["cycle"]): c["switch"] for p in plan["phases"] for c in p["cycles"]}
    batches = 0
    for task in plan["tasks"]:
        if task["kind"] != "ccasr" or task["accounts"] == 0:
            continue
        batches += 1
        segments = open(os.path.join(outbox, "ccasr", task["id"] + ".814")).read().split("~\n")
        st = [s for s in segments if s.startswith("ST*814*")]
        check(len(st) == task["accounts"], f"{task['id']}: {len(st)} transactions for {task['accounts']} accounts")
        dtm = {s for s in segments if s.startswith("DTM*151*")}
        want = "DTM*151*" + switch_of[(task["phase"], task["read_cycle"])].replace("-", "")
        check(dtm == {want}, f"{task['id']}: effective dates {dtm}, expected {want}")
        check(segments[-3] == f"GE*{task['accounts']}*{segments[1].split('*')[6]}", f"{task['id']}: GE count")
    # Post-enrollment notices: the welcome on the switch date, the last one on the next read.
    reads = {}
    for row in csv.DictReader(line for line in open(os.path.join(source, "stdlib", "sce_reads_2025_2028.csv")) if not line.startswith("#")):
        reads.setdefault(int(row["cycle"]), []).append(row["read_date"])
    rows = db.execute("""
        SELECT a.account, a.read_cycle, s.on_date, w.on_date, f.on_date
        FROM accounts a
        JOIN tasks ts ON ts.phase = (SELECT name FROM phases WHERE id = a.phase) AND ts.kind = 'switch' AND ts.cycle = a.read_cycle
        JOIN effects s ON s.task = ts.id AND s.account = a.id
        JOIN effects w ON w.account = a.id AND w.task = (SELECT id FROM tasks WHERE key = ts.phase || '.opt_out.welcome')
        JOIN effects f ON f.account = a.id AND f.task = (SELECT id FROM tasks WHERE key = ts.phase || '.opt_out.final')
        WHERE a.phase IS NOT NULL""").fetchall()
    check(len(rows) == eligible, f"every eligible account switched and got both post notices ({len(rows)})")
    wrong = [r for r in rows if r[3] != r[2] or r[4] != next(d for d in reads[r[1]] if d > r[2])]
    check(not wrong, f"post notices on the switch date and the next read: {wrong[:3]}")
    print(f"{runs} daily runs, {approvals} approvals, {eligible} accounts, {batches} CCASR batches checked")
    print(f"{0 if failures else 1} passed, {len(failures)} failed")
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failures else 0)
