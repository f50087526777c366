"""Another estimator family by configuration, as "Your own data" says: scikit-learn's
HistGradientBoostingClassifier, and LightGBM and XGBoost after the install the tutorial names. Each
is trained, served over V2, scored in batch in process and on Spark (the `spark` extra, installed
as the batch-inference guide says), and every answer equals the model's in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.docs_blocks import doc_block
from tests.journeys.conftest import answers_in_memory, infer, model_show, prediction_url, stop_deployments
from tests.journeys.workspace import Workspace, adopter_project

pytestmark = pytest.mark.journey

SPARK_INSTALL = "bash scripts/setup.sh spark"  # docs/guide/batch-inference.md, "Spark"
# The tutorial's block of each family, and the package its model needs besides scikit-learn's.
FAMILIES = {
    "estimator-hgb": "scikit-learn",
    "estimator-lightgbm": "lightgbm",
    "estimator-xgboost": "xgboost-cpu",
}
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """README command 1's environment, then the tutorial's install of LightGBM and XGBoost and the
    guide's of Spark."""
    root = adopter_project(installs=(doc_block("estimator-install"), SPARK_INSTALL))
    workspace = Workspace(root=root, home=tmp_path_factory.mktemp("estimators"))
    yield workspace
    stop_deployments(workspace)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory, extended: Workspace) -> Path:
    """Unlabeled demo rows, the same for every family."""
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    extended.cli("simulate", "--rows", "120", "--seed", "21", "--unlabeled", "--out", str(path))
    return path


def training_config(workspace: Workspace, family: str, folder: Path) -> Path:
    """configs/training.yaml with the tutorial's `train` section for the family."""
    config = yaml.safe_load((workspace.root / "configs" / "training.yaml").read_text(encoding="utf-8"))
    config["parameters"]["train"] = yaml.safe_load(doc_block(family))["train"]
    path = folder / f"training-{family}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def scored(workspace: Workspace, model: str, before: set[Path]) -> pd.DataFrame:
    (written,) = set((workspace.root / "predictions").glob(f"{model}-v1-*")) - before
    assert (written / "_SUCCESS").is_file()
    return pd.concat(pd.read_parquet(part) for part in sorted(written.glob("part-*.parquet")))


def assert_answers(labels: list[object], probabilities: np.ndarray, expected: dict[str, object]) -> None:
    assert [str(label) for label in labels] == [str(label) for label in expected["labels"]]  # type: ignore[attr-defined]
    np.testing.assert_allclose(probabilities, np.asarray(expected["probabilities"]), atol=TOLERANCE)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_family_is_trained_served_and_scored_in_batch_and_on_spark_as_in_memory(
    extended: Workspace, rows: Path, family: str, tmp_path: Path
) -> None:
    model = family.replace("estimator-", "demo_")

    extended.cli(
        "--pipeline",
        "training",
        "--config",
        str(training_config(extended, family, tmp_path)),
        "--model-name",
        model,
    )

    version = model_show(extended, "--model-name", model)
    assert version["stage"] == "production"
    packages = {requirement.split("==")[0] for requirement in version["lineage"]["model_packages"]}
    assert packages == {"scikit-learn", FAMILIES[family]}
    expected = answers_in_memory(extended, model, "1", rows)

    url = prediction_url(extended.cli("--pipeline", "deployment", "--model-name", model))
    answer = infer(url, model, pd.read_csv(rows))
    assert answer["status_code"] == 200, answer
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert_answers(
        outputs["label"]["data"], np.asarray(outputs["probabilities"]["data"]).reshape(-1, 2), expected
    )
    assert "runtime: onnx (compiled to ONNX" in extended.cli("deployment", "status", "--model-name", model)

    predictions = extended.root / "predictions"
    before = set(predictions.glob(f"{model}-v1-*")) if predictions.exists() else set()
    extended.cli("--pipeline", "batch-inference", "--data", str(rows), "--model-name", model)
    in_batch = scored(extended, model, before)
    assert_answers(in_batch["prediction"].tolist(), in_batch[["proba_0", "proba_1"]].to_numpy(), expected)

    spark_config = yaml.safe_load(
        (extended.root / "configs" / "batch_inference.yaml").read_text(encoding="utf-8")
    )
    spark_config["parameters"]["scoring"] = {"engine": "spark", "spark": {"master": "local[2]"}}
    spark_path = tmp_path / "spark.yaml"
    spark_path.write_text(yaml.safe_dump(spark_config), encoding="utf-8")
    before = set(predictions.glob(f"{model}-v1-*"))
    extended.cli(
        "--pipeline",
        "batch-inference",
        "--config",
        str(spark_path),
        "--data",
        str(rows),
        "--model-name",
        model,
    )
    on_spark = scored(extended, model, before)
    assert_answers(on_spark["prediction"].tolist(), on_spark[["proba_0", "proba_1"]].to_numpy(), expected)
    extended.cli("deployment", "stop", "--model-name", model)
