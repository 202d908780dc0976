#!/usr/bin/env python3
"""Opt-out scenarios through the real binary, each checked with `explain --format json`.

The workflow is tests/e2e/data/optouts/small.flow with the stdlib's standard terms
(early hold; free 60 days after switch; return 6 months after cycle end; fee $5
residential). Its `homes` phase enrolls 2027-05-03; the SCE read schedule reads cycle k on
the k-th business day of each month. Dates worked out by hand:

  cycle 1: Connect submitted 2027-05-24 (5 business days before the read), switch 2027-06-01
  cycle 6: Connect submitted 2027-05-03 (the enrollment date),            switch 2027-05-10
           later cycle-6 reads: 2027-06-08, 2027-07-09, 2027-08-09, ..., 2028-02-08, 2028-03-08
  first pre-enrollment window: 2027-03-04..2027-04-02 (max(E - 2 months, E - 60 days) = 2027-03-04)
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runlib  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]
data = os.path.join(source, "tests", "e2e", "data", "optouts")
env = runlib.ccaflow_env(source)
check = runlib.Checks()


def call(args, cwd, expect=0):
    return runlib.output(ccaflow, args, cwd, env, expect)


def explain(account):
    return json.loads(call(["explain", account, "--db", "run.db", "--format", "json"], work))


def ingest(name, rows):
    with open(os.path.join(work, name), "w") as f:
        f.write("account,received_on,channel\n" + "".join(f"{a},{d},mail\n" for a, d in rows))
    return call(["ingest", "optouts", name, "--db", "run.db"], work)


def run_until(day, start):
    import datetime
    d = datetime.date.fromisoformat(start)
    end = datetime.date.fromisoformat(day)
    while d <= end:
        call(["run", "small.flow", "--db", "run.db", "--as-of", d.isoformat()], work)
        d += datetime.timedelta(days=1)


work = tempfile.mkdtemp(prefix="ccaflow_optouts_")
try:
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), work)
    with open(os.path.join(work, "customers.csv"), "a") as f:
        f.write("B2,commercial,GS-1,Oxnard,Ventura,6\n")  # opts out last, to grow a day's file
    call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-01-04"], work)
    call(["approve", "jrc", "--db", "run.db", "--by", "pm"], work)
    call(["approve", "plan_filed", "--db", "run.db", "--by", "pm"], work)

    # H1 opts out on 2027-02-15, before its first notice window opens on 2027-03-04:
    # held until 2027-03-04 (early hold), so it gets no notice at all and no Connect.
    run_until("2027-02-14", "2027-01-05")
    ingest("early.csv", [("H1", "2027-02-15")])
    run_until("2027-04-19", "2027-02-15")
    # H2 opts out on 2027-04-20: after both pre-enrollment notices (2027-03-04, 2027-04-05),
    # before its Connect (2027-05-24): no Connect, no post notices, no fee.
    ingest("before_connect.csv", [("H2", "2027-04-20")])
    run_until("2027-05-04", "2027-04-20")
    # H3 opts out on 2027-05-05: its Connect went on 2027-05-03 for the 2027-05-10 read, so a
    # Cancel goes out with the next run (2027-05-05, a Wednesday) and it never switches.
    ingest("after_connect.csv", [("H3", "2027-05-05")])
    run_until("2027-05-06", "2027-05-05")
    # H7 opts out on 2027-05-07, also before its 2027-05-10 switch, but the next run is on
    # 2027-05-10 itself: the Cancel would arrive on the effective date, so it is refused and a
    # Disconnect returns H7 at the end of the billing cycle, the next read: 2027-06-08.
    ingest("too_late.csv", [("H7", "2027-05-07")])
    run_until("2027-06-23", "2027-05-10")
    # H4 opts out on day 45 after its 2027-05-10 switch, 2027-06-24: free; Disconnect at the
    # next read after 06-24, 2027-07-09; no fee.
    ingest("day45.csv", [("H4", "2027-06-24")])
    run_until("2027-07-08", "2027-06-24")
    # H5 on day 60, 2027-07-09 (a read date, and day 60 is included): free; the billing
    # cycle that starts that day ends at the next read, 2027-08-09.
    # H6 on day 61, 2027-07-10: a re-entry: the cycle ends 2027-08-09, six months later is
    # 2028-02-09, so service returns on the next cycle-6 read, 2028-03-08; fee $5.
    ingest("day60.csv", [("H5", "2027-07-09")])
    run_until("2027-07-09", "2027-07-09")
    ingest("day61.csv", [("H6", "2027-07-10")])
    run_until("2027-08-10", "2027-07-10")

    h1 = explain("H1")
    check(h1["state"] == "opted_out" and h1["optout"]["kind"] == "pre", f"H1 state {h1['state']}")
    check(h1["optout"]["taken_on"] == "2027-03-04", f"H1 held until {h1['optout']['taken_on']}")
    check(all(n["sent_on"] is None for n in h1["notices"]), "H1 got no notice")
    check(h1["ccasrs"][0]["status"] == "not sent: opted out", f"H1 Connect {h1['ccasrs'][0]}")

    h2 = explain("H2")
    check([n["sent_on"] for n in h2["notices"]] == ["2027-03-04", "2027-04-05", None, None], f"H2 notices {h2['notices']}")
    check(h2["ccasrs"][0]["status"] == "not sent: opted out" and len(h2["ccasrs"]) == 1, f"H2 CCASRs {h2['ccasrs']}")
    check(h2["optout"]["fee"] == 0 and h2["state"] == "opted_out", f"H2 {h2['optout']}")

    h3 = explain("H3")
    check(h3["ccasrs"][0] == {"type": "connect", "sent_on": "2027-05-03", "effective_on": "2027-05-10", "status": "sent",
                              "batch": "homes.connect.c06"}, f"H3 Connect {h3['ccasrs'][0]}")
    check(h3["ccasrs"][1]["type"] == "cancel" and h3["ccasrs"][1]["sent_on"] == "2027-05-05"
          and h3["ccasrs"][1]["status"] == "sent", f"H3 Cancel {h3['ccasrs'][1:]}")
    check(h3["state"] == "opted_out", f"H3 never switched: {h3['state']}")
    check([n["sent_on"] for n in h3["notices"]][2:] == [None, None], "H3 got no post-enrollment notice")

    h7 = explain("H7")
    types = [(c["type"], c["status"], c["effective_on"], c["sent_on"]) for c in h7["ccasrs"]]
    check(types == [("connect", "sent", "2027-05-10", "2027-05-03"), ("cancel", "refused", "2027-05-10", None),
                    ("disconnect", "sent", "2027-06-08", "2027-05-10")], f"H7 CCASRs {types}")
    check(h7["state"] == "returned" and h7["optout"]["return_on"] == "2027-06-08" and h7["optout"]["fee"] == 0,
          f"H7 {h7['state']} {h7['optout']}")
    check("Cancel could not reach the utility" in h7["optout"]["rule"], "H7 says why")

    h4 = explain("H4")
    check(h4["optout"]["kind"] == "free" and h4["optout"]["return_on"] == "2027-07-09" and h4["optout"]["fee"] == 0,
          f"H4 {h4['optout']}")
    check("day 45" in h4["optout"]["rule"], "H4 rule names day 45")
    check([c["type"] for c in h4["ccasrs"]] == ["connect", "disconnect"] and h4["ccasrs"][1]["sent_on"] == "2027-06-24",
          f"H4 CCASRs {h4['ccasrs']}")
    # Its four notices all went out before the opt-out: the welcome on the switch, the
    # last one on the next read, 2027-06-08.
    check([n["sent_on"] for n in h4["notices"]] == ["2027-03-04", "2027-04-05", "2027-05-10", "2027-06-08"],
          f"H4 notices {h4['notices']}")

    h5 = explain("H5")
    check(h5["optout"]["kind"] == "free" and h5["optout"]["return_on"] == "2027-08-09" and h5["optout"]["fee"] == 0,
          f"H5 {h5['optout']}")
    check("day 60" in h5["optout"]["rule"], "H5 rule names day 60")

    h6 = explain("H6")
    check(h6["optout"]["kind"] == "reentry" and h6["optout"]["cycle_end"] == "2027-08-09"
          and h6["optout"]["return_on"] == "2028-03-08" and h6["optout"]["fee"] == 5.0, f"H6 {h6['optout']}")
    check(h6["state"] == "returning" and h6["ccasrs"][1]["effective_on"] == "2028-03-08", f"H6 {h6['state']} {h6['ccasrs']}")

    b1 = explain("B1")
    check(b1["state"] == "enrolled" and b1["optout"] is None and all(n["sent_on"] for n in b1["notices"]), f"B1 {b1['state']}")

    # The same file again changes nothing; a damaged file changes nothing and names the lines.
    out = call(["ingest", "optouts", "day61.csv", "--db", "run.db"], work)
    check("already ingested" in out, "the same file twice")
    with open(os.path.join(work, "bad.csv"), "w") as f:
        f.write("account,received_on\nB1,2027-08-01\nZZ9,2027-08-01\nB1,2027-13-01\n")
    out = call(["ingest", "optouts", "bad.csv", "--db", "run.db"], work, expect=1)
    check("bad.csv:3:1: error: no account `ZZ9` in this run" in out and "bad.csv:4:4: error: received_on must be a date" in out
          and "nothing changed" in out, f"a damaged file: {out}")
    check(explain("B1")["optout"] is None, "the damaged file changed nothing")

    # Every ingest is in the event log with its file name and hash.
    import sqlite3
    db = sqlite3.connect(os.path.join(work, "run.db"))
    # A Connect cancelled in time never switches its account (H3); one not cancelled does (H4).
    switched = dict(db.execute("SELECT a.account, count(*) FROM effects e JOIN tasks t ON t.id = e.task JOIN accounts a "
                               "ON a.id = e.account WHERE t.kind = 'switch' AND a.account IN ('H3', 'H4') GROUP BY a.account"))
    check(switched == {"H4": 1}, f"switch effects {switched}")
    logged = db.execute("SELECT count(*) FROM events WHERE kind = 'ingest' AND detail LIKE '%sha256%'").fetchone()[0]
    check(logged == 7, f"seven ingests logged, got {logged}")
    files = sorted(os.listdir(os.path.join(work, "run.db.outbox", "ccasr")))
    requests = [f for f in files if f.startswith("requests.")]
    check(requests == ["requests.2027-05-05.814", "requests.2027-05-10.814", "requests.2027-06-24.814",
                       "requests.2027-07-09.814", "requests.2027-07-12.814"], f"request files {requests}")
    # A request ingested between two runs of one day joins that day's file.
    with open(os.path.join(work, "same_day.csv"), "w") as f:
        f.write("account,received_on\nB1,2027-08-10\n")
    call(["ingest", "optouts", "same_day.csv", "--db", "run.db"], work)
    call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-08-10"], work)
    day = open(os.path.join(work, "run.db.outbox", "ccasr", "requests.2027-08-10.814")).read()
    check("REF*12*B1~" in day, "a request queued between two runs of a day is in that day's file")
    # One more, after that file was written: the file is written again with both.
    with open(os.path.join(work, "same_day2.csv"), "w") as f:
        f.write("account,received_on\nB2,2027-08-10\n")
    call(["ingest", "optouts", "same_day2.csv", "--db", "run.db"], work)
    out = call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-08-10"], work)
    day = open(os.path.join(work, "run.db.outbox", "ccasr", "requests.2027-08-10.814")).read()
    check("REF*12*B1~" in day and "REF*12*B2~" in day and "sent      2 CCASRs" in out,
          f"a day's file written again when its requests grew: {out}")
    import sqlite3
    db = sqlite3.connect(os.path.join(work, "run.db"))
    rows = db.execute("SELECT rows FROM outbox WHERE name = 'ccasr/requests.2027-08-10.814'").fetchone()
    check(rows == (2,), f"the outbox counts both: {rows}")
    # A run made before request_files: the table is filled from the requests on the next
    # change, and no file is written again.
    by_request = db.execute("SELECT file, count(*) FROM requests WHERE file IS NOT NULL GROUP BY file ORDER BY file").fetchall()
    db.execute("DROP TABLE request_files")
    db.commit()
    db.close()
    written = call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-08-11"], work)
    db = sqlite3.connect(os.path.join(work, "run.db"))
    counted = db.execute("SELECT name, rows FROM request_files ORDER BY name").fetchall()
    db.close()
    check(counted == by_request and len(counted) == 6, f"an older run's request files counted: {counted} against {by_request}")
    check("CCASRs" not in written, f"no file written again: {written}")
    # A future-dated opt-out is refused: it is decided when it is received.
    with open(os.path.join(work, "future.csv"), "w") as f:
        f.write("account,received_on\nB1,2035-01-01\n")
    out = call(["ingest", "optouts", "future.csv", "--db", "run.db"], work, expect=1)
    check("received_on 2035-01-01 is after today" in out, f"future opt-out: {out}")
    cancel = open(os.path.join(work, "run.db.outbox", "ccasr", "requests.2027-05-05.814")).read()
    check("BGN*01*" in cancel and "REF*12*H3~" in cancel and "DTM*151*20270510~" in cancel, "the Cancel's 814")
    disconnect = open(os.path.join(work, "run.db.outbox", "ccasr", "requests.2027-07-12.814")).read()
    check("ASI*7*024~" in disconnect and "REF*12*H6~" in disconnect and "DTM*151*20280308~" in disconnect, "the re-entry's 814")
    # With `early reject`, an opt-out before the notice period is refused and changes nothing.
    strict = os.path.join(work, "strict")
    os.mkdir(strict)
    shutil.copy(os.path.join(data, "customers.csv"), strict)
    flow = open(os.path.join(data, "small.flow")).read().replace("optouts terms.standard", "optouts strict")
    flow += "\noptouts strict {\n  early reject\n  free 60 days after switch\n  return 6 months after cycle end\n}\n"
    open(os.path.join(strict, "small.flow"), "w").write(flow)
    call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-02-14"], strict)
    with open(os.path.join(strict, "early.csv"), "w") as f:
        f.write("account,received_on\nH1,2027-02-15\n")
    call(["ingest", "optouts", "early.csv", "--db", "run.db"], strict)
    h1 = json.loads(call(["explain", "H1", "--db", "run.db", "--format", "json"], strict))
    check(h1["optout"]["kind"] == "rejected" and h1["state"] == "pending" and "early reject" in h1["optout"]["rule"],
          f"an early opt-out rejected: {h1['optout']}")
    exit_status = check.report()
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(exit_status)
