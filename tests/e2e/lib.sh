# Helpers for the end-to-end tests: each test runs the real binary in a fresh temp folder.
ccaflow=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
  local want=$1 what=$2; shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" != "$want" ]; then fail "$what: exit $got, expected $want"; sed 's/^/  | /' err.txt | head -20; else pass; fi
}

# expect_in FILE TEXT DESCRIPTION
expect_in() {
  if grep -qF -- "$2" "$1"; then pass; else fail "$3: '$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi
}

finish() {
  echo "$checks passed, $failures failed"
  [ "$failures" -eq 0 ]
}
