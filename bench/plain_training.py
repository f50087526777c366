"""The baseline: the training pipeline's work as one plain script, without ZenML.

Same data, same config, same functions, plots, card and MLflow logging, so the ratio against
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

    from core.evaluation import evaluate_classifier
    from core.metrics import compute_metrics
    from core.modeling import fit_model, prepare_features, stratified_split
    from core.promotion import decide_promotion
    from core.reports import CardFacts, evaluation_html, model_card_markdown, promotion_html
    from core.sources import describe_source, load_source
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
        features, labels = prepare_features(test, schema), test[schema.target]
        metrics = compute_metrics(model, features, labels)
        evaluation = evaluate_classifier(model, features, labels, params.evaluation)
        report = evaluation_html("Evaluation on the held-out set", metrics, evaluation, len(test))
        tracking.log_metrics(metrics)
        tracking.log_files(
            {f"{k}.png": v for k, v in evaluation.plots.items()} | {"evaluation.html": report}, "evaluation"
        )
        decision = decide_promotion(metrics, None, params.promotion)
        promotion_html("1", metrics, None, params.promotion, decision)
        facts = CardFacts(
            model={"name": "plain", "version": "1"},
            metrics=metrics,
            test_rows=len(test),
            data={"source": describe_source(params.data.source), "rows": len(validated)},
            top_features=[],
            plots=list(evaluation.plots),
            unavailable=evaluation.unavailable,
            decision=decision,
            training={"estimator": params.train.estimator, "parameters": chosen},
        )
        tracking.log_files({"model_card.md": model_card_markdown(facts)}, "model_cards")
    print(f"plain run: {metrics} promoted={decision.promoted}")


if __name__ == "__main__":
    main()
