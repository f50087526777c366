"""The lock of a model for this machine's runs (`core.promotion.model_lock`), kept in the ZenML
config folder so every run of one ZenML config shares it."""

from pathlib import Path

from filelock import FileLock
from zenml.config.global_config import GlobalConfiguration

from core import promotion


def model_lock(model_name: str) -> FileLock:
    return promotion.model_lock(model_name, Path(GlobalConfiguration().config_directory) / "locks")
