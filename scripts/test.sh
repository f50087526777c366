#!/usr/bin/env bash
# Set up the environment with the dev extra, then lint, type-check and run every test tier.
# Usage: scripts/test.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh dev
bash scripts/install-test-tools.sh   # Prometheus, Pushgateway and Chromium, which tests start
export ZENML_ANALYTICS_OPT_IN=false DO_NOT_TRACK=1 ZENML_AUTO_OPEN_DASHBOARD=false
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .
.venv/bin/python -m pytest "$@"
