"""The one place the serving code touches prometheus_client's private API (copied beside the runtime).

MLServer imports the runtime again each time it loads a model, and the registry refuses a second
collector of a name; the counter made by the first import is found by its name, for which
prometheus_client has no public lookup.
"""

from __future__ import annotations

from importlib.metadata import version

from prometheus_client import REGISTRY, Counter


def shared_counter(name: str, documentation: str, labels: list[str]) -> Counter:
    """The counter `name` of this process, made on first use."""
    collectors = getattr(REGISTRY, "_names_to_collectors", None)
    if not isinstance(collectors, dict):  # the guard: a release that renamed it fails here, by name
        raise RuntimeError(
            f"prometheus_client {version('prometheus_client')} has no REGISTRY._names_to_collectors: "
            "update stacks/mlserver/metrics_compat.py"
        )
    existing = collectors.get(name)
    if existing is not None:
        return existing
    return Counter(name, documentation, labels)
