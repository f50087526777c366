"""Split: stratified and seeded; `train_set` is kept with the model version as drift reference."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import step

from core.modeling import SplitConfig, stratified_split
from steps.materializers import HashedDataFrameMaterializer
from steps.names import TEST_SET, TRAIN_SET


# A mapping, not one class for all outputs: ZenML 0.98 spreads a single class over a set of output
# names, whose order changes between processes and with it the cache key.
@step(
    output_materializers={
        TRAIN_SET: HashedDataFrameMaterializer,
        TEST_SET: HashedDataFrameMaterializer,
    }
)
def split_data(
    validated_data: pd.DataFrame, target: str, config: SplitConfig
) -> Tuple[Annotated[pd.DataFrame, TRAIN_SET], Annotated[pd.DataFrame, TEST_SET]]:
    train_set, test_set = stratified_split(validated_data, target, config)
    return train_set, test_set
