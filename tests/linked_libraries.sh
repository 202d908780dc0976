#!/usr/bin/env bash
# With CCAFLOW_STATIC_LIBS, each program loads only the C library at its start: the
# libraries it uses (ANTLR, SQLite, libcrypto, fmt, the C++ runtime) are linked in.
# Usage: linked_libraries.sh PROGRAM...
set -euo pipefail
status=0
for program in "$@"; do
  needed=$(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v -E '^(libc|libm|ld-linux-x86-64)\.so' || true)
  if [ -n "$needed" ]; then
    echo "$program still loads: $(echo $needed)" >&2
    status=1
  fi
done
exit $status
