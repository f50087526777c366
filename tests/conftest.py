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

# The slowest modules first, as measured (`--durations=0`, seconds on 2 cores), then the rest by tier:
# `scripts/test.sh` keeps this order (`--no-loadscope-reorder`), so the workers finish together.
SLOWEST_MODULES = (
    "test_estimators.py",  # journeys first: each worker builds one adopter environment at the start
    "test_first_week.py",
    "test_data_contract.py",
    "test_deployment.py",  # 330
    "test_drift_loop.py",  # 315
    "test_local_servers.py",  # 250
    "test_databases.py",  # 225
    "test_training_pipeline.py",  # 180
    "test_batch_at_scale.py",  # 170
    "test_cloud_stores.py",  # 165
    "test_airflow.py",  # 165
    "test_bad_input_corpus.py",  # 120
    "test_live_loop.py",  # 100
    "test_kubeflow.py",  # 75
    "test_fault_drills.py",  # 65
    "test_kafka_streams.py",  # 45
)
TIER_ORDER = ("journey", "load", "servers", "store", "cli")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules in that order, each module's tests kept together and in their order, so a module's
    fixtures are set up once."""

    def tier(item: pytest.Item) -> int:
        marks = {mark.name for mark in item.iter_markers()}
        return next((rank for rank, name in enumerate(TIER_ORDER) if name in marks), len(TIER_ORDER))

    rank: dict[object, int] = {}
    for item in items:
        slow = SLOWEST_MODULES.index(item.path.name) if item.path.name in SLOWEST_MODULES else None
        own = slow if slow is not None else len(SLOWEST_MODULES) + tier(item)
        rank[item.path] = min(rank.get(item.path, own), own)
    items.sort(key=lambda item: rank[item.path])  # stable: a module's tests keep their order
