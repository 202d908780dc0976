#!/usr/bin/env bash
# A resumed notice batch goes on with the mail merge a killed one began, or writes it again
# when that file is not what its mark says.
exec python3 "$(dirname "$0")/resume_merge.py" "$1" "$2"
