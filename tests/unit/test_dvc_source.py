"""core/sources.py: the `dvc` source reads a file at a Git revision with DVC's API, through a real
repository and a local DVC remote; each revision has its own fingerprint, and errors name the
repository, path and revision."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from core.errors import DataSourceError
from core.lineage import data_fingerprint
from core.sources import DvcSource, load_source, read_dvc
from tests.dvc_repo import make_dvc_repo, rev_parse

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
