"""Which servers of the active stack do not answer: the diagnosis when a run fails without a user error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import requests

PROBE_TIMEOUT_SECONDS = 30.0


def unreachable_components(stack: Any) -> list[str]:
    """One line per component of `stack` (a ZenML Stack) whose server does not answer, e.g. the S3 store."""
    problems = []
    store = stack.artifact_store
    if not store.path.startswith(("/", "file:")):
        reason = _probe(lambda: _check_store_root(store))
        if reason:
            problems.append(f"artifact store {store.path}: {reason}")
    tracker = stack.experiment_tracker
    tracking_uri = getattr(getattr(tracker, "config", None), "tracking_uri", None)
    if tracking_uri and str(tracking_uri).startswith("http"):
        reason = _probe(lambda: requests.get(f"{tracking_uri}/health", timeout=PROBE_TIMEOUT_SECONDS))
        if reason:
            problems.append(f"experiment tracker {tracking_uri}: {reason}")
    return problems


def _check_store_root(store: Any) -> None:
    """s3fs, gcsfs and adlfs answer False, not an error, when their server is gone."""
    if not store.exists(store.path):
        raise OSError("no answer, or no such bucket")


def _probe(call: Any) -> str | None:
    """None if `call()` returns within the timeout, else why not, in one line."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(call).result(timeout=PROBE_TIMEOUT_SECONDS)
    except FutureTimeout:
        return f"no answer within {PROBE_TIMEOUT_SECONDS:.0f} s"
    except Exception as error:  # any failure to reach the server is the diagnosis
        return " ".join(str(error).split()) or type(error).__name__
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return None
