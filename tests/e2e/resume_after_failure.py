#!/usr/bin/env python3
"""A failed batch resumed on the same day: the day's mail merge must hold every notice
recorded that day, byte for byte what an undisturbed run writes. (A CCASR file that cannot
be written fails its batch, so that cycle switches only after the resume, and its accounts'
welcome notices join the day's mail merge late.)"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ccaflow, source = sys.argv[1], sys.argv[2]
env = dict(os.environ, CCAFLOW_STDLIB=os.path.join(source, "stdlib"))
for knob in ("CCAFLOW_CRASH_AFTER_EFFECTS", "CCAFLOW_BATCH_SIZE", "CCAFLOW_MERGE_CHUNK"):
    env.pop(knob, None)
gates = ["implementation_plan", "call_center", "ra_forecast", "edi_testing", "eligible_customers", "jrc_published"]


def call(args, cwd, expect=0):
    p = subprocess.run([ccaflow] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit(f"FAIL: ccaflow {' '.join(args)} exited {p.returncode}, expected {expect}\n{p.stdout}\n{p.stderr}")


def play(folder, block):
    for name in ("territory.flow", "customers.csv"):
        shutil.copy(os.path.join(source, "examples", "territory", name), folder)
    call(["run", "territory.flow", "--db", "run.db", "--as-of", "2026-11-02"], folder)
    for gate in gates:
        call(["approve", gate, "--db", "run.db", "--by", "t"], folder)
    call(["run", "territory.flow", "--db", "run.db", "--as-of", "2027-03-01"], folder)
    if block:
        # A folder where the c07 batch's 814 must go stands in for a disk that refuses it.
        blocker = os.path.join(folder, "run.db.outbox", "ccasr", "non_residential.connect.c07.814")
        os.makedirs(blocker)
        call(["run", "territory.flow", "--db", "run.db", "--as-of", "2027-03-09"], folder, expect=3)
        os.rmdir(blocker)
        call(["resume", "--db", "run.db", "--as-of", "2027-03-09"], folder)
    else:
        call(["run", "territory.flow", "--db", "run.db", "--as-of", "2027-03-09"], folder)


work = tempfile.mkdtemp(prefix="ccaflow_resume_")
try:
    calm, failed = os.path.join(work, "calm"), os.path.join(work, "failed")
    os.mkdir(calm)
    os.mkdir(failed)
    play(calm, False)
    play(failed, True)
    name = "notices/non_residential.opt_out.welcome.2027-03-09.csv"
    want = open(os.path.join(calm, "run.db.outbox", name), "rb").read()
    got = open(os.path.join(failed, "run.db.outbox", name), "rb").read()
    db = sqlite3.connect(os.path.join(failed, "run.db"))
    recorded = db.execute("SELECT count(*) FROM effects e JOIN tasks t ON t.id = e.task "
                          "WHERE t.key = 'non_residential.opt_out.welcome' AND e.on_date = '2027-03-09'").fetchone()[0]
    rows = got.count(b"\r\n") - 1
    ok = rows == recorded and got == want
    print(f"{name}: {rows} rows for {recorded} recorded notices; identical to the undisturbed run: {got == want}")
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)
finally:
    shutil.rmtree(work, ignore_errors=True)
