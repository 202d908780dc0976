#!/usr/bin/env python3
"""Full disk: a run whose disk fills fails cleanly and finishes once space is back.

    full_disk.py CCAFLOW SOURCE_DIR

The run database and its outbox live on a small tmpfs (mounted here: this needs root; the
test is skipped, exit 77, where mounting is not allowed). First the disk is too small even
to create the run: `run` fails, says what to free, and leaves no database behind. Then,
with room to create it, the disk fills partway through the schedule: the command exits 3
naming the folder to free, the operator frees space (the tmpfs grows), and `resume` (or the
same ingest again) goes on. At the end everything equals an undisturbed run on a roomy disk.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runlib  # noqa: E402

ccaflow, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
env = runlib.ccaflow_env(source)
ACCOUNTS = 6000


def mount(folder, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", folder],
                          capture_output=True).returncode == 0


def grow(folder, size):
    subprocess.run(["mount", "-o", f"remount,size={size}", folder], check=True)


def schedule_for(folder):
    first, last = runlib.notice_span(ccaflow, folder, env)
    trickle = runlib.OptoutTrickle(folder)
    steps = [["run", "territory.flow", "--db", "run.db", "--customers", "customers.csv",
              "--as-of", (first - datetime.timedelta(days=1)).isoformat()]]
    day = first
    while day <= last + datetime.timedelta(days=7):  # weekly, as an operator catching up would
        name = trickle.arrived_by(day)
        if name:
            steps.append(["ingest", "optouts", name, "--db", "run.db", "--as-of", day.isoformat()])
        steps.append(["run", "territory.flow", "--db", "run.db", "--as-of", day.isoformat()])
        day += datetime.timedelta(days=7)
    return steps


def used(folder):
    return sum(os.path.getsize(os.path.join(base, n)) for base, _, names in os.walk(folder) for n in names)


failures = 0


def check(condition, what):
    global failures
    if not condition:
        failures += 1
        print(f"FAIL: {what}")


def fill_at(size):
    """Plays the schedule on a disk of `size` bytes; when a command fails for want of space,
    the operator frees space and resumes. Returns how many times the disk filled."""
    for name in os.listdir(disk):
        path = os.path.join(disk, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    grow(disk, str(size))
    print(f"the disk holds {size:,} bytes")
    fills = 0
    for step in steps:
        p = runlib.call(ccaflow, step, inputs, env, expect=(0, 3))
        while p.returncode == 3:
            fills += 1
            print(f"  full during `{' '.join(step[:2])} ... {step[-1]}`: {p.stderr.strip().splitlines()[0]}")
            check("free space" in p.stderr and disk in p.stderr, f"a full disk is named with what to free: {p.stderr[-600:]}")
            check("Traceback" not in p.stderr and "terminate called" not in p.stderr, "no crash")
            grow(disk, str(used(disk) + 2 * size))  # the operator frees space
            if step[0] == "run" and os.path.exists(db):
                as_of = step[step.index("--as-of") + 1]
                p = runlib.call(ccaflow, ["resume", "--db", db, "--as-of", as_of], inputs, env, expect=(0, 3))
            else:
                p = runlib.call(ccaflow, step, inputs, env, expect=(0, 3))
            if fills > 5:
                sys.exit("FAIL: the run kept failing after space was freed")
    return fills


work = tempfile.mkdtemp(prefix="ccaflow_full_disk_")
disk = os.path.join(work, "disk")
os.makedirs(disk)
db = os.path.join(disk, "run.db")
inputs = os.path.join(work, "inputs")
mounted = False
try:
    if not mount(disk, "64k"):
        print("SKIP: cannot mount a tmpfs here (the full-disk test needs root)")
        sys.exit(77)
    mounted = True
    calm = os.path.join(work, "calm")
    os.makedirs(calm)
    with open(os.path.join(calm, "customers.csv"), "w") as out:
        subprocess.run([sys.executable, os.path.join(source, "scripts", "gen_territory.py"), "--accounts", str(ACCOUNTS),
                        "--seed", "5", "--cities", "sce", "--workflow", os.path.join(calm, "territory.flow"),
                        "--optouts", os.path.join(calm, "optouts.csv")], stdout=out, check=True)
    steps = schedule_for(calm)
    for step in steps:
        runlib.call(ccaflow, step, calm, env)
    want = runlib.snapshot(calm)
    need = used(calm) - sum(os.path.getsize(os.path.join(calm, n)) for n in os.listdir(calm)
                            if os.path.isfile(os.path.join(calm, n)) and not n.startswith("run.db"))
    # The inputs stay on a roomy disk; the database and its outbox go on the small one.
    os.makedirs(inputs)
    for name in os.listdir(calm):
        if name.endswith((".csv", ".flow")):
            shutil.copy(os.path.join(calm, name), inputs)
    steps = [[db if arg == "run.db" else arg for arg in step] for step in steps]

    # 1. Too small to create the run: refused, nothing left behind.
    p = runlib.call(ccaflow, steps[0], inputs, env, expect=(3,))
    check("free space" in p.stderr and disk in p.stderr, f"the creation failure says what to free: {p.stderr}")
    print(f"creation on a full disk: {p.stderr.strip().splitlines()[-1]}")
    left = [n for n in os.listdir(disk) if n.startswith("run.db") and n != "run.db.lock"]
    check(not left, f"a failed creation left {left}")

    # 2. Room to create it, not to finish: the disk fills partway, at two different points.
    fills = 0
    for fraction in (0.3, 0.65):
        fills += fill_at(int(need * fraction))
        status = json.loads(runlib.call(ccaflow, ["status", "--db", db, "--format", "json"], inputs, env).stdout)
        check(all(t["state"] == "done" for t in status["tasks"]), "every task is done after the resume")
        differ = runlib.differences(want, runlib.snapshot(disk))
        check(not differ, f"after a full disk, the {', '.join(differ)} differ from the undisturbed run")
    check(fills >= 2, "the disk did not fill at each point: the test proves too little")
    print(f"{ACCOUNTS:,} accounts, {len(steps)} commands (the run needs {need:,} bytes), the disk filled {fills} time(s): identical to the undisturbed run")
    print(f"{'1 passed, 0 failed' if failures == 0 else f'{failures} failed'}")
    sys.exit(1 if failures else 0)
finally:
    if mounted:
        subprocess.run(["umount", disk])
    shutil.rmtree(work, ignore_errors=True)
