"""Helpers shared by the end-to-end scripts that drive whole runs: calling the real binary,
a run's comparable state, and X12 814 response files as the utility would send them."""
import datetime
import hashlib
import json
import os
import sqlite3
import subprocess
import sys


def ccaflow_env(source, **knobs):
    """The environment for the binary: the source tree's stdlib, no test knobs unless given."""
    env = dict(os.environ, CCAFLOW_STDLIB=os.path.join(source, "stdlib"))
    for knob in ("CCAFLOW_CRASH_AFTER_EFFECTS", "CCAFLOW_BATCH_SIZE", "CCAFLOW_MERGE_CHUNK"):
        env.pop(knob, None)
    env.update({k: str(v) for k, v in knobs.items()})
    return env


def call(ccaflow, args, cwd, env, expect=(0,)):
    """Runs ccaflow; exits the script with its output when the status is not expected."""
    p = subprocess.run([ccaflow] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode not in expect:
        sys.exit(f"FAIL: ccaflow {' '.join(args)} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def output(ccaflow, args, cwd, env, expect=0):
    """Runs ccaflow expecting one exit status; returns what it printed, stdout then stderr."""
    p = call(ccaflow, args, cwd, env, expect=(expect,))
    return p.stdout + p.stderr


class Checks:
    """Counts checks and keeps going after a failed one, to report them all."""

    def __init__(self):
        self.count, self.failures = 0, []

    def __call__(self, condition, what):
        self.count += 1
        if not condition:
            self.failures.append(what)
            print("FAIL:", what)

    def report(self):
        """Prints the tally; the exit status for the script."""
        print(f"{self.count - len(self.failures)} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def snapshot(folder, db="run.db"):
    """What must be identical between two runs of the same schedule: tasks, effects, the
    lifecycle tables, the outbox records and the outbox files' bytes."""
    con = sqlite3.connect(os.path.join(folder, db))
    state = {
        "tasks": con.execute("SELECT key, state, done, error FROM tasks ORDER BY id").fetchall(),
        "effects": con.execute("SELECT task, account, kind, on_date FROM effects ORDER BY task, account").fetchall(),
        "optouts": con.execute("SELECT account, kind, taken_on, fee_cents, rule FROM optouts ORDER BY account").fetchall(),
        "requests": con.execute("SELECT account, type, effective_on, state, sent_on, file FROM requests ORDER BY id").fetchall(),
        "responses": con.execute("SELECT account, type, accepted, reason, actual_on, disposition FROM responses "
                                 "ORDER BY id").fetchall(),
        "outbox records": con.execute("SELECT name, bytes, sha256 FROM outbox ORDER BY name").fetchall(),
    }
    check_reached(con, state["effects"])
    con.close()
    files = {}
    root = os.path.join(folder, db + ".outbox")
    for base, _, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    state["outbox files"] = files
    return state


def check_reached(con, effects):
    """The reached bits (schema version 2) must be exactly the effects' (task, account) pairs."""
    if not con.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'reached'").fetchone()[0]:
        return
    bits = set()
    for task, block, blob in con.execute("SELECT task, block, bits FROM reached"):
        for j, byte in enumerate(blob):
            for k in range(8):
                if byte >> k & 1:
                    bits.add((task, (block * len(blob) + j) * 8 + k))
    pairs = {(task, account) for task, account, _, _ in effects}
    if bits != pairs:
        raise AssertionError(f"the reached bits are not the effects: only bits {sorted(bits - pairs)[:5]}, "
                             f"only effects {sorted(pairs - bits)[:5]}")


def differences(want, got):
    return [what for what in want if want[what] != got.get(what)]


def response_814(answers, sender="SCE", receiver="CCA", receiver_name="CCA", control=77, date="20270504", groups=1):
    """An X12 814 response file: answers are (account, accepted, actual date YYYY-MM-DD or
    reject reason), all Connects, split over `groups` GS..GE groups."""
    segments = [f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*{date[2:]}*0000*U*00401*{control:09}*0*P*>"]
    per_group = -(-len(answers) // groups)
    for g in range(groups):
        part = answers[g * per_group:(g + 1) * per_group]
        segments.append(f"GS*GE*{sender}*{receiver}*{date}*0000*{control + g}*X*004010")
        for i, (account, accepted, value) in enumerate(part, 1):
            body = [f"ST*814*{i:04}", f"BGN*11*{sender}{i:04}*{date}", f"N1*8S*{sender}", f"N1*SJ*{receiver_name}",
                    f"LIN*{i}*SH*EL*SH*CE", f"ASI*{'WQ' if accepted else 'U'}*021", f"REF*12*{account}"]
            body.append(f"DTM*151*{value.replace('-', '')}" if accepted else f"REF*7G*{value}")
            body.append(f"SE*{len(body) + 1}*{i:04}")
            segments += body
        segments.append(f"GE*{len(part)}*{control + g}")
    segments.append(f"IEA*{groups}*{control:09}")
    return "~\n".join(segments) + "~\n"


def connects_in(request_file):
    """(account, effective date YYYY-MM-DD) of each Connect in an outbox 814 request file."""
    out, account, connect = [], None, False
    for segment in open(request_file).read().replace("\n", "").split("~"):
        parts = segment.split("*")
        if parts[0] == "ST":
            account, connect = None, False
        elif parts[0] == "ASI":
            connect = parts[2] == "021"
        elif parts[0] == "REF" and parts[1] == "12":
            account = parts[2]
        elif parts[0] == "DTM" and parts[1] == "151" and connect and account:
            d = parts[2]
            out.append((account, f"{d[:4]}-{d[4:6]}-{d[6:]}"))
    return out


def notice_span(ccaflow, folder, env):
    """The first and last days of the territory's notice windows, from its plan."""
    plan = json.loads(call(ccaflow, ["plan", "territory.flow", "--customers", "customers.csv", "--format", "json"],
                           folder, env).stdout)
    notices = [t for t in plan["tasks"] if t["kind"] == "notice"]
    return (datetime.date.fromisoformat(min(t["earliest"] for t in notices)),
            datetime.date.fromisoformat(max(t["latest"] for t in notices)))


class OptoutTrickle:
    """The generator's opt-out trickle (optouts.csv in `folder`), handed over as it arrives."""

    def __init__(self, folder):
        self.folder = folder
        self.by_day = {}
        for line in open(os.path.join(folder, "optouts.csv")).read().splitlines()[1:]:
            self.by_day.setdefault(datetime.date.fromisoformat(line.split(",")[1]), []).append(line)
        self.pending = sorted(self.by_day)

    def arrived_by(self, day):
        """Writes the opt-outs received by `day` and not handed over yet to optouts.DAY.csv
        and returns that name, or None when none arrived."""
        arrived = [d for d in self.pending if d <= day]
        if not arrived:
            return None
        self.pending = [d for d in self.pending if d > day]
        name = f"optouts.{day}.csv"
        with open(os.path.join(self.folder, name), "w") as f:
            f.write("account,received_on,channel\n" + "".join(line + "\n" for d in arrived for line in self.by_day[d]))
        return name
