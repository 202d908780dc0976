#!/usr/bin/env python3
"""The runtime's SQL against a real run database's schema: no statement may read the whole
effects, accounts or events table, or sort a task's effects, unless it is listed below with why.
Those are the mistakes that cost nothing on a test run and seconds a day at a million
accounts (SQLite has no statistics here, so a join can start from the wrong table).
Every SQL string literal passed to prepare() (or to a kept Query) in runtime/*.cpp is
checked with EXPLAIN QUERY PLAN; statements built with fmt ({}) are left to their own tests.
Usage: query_plans.py CCAFLOW SOURCE_DIR"""
import glob
import os
import re
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runlib import Checks, call, ccaflow_env  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]

# Whole-table reads that are meant: (file, a piece of the statement) -> why.
ALLOWED = {
    ("status.cpp", "FROM accounts WHERE excluded IS NOT NULL"): "status, on demand: exclusions by reason",
    ("status.cpp", "FROM accounts WHERE held IS NOT NULL"): "status, on demand: the accounts held for an operator",
    ("status.cpp", "FROM requests GROUP BY type, state"): "status, on demand: the CCASRs by type and state",
    ("store.cpp", "SELECT task, account FROM effects ORDER BY task, account"):
        "once per run, when a run of schema version 1 is brought up to a later one: the reached bits built from the effects",
}

# Plan lines that read a whole table of those that grow with the territory (events: a row
# for every ingested line; requests: one for every CCASR an ingest queues).
WHOLE_TABLE = re.compile(r"\bSCAN (effects|accounts|events|requests|e|a|c|x|r)\b"
                         r"(?! USING (COVERING )?INDEX (requests_queued|requests_cancels_sent)\b)")
# (Partial indexes that hold only the rows a statement reads: requests_queued the requests
# to send, requests_cancels_sent the Cancels sent, whose Connects never take effect.)


def plan_step(text):
    """A plan line in SQLite 3.36's words: older versions say `SCAN TABLE effects AS e`."""
    return re.sub(r"\b(SCAN|SEARCH) TABLE (\w+)(?: AS (\w+))?", lambda m: f"{m.group(1)} {m.group(3) or m.group(2)}", text)


def statements():
    """(file, line, sql) for every literal statement handed to prepare() or a Query."""
    for path in sorted(glob.glob(os.path.join(source, "runtime", "*.cpp"))):
        if path.endswith("_test.cpp"):
            continue
        text = open(path).read()
        for m in re.finditer(r'(?:prepare\(|Query \w+\(run,)\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', text):
            sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
            if "{" in sql or not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", sql, re.I):
                continue
            yield os.path.basename(path), text[:m.start()].count("\n") + 1, sql


def temp_tables():
    """The CREATE TEMP TABLE statements of runtime/*.cpp: tables a command makes for itself."""
    for path in sorted(glob.glob(os.path.join(source, "runtime", "*.cpp"))):
        for m in re.finditer(r'((?:"(?:[^"\\]|\\.)*"\s*)+)', open(path).read()):
            sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
            if sql.startswith("CREATE TEMP TABLE"):
                yield sql


def parameters(sql):
    """How many values the statement binds: its highest ?N, or its count of plain ?."""
    numbered = [int(n) for n in re.findall(r"\?(\d+)", sql)]
    return max(numbered) if numbered else sql.count("?")


work = tempfile.mkdtemp(prefix="ccaflow_plans_")
checks = Checks()
try:
    shutil.copytree(os.path.join(source, "examples", "territory"), os.path.join(work, "example"))
    call(ccaflow, ["run", "example/territory.flow", "--db", "run.db", "--as-of", "2026-10-01"], work, ccaflow_env(source))
    con = sqlite3.connect(os.path.join(work, "run.db"))
    for create in temp_tables():
        con.execute(create)
    seen = 0
    used = set()
    for name, line, sql in statements():
        seen += 1
        try:
            plan = [plan_step(row[3]) for row in con.execute("EXPLAIN QUERY PLAN " + sql, [None] * parameters(sql))]
        except sqlite3.Error as e:
            checks(False, f"{name}:{line}: does not prepare against the schema ({e}): {sql[:120]}")
            continue
        allowed = [k for k in ALLOWED if k[0] == name and k[1] in sql]
        used.update(allowed)
        if allowed:
            continue
        scans = [step for step in plan if WHOLE_TABLE.search(step)]
        checks(not scans, f"{name}:{line}: reads a whole table ({'; '.join(scans)}): {sql[:160]}")
        # Without statistics SQLite may take any index that matches as many terms; a check
        # of one account's requests must search that account's, not every queued one.
        if re.search(r"\baccount = \?", sql):
            wide = [step for step in plan if re.search(r"USING (COVERING )?INDEX requests_(queued|connects|by_file)", step)]
            checks(not wide, f"{name}:{line}: looks for an account's requests through {'; '.join(wide)}: {sql[:160]}")
        if re.search(r"\beffects\b", sql):
            sorts = [step for step in plan if "TEMP B-TREE FOR ORDER BY" in step]
            checks(not sorts, f"{name}:{line}: sorts effects rows (order by the effects key instead): {sql[:160]}")
    checks(seen > 50, f"found {seen} statements in runtime/*.cpp; the pattern no longer finds them")
    for key in ALLOWED:
        checks(key in used, f"the allowance {key} matches no statement any more: remove it")
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(checks.report())
