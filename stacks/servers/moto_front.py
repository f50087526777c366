"""moto's S3 server as the S3 server runs it: `python -m stacks.servers.moto_front --host H --port P
--journal FILE`, with the keys it accepts in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.

moto verifies signatures only against keys of its IAM users and, by default, lets anyone reset it,
read its state and call it from any web page. Here the run folder's keys are an IAM user allowed S3
and nothing else, moto verifies every request's signature against them, and a front refuses what
moto would let through: an unsigned request, any request from a web page (it carries an Origin
header) and moto's control API (`/moto-api/*`). The front journals each write moto accepted, and
the journal is replayed before the server listens.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wsgi import get_input_stream

from stacks.servers.s3_journal import WRITES, Journal

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SUPPORTED_MOTO = "5."  # the major version whose IAM backend and werkzeug app this reaches into
USER = "mlops"
S3_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
SIGNED = "AWS4-HMAC-SHA256 "


def refusal(environ: WSGIEnvironment) -> str | None:
    """Why the front refuses a request before moto sees it, if it does."""
    if "HTTP_ORIGIN" in environ:
        return "This server takes no request from a web page (the request has an Origin header)."
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return "moto's control API is off on this server."
    if not environ.get("HTTP_AUTHORIZATION", "").startswith(SIGNED):
        return "The request is not signed: sign it (AWS Signature Version 4) with the local_s3 keys."
    return None


class LockedFront:
    """Refuses what moto would let through; journals the writes moto accepted (none while replaying)."""

    def __init__(self, moto: WSGIApplication, journal: Journal | None) -> None:
        self.moto = moto
        self.journal = journal

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        reason = refusal(environ)
        if reason is not None:
            answer = f"<Error><Code>AccessDenied</Code><Message>{reason}</Message></Error>".encode()
            start_response(
                "403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(answer)))]
            )
            return [answer]
        if self.journal is None or environ["REQUEST_METHOD"] not in WRITES:
            return self.moto(environ, start_response)
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        status: list[Any] = []

        def hold(*answer_start: Any) -> Callable[[bytes], object]:
            status[:] = answer_start
            return lambda _: None  # the `write` of WSGI's start_response, which moto does not use

        chunks = self.moto(environ, hold)
        try:
            answer = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        if status[0].startswith("2"):
            self.journal.record(environ, body, answer)
        start_response(*status)
        return [answer]


def allow_only(access_key_id: str, secret_access_key: str) -> None:
    """Make the given keys moto's one IAM user's, allowed S3 only (moto makes up the keys of a user it
    creates: these replace them)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user("us-east-1", USER)
    iam.put_user_policy(USER, "s3-only", json.dumps(S3_ONLY))
    key = iam.create_access_key(USER)
    del iam.access_keys[key.physical_resource_id]
    key.access_key_id, key.secret_access_key = access_key_id, secret_access_key
    iam.access_keys[key.physical_resource_id] = key


def main() -> None:
    from moto import __version__ as moto_version
    from moto.core import disable_iam_authentication, enable_iam_authentication
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    if not moto_version.startswith(SUPPORTED_MOTO):
        raise SystemExit(f"moto_front reaches into moto {SUPPORTED_MOTO}x; this is moto {moto_version}")

    allow_only(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    moto = DomainDispatcherApplication(create_backend_app)
    journal = Journal(args.journal)
    journal.drop_torn_tail()
    # Nothing listens yet; a replayed upload's parts go under its new id, which their signatures do not cover.
    with disable_iam_authentication():
        journal.replay(LockedFront(moto, journal=None))
    server = make_server(
        args.host, args.port, LockedFront(moto, journal), threaded=True, request_handler=MotoRequestHandler
    )
    with enable_iam_authentication():
        server.serve_forever()


if __name__ == "__main__":
    main()
