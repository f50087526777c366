"""The baseline: the training pipeline's work as one plain script, without ZenML.

Same data, same config, same functions and the same MLflow logging, so the ratio against
`python run.py --pipeline training` is ZenML's overhead and nothing else.
Usage: python bench/plain_training.py CONFIG [--data PATH --target COLUMN] --mlflow-uri URI
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--target")
    parser.add_argument("--mlflow-uri", required=True)
    args = parser.parse_args()

    import mlflow

    from core.metrics import compute_metrics
    from core.modeling import fit_model, prepare_features, stratified_split
    from core.promotion import decide_promotion
    from core.sources import load_source
    from core.validation import validate_training_data
    from pipelines.run_config import load_pipeline_config, with_overrides
    from stacks.mlflow import tracking

    params = with_overrides(
        load_pipeline_config("training", args.config), data=args.data, target=args.target
    ).parameters
    frame = load_source(params.data.source)
    validated, schema = validate_training_data(frame, params.data.target, params.validation)
    train, test = stratified_split(validated, params.data.target, params.split)
    mlflow.set_tracking_uri(args.mlflow_uri)
    with mlflow.start_run():
        model, chosen = fit_model(train, schema, params.train)
        tracking.log_training_run(model, chosen, prepare_features(train, schema))
        metrics = compute_metrics(model, prepare_features(test, schema), test[schema.target])
        tracking.log_metrics(metrics)
    decision = decide_promotion(metrics, None, params.promotion)
    print(f"plain run: {metrics} promoted={decision.promoted}")


if __name__ == "__main__":
    main()
