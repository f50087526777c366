"""Whether one of the project's extras (`pyproject.toml`'s optional dependencies) is installed: what
a command that needs one checks first, so a missing extra is one line naming it, not an import
error halfway through."""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement

from core.errors import ConfigError

PROJECT = "zenml-mlops-template"


def missing_from_extra(extra: str) -> list[str]:
    """The distributions of `extra` (and of the extras it names) that are not installed."""
    missing: list[str] = []
    for requirement in _requirements_of(extra, seen=set()):
        try:
            metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return sorted(set(missing))


def require_extra(extra: str, what: str) -> None:
    """Raise a ConfigError naming the extra and its missing packages when `what` cannot run."""
    missing = missing_from_extra(extra)
    if missing:
        raise ConfigError(
            f"{what} needs the project's `{extra}` extra ({', '.join(missing)} missing): "
            f"bash scripts/setup.sh {extra}"
        )


def _requirements_of(extra: str, seen: set[str]) -> list[Requirement]:
    seen.add(extra)
    found: list[Requirement] = []
    for line in metadata.requires(PROJECT) or []:
        requirement = Requirement(line)
        if requirement.marker is None or not requirement.marker.evaluate({"extra": extra}):
            continue
        if requirement.name == PROJECT:
            found += [
                r for nested in sorted(requirement.extras - seen) for r in _requirements_of(nested, seen)
            ]
        else:
            found.append(requirement)
    return found
