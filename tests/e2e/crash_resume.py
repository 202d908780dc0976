#!/usr/bin/env python3
"""Crash test: a small run is killed (SIGKILL, through CCAFLOW_CRASH_AFTER_EFFECTS) after
its k-th effect in every process, for every k from 1 to past the largest batch, resumed,
and carried on; its final tasks, effects and outbox bytes must equal an undisturbed run's.

Batches commit every 7 effects (CCAFLOW_BATCH_SIZE=7), so the kills land on, before and
after every commit boundary. A mail merge is written (and marked, for a resumed batch to go
on with) every two lines or so (CCAFLOW_MERGE_CHUNK=150 bytes), so resumed batches keep the
lines a killed one wrote. Usage: crash_resume.py CCAFLOW SOURCE_DIR [MAX_K]
"""
import datetime
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runlib import differences, snapshot  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]
data = os.path.join(source, "tests", "e2e", "data", "crash")
env = dict(os.environ, CCAFLOW_STDLIB=os.path.join(source, "stdlib"), CCAFLOW_BATCH_SIZE="7", CCAFLOW_MERGE_CHUNK="150")
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
    """Runs the whole schedule; with `crash`, every process dies at its crash-th effect.
    Returns the kills, and how many resumed batches kept rows a killed one had written."""
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
    con = sqlite3.connect(os.path.join(folder, "run.db"))
    kept = con.execute("SELECT count(*) FROM events WHERE kind = 'file' AND detail LIKE '%kept the first%'").fetchone()[0]
    con.close()
    return kills, kept


work = tempfile.mkdtemp(prefix="ccaflow_crash_")
try:
    reference = os.path.join(work, "reference")
    os.mkdir(reference)
    play(reference)
    want = snapshot(reference)
    assert all(state == "done" for _, state, _, _ in want["tasks"]), "the reference run did not finish"
    assert want["effects"] and len(want["outbox files"]) == len(want["outbox records"]), \
        "the reference run recorded no effects or lost a file"
    biggest = max(done for _, _, done, _ in want["tasks"])
    max_k = int(sys.argv[3]) if len(sys.argv) > 3 else biggest + 1
    total_kills = total_kept = 0
    for k in range(1, max_k + 1):
        folder = os.path.join(work, f"k{k}")
        os.mkdir(folder)
        kills, kept = play(folder, crash=k)
        differ = differences(want, snapshot(folder))
        if differ:
            sys.exit(f"FAIL: after kills at effect {k}, the {', '.join(differ)} differ from the undisturbed run")
        total_kills += kills
        total_kept += kept
        shutil.rmtree(folder)
    print(f"{len(want['effects'])} effects, {len(want['outbox files'])} outbox files; killed at every k in 1..{max_k} "
          f"({total_kills} kills, batches of 7): identical to the undisturbed run")
    if total_kept == 0:
        sys.exit("FAIL: no resumed batch kept the mail-merge lines a killed one had written")
    print(f"{total_kept} resumed batches went on with the mail merge a killed one had begun")

    # A batch prepares its file beside its effects. Killed at its first effect (nothing
    # committed), it leaves FILE.tmp under that day's name. Killed once a transaction of a
    # notice's batch is committed, it also leaves effects no file lists yet. Not resumed that
    # day, the next day's run removes the unfinished file first, drops the file it prepares
    # (today's alone would not list every effect) and writes both days' files from the effects.
    def books(folder):
        """The notice tasks whose outbox files do not list every effect they recorded."""
        con = sqlite3.connect(os.path.join(folder, "run.db"))
        rows = con.execute("SELECT t.key, t.done, coalesce((SELECT sum(o.rows) FROM outbox o WHERE o.task = t.id), 0) AS listed "
                           "FROM tasks t WHERE t.kind = 'notice' AND t.done <> listed").fetchall()
        con.close()
        return rows

    def killed_then_next_day(k):
        """Runs the schedule killing every process at effect k until one dies, then runs the
        next date; returns the folder, the unfinished files and the unlisted effects the kill
        left, or None if no process died."""
        folder = os.path.join(work, f"later{k}")
        os.mkdir(folder)
        for name in ("small.flow", "customers.csv"):
            shutil.copy(os.path.join(data, name), folder)
        left = None
        for i, day in enumerate(dates):
            code = call(["run", "small.flow", "--db", "run.db", "--as-of", day], folder, k if left is None else None, expect=(0, -9))
            if i == 0:
                for gate in ("jrc", "plan_filed"):
                    call(["approve", gate, "--db", "run.db", "--by", "tester"], folder)
            if code == -9:
                left = (unfinished(folder), books(folder))
            elif left is not None:
                return folder, left
        return None

    def unfinished(folder):
        return sorted(os.path.relpath(os.path.join(b, n), folder) for b, _, ns in os.walk(folder) for n in ns if n.endswith(".tmp"))

    cases = [killed_then_next_day(1)]
    for k in range(8, 3 * max_k):  # the first kill that leaves a notice's effects unlisted
        case = killed_then_next_day(k)
        if case and case[1][1]:
            cases.append(case)
            break
        if case:
            shutil.rmtree(case[0])
    if len(cases) < 2:
        sys.exit("FAIL: no kill left a notice's committed effects without their file")
    for folder, (left, unlisted) in cases:
        if not left:
            sys.exit(f"FAIL: the killed process left no unfinished file to remove ({folder})")
        if unfinished(folder):
            sys.exit(f"FAIL: the next day's run left the unfinished files {unfinished(folder)} (the killed one left {left})")
        if books(folder):
            sys.exit(f"FAIL: after the kill and the next day's run, files do not list every effect: {books(folder)}")
        print(f"killed leaving {', '.join(left)} and {unlisted or 'no'} unlisted effects; the next day's run removed "
              f"the file and listed every effect")
    print("2 passed, 0 failed")
finally:
    shutil.rmtree(work, ignore_errors=True)
