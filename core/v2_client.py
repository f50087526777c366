"""One client of the Open Inference Protocol (V2), for batch inference, tests and users.

It sends a DataFrame's columns by name with the pandas content type, retries what is safe to
retry (connection errors, 502/503/504), times out, and turns a 4xx into an error that carries
the server's message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.errors import UserFacingError

RETRYABLE_STATUS = (502, 503, 504)
CONTROL_TOKEN_HEADER = "X-Model-Control-Token"  # what the local MLServer's model control asks for


class V2RequestError(UserFacingError):
    """The server refused a request (4xx) or could not answer it."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Predictions:
    labels: list[Any]
    probabilities: np.ndarray
    classes: list[str]
    model_version: str | None
    request_ids: list[str] = field(default_factory=list)
    """Per row, the V2 `id` of the request that carried it (from an endpoint): labels join on it."""


def encode_request(frame: pd.DataFrame) -> dict[str, Any]:
    """A V2 request with one input per column; missing values travel as JSON null."""
    inputs = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            datatype, values = "BOOL", column.astype(object)
        elif pd.api.types.is_numeric_dtype(column):
            datatype, values = "FP64", column.astype("float64").astype(object)
        else:
            datatype, values = "BYTES", column.astype(object)
        data = [None if _is_missing(v) else v for v in values.tolist()]
        inputs.append({"name": str(name), "datatype": datatype, "shape": [len(frame)], "data": data})
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def decode_response(body: dict[str, Any]) -> Predictions:
    outputs = {output["name"]: output for output in body["outputs"]}
    label, probabilities = outputs["label"], outputs["probabilities"]
    rows, n_classes = probabilities["shape"]
    return Predictions(
        labels=list(label["data"]),
        probabilities=np.asarray(probabilities["data"], dtype="float64").reshape(rows, n_classes),
        classes=list((body.get("parameters") or {}).get("classes", [])),
        model_version=body.get("model_version"),
        request_ids=[str(body["id"])] * rows if body.get("id") is not None else [],
    )


class V2Client:
    """Talks to `<base_url>/v2/...` for one model."""

    def __init__(
        self, base_url: str, model_name: str, timeout_seconds: float = 30.0, retries: int = 3
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model_name
        self.timeout_seconds = timeout_seconds
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,
            status=retries,
            backoff_factor=0.2,
            status_forcelist=RETRYABLE_STATUS,
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
        )
        self._session = requests.Session()
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))

    @property
    def model_url(self) -> str:
        return f"{self.base_url}/v2/models/{self.model_name}"

    def is_ready(self) -> bool:
        try:
            return self._session.get(f"{self.model_url}/ready", timeout=self.timeout_seconds).ok
        except requests.RequestException:
            return False

    def reload(self, control_token: str) -> None:
        """Ask the server to (re)load the model from its repository (MLServer's repository API,
        open only to a caller with the server's control token)."""
        url = f"{self.base_url}/v2/repository/models/{self.model_name}/load"
        self._call("POST", url, headers={CONTROL_TOKEN_HEADER: control_token})

    def metadata(self) -> dict[str, Any]:
        return self._call("GET", self.model_url)

    def input_names(self) -> list[str]:
        """The feature columns the served model takes, in its order (its V2 metadata's inputs)."""
        return [str(item["name"]) for item in self.metadata().get("inputs") or []]

    def predict(self, frame: pd.DataFrame, batch_rows: int = 10_000) -> Predictions:
        """Score every row, `batch_rows` at a time; the parts come back in order."""
        if frame.empty:
            raise V2RequestError("nothing to score: the data has no rows")
        parts = [
            decode_response(self._call("POST", f"{self.model_url}/infer", encode_request(chunk)))
            for chunk in (
                frame.iloc[start : start + batch_rows] for start in range(0, len(frame), batch_rows)
            )
        ]
        return Predictions(
            labels=[label for part in parts for label in part.labels],
            probabilities=np.vstack([part.probabilities for part in parts]),
            classes=parts[0].classes,
            model_version=parts[0].model_version,
            request_ids=[request_id for part in parts for request_id in part.request_ids],
        )

    def _call(
        self, method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            response = self._session.request(
                method, url, json=body, headers=headers, timeout=self.timeout_seconds
            )
        except requests.RequestException as error:
            raise V2RequestError(f"{url}: no answer ({type(error).__name__})") from None
        if not response.ok:
            raise V2RequestError(
                f"{url}: HTTP {response.status_code}: {_error_text(response)}", response.status_code
            )
        payload: dict[str, Any] = response.json() if response.content else {}
        return payload


def _error_text(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:300]
