#!/usr/bin/env bash
# Opt-outs before the notice period, before the switch (with and without a Connect sent),
# a Cancel that comes too late, and on days 45, 60 and 61 after the switch.
exec python3 "$(dirname "$0")/optout_scenarios.py" "$1" "$2"
