"""The MLServer runtime that serves a model version with the model's own contract.

Runs inside the serving environment, not the project's: MLServer imports it from the model's
folder in the repository, where the deployer copies this file and `version_scorer.py`. A request
carries raw feature columns by name (V2, pandas content type); they are decoded straight into the
arrays the model takes (no DataFrame, no generic codec) and scored by the compiled ONNX model or
the scikit-learn pipeline, whichever the version was deployed with; the answer carries the
predicted `label` and the class `probabilities`. Requests that break the training schema get a
400 that names the column, and requests that break the version's data contract (its ranges,
allowed values, patterns, never-missing and unique columns, relations) a 422 that names the column
and the rule, the same on both paths, instead of an error from inside the model. Each refusal by
the contract is counted per column and rule in Prometheus (`model_contract_violations_total`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import contract_rules
import numpy as np
from capture_writer import CaptureSettings, CaptureWriter
from metrics_compat import shared_counter
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, Parameters
from mlserver.utils import get_model_uri
from version_scorer import VersionScorer

PAYLOAD_TOO_LARGE = 413
UNPROCESSABLE = 422
VIOLATIONS_METRIC = "model_contract_violations"


VIOLATIONS = shared_counter(
    VIOLATIONS_METRIC,
    "Requests refused for breaking the model version's data contract",
    ["model", "column", "rule"],
)


class SchemaCheckedModel(MLModel):
    """A model version checked against its feature schema, request by request."""

    async def load(self) -> bool:
        model_uri = await get_model_uri(self._settings)
        self._scorer = VersionScorer(Path(model_uri).parent)
        self._columns = self._scorer.columns
        self._max_rows = self._scorer.max_rows
        extra = self.settings.parameters.extra if self.settings.parameters else None
        self._served_version: str | None = (extra or {}).get("model_version")
        self._contract = (
            self._scorer.contract if contract_rules.has_row_rules(self._scorer.contract) else None
        )
        capture = CaptureSettings.read(Path(model_uri).parents[2])
        self._capture = CaptureWriter(capture, self.name) if capture is not None else None
        return True

    async def unload(self) -> bool:
        if self._capture is not None:
            self._capture.close()
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        columns = self._decode(payload)
        self._check_contract(columns)
        labels, probabilities = self._scorer.predict(columns)
        if self._capture is not None and payload.id is not None:  # MLServer gives every request an id
            sent = {request_input.name: request_input.data.root for request_input in payload.inputs}
            self._capture.offer(payload.id, self._served_version, sent, labels)
        label_output = NumpyCodec.encode_output("label", labels)
        if labels.dtype.kind in "OUS":
            label_output = NumpyCodec.encode_output("label", labels.astype(str).astype(object))
        probability_output = NumpyCodec.encode_output("probabilities", probabilities)
        # The class order rides on the response, not the output: MLServer's adaptive batching
        # splits list-valued output parameters between the batched requests.
        return InferenceResponse(
            model_name=self.name,
            model_version=self._served_version,
            parameters=Parameters(classes=[str(c) for c in self._scorer.classes]),
            outputs=[label_output, probability_output],
        )

    def _decode(self, payload: InferenceRequest) -> dict[str, np.ndarray]:
        """Columns straight from the request into numpy arrays: no generic codec on the hot path."""
        if not payload.inputs:
            raise MLServerError("request has no inputs; send one input per feature column")
        columns: dict[str, np.ndarray] = {}
        for request_input in payload.inputs:
            name, values = request_input.name, list(request_input.data)
            if math.prod(request_input.shape) != len(values):
                raise MLServerError(
                    f"input '{name}': shape {request_input.shape} holds "
                    f"{math.prod(request_input.shape)} values but {len(values)} were sent"
                )
            kind = self._columns.get(name)
            if kind is None:
                raise MLServerError(f"column '{name}': the model has no such input")
            columns[name] = self._column(name, kind, values)
        if len({len(values) for values in columns.values()}) > 1:
            raise MLServerError(
                "inputs have different numbers of rows; send one value per row for each column"
            )
        missing = [c for c in self._columns if c not in columns]
        if missing:
            raise MLServerError(
                f"column '{missing[0]}': missing from the request (needs {len(self._columns)})"
            )
        rows = len(next(iter(columns.values())))
        if rows == 0:
            raise MLServerError("request has no rows")
        if rows > self._max_rows:
            raise MLServerError(f"request has {rows} rows; the limit is {self._max_rows}", PAYLOAD_TOO_LARGE)
        return columns

    def _check_contract(self, columns: dict[str, np.ndarray]) -> None:
        """Refuse rows that break the version's contract, naming each column and rule."""
        if self._contract is None:
            return
        failures = contract_rules.row_failures(self._contract, self._columns, columns)
        if failures:
            for failure in failures:
                VIOLATIONS.labels(model=self.name, column=failure.column, rule=failure.rule).inc()
            reasons = "; ".join(failure.message() for failure in failures)
            raise MLServerError(f"the request breaks the model's data contract: {reasons}", UNPROCESSABLE)

    @staticmethod
    def _column(name: str, kind: str, values: list[Any]) -> np.ndarray:
        if kind == "categorical":
            decoded = [v.decode() if isinstance(v, bytes) else v for v in values]
            return np.array([v if v is None else str(v) for v in decoded], dtype=object)
        try:
            return np.array([math.nan if v is None else v for v in values], dtype="float64")
        except (TypeError, ValueError):
            bad = next(v for v in values if not _is_number(v))
            raise MLServerError(f"column '{name}': expected numbers, got {bad!r}") from None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return value is None
    return True
