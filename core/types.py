"""Types every config section and core module shares: a leaf module, importing nothing of the project."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

ColumnKind = Literal["numeric", "integer", "categorical", "boolean"]
SearchMetric = Literal["accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"]
MetricName = Literal[SearchMetric, "f1"]
METRIC_NAMES: tuple[str, ...] = get_args(MetricName)  # every metric a model version may carry
# The stream the endpoint captures to unless its deployer names another: the captured source's
# default, and the one key the local Redis lets its capture account append to.
CAPTURE_STREAM = "inference-captures"


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable.

    `renamed` maps a key's old name to its new one, and `removed` a key that is gone to why, so an
    old config gets one line saying what to do instead of "unknown key".
    """

    # A field's docstring is its description: the configuration reference in docs/ is made from it.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    renamed: ClassVar[dict[str, str]] = {}
    removed: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _refuse_renamed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in cls.renamed.items():
                if old in data:
                    raise ValueError(f"key '{old}' is now called '{new}'")
            for old, why in cls.removed.items():
                if old in data:
                    raise ValueError(f"key '{old}' is gone: {why}")
        return data
