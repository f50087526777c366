"""The training pipeline end to end through the CLI, on a fresh, isolated ZenML store.

The tests in this module run in order and build on each other's model versions.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from zenml.client import Client
from zenml.enums import ExecutionStatus, ModelStages, StackComponentType
from zenml.stack import Stack

from core.reports import TITLES
from pipelines.model_versions import describe_version
from tests.conftest import PROJECT_ROOT
from tests.dvc_repo import make_dvc_repo, rev_parse, served_with_token
from tests.integration.conftest import last_line, make_multiclass_frame

pytestmark = pytest.mark.store

DEMO_MODEL = "breast_cancer_classifier"
PLOTS = tuple(TITLES)  # every plot of the evaluation
Cli = Callable[..., subprocess.CompletedProcess[str]]


def production(model_name: str) -> Any:
    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def production_id(model_name: str) -> Any:
    version = production(model_name)
    return version.id if version else None


def latest_version(model_name: str) -> Any:
    return Client().get_model_version(model_name)


def latest_run() -> Any:
    return Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_run_on_bare_default_stack_activates_local_and_promotes(cli: Cli) -> None:
    Client().activate_stack("default")  # as on a fresh ZenML config

    result = cli("--pipeline", "training")

    assert_ok(result)
    run = latest_run()
    assert run.status == ExecutionStatus.COMPLETED
    assert run.stack.name == "local"
    champion = production(DEMO_MODEL)
    assert champion is not None
    assert champion.number == latest_version(DEMO_MODEL).number
    assert champion.run_metadata["promotion"]["promoted"] is True


def test_model_version_carries_metrics_and_mlflow_run(cli: Cli) -> None:
    import mlflow

    version = production(DEMO_MODEL)
    metadata = version.run_metadata
    for metric in ("accuracy", "f1", "roc_auc", "f1_macro"):
        assert 0.9 <= metadata[metric] <= 1.0, metric
    run_id = metadata["mlflow_run_id"]

    # The step run that produced the model (a later run may have reused it from the cache).
    producer = Client().get_run_step(version.get_model_artifact("model").producer_step_run_id)
    tracking_uri = str(producer.run_metadata["experiment_tracker_url"])
    assert tracking_uri.startswith("sqlite:///")
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    assert database.is_file() and "local_stores" in database.parts

    mlflow.set_tracking_uri(tracking_uri)
    try:
        mlflow_run = mlflow.get_run(run_id)
        assert mlflow_run.data.params["estimator.C"] == "1.0"
        assert mlflow_run.data.metrics["test_roc_auc"] == pytest.approx(metadata["roc_auc"])
        logged = mlflow.search_logged_models(
            experiment_ids=[mlflow_run.info.experiment_id],
            filter_string=f"source_run_id = '{run_id}'",
            output_format="list",
        )
        assert len(logged) == 1
        loaded = mlflow.pyfunc.load_model(logged[0].model_uri)
        assert loaded.metadata.signature is not None
        assert "mean radius" in loaded.metadata.signature.inputs.input_names()
        logged_files = {item.path for item in mlflow.MlflowClient().list_artifacts(run_id, "evaluation")}
        assert {f"evaluation/{name}.png" for name in PLOTS} <= logged_files
        card_path = f"model_cards/{DEMO_MODEL}-v{version.number}.md"
        card_in_mlflow = mlflow.artifacts.load_text(f"runs:/{run_id}/{card_path}")
    finally:
        mlflow.set_tracking_uri("")

    # The plots and their numbers, the promotion page and the card are artifacts of the version.
    report = version.get_artifact("evaluation_report")
    assert report.load().count("<img alt=") == len(PLOTS)
    assert report.visualizations[0].type == "html"
    numbers = report.run_metadata
    assert numbers["confusion_matrix"]["labels"] == ["0", "1"]
    assert sum(map(sum, numbers["confusion_matrix"]["matrix"])) == metadata["n_test_rows"]
    assert numbers["not_computed"] == {}
    promotion = version.get_artifact("promotion_report").load()
    assert "Verdict: promoted to production" in promotion
    card = version.get_artifact("model_card").load()
    assert card == card_in_mlflow
    assert f"# Model card: {DEMO_MODEL}, version {version.number}" in card
    assert f"| roc_auc | {metadata['roc_auc']:.4f} |" in card
    assert "- **source**: demo data set 'breast_cancer'" in card and "- **rows**: 569" in card
    assert "**Promoted to production**: passed all gates" in card
    assert "## Limitations" in card


def test_second_run_is_cached_and_keeps_production(cli: Cli) -> None:
    before = production(DEMO_MODEL)

    result = cli("--pipeline", "training")

    assert_ok(result)
    steps = latest_run().steps
    cached = {name for name, step in steps.items() if step.status == ExecutionStatus.CACHED}
    assert {"validate_data", "split_data", "train_model", "evaluate_model"} <= cached
    assert production(DEMO_MODEL).id == before.id
    decision = latest_version(DEMO_MODEL).run_metadata["promotion"]
    assert decision["promoted"] is False
    assert "already in production" in decision["reason"]


def test_worse_model_leaves_production_unchanged(cli: Cli, write_config: Callable[..., Path]) -> None:
    before = production(DEMO_MODEL)
    config = write_config(
        {
            "parameters.train.estimator": "sklearn.tree.DecisionTreeClassifier",
            "parameters.train.params": {"max_depth": 1},
        }
    )

    result = cli("--pipeline", "training", "--config", str(config))

    assert_ok(result)
    challenger = latest_version(DEMO_MODEL)
    assert challenger.id != before.id
    assert challenger.stage is None
    decision = challenger.run_metadata["promotion"]
    assert decision["promoted"] is False
    assert "worse than production" in decision["reason"]
    assert decision["champion_score"] > decision["challenger_score"]
    assert production(DEMO_MODEL).id == before.id


def test_model_failing_a_gate_is_not_promoted(cli: Cli, write_config: Callable[..., Path]) -> None:
    before = production(DEMO_MODEL)
    config = write_config(
        {"parameters.train.estimator": "sklearn.dummy.DummyClassifier", "parameters.train.params": {}}
    )

    result = cli("--pipeline", "training", "--config", str(config))

    assert_ok(result)
    decision = latest_version(DEMO_MODEL).run_metadata["promotion"]
    assert decision["promoted"] is False
    assert set(decision["failed_gates"]) == {"accuracy", "roc_auc"}
    assert production(DEMO_MODEL).id == before.id


def test_users_multiclass_csv_at_a_dvc_revision_trains_and_its_lineage_names_the_revision(
    cli: Cli, tmp_path: Path, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """String labels, three classes, missing values; the file versioned with DVC (a real Git
    repository and a local DVC remote), read at a tag from a Git host that wants a token: the token
    comes from `$DVC_TOKEN`, and neither the stored run config, the lineage nor `model show` holds it."""
    flowers = make_multiclass_frame()
    repo = make_dvc_repo(tmp_path, "data/flowers.csv", {"v1": flowers.head(300), "v2": flowers})
    monkeypatch.setenv("DVC_TOKEN", "s3cret")
    with served_with_token(repo, "ci-bot", "s3cret") as where:
        url = f"http://ci-bot:$DVC_TOKEN@{where}"
        source = {"kind": "dvc", "repo": url, "path": "data/flowers.csv", "rev": "v2"}
        config = write_config({"parameters.data": {"source": source, "target": "species"}})

        result = cli("--pipeline", "training", "--config", str(config), "--model-name", "flowers")

    assert_ok(result)
    shown = json.dumps(describe_version("flowers", None).as_json(), default=str)  # `model show --json`
    assert "s3cret" not in shown + result.stdout + result.stderr
    lineage = json.loads(shown)["lineage"]
    assert lineage["source"] == f"DVC file 'data/flowers.csv' at 'v2' of 'http://***@{where}'"
    assert lineage["dvc"]["repo"] == f"http://***@{where}"
    assert lineage["dvc"]["commit"] == rev_parse(repo, "v2")
    ingest = latest_run().steps["ingest_data"]
    assert ingest.config.parameters["data"]["source"]["repo"] == url  # the reference, as written
    version = production("flowers")
    assert version is not None
    metadata = version.run_metadata
    tracked = yaml.safe_load((repo / "data" / "flowers.csv.dvc").read_text())["outs"][0]  # v2 is HEAD
    assert lineage["dvc"]["md5"] == tracked["md5"]
    assert lineage["rows"] == len(flowers)
    assert metadata["accuracy"] > 0.85
    assert "f1" not in metadata
    schema = version.get_data_artifact("feature_schema").load()
    assert schema.columns == {
        "petal_length": "numeric",
        "petal_width": "numeric",
        "stem_count": "numeric",
        "habitat": "categorical",
    }
    assert schema.classes == ["setosa", "versicolor", "virginica"]
    model = version.get_model_artifact("model").load()
    frame = make_multiclass_frame(n_rows=50, seed=11)
    assert set(model.predict(frame.drop(columns="species"))) <= set(schema.classes)
    evaluation = version.get_artifact("evaluation_report")
    assert evaluation.load().count("<img alt=") == len(PLOTS)
    assert set(evaluation.run_metadata["roc_curve"]["roc_auc_by_class"]) == set(schema.classes)
    card = version.get_artifact("model_card").load()
    assert "## Metrics (held-out" in card and f"http://***@{where}" in card and "s3cret" not in card


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b\n1,2\n", "column 'species': the target column is missing"),
        ("", "data file '{path}': is empty"),
        ("petal_length,species\n", "data file '{path}': has a header but no rows"),
    ],
    ids=["missing-target", "empty-file", "header-only"],
)
def test_bad_data_fails_with_one_line_and_promotes_nothing(
    cli: Cli, tmp_path: Path, content: str, expected: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    before = production_id("flowers")

    result = cli(
        "--pipeline", "training", "--data", str(data), "--target", "species", "--model-name", "flowers"
    )

    assert result.returncode == 1
    assert last_line(result.stderr).startswith("error: " + expected.format(path=data))
    assert production_id("flowers") == before


def test_wrong_column_type_names_the_column(
    cli: Cli, tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    frame = make_multiclass_frame(n_rows=100)
    frame["petal_length"] = frame["petal_length"].astype(object)
    frame.loc[3, "petal_length"] = "tall"
    data = tmp_path / "typed.csv"
    frame.to_csv(data, index=False)
    config = write_config({"parameters.validation.columns": {"petal_length": "numeric"}})
    before = production_id("flowers")

    result = cli(
        "--pipeline",
        "training",
        "--config",
        str(config),
        "--data",
        str(data),
        "--target",
        "species",
        "--model-name",
        "flowers",
    )

    assert result.returncode == 1
    line = last_line(result.stderr)
    assert "column 'petal_length': wrong type, expected float64 (e.g. tall)" in line
    assert production_id("flowers") == before


def test_stack_register_is_idempotent(cli: Cli) -> None:
    again = cli("stack", "register", "local")  # the first training run registered it

    assert_ok(again)
    assert again.stdout.strip() == "stack 'local': already up to date"


def test_seldon_stack_registers_offline_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from stacks.registry import register_stack
    from stacks.spec import load_stack_spec

    monkeypatch.setenv("SELDON_NAMESPACE", "ml-serving")
    monkeypatch.setenv("ZENML_S3_ARTIFACT_PATH", "s3://team-bucket/zenml")
    active = Client().active_stack_model.name

    assert register_stack(Client(), load_stack_spec("seldon")) is True
    assert register_stack(Client(), load_stack_spec("seldon")) is False  # idempotent
    stack = Client().get_stack("seldon")
    deployer = stack.components[StackComponentType.MODEL_DEPLOYER][0]
    store = stack.components[StackComponentType.ARTIFACT_STORE][0]
    assert deployer.flavor_name == "seldon"
    assert deployer.configuration["kubernetes_namespace"] == "ml-serving"
    assert deployer.configuration.get("kubernetes_context") is None
    assert store.configuration["path"] == "s3://team-bucket/zenml"
    assert Client().active_stack_model.name == active
    Stack.from_model(stack).validate()  # what `zenml stack set seldon` and a run check first


def test_stack_chosen_by_the_user_is_kept_even_without_tracker(cli: Cli) -> None:
    client = Client()
    default = client.get_stack("default")
    components = {kind: items[0].id for kind, items in default.components.items()}
    client.create_stack(name="no-tracker", components=components)
    client.activate_stack("no-tracker")
    try:
        result = cli("--pipeline", "training", "--model-name", "untracked")
    finally:
        client.activate_stack("local")

    assert_ok(result)
    run = latest_run()
    assert run.stack.name == "no-tracker"
    assert "no experiment tracker" in result.stdout + result.stderr
    assert "mlflow_run_id" not in latest_version("untracked").run_metadata


def test_stack_option_runs_on_that_stack_and_leaves_the_active_one(cli: Cli) -> None:
    assert Client().active_stack_model.name == "local"
    result = cli("--pipeline", "training", "--model-name", "untracked", "--stack", "no-tracker")

    assert_ok(result)
    assert latest_run().stack.name == "no-tracker"
    assert "on stack 'no-tracker'" in result.stdout
    assert Client().active_stack_model.name == "local"


def test_model_list_show_and_promote_put_an_earlier_version_back(cli: Cli) -> None:
    """Without a deployment: `model show --json` tells what made the version; `model promote` of an
    earlier version makes it production with the reason recorded; a wrong version changes nothing."""
    current = production(DEMO_MODEL)
    shown = json.loads(last_line(cli("model", "show", "--json", "--model-name", DEMO_MODEL).stdout))
    assert {"version", "stage", "metrics", "lineage"} <= set(shown)
    assert shown["version"] == str(current.number) and shown["stage"] == "production"
    lineage = shown["lineage"]
    assert lineage["source"] == "demo data set 'breast_cancer'" and lineage["rows"] == 569
    assert len(lineage["data_fingerprint"]) == 64 and len(lineage["config_hash"]) == 64
    assert len(lineage["git_commit"]) == 40 and isinstance(lineage["git_dirty"], bool)
    assert set(lineage["libraries"]) >= {"scikit-learn", "zenml", "mlflow"}
    listed = cli("model", "list", "--model-name", DEMO_MODEL)
    assert_ok(listed)
    servable = [
        version.number
        for version in Client().list_model_versions(model=DEMO_MODEL, size=100).items
        if version.number != current.number and version.get_model_artifact("model") is not None
    ]
    other = servable[0]
    # In this process (the command's one line for a refusal is checked with version 999 below).
    from core.errors import ConfigError
    from pipelines.execution import prepare_stack
    from pipelines.manual_promotion import promote_version
    from pipelines.run_config import load_pipeline_config

    empty = Client().create_model_version(DEMO_MODEL, name="nothing-trained")
    deployment_config = load_pipeline_config("deployment", PROJECT_ROOT / "configs" / "deployment.yaml")
    with pytest.raises(ConfigError) as refused:
        promote_version(DEMO_MODEL, "nothing-trained", "oops", deployment_config, prepare_stack())
    assert str(refused.value) == f"model '{DEMO_MODEL}' version {empty.number} has no model artifact to serve"

    unknown = cli("model", "promote", "999", "--reason", "typo", "--model-name", DEMO_MODEL)
    assert unknown.returncode == 1
    assert last_line(unknown.stderr) == (
        f"error: model '{DEMO_MODEL}' has no version '999'; `python run.py model list` shows them"
    )
    assert production_id(DEMO_MODEL) == current.id

    try:
        rolled_back = cli(
            "model", "promote", str(other), "--reason", "audit asked", "--model-name", DEMO_MODEL
        )
        assert_ok(rolled_back)
        assert production(DEMO_MODEL).number == other
        manual = production(DEMO_MODEL).run_metadata["manual_promotion"]
        assert manual["reason"] == "audit asked" and manual["previous_production"] == str(current.number)
    finally:
        Client().get_model_version(DEMO_MODEL, current.number).set_stage(ModelStages.PRODUCTION, force=True)
