#!/usr/bin/env bash
# Run the whole suite. Exit 5 ("no tests collected", e.g. a filter that matches nothing) is not a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests; treating as success"
  exit 0
fi
exit "$status"
