#!/usr/bin/env bash
# Every shipped workflow passes `check`; a damaged copy reports all of its errors at once.
source "$(dirname "$0")/lib.sh"
export CCAFLOW_STDLIB="$source_dir/stdlib"

expect_exit 0 "check workflows/*.flow" -- "$ccaflow" check "$source_dir"/workflows/*.flow
for cca in avce cpa lce prime rmea sjp; do expect_in out.txt "workflows/$cca.flow: ok:" "$cca passes"; done

# Four independent mistakes in one copy of CPA's workflow: each gets its own diagnostic.
sed -e 's/^gate jrc_published /gate jrc_publshed /' \
    -e 's/enroll non_residential_enroll/enroll non_residential_enrol/' \
    -e 's/param ventura_enroll = 2028-05-01/param ventura_enroll = "2028-05-01"/' \
    -e 's/pre second between 30 days before enroll/pre second between 30 before enroll/' \
    "$source_dir/workflows/cpa.flow" > cpa.flow
expect_exit 1 "a damaged copy of cpa.flow" -- "$ccaflow" check cpa.flow
n=$(grep -c ': error: ' err.txt)
[ "$n" -ge 4 ] && pass || fail "expected at least 4 errors at once, got $n"
expect_in err.txt "unknown name \`non_residential_enrol\` (did you mean \`non_residential_enroll\`?)" "misspelt parameter"
expect_in err.txt "unknown milestone or gate \`jrc_published\` (did you mean \`jrc_publshed\`?)" "renamed gate"
expect_in err.txt 'but `30` is a number: add a unit' "missing unit"
finish
