"""A real Git + DVC repository for the DVC source's tests: one tagged revision per frame, each pushed
to a local DVC remote, and the repository's own cache emptied, so reading a revision goes through
the remote as it would on a fresh clone; and the same repository served over HTTP behind a token."""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pandas as pd

from tests.http_server import serving

DVC = str(Path(sys.executable).parent / "dvc")


def make_dvc_repo(root: Path, path: str, revisions: dict[str, pd.DataFrame]) -> Path:
    """`root/repo`, where `path` holds each frame at its tag (in order); the remote is `root/remote`."""
    repo, remote = root / "repo", root / "remote"
    repo.mkdir(parents=True)

    def run(*command: str) -> None:
        subprocess.run(command, cwd=repo, check=True, capture_output=True, timeout=120)

    run("git", "init", "-q")
    run("git", "config", "user.email", "tests@example.com")
    run("git", "config", "user.name", "tests")
    run(DVC, "init", "-q")
    run(DVC, "remote", "add", "-d", "local", str(remote))
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    for tag, frame in revisions.items():
        frame.to_csv(target, index=False)
        run(DVC, "add", "-q", path)
        run("git", "add", "-A")
        run("git", "commit", "-q", "-m", f"data {tag}")
        run("git", "tag", tag)
        run(DVC, "push", "-q")
    shutil.rmtree(repo / ".dvc" / "cache")
    return repo


def rev_parse(repo: Path, rev: str) -> str:
    answer = subprocess.run(["git", "rev-parse", rev], cwd=repo, check=True, capture_output=True, text=True)
    return answer.stdout.strip()


@contextmanager
def served_with_token(repo: Path, user: str, token: str) -> Iterator[str]:
    """`repo` behind a real HTTP server on 127.0.0.1, as a Git host serves it to a CI job: a bare
    clone over Git's dumb HTTP protocol, answering only requests whose basic auth is `user:token`
    (401 otherwise). Yields `127.0.0.1:PORT/repo.git`, the URL without scheme and credentials."""
    site = repo.parent / "site"
    bare = site / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, timeout=60)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True, timeout=60)
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    class TokenHandler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(functools.partial(TokenHandler, directory=str(site))) as port:
        yield f"127.0.0.1:{port}/repo.git"
