#!/usr/bin/env bash
# Set up the environment with the dev extra, check the code, and run the tests.
# Usage: scripts/test.sh [fast] [PYTEST ARGS...]
#   (no tier)  everything: ruff, the import contracts, every test tier and mypy beside them (what CI runs)
#   fast       the same checks and the tests that need no ZenML store, server or load; no system installs
set -euo pipefail
cd "$(dirname "$0")/.."

tier=all
if [ "${1:-}" = fast ]; then
    tier=fast
    shift
fi
bash scripts/setup.sh dev
[ "$tier" = all ] && bash scripts/install-test-tools.sh   # Prometheus, Pushgateway, Chromium: tests start them
export ZENML_ANALYTICS_OPT_IN=false DO_NOT_TRACK=1 ZENML_AUTO_OPEN_DASHBOARD=false
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
if [ "$tier" = fast ]; then
    .venv/bin/mypy .
    exec .venv/bin/python -m pytest -m "not store and not servers and not load and not journey" -n 2 "$@"
fi
# mypy (one core for about 30 s) runs beside the tests, which leave that much idle while servers
# start; its verdict counts as much as theirs.
mypy_log=$(mktemp)
.venv/bin/mypy . >"$mypy_log" 2>&1 &
mypy_pid=$!
# Each test module runs whole on one worker (modules build state test by test), in the order
# tests/conftest.py gives them, slowest first (xdist would order them by their number of tests).
# Two workers for two cores: a third took 18.8 and 23.7 min of pytest in two runs, against 20.1 with
# two, the modules slowing each other down about as much as it gained.
status=0
.venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder "$@" || status=$?
mypy_status=0
wait "$mypy_pid" || mypy_status=$?
cat "$mypy_log"
rm -f "$mypy_log"
[ "$mypy_status" -eq 0 ] || exit "$mypy_status"
exit "$status"
