"""The `mlserver` section of `configs/deployment.yaml`: how the local MLServer serves a model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.types import StrictModel

MAX_REQUEST_BYTES = 64 * 2**20  # 64 MiB: 100,000 rows (`max_rows`) of about 80 numeric columns in V2 JSON


class MLServerConfig(StrictModel):
    """Preferred port (a free one is taken if it is busy), inference workers, the largest request
    accepted (rows and bytes), adaptive batching (off at a batch size of 1), and how long a start or
    a switch may take."""

    runtime: Literal["auto", "onnx", "sklearn"] = "auto"
    """`auto`: the ONNX compilation when it converts and answers as the pipeline does on the example
    and held-out rows, else the scikit-learn pipeline (the reason is shown); `onnx` or `sklearn`
    forces one (a pipeline that cannot be compiled then fails the deployment)."""
    port: int = Field(default=8585, ge=1024, le=65535)
    """Preferred HTTP port on 127.0.0.1; a free one is taken when it is busy."""
    parallel_workers: int = Field(default=0, ge=0)
    """MLServer inference worker processes; 0 scores in the server process."""
    max_rows: int = Field(default=100_000, ge=1)
    """Most rows in one request; more get HTTP 413."""
    max_request_bytes: int = Field(default=MAX_REQUEST_BYTES, ge=1024)
    """Largest request body in bytes (a gzip-encoded one also decoded); a larger one gets HTTP 413
    before it is read or parsed. Applies from the server's next start."""
    max_batch_size: int = Field(default=1, ge=1)
    """Above 1, MLServer's adaptive batching merges concurrent requests (a malformed one can
    then fail the others)."""
    max_batch_time_ms: float = Field(default=2.0, ge=0)
    """Longest wait to fill a batch."""
    timeout_seconds: int = Field(default=180, ge=5)
    """Longest start, switch or stop of the server."""
