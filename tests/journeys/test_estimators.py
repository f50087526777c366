"""Another estimator family by configuration, as "Your own data" says: scikit-learn's
HistGradientBoostingClassifier, and LightGBM and XGBoost after the install the tutorial names. Each
is trained, served over V2 (compiled to ONNX) and scored in batch, on the live endpoint and on
Spark (the `spark` extra, installed as the batch-inference guide says), on a folder of Parquet
parts: every answer equals the model's in memory, and Spark's output equals the local engine's,
column for column (within the compiled model's proven tolerance)."""

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
    """Unlabeled demo rows with an id, the same for every family: one CSV file, and the same rows
    as a folder of two Parquet parts (and Spark's `_SUCCESS`, which is skipped)."""
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    extended.cli("simulate", "--rows", "400", "--seed", "21", "--unlabeled", "--out", str(path))
    frame = pd.read_csv(path)
    frame.insert(0, "row_id", range(len(frame)))
    frame.to_csv(path, index=False)
    folder = path.with_name("parts")
    folder.mkdir()
    frame.iloc[:250].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[250:].to_parquet(folder / "part-1.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    return path


def training_config(workspace: Workspace, family: str, folder: Path) -> Path:
    """configs/training.yaml with the tutorial's `train` section for the family."""
    config = yaml.safe_load((workspace.root / "configs" / "training.yaml").read_text(encoding="utf-8"))
    config["parameters"]["train"] = yaml.safe_load(doc_block(family))["train"]
    path = folder / f"training-{family}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def batch_inference(workspace: Workspace, model: str, *args: str) -> pd.DataFrame:
    """`--pipeline batch-inference ARGS` for the model; its output, complete, in row order."""
    predictions = workspace.root / "predictions"
    before = set(predictions.glob(f"{model}-v1-*")) if predictions.exists() else set()
    workspace.cli("--pipeline", "batch-inference", "--model-name", model, *args)
    (written,) = set(predictions.glob(f"{model}-v1-*")) - before
    assert (written / "_SUCCESS").is_file()
    return pd.read_parquet(written).sort_values("row_id", ignore_index=True)


def assert_answers(labels: list[object], probabilities: np.ndarray, expected: dict[str, object]) -> None:
    assert [str(label) for label in labels] == [str(label) for label in expected["labels"]]  # type: ignore[attr-defined]
    np.testing.assert_allclose(probabilities, np.asarray(expected["probabilities"]), atol=TOLERANCE)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_family_is_trained_served_and_scored_in_batch_and_on_spark_as_in_memory(
    extended: Workspace, rows: Path, family: str, tmp_path: Path
) -> None:
    model = family.replace("estimator-", "demo_")

    config = training_config(extended, family, tmp_path)
    extended.cli("--pipeline", "training", "--config", str(config), "--model-name", model)

    version = model_show(extended, "--model-name", model)
    assert version["stage"] == "production"
    packages = {requirement.split("==")[0] for requirement in version["lineage"]["model_packages"]}
    assert packages == {"scikit-learn", FAMILIES[family]}
    expected = answers_in_memory(extended, model, "1", rows)

    url = prediction_url(extended.cli("--pipeline", "deployment", "--model-name", model))
    answer = infer(url, model, pd.read_csv(rows).drop(columns="row_id"))
    assert answer["status_code"] == 200, answer
    outputs = {output["name"]: output for output in answer["outputs"]}
    served = np.asarray(outputs["probabilities"]["data"]).reshape(-1, 2)
    assert_answers(outputs["label"]["data"], served, expected)
    assert "runtime: onnx (compiled to ONNX" in extended.cli("deployment", "status", "--model-name", model)

    parts = rows.with_name("parts")
    in_batch = batch_inference(extended, model, "--data", str(parts))
    assert_answers(in_batch["prediction"].tolist(), in_batch[["proba_0", "proba_1"]].to_numpy(), expected)

    spark = yaml.safe_load((extended.root / "configs" / "batch_inference.yaml").read_text(encoding="utf-8"))
    spark["parameters"]["scoring"] = {"engine": "spark", "spark": {"master": "local[2]"}}
    spark_config = tmp_path / "spark.yaml"
    spark_config.write_text(yaml.safe_dump(spark), encoding="utf-8")
    on_spark = batch_inference(extended, model, "--config", str(spark_config), "--data", str(parts))
    # Spark scores with the pipeline itself: its answers are the model's in memory to the last digits.
    np.testing.assert_allclose(
        on_spark[["proba_0", "proba_1"]], expected["probabilities"], rtol=0, atol=1e-12
    )
    # Spark writes the version as plain text; the local engine as a dictionary (a category in pandas).
    # The local engine scored on the live endpoint, i.e. the compiled model: equal within its proof.
    in_batch["model_version"] = in_batch["model_version"].astype(str)
    pd.testing.assert_frame_equal(on_spark, in_batch, check_exact=False, rtol=0, atol=TOLERANCE)
    extended.cli("deployment", "stop", "--model-name", model)
