#!/usr/bin/env bash
# The command line: --help everywhere, exit 2 for bad usage, exit 1 for bad input.
source "$(dirname "$0")/lib.sh"
export CCAFLOW_STDLIB="$source_dir/stdlib"

expect_exit 0 "ccaflow --help" -- "$ccaflow" --help
expect_in out.txt "check" "help lists check"
expect_in out.txt "plan" "help lists plan"
for cmd in check plan; do
  expect_exit 0 "ccaflow $cmd --help" -- "$ccaflow" $cmd --help
  expect_in out.txt "Usage" "$cmd help"
done
expect_exit 2 "no command" -- "$ccaflow"
expect_exit 2 "unknown command" -- "$ccaflow" frobnicate
expect_exit 2 "check without files" -- "$ccaflow" check
expect_exit 2 "bad --format" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --format xml
expect_exit 2 "bad --as-of" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --as-of 2027-02-30
expect_in err.txt "--as-of takes a date as YYYY-MM-DD" "as-of message"
expect_exit 2 "bad --set" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --set enroll_date
expect_in err.txt "--set takes NAME=VALUE" "set message"
expect_exit 2 "--set with a bad value" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --set enroll_date=soon
expect_in err.txt "\`enroll_date\` holds a date, as in 2027-09-01" "set value message"
expect_exit 0 "--set with a good value" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --set enroll_date=2027-10-01
expect_in out.txt "parameter   enroll_date = 2027-10-01  (set on the command line)" "override shown"
expect_exit 1 "a missing customer file" -- "$ccaflow" plan "$source_dir/workflows/prime.flow" --customers nowhere.csv
expect_in err.txt "nowhere.csv: error: cannot read the customer file: No such file or directory" "missing customers"
finish
