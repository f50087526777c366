"""The training pipeline's logic end to end, in memory and without ZenML: what the six steps do,
called in their order on the shipped config, in a second or two.

The fastest proof that a change to the core kept the lifecycle's behaviour: the same data gives a
promotable model, the same model is not promoted twice, and a worse challenger loses.
"""

from __future__ import annotations

import subprocess
import sys

from core.metrics import compute_metrics
from core.modeling import TrainConfig, fit_model, prepare_features, stratified_split
from core.promotion import Champion, PromotionDecision, decide_promotion
from core.sources import load_source
from core.validation import validate_training_data
from pipelines.parameters import TrainingParameters
from pipelines.run_config import load_pipeline_config
from tests.conftest import PROJECT_ROOT

PARAMETERS: TrainingParameters = load_pipeline_config(
    "training", PROJECT_ROOT / "configs" / "training.yaml"
).parameters


def train_and_decide(
    parameters: TrainingParameters, champion: Champion | None
) -> tuple[dict[str, float], PromotionDecision]:
    """ingest -> validate -> split -> train -> evaluate -> promote, as the steps call the core."""
    raw = load_source(parameters.data.source)
    target = parameters.data.target
    validated, schema = validate_training_data(raw, target, parameters.validation)
    train_set, test_set = stratified_split(validated, target, parameters.split)
    model, _ = fit_model(train_set, schema, parameters.train)
    metrics = compute_metrics(model, prepare_features(test_set, schema), test_set[target])
    return metrics, decide_promotion(metrics, champion, parameters.promotion)


def test_the_shipped_config_trains_a_promotable_model_without_zenml() -> None:
    metrics, decision = train_and_decide(PARAMETERS, champion=None)

    assert metrics["accuracy"] >= PARAMETERS.promotion.gates["accuracy"]
    assert metrics["roc_auc"] >= PARAMETERS.promotion.gates["roc_auc"]
    assert decision.promoted
    assert decision.reason == "passed all gates; no production version yet"


def test_the_logic_and_the_configs_load_without_zenml_or_mlflow() -> None:
    probe = (
        "import sys\n"
        "import tests.unit.test_training_logic as logic\n"
        "logic.train_and_decide(logic.PARAMETERS, champion=None)\n"
        "print(sorted(m for m in ('zenml', 'mlflow', 'evidently') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert result.stdout.strip() == "[]"


def test_the_same_run_twice_gives_the_same_model_and_no_second_promotion() -> None:
    first, _ = train_and_decide(PARAMETERS, champion=None)
    again, decision = train_and_decide(PARAMETERS, Champion(version="1", metrics=first, same_model=True))

    assert again == first
    assert not decision.promoted
    assert decision.reason == "this model is already in production as version 1"


def test_a_worse_challenger_loses_to_production_on_the_same_data() -> None:
    champion_metrics, _ = train_and_decide(PARAMETERS, champion=None)
    stump = TrainConfig(estimator="sklearn.tree.DecisionTreeClassifier", params={"max_depth": 1})
    weaker = PARAMETERS.model_copy(update={"train": stump})

    _, decision = train_and_decide(weaker, Champion(version="1", metrics=champion_metrics))

    assert not decision.promoted
    assert "worse than production version 1" in decision.reason
    assert decision.champion_score == champion_metrics["roc_auc"]
