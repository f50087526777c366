"""Test-wide isolation: every test process (each pytest-xdist worker) gets its own ZenML config and store.

The variables are set before anything imports ZenML, so unit tests (which never touch a store)
and integration tests (which run pipelines) cannot leak into ~/.config/zenml.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="mlops-template-tests-"))

os.environ["ZENML_CONFIG_PATH"] = str(_SESSION_DIR / "zenml")
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ["ZENML_AUTO_OPEN_DASHBOARD"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["MLFLOW_TRACKING_URI"] = ""
os.environ.pop("ZENML_STORE_URL", None)
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# The slowest tiers first, so that pytest-xdist does not end with one worker on a long module.
TIER_ORDER = ("load", "servers", "store", "cli")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules in tier order (a module ranks by its slowest test), each module's tests kept together
    and in their order, so a module's fixtures are set up once."""

    def tier(item: pytest.Item) -> int:
        marks = {mark.name for mark in item.iter_markers()}
        return next((rank for rank, name in enumerate(TIER_ORDER) if name in marks), len(TIER_ORDER))

    module_tier: dict[object, int] = {}
    for item in items:
        module_tier[item.path] = min(module_tier.get(item.path, len(TIER_ORDER)), tier(item))
    items.sort(key=lambda item: module_tier[item.path])  # stable: a module's tests keep their order
