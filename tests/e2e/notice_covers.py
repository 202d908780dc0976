#!/usr/bin/env python3
"""The read cycles a post-enrollment notice has covered (notice_cycles), the account each
task last found open (open_accounts) and the id ranges of each phase's read cycles
(import_ranges) only save reading: a run that keeps them ends exactly like a run that has
them removed before every day, which reads everything every day (and its accounts from the
phase index, as a run created before the ranges does).

The example territory is run day by day twice, approving each gate on its due date. Before
the 2027-05-10 run an opt-out is put in the database for an account whose Connect has gone
and that has not switched yet: its cycle's welcome notice passes it over. Once that cycle
is covered, on 2027-06-01, the opt-out is removed (as a correction would remove it): the
removal is counted, the cover no longer holds, and the welcome goes to the account that day
in both runs. Usage: notice_covers.py CCAFLOW SOURCE_DIR"""
import datetime
import json
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runlib  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]
env = runlib.ccaflow_env(source)
check = runlib.Checks()
OPT_OUT_ON, REMOVED_ON = datetime.date(2027, 5, 10), datetime.date(2027, 6, 1)


def sql(folder, statement, *args):
    con = sqlite3.connect(os.path.join(folder, "ecp.db"))
    with con:
        rows = con.execute(statement, args).fetchall()
    con.close()
    return rows


def run_day(folder, day, forget):
    if forget and os.path.exists(os.path.join(folder, "ecp.db")):
        sql(folder, "DELETE FROM notice_cycles")
        sql(folder, "DELETE FROM open_accounts")
        sql(folder, "DELETE FROM import_ranges")
    runlib.output(ccaflow, ["run", "example/territory.flow", "--db", "ecp.db", "--as-of", day.isoformat()], folder, env)
    status = json.loads(runlib.output(ccaflow, ["status", "--db", "ecp.db", "--format", "json"], folder, env))
    for task in status["tasks"]:
        if task["state"] == "waiting" and task["latest"] <= day.isoformat():
            runlib.output(ccaflow, ["approve", task["id"], "--db", "ecp.db", "--by", "implementation.manager"], folder, env)


work = tempfile.mkdtemp(prefix="ccaflow_covers_")
try:
    kept, forgot = os.path.join(work, "kept"), os.path.join(work, "forgot")
    for folder in (kept, forgot):
        shutil.copytree(os.path.join(source, "examples", "territory"), os.path.join(folder, "example"))
    chosen = None
    day, last = datetime.date(2026, 10, 1), datetime.date(2027, 8, 6)
    while day <= last:
        for folder, forget in ((kept, False), (forgot, True)):
            if day == OPT_OUT_ON:
                if chosen is None:
                    chosen = sql(folder, "SELECT min(e.account) FROM effects e JOIN tasks t ON t.id = e.task "
                                 "WHERE t.key LIKE 'residential.connect.%' AND NOT EXISTS (SELECT 1 FROM effects s "
                                 "JOIN tasks k ON k.id = s.task WHERE k.key LIKE 'residential.switch.%' AND s.account = e.account)")[0][0]
                sql(folder, "INSERT INTO ingests (kind, file, sha256, rows, at) VALUES ('optouts', 'by hand', 'none', 1, 'now')")
                sql(folder, "INSERT INTO optouts VALUES (?, '2027-05-07', 'phone', 'free', '2027-05-07', 0, NULL, NULL, 'by hand', "
                            "(SELECT max(id) FROM ingests), 1)", chosen)
            if day == REMOVED_ON:
                sql(folder, "DELETE FROM optouts WHERE account = ?", chosen)
            run_day(folder, day, forget)
        day += datetime.timedelta(days=1)

    welcome = "SELECT e.on_date FROM effects e JOIN tasks t ON t.id = e.task WHERE t.key = 'residential.opt_out.welcome' AND e.account = ?"
    check(chosen is not None, "an account with a Connect sent and no switch yet on 2027-05-10")
    check(sql(kept, welcome, chosen) == [(REMOVED_ON.isoformat(),)],
          f"the account passed over gets its welcome the day its opt-out is removed: {sql(kept, welcome, chosen)}")
    covered = sql(kept, "SELECT count(*) FROM notice_cycles")[0][0]
    check(covered >= 40, f"the run that keeps them has covered read cycles ({covered})")
    check(sql(kept, "SELECT account, what FROM withdrawals") == [(chosen, "opt-out removed")], "the removal is counted")
    ranges = sql(kept, "SELECT phase, read_cycle, first, last FROM import_ranges ORDER BY first")
    by_index = sql(kept, "SELECT phase, read_cycle, min(id), max(id) FROM accounts WHERE origin = 'import' AND phase IS NOT NULL "
                         "GROUP BY phase, read_cycle HAVING count(*) = max(id) - min(id) + 1 ORDER BY min(id)")
    check(len(ranges) >= 20 and ranges == by_index, f"each phase's read cycle is one range of ids, as stored ({len(ranges)} ranges)")
    a, b = runlib.snapshot(kept, "ecp.db"), runlib.snapshot(forgot, "ecp.db")
    for part in a:
        check(a[part] == b[part], f"the same {part} with the covers kept as with them removed before every day")
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(check.report())
