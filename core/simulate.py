"""Seeded batches of new data from the demo set, clean or shifted, to walk the drift loop offline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.sources import DemoSource, load_source


def simulate_batch(
    drift: float,
    rows: int,
    seed: int,
    dataset: str = "breast_cancer",
    labeled: bool = True,
    label_noise: float = 0.0,
) -> pd.DataFrame:
    """`rows` rows drawn with replacement from the demo set, each numeric feature jittered by 5% of
    its spread and shifted by `drift` times its standard deviation, and a share `label_noise` of the
    labels replaced by another class.

    `drift` 0 gives a batch from the training distribution; about 0.5 and above moves every feature
    far enough for Evidently to call the batch drifted. The label stays with its row, so a shifted
    batch is labeled data a retrained model can learn from. `label_noise` changes what the labels
    mean without moving a feature: the model's quality drops with no data drift.
    """
    if drift < 0:
        raise ConfigError(f"--drift: {drift} is negative; 0 gives a clean batch, e.g. 1.0 a shifted one")
    if not 0 <= label_noise <= 1:
        raise ConfigError(f"--label-noise: {label_noise}; a share of the rows, from 0 to 1")
    if rows < 1:
        raise ConfigError(f"--rows: {rows}; need at least one row")
    source = load_source(DemoSource(kind="demo", name=dataset))  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    batch = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    target = "target"
    for name in batch.columns.drop(target):
        spread = float(source[name].std())
        batch[name] = batch[name] + rng.normal(0.0, 0.05 * spread, rows) + drift * spread
    labels = batch[target].to_numpy(copy=True)
    classes = np.unique(source[target])
    for row in np.flatnonzero(rng.random(rows) < label_noise):
        labels[row] = rng.choice(classes[classes != labels[row]])
    batch[target] = labels
    return batch if labeled else batch.drop(columns=target)
