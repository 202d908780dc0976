#!/usr/bin/env bash
# A failed batch resumed the same day: the day's mail merge holds every notice of the day.
exec python3 "$(dirname "$0")/resume_after_failure.py" "$1" "$2"
