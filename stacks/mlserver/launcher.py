"""Starts MLServer on a model repository with two guards in front of its REST app.

Runs in the serving environment, not the project's: `python -P launcher.py REPOSITORY MAX_BYTES`.
MLServer 1.7 has no hook for ASGI middleware, so this wraps the function that creates its app
(checked against the MLServer version it was written for):

- a limit on request bodies: MLServer (and uvicorn under it) reads a body of any size, and its
  request class gunzips a `Content-Encoding: gzip` body whole, before the runtime can count rows;
- the model-control endpoints (`/v2/repository/...`: load, unload, index) open only to a caller
  with the repository's control token in a header: a web page in the developer's browser can send
  a simple POST to 127.0.0.1 but no custom header (that needs a CORS pre-flight, which fails).
"""

from __future__ import annotations

import hmac
import json
import sys
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

SUPPORTED_MLSERVER = "1.7."  # the version whose app factory this wraps
PAYLOAD_TOO_LARGE = 413
FORBIDDEN = 403
# Shared with the deployer (stacks/mlserver/repository.py), which cannot be imported here.
CONTROL_PATH = "/v2/repository/"
CONTROL_HEADER = b"x-model-control-token"
CONTROL_TOKEN_FILE = ".control-token"
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


class RequestBodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413 and a JSON error naming the limit,
    before the app sees it. A declared Content-Length is refused at once (the server cuts the body
    there); a body without one is counted as it arrives; a gzip-encoded one counts by its decoded
    size as well, decoded no further than the limit."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        declared = next((int(value) for name, value in headers if name == b"content-length"), None)
        gzipped = (b"content-encoding", b"gzip") in headers  # as MLServer tells a body it gunzips
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        if declared is not None and not gzipped:
            await self.app(scope, receive, send)
            return
        body = await self._read_within_limit(receive)
        if body is None or (gzipped and _gunzips_over(body, self.max_bytes)):
            await self._refuse(send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_within_limit(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (or the client is gone)."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return bytes(body)

    async def _refuse(self, send: Send) -> None:
        error = f"request body over {self.max_bytes} bytes, the limit (mlserver.max_request_bytes)"
        await _send_error(send, PAYLOAD_TOO_LARGE, error)


class ModelControlGuard:
    """ASGI middleware: a request to the model-control endpoints without the control token gets
    403 and a JSON error; every other request passes untouched."""

    def __init__(self, app: App, token: bytes) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PATH):
            given = next((value for name, value in scope["headers"] if name == CONTROL_HEADER), b"")
            if not hmac.compare_digest(given, self.token):
                await _send_error(send, FORBIDDEN, "model control needs the repository's control token")
                return
        await self.app(scope, receive, send)


async def _send_error(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of a body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _gunzips_over(body: bytes, limit: int) -> bool:
    """Whether gzip `body` decodes to more than `limit` bytes, member by member as `gzip` reads it,
    decoding at most `limit` + 1 bytes. A body that is not gzip is left to MLServer to refuse."""
    size, rest = 0, body
    try:
        while rest and size <= limit:
            decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            size += len(decoder.decompress(rest, limit + 1 - size))
            rest = decoder.unused_data
    except zlib.error:
        return False
    return size > limit


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then passes on what comes next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def main() -> None:
    repository, max_bytes = sys.argv[1], int(sys.argv[2])
    import mlserver
    from mlserver.cli import main as mlserver_main
    from mlserver.rest import server

    if not mlserver.__version__.startswith(SUPPORTED_MLSERVER):
        sys.exit(f"launcher.py wraps MLServer {SUPPORTED_MLSERVER}x's app; this is {mlserver.__version__}")
    with open(f"{repository}/{CONTROL_TOKEN_FILE}", "rb") as token_file:
        token = token_file.read().strip()
    create_app = server.create_app

    def create_guarded_app(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        app.add_middleware(ModelControlGuard, token=token)
        app.add_middleware(RequestBodyLimit, max_bytes=max_bytes)  # the outermost: first to see a request
        return app

    server.create_app = create_guarded_app
    sys.argv = ["mlserver", "start", repository]
    mlserver_main()


if __name__ == "__main__":
    main()
