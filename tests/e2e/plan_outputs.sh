#!/usr/bin/env bash
# `plan` on the example territory: a readable calendar, JSON with every task and the
# stable fields, DOT that Graphviz renders, and nothing written anywhere.
source "$(dirname "$0")/lib.sh"

# Everything plan could touch: its working folder (ws, holding the example) and TMPDIR.
mkdir ws tmp
cp -r "$source_dir/examples/territory" ws/example
export TMPDIR=$work/tmp CCAFLOW_STDLIB="$source_dir/stdlib"
snapshot() { (cd "$work" && find ws tmp -printf '%p %s %T@ %m\n' | sort); }
before=$(snapshot)

expect_exit 0 "plan text" -- "$ccaflow" plan ws/example/territory.flow --as-of 2026-12-01
expect_in out.txt "Example Coast Power (ECP), utility SCE" "title"
expect_in out.txt "customers   ws/example/customers.csv: 3,000 accounts, 2,976 eligible, 24 excluded" "customer counts"
expect_in out.txt "Phase residential \"Residential customers\": enroll 2027-05-03, 2,634 accounts" "phase header"
expect_in out.txt "pass  rule23.pre_enrollment_notices" "rule outcome"
cp out.txt plan.txt

expect_exit 0 "plan json" -- "$ccaflow" plan ws/example/territory.flow --format json
cp out.txt plan.json
"$ccaflow" check ws/example/territory.flow --dump graph > graph.txt 2>/dev/null
python3 - plan.json graph.txt <<'PY' >check.txt 2>&1 || true
import json, sys
doc = json.load(open(sys.argv[1]))
graph = [l for l in open(sys.argv[2]) if " <- [" in l]
tasks = doc["tasks"]
assert len(tasks) == len(graph) == 144, (len(tasks), len(graph))
ids = {t["id"] for t in tasks}
seen = set()
for t in tasks:
    for key in ("id", "kind", "depends_on", "earliest", "latest", "accounts"):
        assert key in t, (key, t)
    assert t["kind"] in ("milestone", "gate", "notice", "ccasr", "switch"), t
    assert t["earliest"] <= t["latest"], t
    for d in t["depends_on"]:
        assert d in seen, ("dependency listed after its dependent", d, t["id"])
    seen.add(t["id"])
notices = [t for t in tasks if t["kind"] == "notice" and t["phase"] == "residential"]
assert all(t["accounts"] == 2634 for t in notices), notices
assert sum(t["accounts"] for t in tasks if t["kind"] == "ccasr") == 2976
assert doc["customers"]["excluded"][0] == {"reason": "Direct Access", "count": 24, "examples": doc["customers"]["excluded"][0]["examples"]}
assert doc["ok"] is True
print("json ok")
PY
expect_in check.txt "json ok" "JSON has every task with the stable fields"

expect_exit 0 "plan dot" -- "$ccaflow" plan ws/example/territory.flow --format dot
cp out.txt plan.dot
expect_exit 0 "graphviz renders the plan" -- dot -Tsvg plan.dot -o plan.svg
expect_in plan.svg "<svg" "SVG output"

if [ "$before" = "$(snapshot)" ]; then pass; else fail "plan wrote something:"; diff <(echo "$before") <(snapshot); fi

# A plan whose schedule breaks a rule still prints the calendar, marks the failure and exits 1.
sed 's/and 59 days after switch/and 2 billing cycles after switch/' ws/example/territory.flow > broken.flow
cp ws/example/customers.csv .
expect_exit 1 "plan with a rule failure" -- "$ccaflow" plan broken.flow
expect_in out.txt "FAIL  rule23.post_enrollment_notices" "failure in the calendar"
expect_in err.txt "breaks rule rule23.post_enrollment_notices" "failure in the diagnostics"
finish
