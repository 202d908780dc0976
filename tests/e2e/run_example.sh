#!/usr/bin/env bash
# The example territory, run day by day from its first gate to its last notice.
exec python3 "$(dirname "$0")/run_example.py" "$1" "$2"
