"""Split: stratified and seeded; `train_set` is kept with the model version as drift reference."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import step

from lifecycle.config import SplitConfig
from lifecycle.modeling import stratified_split
from steps.materializers import HashedDataFrameMaterializer


@step(output_materializers=HashedDataFrameMaterializer)
def split_data(
    validated_data: pd.DataFrame, target: str, config: SplitConfig
) -> Tuple[Annotated[pd.DataFrame, "train_set"], Annotated[pd.DataFrame, "test_set"]]:
    train_set, test_set = stratified_split(validated_data, target, config)
    return train_set, test_set
