#!/usr/bin/env bash
# Kills a run after every k-th effect, resumes it, and compares with an undisturbed run.
exec python3 "$(dirname "$0")/crash_resume.py" "$1" "$2"
