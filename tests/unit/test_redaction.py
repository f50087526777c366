"""core/redaction.py: every form of credential a URL carries is masked, and nothing else changes;
user-facing errors and saved tracebacks go through it."""

from __future__ import annotations

import pytest

from core.errors import DataSourceError
from core.redaction import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@git.example.com/acme/data.git", "https://***@git.example.com/acme/data.git"),
        ("https://s3cret@git.example.com/acme/data.git", "https://***@git.example.com/acme/data.git"),
        ("https://x-access-token:$GIT_TOKEN@host/r.git", "https://***@host/r.git"),
        ("postgresql+psycopg://reader:s3cret@db:5432/sales", "postgresql+psycopg://***@db:5432/sales"),
        ("redis://:s3cret@cache:6379/0", "redis://***@cache:6379/0"),
        ("https://me%40corp.com:%2F@host/f.csv", "https://***@host/f.csv"),
        ("https://host/f.csv?token=s3cret&format=csv", "https://host/f.csv?token=***&format=csv"),
        (
            "https://api.example.com/rows?access_token=s3cret#page",
            "https://api.example.com/rows?access_token=***#page",
        ),
        (
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=s3cret"
            "&X-Amz-Expires=900&X-Amz-Security-Token=s3cret&X-Amz-Signature=0a1b2c",
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
            "&X-Amz-Expires=900&X-Amz-Security-Token=***&X-Amz-Signature=***",
        ),
        (
            "https://acct.blob.core.windows.net/c/b.csv?sv=2024-01-01&sp=r&sig=s3cret%3D",
            "https://acct.blob.core.windows.net/c/b.csv?sv=2024-01-01&sp=r&sig=***",
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Signature=0a1b",
            "https://storage.googleapis.com/b/o?X-Goog-Signature=***",
        ),
        (
            "https://h/x.csv?api_key=s3cret&apikey=s3cret&key=s3cret",
            "https://h/x.csv?api_key=***&apikey=***&key=***",
        ),
        ("https://h/x.csv?password=$DATA_PASSWORD", "https://h/x.csv?password=***"),
        ("https://s3cret@h/x.csv?sig=s3cret", "https://***@h/x.csv?sig=***"),
    ],
    ids=[
        "user-and-token",
        "token-alone",
        "variable",
        "sqlalchemy",
        "redis-password-only",
        "percent-encoded",
        "token-parameter",
        "access_token-and-fragment",
        "s3-presigned",
        "azure-sas",
        "gcs-signed",
        "keys",
        "password-variable",
        "both",
    ],
)
def test_each_form_of_credential_in_a_url_is_masked(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "unchanged",
    [
        "https://host/users/@me?page=2&format=csv",  # an @ in the path is no user information
        "s3://bucket/batches/2026-12-01/",
        "data/train.csv",
        "/srv/data/$DATA_DIR/batch",
        "git@github.com:acme/data.git",  # SSH: the user is no secret, the key is elsewhere
        "sqlite:///$DBDIR/x.db",
        "not a url",
    ],
)
def test_what_carries_no_credential_is_shown_as_it_is(unchanged: str) -> None:
    assert redact_url(unchanged) == unchanged


def test_a_message_has_its_urls_redacted_and_the_given_urls_credentials_masked_where_repeated() -> None:
    text = (
        "cannot reach 'postgresql://mlops:s3cret@127.0.0.1:5433/mlops': password \"s3cret\" refused; "
        "redis://:p%40ss@host:6380/0, then https://h/f.csv?sig=0a1b: p@ss"
    )

    shown = redact_text(text, "postgresql://mlops:s3cret@127.0.0.1:5433/mlops", "redis://:p%40ss@host:6380/0")

    assert shown == (
        "cannot reach 'postgresql://***@127.0.0.1:5433/mlops': password \"***\" refused; "
        "redis://***@host:6380/0, then https://h/f.csv?sig=***: ***"
    )


def test_an_ssh_user_is_no_secret_to_hunt_for_in_a_message() -> None:
    repo = "ssh://git@github.com/acme/data.git"

    assert redact_text(f"cannot clone '{repo}': git exited 128", repo) == (
        "cannot clone 'ssh://***@github.com/acme/data.git': git exited 128"
    )


def test_a_user_facing_error_never_carries_a_credential_whoever_wrote_its_message() -> None:
    error = DataSourceError("https://x-access-token:s3cret@host/r.git: not found")

    assert str(error) == "https://***@host/r.git: not found"
