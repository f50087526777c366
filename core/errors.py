"""Errors a user can fix: the CLI prints their message as one line and exits non-zero (cli/main.py)."""

from core.redaction import redact_text


class UserFacingError(Exception):
    """Base of every error whose message names the file, column or key at fault. The message is
    printed, logged and stored with a failed step, so the URLs it quotes are redacted here, once."""

    def __init__(self, message: str) -> None:
        super().__init__(redact_text(message))


class ConfigError(UserFacingError):
    """A config file, a key in it, or a command-line option is wrong."""


class DataSourceError(UserFacingError):
    """A data source cannot be read: missing, unreadable, empty or malformed."""


class DataValidationError(UserFacingError):
    """The data breaks a schema or quality rule."""


class DeploymentError(UserFacingError):
    """A model could not be deployed or switched in; whatever served before still serves."""


class StackUnreachableError(UserFacingError):
    """A server the active stack depends on (artifact store, tracker) did not answer."""


class OrchestratorError(UserFacingError):
    """The stack's orchestrator refused or never started a run."""


class StepFailedError(UserFacingError):
    """A step of a run failed with an error nobody foresaw; the message names the step, the error
    and where the step's log is."""
