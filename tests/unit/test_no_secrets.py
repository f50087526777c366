"""No credentials in tracked files: endpoints and secrets come from the environment or ZenML secrets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY( BLOCK)?-----"),
    "GitHub token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Azure storage key": re.compile(r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
    # a literal password or secret assigned in config or code (a `$VAR`, `${VAR}` or `{{secret}}` is fine)
    "literal password": re.compile(
        r"""(?i)(?:password|passwd|secret|api_key|token)["']?\s*[:=]\s*["']([^"'\s${][^"'\s]{7,})["']"""
    ),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@$]+:(?!\$)([^/\s:@]{4,})@"),
}
# Made-up values that tests need on purpose (the password-hiding tests of core/sources.py), and the
# names of the ZenML secrets `servers up` stores, which a source's `secret:` names.
KNOWN_FAKES = {"s3cret", "local_postgres", "local_mysql", "local_redis", "no_such_secret"}


def findings(text: str) -> list[str]:
    """The kinds of secret in `text`, ignoring the known made-up values."""
    return [
        name
        for name, pattern in SECRET_PATTERNS.items()
        if any(not set(match.groups()) & KNOWN_FAKES for match in pattern.finditer(text))
    ]


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    return [PROJECT_ROOT / name for name in listed.split("\0") if name]


def test_tracked_files_hold_no_secrets() -> None:
    found = []
    for path in tracked_files():
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found += [f"{path.relative_to(PROJECT_ROOT)}: {name}" for name in findings(text)]

    assert found == []
    assert len(tracked_files()) > 50


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aws_access_key_id = AKIA" + "ABCDEFGHIJKLMNOP", "AWS access key id"),
        ("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE", "private key"),
        ("token: ghp_" + "a" * 36, "GitHub token"),
        (
            'tracking_password: "hunter2' + 'hunter2"',
            "literal password",
        ),  # split: the scan reads this file too
        ("url: postgresql://zenml:" + "s3cretpw@db:5432/zenml", "credentials in a URL"),
    ],
)
def test_the_scan_catches_planted_secrets(text: str, expected: str) -> None:
    assert findings(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "url: postgresql://zenml:$PGPASSWORD@db/zenml",
        "secret: ${SELDON_ARTIFACT_SECRET:-}",
        'tracking_password: "{{mlflow.password}}"',
        "kubernetes_secret_name: zenml-seldon",
        "postgresql://user:s3cret@db:5432/app",  # a known made-up value
    ],
)
def test_references_to_secrets_are_not_secrets(text: str) -> None:
    assert findings(text) == []
