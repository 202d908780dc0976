#!/usr/bin/env bash
# The runtime's SQL checked with EXPLAIN QUERY PLAN: no unintended whole-table reads.
exec python3 "$(dirname "$0")/query_plans.py" "$1" "$2"
