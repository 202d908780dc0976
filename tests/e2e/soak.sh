#!/usr/bin/env bash
# A short soak (random SIGKILLs through a small territory's whole run); the long one is
# `tests/e2e/soak.py build/ccaflow . --accounts 100000 --kills 200`.
exec python3 "$(dirname "$0")/soak.py" "$1" "$2" --accounts 1500 --kills 15 --seed 3
