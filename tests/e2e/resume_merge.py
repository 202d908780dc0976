#!/usr/bin/env python3
"""A notice's batch killed halfway leaves its mail merge unfinished (FILE.tmp) and a mark
(merge_marks) of how far that file holds committed effects' lines. Resumed the same day,
the batch keeps those lines and goes on after them; when the file no longer begins with the
marked bytes (damaged, cut short, gone) or the mark does not match the effects, it writes the
whole file again instead. Either way the run ends identical to an undisturbed one.

Usage: resume_merge.py CCAFLOW SOURCE_DIR
"""
import datetime
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runlib import Checks, ccaflow_env, differences, snapshot  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]
data = os.path.join(source, "tests", "e2e", "data", "crash")
env = ccaflow_env(source, CCAFLOW_BATCH_SIZE=3, CCAFLOW_MERGE_CHUNK=100)
start = datetime.date(2026, 12, 1)
dates = [(start + datetime.timedelta(days=7 * i)).isoformat() for i in range(38)]
check = Checks()


def call(args, cwd, crash=None, expect=(0,)):
    knob = {"CCAFLOW_CRASH_BEFORE_CLOSE": "1"} if crash == "close" else {"CCAFLOW_CRASH_AFTER_EFFECTS": str(crash)}
    e = dict(env, **(knob if crash else {}))
    p = subprocess.run([ccaflow] + args, cwd=cwd, env=e, capture_output=True, text=True)
    if p.returncode not in expect:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def play(folder, days, crash=None):
    """Runs `days`; with `crash`, stops at the first process that dies and returns its day."""
    for day in days:
        if call(["run", "small.flow", "--db", "run.db", "--as-of", day], folder, crash, expect=(0, -9)).returncode == -9:
            return day
        if day == dates[0]:
            for gate in ("jrc", "plan_filed"):
                call(["approve", gate, "--db", "run.db", "--by", "tester"], folder)
    return None


def query(folder, sql):
    con = sqlite3.connect(os.path.join(folder, "run.db"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def kept_events(folder):
    return query(folder, "SELECT detail FROM events WHERE kind = 'file' AND detail LIKE '%kept the first%'")


work = tempfile.mkdtemp(prefix="ccaflow_merge_")
try:
    reference = os.path.join(work, "reference")
    os.mkdir(reference)
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), reference)
    play(reference, dates)
    want = snapshot(reference)

    # The first kill that leaves a marked mail merge behind: a notice's batch killed after
    # some of its effects were committed (and their lines written).
    killed = None
    for k in range(4, 80):
        folder = os.path.join(work, f"k{k}")
        os.mkdir(folder)
        for name in ("small.flow", "customers.csv"):
            shutil.copy(os.path.join(data, name), folder)
        day = play(folder, dates, crash=k)
        marks = query(folder, "SELECT name, rows, bytes FROM merge_marks") if day else []
        if marks and os.path.exists(os.path.join(folder, "run.db.outbox", marks[0][0] + ".tmp")):
            killed = (folder, day, marks[0])
            break
        shutil.rmtree(folder)
    if not killed:
        sys.exit("FAIL: no kill left a marked mail merge behind")
    folder, day, (name, rows, size) = killed
    tmp = os.path.join("run.db.outbox", name + ".tmp")
    print(f"killed on {day} leaving {name}.tmp, marked at {rows} rows ({size} bytes)")
    check(os.path.getsize(os.path.join(folder, tmp)) >= size, "the unfinished file holds at least the marked bytes")
    check(query(folder, "SELECT length(sha256_state), length(xxh3) FROM merge_marks") == [(64, 16)],
          "the mark holds the SHA-256's state and the XXH3 of the marked bytes")
    check(size > 128, "the marked bytes are more than two SHA-256 blocks (a byte changed in their middle is in a whole block)")

    def damaged(how, damage):
        copy = os.path.join(work, how.replace(" ", "_"))
        shutil.copytree(folder, copy)
        damage(copy)
        return copy

    def flip(copy):
        with open(os.path.join(copy, tmp), "r+b") as f:
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x20]))

    def cut(copy):
        os.truncate(os.path.join(copy, tmp), size - 1)

    def gone(copy):
        os.remove(os.path.join(copy, tmp))

    def marked(sql):
        def change(copy):
            con = sqlite3.connect(os.path.join(copy, "run.db"))
            con.execute(sql)
            con.commit()
            con.close()
        return change

    def overstated(copy):
        marked("UPDATE merge_marks SET rows = rows + 1")(copy)

    # A mark whose task has recorded effects since (its `done` behind the task's), or one of
    # schema version 1 (no `done`), has its rows counted against today's effects: kept when
    # they match, the file written again when they do not. A mark of schema version 2 (no
    # SHA-256 state, no XXH3) has its bytes checked against their SHA-256 alone; a state
    # that is not the marked bytes' own gives another digest, and keeps nothing.
    version_2 = "UPDATE merge_marks SET sha256_state = NULL, xxh3 = NULL"
    initial_state = "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19"

    def flipped_version_2(copy):
        flip(copy)
        marked(version_2)(copy)

    cases = [("as it was", lambda copy: None, True), ("a byte changed", flip, False), ("cut short", cut, False),
             ("removed", gone, False), ("a mark past the effects", overstated, False),
             ("a mark of version 1", marked("UPDATE merge_marks SET done = NULL"), True),
             ("a mark before later effects", marked("UPDATE merge_marks SET done = done - 1"), True),
             ("a mark past the effects before later ones", marked("UPDATE merge_marks SET done = done - 1, rows = rows + 1"), False),
             ("a mark of version 2", marked(version_2), True),
             ("a byte changed under a mark of version 2", flipped_version_2, False),
             ("another SHA-256 state", marked(f"UPDATE merge_marks SET sha256_state = '{initial_state}'"), False),
             ("another XXH3", marked("UPDATE merge_marks SET xxh3 = '0123456789abcdef'"), False)]
    for how, damage, keeps in cases:
        copy = damaged(how, damage)
        call(["resume", "--db", "run.db", "--as-of", day], copy)
        kept = kept_events(copy)
        if keeps:
            check(kept == [(f"{name}: kept the first {rows} rows an interrupted run had written",)],
                  f"{how}: the resumed batch kept the {rows} marked rows ({kept})")
        else:
            check(kept == [], f"{how}: the resumed batch wrote the whole file again ({kept})")
        check(not os.path.exists(os.path.join(copy, tmp)), f"{how}: no unfinished file is left")
        check(query(copy, "SELECT count(*) FROM merge_marks") == [(0,)], f"{how}: the mark is gone with the file")
        play(copy, [d for d in dates if d > day])
        differ = differences(want, snapshot(copy))
        check(not differ, f"{how}: the run ends identical to the undisturbed one ({differ})")

    # Killed after a notice batch's last commit, before it was closed: the resumed batch has
    # no work, so its file is written the usual way (from the recorded effects) once the
    # check of the marked file, which nothing takes, has ended and removed FILE.tmp.
    folder = os.path.join(work, "before_close")
    os.mkdir(folder)
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), folder)
    day = play(folder, dates, crash="close")
    check(day is not None, "a run was killed before closing a batch with a mail merge")
    if day:
        marks = query(folder, "SELECT name, rows FROM merge_marks")
        print(f"killed before closing on {day}; marks {marks}")
        check(marks and os.path.exists(os.path.join(folder, "run.db.outbox", marks[0][0] + ".tmp")),
              "before close: the batch's marked file is left unfinished")
        call(["resume", "--db", "run.db", "--as-of", day], folder)
        check(query(folder, "SELECT count(*) FROM merge_marks") == [(0,)], "before close: the mark is gone with the file")
        left = [n for _, _, names in os.walk(os.path.join(folder, "run.db.outbox")) for n in names if n.endswith(".tmp")]
        check(not left, f"before close: no unfinished file is left ({left})")
        play(folder, [d for d in dates if d > day])
        differ = differences(want, snapshot(folder))
        check(not differ, f"before close: the run ends identical to the undisturbed one ({differ})")
    sys.exit(check.report())
finally:
    shutil.rmtree(work, ignore_errors=True)
