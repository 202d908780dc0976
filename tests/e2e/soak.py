#!/usr/bin/env python3
"""Soak: a whole territory run killed at random moments, ending identical to an undisturbed run.

    soak.py CCAFLOW SOURCE_DIR [--accounts 100000] [--kills 200] [--seed 1]

A generated territory (scripts/gen_territory.py: customers, a several-phase workflow and an
opt-out trickle) is run from creation to the last post-enrollment notice, one business day
at a time as an operator would: the opt-outs received each day are ingested, and the
utility's X12 814 responses to each CCASR batch (most Connects accepted, some rejected for
a retry, some for a hold) are ingested the next business day.

First the schedule runs undisturbed. Then it runs again, and any command (run, resume or
ingest) may get a SIGKILL after a random delay, drawn from zero to its undisturbed
duration, until at least --kills kills have landed. After a kill the operator's recovery
follows: `resume` for a run (or the same `run` again when the database was still being
created), the same command for an ingest; recoveries are killed at random too. At the end
the tasks, effects, opt-outs, requests, responses, outbox records and outbox bytes must
equal the undisturbed run's.
"""
import argparse
import datetime
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("ccaflow")
parser.add_argument("source")
parser.add_argument("--accounts", type=int, default=100000)
parser.add_argument("--kills", type=int, default=200)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--work", help="keep the runs in this folder")
args = parser.parse_args()
ccaflow, source = os.path.abspath(args.ccaflow), os.path.abspath(args.source)
env = runlib.ccaflow_env(source)
rng = random.Random(args.seed)


def business_days(first, last):
    holidays = set()
    for line in open(os.path.join(source, "stdlib", "sce.flow")):
        parts = line.split()
        if len(parts) > 1 and parts[0] == "holiday":
            holidays.add(datetime.date.fromisoformat(parts[1]))
    d = first
    while d <= last:
        if d.weekday() < 5 and d not in holidays:
            yield d
        d += datetime.timedelta(days=1)


def prepare(folder):
    with open(os.path.join(folder, "customers.csv"), "w") as out:
        subprocess.run([sys.executable, os.path.join(source, "scripts", "gen_territory.py"), "--accounts", str(args.accounts),
                        "--seed", str(args.seed), "--cities", "sce", "--workflow", os.path.join(folder, "territory.flow"),
                        "--optouts", os.path.join(folder, "optouts.csv")], stdout=out, check=True)


def responses_for(request_file, control):
    """The utility's answer to one batch: most Connects accepted on their date, every 37th
    rejected out of cycle (retried), every 101st rejected as not eligible (held)."""
    answers = []
    for i, (account, effective) in enumerate(runlib.connects_in(request_file), 1):
        if i % 101 == 0:
            answers.append((account, False, "B33"))
        elif i % 37 == 0:
            answers.append((account, False, "008"))
        else:
            answers.append((account, True, effective))
    return runlib.response_814(answers, control=control) if answers else None


def reference(folder):
    """Runs the schedule undisturbed and returns it as a list of commands with their times."""
    first, last = runlib.notice_span(ccaflow, folder, env)
    trickle = runlib.OptoutTrickle(folder)
    schedule = []

    def step(kind, command):
        start = time.perf_counter()
        runlib.call(ccaflow, command, folder, env)
        schedule.append((kind, command, time.perf_counter() - start))

    step("create", ["run", "territory.flow", "--db", "run.db", "--customers", "customers.csv",
                    "--as-of", (first - datetime.timedelta(days=1)).isoformat()])
    answered, control = set(), 100
    ccasr = os.path.join(folder, "run.db.outbox", "ccasr")
    for day in business_days(first, last):
        name = trickle.arrived_by(day)
        if name:
            step("ingest", ["ingest", "optouts", name, "--db", "run.db", "--as-of", day.isoformat()])
        for batch in sorted(os.listdir(ccasr)) if os.path.isdir(ccasr) else []:
            if batch in answered:
                continue
            answered.add(batch)
            text = responses_for(os.path.join(ccasr, batch), control)
            if text:
                name = f"responses.{control}.814"
                control += 1
                with open(os.path.join(folder, name), "w") as f:
                    f.write(text)
                step("ingest", ["ingest", "responses", name, "--db", "run.db"])
        step("run", ["run", "territory.flow", "--db", "run.db", "--as-of", day.isoformat()])
    return schedule


def attempt(folder, command, budget, p_kill):
    """Runs one command, perhaps killed after a random delay; True when it was killed."""
    proc = subprocess.Popen([ccaflow] + command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if rng.random() < p_kill:
        try:
            proc.wait(timeout=rng.uniform(0, budget))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    if proc.returncode == -signal.SIGKILL:
        return True
    if proc.returncode != 0:
        sys.exit(f"FAIL: ccaflow {' '.join(command)} exited {proc.returncode}\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}")
    return False


def soak(folder, schedule):
    kills = 0
    by_kind = {}
    for i, (kind, command, seconds) in enumerate(schedule):
        left = len(schedule) - i
        p_kill = min(0.9, max(0.05, (args.kills - kills) / left))
        budget = max(seconds * 1.1, 0.02)
        command_now = command
        for tries in range(50):
            # Later tries are killed less often, so each command finishes in the end.
            if not attempt(folder, command_now, budget, p_kill / (1 + tries)):
                break
            kills += 1
            by_kind[kind] = by_kind.get(kind, 0) + 1
            if kind == "run" or (kind == "create" and os.path.exists(os.path.join(folder, "run.db"))):
                as_of = command[command.index("--as-of") + 1]
                command_now = ["resume", "--db", "run.db", "--as-of", as_of]
        else:
            sys.exit(f"FAIL: {' '.join(command)} never finished")
    return kills, by_kind


work = args.work or tempfile.mkdtemp(prefix="ccaflow_soak_")
try:
    calm, hurt = os.path.join(work, "calm"), os.path.join(work, "hurt")
    for folder in (calm, hurt):
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
    prepare(calm)
    start = time.perf_counter()
    schedule = reference(calm)
    calm_s = time.perf_counter() - start
    want = runlib.snapshot(calm)
    # Every task ends done, but for post-enrollment notices still waiting on accounts whose
    # Connect is held for an operator (the B33 rejects) or retried on a later read.
    states = [state for _, state, _, _ in want["tasks"]]
    if "failed" in states or states.count("done") < 0.95 * len(states):
        sys.exit(f"FAIL: the undisturbed run did not finish: {sorted(set(states))}")
    for name in os.listdir(calm):
        if name.endswith((".csv", ".814", ".flow")):
            shutil.copy(os.path.join(calm, name), hurt)
    start = time.perf_counter()
    kills, by_kind = soak(hurt, schedule)
    hurt_s = time.perf_counter() - start
    got = runlib.snapshot(hurt)
    differ = runlib.differences(want, got)
    if differ:
        sys.exit(f"FAIL: after {kills} kills, the {', '.join(differ)} differ from the undisturbed run ({hurt})")
    print(f"{args.accounts:,} accounts, {len(schedule)} commands ({calm_s:.0f} s undisturbed, {hurt_s:.0f} s killed "
          f"and recovered): {len(want['effects']):,} effects, {len(want['optouts']):,} opt-outs, "
          f"{len(want['responses']):,} responses, {len(want['outbox files'])} outbox files")
    print(f"{kills} kills ({', '.join(f'{k} {v}' for k, v in sorted(by_kind.items()))}): identical to the undisturbed run")
    print("1 passed, 0 failed")
finally:
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
