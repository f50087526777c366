"""The names of the artifacts steps hand each other and pipelines read back: one place, so a step
finds another's output by a name that cannot be misspelt, and a new step can be wired in between.

They are also what the ZenML dashboard shows, and what a model version's artifacts are looked up by.
"""

# Training
RAW_DATA = "raw_data"
VALIDATED_DATA = "validated_data"
FEATURE_SCHEMA = "feature_schema"  # the data contract the model was trained under
TRAIN_SET = "train_set"  # kept with the model version: the drift reference
TEST_SET = "test_set"  # kept with the model version: promotion and compilation proofs
MODEL = "model"  # the fitted scikit-learn pipeline: what is versioned, served and scored
METRICS = "metrics"
EVALUATION = "evaluation"
EVALUATION_REPORT = "evaluation_report"
PROMOTION_DECISION = "promotion_decision"
PROMOTION_REPORT = "promotion_report"
MODEL_CARD = "model_card"

# Deployment
PREDICTION_URL = "prediction_url"

# Batch inference
BATCH_INPUT = "batch_input"
DRIFT_SAMPLE = "drift_sample"
BATCH_ROWS = "batch_rows"
PREDICTIONS = "predictions"

# Drift, quality and continuous training
BATCH = "batch"
LABELED_BATCH = "labeled_batch"  # its rows with a label: quality and retraining read it
LABEL_COVERAGE = "label_coverage"  # the share of the batch's rows that carry a label
DRIFT_REPORT = "drift_report"
DRIFT_RESULT = "drift_result"
QUALITY_REPORT = "quality_report"
QUALITY_RESULT = "quality_result"
RETRAIN_DECISION = "retrain_decision"
