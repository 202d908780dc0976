#!/usr/bin/env bash
# Hostile workflow files get diagnostics and exit 1 quickly: never a crash or a hang.
source "$(dirname "$0")/lib.sh"

python3 - <<'PY'
open("parens.flow", "w").write("param p = " + "(" * 20000 + "1" + ")" * 20000 + "\n")
open("nots.flow", "w").write("assert " + "not " * 20000 + "true\n")
open("chain.flow", "w").write("param p = 1" + " + 1" * 100000 + "\n")
open("huge.flow", "w").write(("# " + "x" * 98 + "\n") * 104858)  # 10 MB of text
open("nul.flow", "wb").write(b'workflow "A\x00B" {}\n')
open("latin1.flow", "wb").write(b'workflow "Caf\xe9" {}\n')
open("garbage.flow", "wb").write(bytes(range(1, 128)) * 500)
header = 'import sce\nworkflow "P" { cca P utility SCE calendar sce.business_days reads sce.reads_2025_2028 }\n'
open("chain_params.flow", "w").write(header + "".join(f"param p{i} = p{i + 1}\n" for i in range(20000)) + "param p20000 = 1\n")
open("cycle_params.flow", "w").write(header + "".join(f"param p{i} = p{(i + 1) % 20000}\n" for i in range(20000)))
open("cycle_gates.flow", "w").write(header + "".join(f"gate g{i} owner cca due 2027-01-04 needs g{(i + 1) % 20000}\n" for i in range(20000)))
PY
expect_exit 1 "20,000 nested parentheses" -- timeout 20 "$ccaflow" check parens.flow
expect_in err.txt "parens.flow:1:75: error: brackets nested more than 64 deep" "nesting diagnostic"
expect_exit 1 "20,000 nested nots" -- timeout 20 "$ccaflow" check nots.flow
expect_in err.txt "nested too deeply" "deep expression diagnostic"
expect_exit 1 "a 100,000-term sum" -- timeout 20 "$ccaflow" check chain.flow
expect_in err.txt "nested too deeply" "long chain diagnostic"
expect_exit 1 "10 MB of text" -- timeout 20 "$ccaflow" check huge.flow
expect_in err.txt "huge.flow: error: cannot read the workflow file: it is 10590658 bytes, over the 1048576 byte limit" "size diagnostic"
expect_exit 1 "NUL bytes" -- timeout 20 "$ccaflow" check nul.flow
expect_in err.txt "nul.flow:1:12: error: NUL byte in workflow file" "NUL diagnostic"
expect_exit 1 "invalid UTF-8" -- timeout 20 "$ccaflow" check latin1.flow
expect_in err.txt "latin1.flow:1:14: error: invalid UTF-8 byte 0xE9" "UTF-8 diagnostic"
expect_exit 1 "binary garbage" -- timeout 20 "$ccaflow" check garbage.flow
expect_in err.txt "garbage.flow:" "garbage diagnostic"
expect_exit 1 "an endless device" -- timeout 20 "$ccaflow" check /dev/zero
expect_in err.txt "/dev/zero: error: cannot read the workflow file: it is over the 1048576 byte limit" "device diagnostic"
export CCAFLOW_STDLIB="$source_dir/stdlib"
expect_exit 1 "a chain of 20,000 parameters" -- timeout 20 "$ccaflow" check chain_params.flow
expect_in err.txt "is defined through more than 256 other parameters" "parameter chain diagnostic"
expect_exit 1 "a cycle of 20,000 parameters" -- timeout 20 "$ccaflow" check cycle_params.flow
expect_exit 1 "a cycle of 20,000 gates" -- timeout 20 "$ccaflow" check cycle_gates.flow
expect_in err.txt "cycle_gates.flow:3:6: error: dependency cycle: gate g0 -> gate g1 -> gate g2" "gate cycle diagnostic"
expect_in err.txt "gate g19999 -> gate g0" "the whole cycle is named"
printf 'account,customer_class,rate_schedule,city,county,read_cycle\n' > wf_customers.csv
cp "$source_dir/tests/golden/plans/small/small.flow" small.flow
expect_exit 1 "customers from an endless device" -- timeout 20 "$ccaflow" plan small.flow --customers /dev/zero
expect_in err.txt "/dev/zero:1:1: error: line 1 is longer than 1048576 bytes" "long line diagnostic"
expect_exit 1 "a directory" -- timeout 20 "$ccaflow" check .
expect_in err.txt "is a directory" "directory diagnostic"
expect_exit 1 "a missing file" -- timeout 20 "$ccaflow" check missing.flow
expect_in err.txt "missing.flow: error: cannot read the workflow file: No such file or directory" "missing file diagnostic"
# Imports name modules, never paths: nothing above the workflow's folder can be read.
mkdir -p inner && printf 'param secret = 1\n' > secret.flow
printf 'import ../secret\n' > inner/up.flow
expect_exit 1 "an import that climbs out with ../" -- timeout 20 "$ccaflow" check inner/up.flow
expect_in err.txt "inner/up.flow:1:8: error: unexpected \`.\`, expected a name: an import names a module (\`import sce\` reads sce.flow from the workflow's folder or the stdlib), never a path" "upward import diagnostic"
printf 'import "/etc/passwd"\n' > inner/abs.flow
expect_exit 1 "an import of an absolute path" -- timeout 20 "$ccaflow" check inner/abs.flow
expect_in err.txt "inner/abs.flow:1:8: error: unexpected \`\"/etc/passwd\"\`, expected a name: an import names a module" "absolute import diagnostic"
# A workflow holds no commands and names no files to write: a template that looks like a
# path, or shell, is only text in the mail merge; every file written is in the outbox.
mkdir -p escape && cd escape
cp "$source_dir"/tests/e2e/data/optouts/* .
sed -i 's|template "t1"|template "../../../escaped; touch pwned; $(touch pwned2)"|' small.flow
expect_exit 0 "a path-like template: first run" -- "$ccaflow" run small.flow --db run.db --as-of 2026-12-01
"$ccaflow" approve jrc --db run.db --by ann >/dev/null 2>&1
expect_exit 0 "a path-like template: the first notices go out" -- "$ccaflow" run small.flow --db run.db --as-of 2027-01-04
written=$(find "$work" -newer small.flow -type f ! -path "*/run.db.outbox/*" ! -name "run.db*" ! -name "*.txt" | sort)
[ -z "$written" ] && pass || fail "files written outside the outbox: $written"
expect_in run.db.outbox/notices/business.opt_out.first.2027-01-04.csv ',../../../escaped; touch pwned; $(touch pwned2),cca,' "the template is text in the merge"
bad_modes=$(find run.db.outbox -type d ! -perm 0700 -o -type f ! -perm 0600)
[ -z "$bad_modes" ] && pass || fail "outbox entries not 0700/0600: $bad_modes"
cd ..
finish
