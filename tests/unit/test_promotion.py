"""core/promotion.py: gates first, then champion vs challenger on the same held-out data."""

from __future__ import annotations

import pytest

from core.promotion import Champion, PromotionConfig, PromotionDecision, decide_promotion

CHALLENGER = {"accuracy": 0.9, "f1_macro": 0.88, "roc_auc": 0.95, "log_loss": 0.30}
CONFIG = PromotionConfig(metric="f1_macro", gates={"accuracy": 0.85, "roc_auc": 0.9})


def test_no_champion_is_promoted() -> None:
    decision = decide_promotion(CHALLENGER, None, CONFIG)
    assert decision == PromotionDecision(
        promoted=True,
        reason="passed all gates; no production version yet",
        metric="f1_macro",
        challenger_score=0.88,
        champion_version=None,
        champion_score=None,
        failed_gates={},
    )


def test_failed_gate_is_not_promoted_and_listed() -> None:
    config = PromotionConfig(metric="f1_macro", gates={"accuracy": 0.95, "roc_auc": 0.9})
    decision = decide_promotion(CHALLENGER, None, config)
    assert decision.promoted is False
    assert decision.failed_gates == {"accuracy": "0.9000 vs threshold 0.95"}
    assert decision.reason == "failed gates: accuracy 0.9000 vs threshold 0.95"
    assert decision.challenger_score == 0.88


def test_failed_gates_beat_a_worse_champion() -> None:
    config = PromotionConfig(metric="f1_macro", gates={"accuracy": 0.95})
    champion = Champion(version="3", metrics={**CHALLENGER, "f1_macro": 0.1})
    decision = decide_promotion(CHALLENGER, champion, config)
    assert decision.promoted is False
    assert set(decision.failed_gates) == {"accuracy"}
    assert decision.champion_version == "3"


def test_gate_on_metric_not_computed_fails() -> None:
    config = PromotionConfig(metric="accuracy", gates={"f1": 0.5})
    decision = decide_promotion(CHALLENGER, None, config)
    assert decision.promoted is False
    assert decision.failed_gates == {"f1": "not computed for this data (threshold 0.5)"}


def test_log_loss_gate_is_a_maximum() -> None:
    passing = PromotionConfig(metric="log_loss", gates={"log_loss": 0.5})
    failing = PromotionConfig(metric="log_loss", gates={"log_loss": 0.2})
    assert decide_promotion(CHALLENGER, None, passing).promoted is True
    decision = decide_promotion(CHALLENGER, None, failing)
    assert decision.promoted is False
    assert decision.failed_gates == {"log_loss": "0.3000 vs threshold 0.2"}


def test_better_champion_keeps_production() -> None:
    champion = Champion(version="4", metrics={**CHALLENGER, "f1_macro": 0.91})
    decision = decide_promotion(CHALLENGER, champion, CONFIG)
    assert decision.promoted is False
    assert decision.champion_version == "4"
    assert decision.champion_score == 0.91
    assert decision.challenger_score == 0.88
    assert decision.reason == (
        "f1_macro 0.8800 is worse than production version 4 (0.9100) on the same held-out data"
    )


def test_equal_challenger_is_promoted() -> None:
    champion = Champion(version="4", metrics=dict(CHALLENGER))
    decision = decide_promotion(CHALLENGER, champion, CONFIG)
    assert decision.promoted is True
    assert decision.champion_score == 0.88
    assert "at least as good as production version 4" in decision.reason


def test_better_challenger_is_promoted() -> None:
    champion = Champion(version="2", metrics={**CHALLENGER, "f1_macro": 0.80})
    decision = decide_promotion(CHALLENGER, champion, CONFIG)
    assert decision.promoted is True
    assert decision.champion_version == "2"


@pytest.mark.parametrize(("champion_loss", "promoted"), [(0.25, False), (0.30, True), (0.40, True)])
def test_log_loss_lower_is_better(champion_loss: float, promoted: bool) -> None:
    config = PromotionConfig(metric="log_loss")
    champion = Champion(version="1", metrics={**CHALLENGER, "log_loss": champion_loss})
    decision = decide_promotion(CHALLENGER, champion, config)
    assert decision.promoted is promoted
    assert decision.challenger_score == 0.30
    assert decision.champion_score == champion_loss


def test_same_model_is_not_promoted_again() -> None:
    champion = Champion(version="5", metrics=dict(CHALLENGER), same_model=True)
    decision = decide_promotion(CHALLENGER, champion, CONFIG)
    assert decision.promoted is False
    assert decision.reason == "this model is already in production as version 5"
    assert decision.champion_version == "5"


def test_champion_error_is_not_promoted_and_suggests_model_name() -> None:
    champion = Champion(version="6", error="KeyError: 'colour'")
    decision = decide_promotion(CHALLENGER, champion, CONFIG)
    assert decision.promoted is False
    assert "production version 6 cannot be evaluated on this data (KeyError: 'colour')" in decision.reason
    assert "--model-name" in decision.reason
    assert decision.champion_score is None


def test_champion_without_metrics_or_error_is_not_promoted() -> None:
    decision = decide_promotion(CHALLENGER, Champion(version="7"), CONFIG)
    assert decision.promoted is False
    assert "--model-name" in decision.reason


def test_metric_not_computable_is_not_promoted() -> None:
    config = PromotionConfig(metric="f1")
    decision = decide_promotion(CHALLENGER, None, config)
    assert decision.promoted is False
    assert decision.challenger_score is None
    assert decision.reason == "metric 'f1' cannot be computed for this data"


def test_champion_missing_the_metric_is_a_decision_not_a_crash() -> None:
    config = PromotionConfig(metric="roc_auc")
    champion = Champion(version="8", metrics={"accuracy": 0.9, "f1_macro": 0.9, "log_loss": 0.2})
    decision = decide_promotion(CHALLENGER, champion, config)
    assert decision.promoted is False
    assert "roc_auc" in decision.reason


def test_decision_serialises_with_evidence() -> None:
    champion = Champion(version="4", metrics={**CHALLENGER, "f1_macro": 0.91})
    dumped = decide_promotion(CHALLENGER, champion, CONFIG).model_dump()
    assert dumped == {
        "promoted": False,
        "reason": "f1_macro 0.8800 is worse than production version 4 (0.9100) on the same held-out data",
        "metric": "f1_macro",
        "challenger_score": 0.88,
        "champion_version": "4",
        "champion_score": 0.91,
        "failed_gates": {},
    }
