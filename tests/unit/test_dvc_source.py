"""core/sources.py: the `dvc` source reads a file at a Git revision with DVC's API, through a real
repository and a local DVC remote; each revision has its own fingerprint, and errors name the
repository, path and revision. A repository behind a token (a real HTTP Git server) is read with
the token from `$VAR`, which no description, lineage or error shows."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from core.errors import ConfigError, DataSourceError
from core.lineage import data_fingerprint
from core.sources import DvcSource, describe_source, load_source, read_dvc
from tests.dvc_repo import make_dvc_repo, rev_parse, served_with_token

TOKEN = "s3cret"  # the served repository's token; tests put it in $DVC_TOKEN

V1 = pd.DataFrame({"age": [31, 45, 27], "plan": ["basic", "pro", "basic"], "churned": [0, 1, 0]})
V2 = pd.DataFrame(
    {"age": [31, 45, 27, 52], "plan": ["basic", "pro", "basic", "pro"], "churned": [0, 1, 1, 1]}
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dvc_repo(tmp_path_factory.mktemp("dvc"), "data/churn.csv", {"v1": V1, "v2": V2})


def source(repo: Path, rev: str, path: str = "data/churn.csv") -> DvcSource:
    return DvcSource(kind="dvc", repo=str(repo), path=path, rev=rev)


def test_each_revision_reads_its_own_rows_through_the_remote(repo: Path) -> None:
    pd.testing.assert_frame_equal(load_source(source(repo, "v1")), V1)
    pd.testing.assert_frame_equal(load_source(source(repo, "v2")), V2)


def test_two_revisions_give_two_fingerprints_and_one_revision_twice_gives_one(repo: Path) -> None:
    first, again, second = (read_dvc(source(repo, rev)) for rev in ("v1", "v1", "v2"))

    assert data_fingerprint(first.frame) == data_fingerprint(again.frame) != data_fingerprint(second.frame)
    assert (first.commit, second.commit) == (rev_parse(repo, "v1"), rev_parse(repo, "v2"))
    tracked = yaml.safe_load((repo / "data" / "churn.csv.dvc").read_text())["outs"][0]["md5"]  # at v2
    assert second.md5 == tracked != first.md5
    assert first.lineage(source(repo, "v1")) == {
        "repo": str(repo),
        "path": "data/churn.csv",
        "rev": "v1",
        "commit": first.commit,
        "md5": first.md5,
    }


def test_a_branch_or_a_commit_is_a_revision_too(repo: Path) -> None:
    commit = rev_parse(repo, "v1")
    pd.testing.assert_frame_equal(load_source(source(repo, commit)), V1)
    pd.testing.assert_frame_equal(load_source(source(repo, "HEAD")), V2)


@pytest.mark.parametrize(
    ("rev", "path", "expected"),
    [
        ("v9", "data/churn.csv", "no revision 'v9' in the repository; check `rev`"),
        ("v1", "data/nope.csv", "no file 'data/nope.csv' at 'v1'; check `path`"),
        ("v1", "data/churn.xlsx", "unsupported file type '.xlsx'; use .csv, .tsv or .parquet"),
    ],
    ids=["unknown-revision", "missing-path", "unsupported-type"],
)
def test_a_bad_revision_or_path_is_one_line_naming_them(
    repo: Path, rev: str, path: str, expected: str
) -> None:
    with pytest.raises(DataSourceError) as caught:
        load_source(source(repo, rev, path))
    assert str(caught.value) == f"DVC file '{path}' at '{rev}' of '{repo}': {expected}"


def test_a_folder_that_is_no_repository_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        DataSourceError, match=re.escape(f"DVC file 'data/churn.csv' at 'v1' of '{tmp_path}': ")
    ):
        load_source(source(tmp_path, "v1"))


@pytest.fixture(scope="module")
def served(repo: Path) -> Iterator[str]:
    with served_with_token(repo, "x-access-token", TOKEN) as where:
        yield where


def behind_token(where: str) -> DvcSource:
    return DvcSource(
        kind="dvc", repo=f"http://x-access-token:$DVC_TOKEN@{where}", path="data/churn.csv", rev="v1"
    )


def test_a_repository_behind_a_token_is_read_with_the_token_from_the_environment_and_never_shows_it(
    repo: Path, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_TOKEN", TOKEN)
    source = behind_token(served)

    read = read_dvc(source)

    pd.testing.assert_frame_equal(read.frame, V1)
    assert read.commit == rev_parse(repo, "v1")
    assert describe_source(source) == f"DVC file 'data/churn.csv' at 'v1' of 'http://***@{served}'"
    assert read.lineage(source)["repo"] == f"http://***@{served}"
    # DVC's temporary clone keeps its URL in its Git config: none is left behind with the token.
    clones = Path(tempfile.gettempdir()).glob("*dvc-clone/.git/config")
    assert not [config for config in clones if f":{TOKEN}@{served}" in config.read_text(errors="ignore")]


def test_a_wrong_token_is_refused_by_the_server_and_the_error_shows_neither_token(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_TOKEN", "wrong-s3cret")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")  # Git's client would ask a terminal for another
    with pytest.raises(DataSourceError) as caught:
        read_dvc(behind_token(served))

    message = str(caught.value)
    label = f"DVC file 'data/churn.csv' at 'v1' of 'http://***@{served}'"
    clone = re.fullmatch(
        re.escape(f"{label}: Failed to clone repo 'http://***@{served}' to ") + "'(.+)'", message
    )
    assert clone is not None and "wrong-s3cret" not in message
    shutil.rmtree(clone.group(1), ignore_errors=True)  # DVC leaves a failed clone behind


def test_an_unset_token_variable_is_named_with_the_field(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DVC_TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        read_dvc(behind_token(served))

    assert str(caught.value) == (
        f"DVC file 'data/churn.csv' at 'v1' of 'http://***@{served}': `repo`: "
        "environment variable(s) DVC_TOKEN not set"
    )
