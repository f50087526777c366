#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv from the locked dependency set.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-python3}
extras=${1:-}
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"
fi
target="."
[ -n "$extras" ] && target=".[${extras}]"
# --compile-bytecode writes bytecode once, at install: where PYTHONDONTWRITEBYTECODE is set, every
# start would otherwise recompile ZenML, MLflow and scikit-learn (about 10 s a process on 2 cores).
install=(.venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python --constraint constraints.txt -e "$target")
# Every version is pinned, so what the cache holds is enough: asking the index again costs time and,
# behind a proxy that marks every response stale, rebuilds sdist-only packages (pyspark, about
# 1.4 GB and 17 s) at each install. Online only when the cache lacks something.
"${install[@]}" --offline 2>/dev/null || "${install[@]}"
