#!/usr/bin/env bash
# A run whose disk fills (a small tmpfs; needs root, else skipped) fails with exit 3 and
# what to free, and finishes after space is freed, identical to an undisturbed run.
exec python3 "$(dirname "$0")/full_disk.py" "$1" "$2"
