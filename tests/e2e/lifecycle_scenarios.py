#!/usr/bin/env python3
"""CCASR responses, move-ins, duplicates and Update CCASRs through the real binary.

Workflow tests/e2e/data/responses/small.flow (phase `homes` enrolls 2027-05-03; stdlib
terms and SCE reject codes: 008 and A13 retried, A76, API and B33 held). Read cycle 6 reads
on the 6th business day: 2027-05-10, 06-08, 07-09, 08-09; its Connect goes 2027-05-03.
Read cycle 1: Connect 2027-05-24 for the 2027-06-01 read. Dates worked out by hand:

  R1 accepted with an actual read of 2027-05-11, a day late: it switches 05-11, its welcome
     window is 05-11..06-07 (sent 05-11, not 05-10), and day 60 is 2027-07-10, so an
     opt-out received 07-10 is free (it would be day 61, a re-entry, on the planned date).
  R2 rejected with 008 (retried): a new Connect for the next read, 2027-06-08, goes 5
     business days before it, 2027-06-01; it switches 06-08; welcome 06-08, final notice on
     the read after, 07-09.
  R3 rejected with A76 (held): never switches; status and explain say it waits.
  R4 (cycle 1) has a Connect pending for 2027-06-01: a move-in for it on 05-25 is a second
     pending switch, refused as a duplicate.
  M1 moves in on 2027-06-15 (cycle 6): enrolled from that day; welcome window 06-15..07-08
     (the next cycle-6 read is 07-09), final 07-09..08-13 (06-15 + 59 days), sent 07-09.
  R1's rate schedule changes (ingested after the 06-01 run): an Update CCASR for the next
     read after 06-01, 2027-06-08, goes with the next run, 06-02.
"""
import datetime
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runlib  # noqa: E402

ccaflow, source = sys.argv[1], sys.argv[2]
data = os.path.join(source, "tests", "e2e", "data", "responses")
env = runlib.ccaflow_env(source)
check = runlib.Checks()


def call(args, expect=0):
    return runlib.output(ccaflow, args, work, env, expect)


def run_until(last, first):
    d, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    while d <= end:
        call(["run", "small.flow", "--db", "run.db", "--as-of", d.isoformat()])
        d += datetime.timedelta(days=1)


def explain(account):
    return json.loads(call(["explain", account, "--db", "run.db", "--format", "json"]))


def response_file(name, answers, groups=1, control=77):
    """answers: (account, accepted, reason or actual date), split over `groups` GS..GE groups"""
    text = runlib.response_814(answers, receiver="SMP", receiver_name="Small Power", control=control, groups=groups)
    open(os.path.join(work, name), "w").write(text)


work = tempfile.mkdtemp(prefix="ccaflow_lifecycle_")
try:
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), work)
    call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-01-04"])
    call(["approve", "jrc", "--db", "run.db", "--by", "pm"])
    call(["approve", "plan_filed", "--db", "run.db", "--by", "pm"])
    run_until("2027-05-04", "2027-01-05")
    response_file("responses1.814", [("R1", True, "2027-05-11"), ("R2", False, "008"), ("R3", False, "A76")])
    out = call(["ingest", "responses", "responses1.814", "--db", "run.db"])
    check("1 connect accepted, 1 connect rejected, held, 1 connect rejected, retried" in out, f"responses summary: {out}")
    run_until("2027-05-25", "2027-05-05")
    with open(os.path.join(work, "dup.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle,service_start\n"
                "R4,residential,D,Moorpark,Ventura,1,2027-05-25\n")
    out = call(["ingest", "move-ins", "dup.csv", "--db", "run.db"])
    check("1 refused: a switch is already pending" in out, f"duplicate move-in: {out}")
    run_until("2027-06-01", "2027-05-26")
    with open(os.path.join(work, "changes.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle\nR1,residential,TOU-D-PRIME,Camarillo,Ventura,6\n"
                "B1,commercial,GS-1,Oxnard,Ventura,6\n")
    out = call(["ingest", "changes", "changes.csv", "--db", "run.db"])
    check("1 Update CCASR queued, 1 unchanged" in out, f"changes: {out}")
    run_until("2027-06-14", "2027-06-02")
    with open(os.path.join(work, "moveins.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle,service_start\n"
                "M1,residential,D,Ojai,Ventura,6,2027-06-15\n")
    call(["ingest", "move-ins", "moveins.csv", "--db", "run.db"])
    run_until("2027-07-09", "2027-06-15")
    with open(os.path.join(work, "optout.csv"), "w") as f:
        f.write("account,received_on\nR1,2027-07-10\n")
    call(["ingest", "optouts", "optout.csv", "--db", "run.db"])
    run_until("2027-08-16", "2027-07-10")

    r1 = explain("R1")
    check(r1["switch_on"] == "2027-05-11", f"R1 switches on the actual read: {r1['switch_on']}")
    check(r1["ccasrs"][0]["status"] == "accepted" and r1["ccasrs"][0]["actual_on"] == "2027-05-11", f"R1 Connect {r1['ccasrs'][0]}")
    check(r1["notices"][2]["window"] == {"start": "2027-05-11", "end": "2027-06-07"} and r1["notices"][2]["sent_on"] == "2027-05-11",
          f"R1 welcome moved with the switch: {r1['notices'][2]}")
    check(r1["optout"]["kind"] == "free" and "day 60" in r1["optout"]["rule"], f"R1 day 60 moved: {r1['optout']}")
    updates = [c for c in r1["ccasrs"] if c["type"] == "update"]
    check(updates == [{"type": "update", "effective_on": "2027-06-08", "status": "sent", "sent_on": "2027-06-02",
                       "reason": "service options changed: rate schedule D -> TOU-D-PRIME"}], f"R1 Update {updates}")

    r2 = explain("R2")
    check(r2["ccasrs"][0]["status"] == "rejected" and r2["ccasrs"][0]["response"] == {"reason": "008", "disposition": "retry"},
          f"R2 first Connect {r2['ccasrs'][0]}")
    retry = [c for c in r2["ccasrs"] if c["type"] == "connect"][1:]
    check(retry and retry[0]["effective_on"] == "2027-06-08" and retry[0]["sent_on"] == "2027-06-01", f"R2 retry {retry}")
    check(r2["switch_on"] == "2027-06-08" and r2["state"] == "enrolled", f"R2 switch {r2['switch_on']} {r2['state']}")
    check([n["sent_on"] for n in r2["notices"]][2:] == ["2027-06-08", "2027-07-09"], f"R2 post notices {r2['notices'][2:]}")

    r3 = explain("R3")
    check(r3["state"] == "held" and "A76" in r3["held"], f"R3 held: {r3.get('state')} {r3.get('held')}")
    check([n["sent_on"] for n in r3["notices"]][2:] == [None, None], "R3 gets no post-enrollment notice")

    r4 = explain("R4")
    refused = [c for c in r4["ccasrs"] if c["status"] == "refused"]
    check(len(refused) == 1 and "duplicate" in refused[0]["reason"], f"R4 duplicate refused {r4['ccasrs']}")
    check(r4["switch_on"] == "2027-06-01" and r4["state"] == "enrolled", f"R4 switched once, on 06-01: {r4['switch_on']}")

    m1 = explain("M1")
    check(m1["state"] == "enrolled" and m1["switch_on"] == "2027-06-15", f"M1 {m1['state']} {m1['switch_on']}")
    check([n["sent_on"] for n in m1["notices"]] == [None, None, "2027-06-15", "2027-07-09"], f"M1 notices {m1['notices']}")
    check(m1["notices"][3]["window"] == {"start": "2027-07-09", "end": "2027-08-13"}, f"M1 final window {m1['notices'][3]}")

    status = json.loads(call(["status", "--db", "run.db", "--format", "json"]))
    check(all(t["state"] == "done" for t in status["tasks"]), "every task done, R3 held aside")
    text = call(["status", "--db", "run.db"])
    check("R3" in text and "A76" in text, f"status lists the held account: {text}")

    # A damaged response file changes nothing and names its lines.
    response_file("bad.814", [("R9", True, "2027-05-11")])
    broken = open(os.path.join(work, "bad.814")).read().replace("SE*9*0001", "SE*7*0001")
    open(os.path.join(work, "bad.814"), "w").write(broken)
    out = call(["ingest", "responses", "bad.814", "--db", "run.db"], expect=1)
    check("bad.814:11:1: error: SE says 7 segments, but transaction 0001 has 9" in out and "no account `R9`" in out
          and "nothing changed" in out, f"a damaged response file: {out}")
    out = call(["ingest", "responses", "responses1.814", "--db", "run.db"])
    check("already ingested" in out, "the same responses twice change nothing")
    files = sorted(os.listdir(os.path.join(work, "run.db.outbox", "ccasr")))
    check("requests.2027-06-01.814" in files and "requests.2027-06-02.814" in files, f"request files {files}")
    update = open(os.path.join(work, "run.db.outbox", "ccasr", "requests.2027-06-02.814")).read()
    check("ASI*7*001~" in update and "REF*12*R1~" in update, "the Update's 814")
    check(all(c["type"] != "connect" for c in m1["ccasrs"]), f"a move-in has no mass enrollment Connect: {m1['ccasrs']}")

    # --- what an adversarial review found, each now refused or handled -----------------
    second = os.path.join(work, "second")
    os.mkdir(second)
    for name in ("small.flow", "customers.csv"):
        shutil.copy(os.path.join(data, name), second)
    global_work = work
    globals()["work"] = second
    call(["run", "small.flow", "--db", "run.db", "--as-of", "2027-01-04"])
    call(["approve", "jrc", "--db", "run.db", "--by", "pm"])
    call(["approve", "plan_filed", "--db", "run.db", "--by", "pm"])
    # A response for a Connect never sent (R4's goes 2027-05-24) answers nothing: refused.
    run_until("2027-05-04", "2027-01-05")
    response_file("early.814", [("R4", False, "008")])
    out = call(["ingest", "responses", "early.814", "--db", "run.db"], expect=1)
    check("no connect was sent for account `R4`" in out, f"a response to nothing: {out}")
    # Two groups in one file are both read; the same file twice in one command is taken once.
    response_file("two_groups.814", [("R1", True, "2027-05-07"), ("R2", False, "008")], groups=2, control=80)
    out = call(["ingest", "responses", "two_groups.814", "two_groups.814", "--db", "run.db"])
    check("1 connect accepted, 1 connect rejected, retried" in out and "taken once" in out, f"two groups: {out}")
    # The same reject again, from another file: a retry is already pending, so no second one.
    response_file("again.814", [("R2", False, "008")], control=90)
    out = call(["ingest", "responses", "again.814", "--db", "run.db"])
    # R2 opts out before its retried Connect goes (2027-06-01): the retry is never sent.
    run_until("2027-05-20", "2027-05-05")
    with open(os.path.join(work, "r2.csv"), "w") as f:
        f.write("account,received_on\nR2,2027-05-21\n")
    call(["ingest", "optouts", "r2.csv", "--db", "run.db"])
    # A change of class is not a change of service options; an opted-out account gets no Update.
    with open(os.path.join(work, "class.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle\nB1,residential,D,Oxnard,Ventura,6\n")
    out = call(["ingest", "changes", "class.csv", "--db", "run.db"], expect=1)
    check("changes its customer class or read cycle" in out, f"class change: {out}")
    with open(os.path.join(work, "left.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle\nR2,residential,TOU-D-PRIME,Oxnard,Ventura,6\n")
    out = call(["ingest", "changes", "left.csv", "--db", "run.db"])
    check("not sent: the customer opted out" in out, f"no Update for a customer who left: {out}")
    # A move-in before its phase enrolls belongs in the customer file.
    with open(os.path.join(work, "early_movein.csv"), "w") as f:
        f.write("account,customer_class,rate_schedule,city,county,read_cycle,service_start\nM9,residential,D,Ojai,Ventura,6,2027-04-01\n")
    out = call(["ingest", "move-ins", "early_movein.csv", "--db", "run.db"], expect=1)
    check("before phase homes enrolls (2027-05-03)" in out, f"early move-in: {out}")
    run_until("2027-07-12", "2027-05-21")
    r2 = explain("R2")
    retries = [c for c in r2["ccasrs"] if c["type"] == "connect"][1:]
    check(len(retries) == 1 and retries[0]["status"] == "withdrawn", f"R2: one retry, withdrawn by the opt-out: {retries}")
    check(r2["state"] == "opted_out" and r2["optout"]["kind"] == "pre" and r2["optout"]["fee"] == 0, f"R2 {r2['state']} {r2['optout']}")
    # R1's actual read (05-07) came before the planned 05-10: its welcome still goes in its window.
    r1 = explain("R1")
    check(r1["switch_on"] == "2027-05-07" and r1["notices"][2]["sent_on"] == "2027-05-07", f"R1 early read: {r1['notices'][2]}")
    globals()["work"] = global_work
    exit_status = check.report()
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(exit_status)
