"""core/simulate.py: seeded clean and shifted batches from the demo set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from core.errors import ConfigError
from core.simulate import simulate_batch

DEMO = load_breast_cancer(as_frame=True).frame


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    first = simulate_batch(drift=0.0, rows=200, seed=1)

    pd.testing.assert_frame_equal(first, simulate_batch(drift=0.0, rows=200, seed=1))
    assert not first.equals(simulate_batch(drift=0.0, rows=200, seed=2))


def test_clean_batch_keeps_the_demo_columns_and_labels() -> None:
    batch = simulate_batch(drift=0.0, rows=300, seed=0)

    assert list(batch.columns) == list(DEMO.columns)
    assert set(batch["target"]) == {0, 1}
    assert len(batch) == 300
    means = (batch.drop(columns="target").mean() - DEMO.drop(columns="target").mean()).abs()
    assert (means / DEMO.drop(columns="target").std()).max() < 0.25


def test_drift_moves_every_feature_by_that_many_standard_deviations() -> None:
    clean = simulate_batch(drift=0.0, rows=400, seed=5)
    shifted = simulate_batch(drift=1.5, rows=400, seed=5)

    moved = (shifted.drop(columns="target") - clean.drop(columns="target")).mean()
    expected = 1.5 * DEMO.drop(columns="target").std()
    np.testing.assert_allclose(moved, expected, rtol=0.05)
    assert shifted["target"].equals(clean["target"])


def test_unlabeled_batch_has_no_target() -> None:
    assert "target" not in simulate_batch(drift=0.0, rows=10, seed=0, labeled=False)


@pytest.mark.parametrize(("drift", "rows", "message"), [(-0.1, 10, "--drift"), (0.0, 0, "--rows")])
def test_impossible_requests_name_the_option(drift: float, rows: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        simulate_batch(drift=drift, rows=rows, seed=0)
