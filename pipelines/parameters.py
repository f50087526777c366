"""The `parameters` section of each pipeline's config in `configs/`: the pipeline's arguments.

Each section is defined next to the code that reads it (`core/`, `stacks/`); these models only
gather them per pipeline. Nothing here imports ZenML, so a bad config fails before ZenML starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from core.drift import DriftConfig
from core.evaluation import EvaluationConfig
from core.modeling import SplitConfig, TrainConfig
from core.promotion import PromotionConfig
from core.quality import QualityConfig
from core.scoring import OutputConfig, ScoringConfig
from core.sources import DataConfig, LabeledDataConfig
from core.types import StrictModel
from core.validation import ValidationConfig
from stacks.mlserver.config import MLServerConfig
from stacks.prometheus.metrics import MonitoringConfig
from stacks.seldon.settings import SeldonSettings

CONTRACT_TRAVELS = (
    "the data contract travels with the model version: set the rules in the training config's "
    "`validation` (the batch is checked by those the production version was trained under)"
)


class TrainingParameters(StrictModel):
    """Training: ingest -> validate -> split -> train -> evaluate -> promote -> model card."""

    data: LabeledDataConfig
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    # The default estimator needs no check (and the check imports scikit-learn).
    train: TrainConfig = Field(default_factory=TrainConfig.model_construct)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)


class DeploymentParameters(StrictModel):
    """Deployment of the production version: a section per model deployer flavor; the stack's
    deployer reads its own."""

    renamed: ClassVar[dict[str, str]] = {"serving": "mlserver"}

    mlserver: MLServerConfig = Field(default_factory=MLServerConfig)
    seldon: SeldonSettings = Field(default_factory=SeldonSettings)


class BatchInferenceParameters(StrictModel):
    """Batch inference: score (checked by the production version's contract) -> drift check."""

    removed: ClassVar[dict[str, str]] = {"validation": CONTRACT_TRAVELS}

    data: DataConfig
    drift: DriftConfig = Field(default_factory=DriftConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)


class ContinuousTrainingParameters(StrictModel):
    """Continuous training: a labeled batch -> drift and quality checks -> retrain, promote, redeploy.

    The two config files are relative to this one's folder; the retraining run uses the training
    config's gates and promotion, the redeploy the deployment config.
    """

    removed: ClassVar[dict[str, str]] = {"validation": CONTRACT_TRAVELS}

    data: LabeledDataConfig
    drift: DriftConfig = Field(default_factory=DriftConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    training_config: Path = Path("training.yaml")
    """Config of the retraining run, relative to this file."""
    deployment_config: Path = Path("deployment.yaml")
    """Config of the redeploy, relative to this file."""
    redeploy: bool = True
    """Redeploy a promoted version when the stack has a model deployer."""


PARAMETERS: dict[str, type[StrictModel]] = {
    "training": TrainingParameters,
    "deployment": DeploymentParameters,
    "batch-inference": BatchInferenceParameters,
    "continuous-training": ContinuousTrainingParameters,
}
