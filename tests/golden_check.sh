#!/usr/bin/env bash
# Runs one golden case: tests/golden/<kind>/<case>/ holds `cmd` (the ccaflow arguments, one
# line, run from inside the case folder), the inputs, and the expected `stderr`, `exit` and,
# when present, `stdout`. With GOLDEN_UPDATE=1 it rewrites the expectations instead.
set -uo pipefail
ccaflow=$1
case_dir=$2
cd "$case_dir" || exit 2
read -r -a args < cmd
actual_out=$(mktemp) actual_err=$(mktemp)
trap 'rm -f "$actual_out" "$actual_err"' EXIT
"$ccaflow" "${args[@]}" >"$actual_out" 2>"$actual_err"
status=$?
if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
  cp "$actual_err" stderr
  echo "$status" > exit
  if [ -f stdout ] || [ -s "$actual_out" ]; then cp "$actual_out" stdout; fi
  exit 0
fi
failed=0
if [ "$status" != "$(cat exit)" ]; then
  echo "exit status: expected $(cat exit), got $status"
  failed=1
fi
if ! diff -u stderr "$actual_err"; then failed=1; fi
if [ -f stdout ] && ! diff -u stdout "$actual_out"; then failed=1; fi
exit $failed
