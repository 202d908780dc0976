#!/usr/bin/env python3
"""Crash test: a small run is killed (SIGKILL, through CCAFLOW_CRASH_AFTER_EFFECTS) after
its k-th effect in every process, for every k from 1 to past the largest batch, resumed,
and carried on; its final tasks, effects and outbox bytes must equal an undisturbed run's.

Batches commit every 7 effects (CCAFLOW_BATCH_SIZE=7), so the kills land on, before and
after every commit boundary. Usage: crash_resume.py CCAFLOW SOURCE_DIR [MAX_K]
"""
import datetime
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ccaflow, source = sys.argv[1], sys.argv[2]
data = os.path.join(source, "tests", "e2e", "data", "crash")
env = dict(os.environ, CCAFLOW_STDLIB=os.path.join(source, "stdlib"), CCAFLOW_BATCH_SIZE="7")
env.pop("CCAFLOW_CRASH_AFTER_EFFECTS", None)

# Weekly as-of dates (Tuesdays) from before the first notice to after the last one.
start = datetime.date(2026, 12, 1)
dates = [(start + datetime.timedelta(days=7 * i)).isoformat() for i in range(38)]


def call(args, cwd, crash=None, expect=(0,)):
    e = dict(env)
    if crash:
        e["CCAFLOW_CRASH_AFTER_EFFECTS"] = str(crash)
    p = subprocess.run([ccaflow] + args, cwd=cwd, env=e, capture_output=True, text=True)
    if p.returncode not in expect:
        sys.exit(f"FAIL: {' '.join(args)} (crash after {crash}) exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.returncode


def play(folder, crash=None):
    """Runs the whole schedule; with `crash`, every process dies at its crash-th effect."""
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), folder)
    kills = 0
    for i, day in enumerate(dates):
        code = call(["run", "small.flow", "--db", "run.db", "--as-of", day], folder, crash, expect=(0, -9))
        if code == -9:
            kills += 1
            call(["resume", "--db", "run.db", "--as-of", day], folder)
        if i == 0:
            for gate in ("jrc", "plan_filed"):
                call(["approve", gate, "--db", "run.db", "--by", "tester"], folder)
    return kills


def snapshot(folder):
    db = sqlite3.connect(os.path.join(folder, "run.db"))
    tasks = db.execute("SELECT key, state, done, error FROM tasks ORDER BY id").fetchall()
    effects = db.execute("SELECT task, account, kind, on_date FROM effects ORDER BY task, account").fetchall()
    outbox = db.execute("SELECT name, bytes, sha256 FROM outbox ORDER BY name").fetchall()
    db.close()
    files = {}
    root = os.path.join(folder, "run.db.outbox")
    for base, _, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            files[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return tasks, effects, outbox, files


work = tempfile.mkdtemp(prefix="ccaflow_crash_")
try:
    reference = os.path.join(work, "reference")
    os.mkdir(reference)
    play(reference)
    want = snapshot(reference)
    assert all(state == "done" for _, state, _, _ in want[0]), "the reference run did not finish"
    assert len(want[1]) > 0 and len(want[3]) == len(want[2]), "the reference run recorded no effects or lost a file"
    biggest = max(done for _, _, done, _ in want[0])
    max_k = int(sys.argv[3]) if len(sys.argv) > 3 else biggest + 1
    total_kills = 0
    for k in range(1, max_k + 1):
        folder = os.path.join(work, f"k{k}")
        os.mkdir(folder)
        kills = play(folder, crash=k)
        got = snapshot(folder)
        for what, a, b in zip(("tasks", "effects", "outbox records", "outbox files"), want, got):
            if a != b:
                sys.exit(f"FAIL: after kills at effect {k}, the {what} differ from the undisturbed run")
        total_kills += kills
        shutil.rmtree(folder)
    print(f"{len(want[1])} effects, {len(want[3])} outbox files; killed at every k in 1..{max_k} "
          f"({total_kills} kills, batches of 7): identical to the undisturbed run")
    print("1 passed, 0 failed")
finally:
    shutil.rmtree(work, ignore_errors=True)
