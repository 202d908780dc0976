#!/usr/bin/env bash
# CCASR responses (accepted late, rejected and retried, rejected and held), a duplicate
# pending switch, a move-in and an Update CCASR.
exec python3 "$(dirname "$0")/lifecycle_scenarios.py" "$1" "$2"
