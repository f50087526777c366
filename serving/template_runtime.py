"""MLServer runtime of the template: MLServer's scikit-learn runtime plus the model's own contract.

Runs inside the serving environment (MLServer imports it from the model's folder). A request
carries raw feature columns by name (V2, pandas content type); the answer carries the predicted
`label` and the class `probabilities`. Requests that break the training schema get a 4xx that
names the column, instead of an error from deep inside scikit-learn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlserver.codecs import NumpyCodec, PandasCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, Parameters
from mlserver.utils import get_model_uri
from mlserver_sklearn import SKLearnModel

PAYLOAD_TOO_LARGE = 413


class TemplateSKLearnModel(SKLearnModel):
    """A fitted preprocessing + estimator pipeline, checked against its feature schema."""

    async def load(self) -> bool:
        await super().load()
        model_uri = await get_model_uri(self._settings)
        schema = json.loads((Path(model_uri).parent / "schema.json").read_text())
        self._columns: dict[str, str] = schema["columns"]
        self._classes: list[Any] = schema["classes"]
        self._max_rows: int = schema["max_rows"]
        extra = self.settings.parameters.extra if self.settings.parameters else None
        self._served_version: str | None = (extra or {}).get("model_version")
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        frame = self._decode(payload)
        probabilities = self._model.predict_proba(frame)
        labels = np.asarray(self._model.classes_)[probabilities.argmax(axis=1)]
        label_output = NumpyCodec.encode_output("label", labels)
        if labels.dtype.kind in "OUS":
            label_output = NumpyCodec.encode_output("label", labels.astype(str).astype(object))
        probability_output = NumpyCodec.encode_output("probabilities", probabilities)
        probability_output.parameters = Parameters(classes=[str(c) for c in self._model.classes_])
        return InferenceResponse(
            model_name=self.name,
            model_version=self._served_version,
            outputs=[label_output, probability_output],
        )

    def _decode(self, payload: InferenceRequest) -> pd.DataFrame:
        if not payload.inputs:
            raise MLServerError("request has no inputs; send one input per feature column")
        for request_input in payload.inputs:
            sent = len(request_input.data)
            if math.prod(request_input.shape) != sent:
                raise MLServerError(
                    f"input '{request_input.name}': shape {request_input.shape} holds "
                    f"{math.prod(request_input.shape)} values but {sent} were sent"
                )
        if len({request_input.shape[0] for request_input in payload.inputs}) > 1:
            raise MLServerError(
                "inputs have different numbers of rows; send one value per row for each column"
            )
        try:
            frame = PandasCodec.decode_request(payload)
        except Exception as error:  # the codec's errors vary with the malformation
            raise MLServerError(f"request cannot be read as columns: {error}") from None
        if frame.empty:
            raise MLServerError("request has no rows")
        if len(frame) > self._max_rows:
            raise MLServerError(
                f"request has {len(frame)} rows; the limit is {self._max_rows}", PAYLOAD_TOO_LARGE
            )
        missing = [c for c in self._columns if c not in frame.columns]
        if missing:
            raise MLServerError(
                f"column '{missing[0]}': missing from the request (needs {len(self._columns)})"
            )
        unknown = [c for c in frame.columns if c not in self._columns]
        if unknown:
            raise MLServerError(f"column '{unknown[0]}': the model has no such input")
        for column, kind in self._columns.items():
            frame[column] = self._coerce(frame[column], column, kind)
        return frame[list(self._columns)]

    @staticmethod
    def _coerce(values: pd.Series, column: str, kind: str) -> pd.Series:
        if kind == "categorical":
            values = values.map(lambda v: v.decode() if isinstance(v, bytes) else v)
            return values.astype(object).where(values.isna(), values.astype(str))
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna() & values.notna()]
        if len(bad):
            raise MLServerError(f"column '{column}': expected numbers, got {bad.iloc[0]!r}")
        return numbers.astype("float64")
