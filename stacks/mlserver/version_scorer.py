"""Score one model version folder from feature columns already decoded: its ONNX compilation
(`model.onnx`) when that is what serves, else the scikit-learn pipeline (`model.joblib`).

Runs inside the serving environment, not the project's (no project imports): the deployer copies
it beside the runtime, which scores requests with it, and the smoke test scores a new version's
example rows with it before any switch. Labels are the most probable class on both paths, so the
two answer alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

MISSING_CATEGORY = ""  # a missing category, as the compiled model takes it (core/compilation.py)


class VersionScorer:
    def __init__(self, folder: Path) -> None:
        schema = json.loads((folder / "schema.json").read_text())
        self.columns: dict[str, str] = schema["columns"]
        self.classes: list[Any] = schema["classes"]
        self.max_rows: int = schema["max_rows"]
        self.runtime: str = schema["runtime"]
        self.contract: dict[str, Any] = schema.get("contract") or {}  # the version's data contract
        if self.runtime == "onnx":
            import onnxruntime

            self._session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
            )
            self._inputs = [item.name for item in self._session.get_inputs()]
        else:
            import joblib

            self._pipeline = joblib.load(folder / "model.joblib")

    def predict(self, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Labels and class probabilities; `columns` holds every feature column, numeric ones as
        float64 (NaN for missing), categorical ones as objects (None for missing)."""
        if self.runtime == "onnx":
            feed = {
                input_name: _onnx_block(columns[name], kind)
                for input_name, (name, kind) in zip(self._inputs, self.columns.items(), strict=True)
            }
            probabilities = np.asarray(self._session.run(["probabilities"], feed)[0], dtype="float64")
        else:
            import pandas as pd

            frame = pd.DataFrame(columns, columns=list(self.columns))
            for name, kind in self.columns.items():  # a missing category is NaN, as the pipeline
                if kind == "categorical":  # was trained on (core.modeling.prepare_features)
                    frame[name] = frame[name].where(frame[name].notna(), np.nan)
            probabilities = self._pipeline.predict_proba(frame)
        return np.asarray(self.classes)[probabilities.argmax(axis=1)], probabilities

    def predict_records(self, records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """The same, from rows as JSON objects (the example rows a version is saved with)."""
        columns = {
            name: np.array(
                [row.get(name) for row in records], dtype=object if kind == "categorical" else float
            )
            for name, kind in self.columns.items()
        }
        return self.predict(columns)


def _onnx_block(values: np.ndarray, kind: str) -> np.ndarray:
    """A column as the ONNX input takes it: a float32 or string column vector."""
    if kind == "categorical":
        values = np.array([MISSING_CATEGORY if value is None else value for value in values], dtype=object)
        return values.reshape(-1, 1)
    return values.astype(np.float32).reshape(-1, 1)
