"""`$NAME` in a config field that can carry a credential (a source's URL, URI or repository): read
from the environment only where the source is opened, so the config file, ZenML's stored parameters,
the lineage and every message keep the reference, never the value."""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import AfterValidator

from core.errors import ConfigError

VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
BRACED = re.compile(r"\$\{([A-Za-z0-9_]+)\}")  # ZenML substitutes this form itself and stores the value


def _no_braced_variables(value: str) -> str:
    braced = BRACED.search(value)
    if braced:
        name = braced.group(1)
        raise ValueError(
            f"write ${name}, not ${{{name}}}: ZenML would substitute ${{{name}}} and store its value "
            "with the run"
        )
    return value


CredentialField = Annotated[str, AfterValidator(_no_braced_variables)]
"""A field that may carry a credential: `$NAME` in it is read from the environment when it is used."""


def expand_variables(value: str, field: str) -> str:
    """`value` with each `$NAME` replaced by the environment variable's value, for the library that
    opens it and nothing else; an unset variable is an error naming `field` and the variable."""
    unset = sorted({name for name in VARIABLE.findall(value) if name not in os.environ})
    if unset:
        raise ConfigError(f"{field}: environment variable(s) {', '.join(unset)} not set")
    return VARIABLE.sub(lambda match: os.environ[match.group(1)], value)
