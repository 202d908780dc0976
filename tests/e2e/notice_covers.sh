#!/usr/bin/env bash
# A run that keeps its notice covers and open accounts ends like one that forgets them
# every day, with an opt-out removed after the cycle it passed over was covered.
exec python3 "$(dirname "$0")/notice_covers.py" "$1" "$2"
