#!/usr/bin/env bash
# Set up the environment with the dev extra, check the code, and run the tests.
# Usage: scripts/test.sh [fast] [PYTEST ARGS...]
#   (no tier)  everything: ruff, mypy, the import contracts, every test tier (what CI runs)
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
.venv/bin/mypy .
.venv/bin/lint-imports
if [ "$tier" = fast ]; then
    exec .venv/bin/python -m pytest -m "not store and not servers and not load" -n 2 "$@"
fi
# Each test module runs whole on one of the two workers: modules build state test by test.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
