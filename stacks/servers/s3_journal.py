"""The S3 server's journal: moto keeps objects in memory only, so every write it accepted is appended
here before its client hears back, and replayed into a fresh moto at the next start.

One line per write, in moto's own recorder format (so a run folder from before this journal still
replays), each appended whole under a lock: a kill -9 can only cut the last line short, and a client
never heard that such a write succeeded.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

WRITES = frozenset({"PUT", "POST", "DELETE"})
# A multipart upload's id is random, so a replayed upload gets a new one: its parts and its completion
# are sent under that new id. The journal keeps the id each creation answered with.
_UPLOAD_ID_ANSWER = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_UPLOAD_ID_PARAMETER = re.compile(r"(?<=uploadId=)[^&]+")
_NAMED_REQUEST = re.compile(rb'"method": "([A-Z]+)", "url": "([^"]*)"')
_BLOCK = 1 << 20
_NOT_REPLAYED_HEADERS = frozenset({"content-length", "transfer-encoding"})  # the body's own length is sent


def warn(message: str) -> None:
    """To the server's log."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def drop_torn_tail(self) -> None:
        """Cut a last line that a kill left without its end back to the last whole line, naming the
        write it held: its client got no answer, so nothing it was told was stored is lost."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as journal:
            end = journal.seek(0, os.SEEK_END)
            start = _start_of_last_line(journal, end)
            if start == end:
                return
            journal.seek(start)
            named = _NAMED_REQUEST.search(journal.read(_BLOCK))
            journal.truncate(start)
        what = f"{named[1].decode()} {urlsplit(named[2].decode()).path}" if named else "an unnamed request"
        warn(
            f"{self.path}: dropped its last entry, {what} ({end - start} bytes), cut short when the "
            "server was killed; its client was never told it was stored"
        )

    def record(self, environ: WSGIEnvironment, body: bytes, answer: bytes) -> None:
        """Append one write that moto accepted, before its answer goes back."""
        from werkzeug.datastructures import EnvironHeaders

        entry: dict[str, Any] = {"method": environ["REQUEST_METHOD"], "url": environ["RAW_URI"]}
        if created := _UPLOAD_ID_ANSWER.search(answer):  # only a multipart upload's creation has one
            entry["upload_id"] = created[1].decode()
        entry["headers"] = dict(EnvironHeaders(environ))
        entry.update(body=base64.b64encode(body).decode("ascii"), body_encoded=True)
        line = memoryview((json.dumps(entry) + "\n").encode())
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                while line:
                    line = line[os.write(descriptor, line) :]
            finally:
                os.close(descriptor)

    def replay(self, app: WSGIApplication) -> None:
        """Send every journaled write to `app` again, in order (the reads an older recording holds are
        skipped); what is not accepted again is counted in a warning, and the start goes on."""
        from werkzeug.test import Client

        client = Client(app)
        new_upload_ids: dict[str, str] = {}
        replayed, refused = 0, []
        for entry in self._entries():
            if entry.get("method") not in WRITES:
                continue
            url = urlsplit(entry["url"])
            query = _UPLOAD_ID_PARAMETER.sub(
                lambda old: quote(new_upload_ids.get(unquote(old[0]), old[0]), safe=""), url.query
            )
            body = entry.get("body") or ""
            try:
                response = client.open(
                    url.path,
                    method=entry["method"],
                    query_string=query,
                    headers=[
                        (k, v) for k, v in entry["headers"].items() if k.lower() not in _NOT_REPLAYED_HEADERS
                    ],
                    data=base64.b64decode(body) if entry.get("body_encoded") else body.encode(),
                    environ_overrides={"RAW_URI": f"{url.path}?{query}" if query else url.path},
                )
            except Exception as error:  # moto raises where a server would answer 500
                refused.append(f"{entry['method']} {url.path} ({type(error).__name__})")
                continue
            if response.status_code >= 300:
                refused.append(f"{entry['method']} {url.path} ({response.status_code})")
                continue
            replayed += 1
            if entry.get("upload_id") and (created := _UPLOAD_ID_ANSWER.search(response.get_data())):
                new_upload_ids[entry["upload_id"]] = created[1].decode()
        print(f"replayed {replayed} writes from {self.path}", file=sys.stderr, flush=True)
        if refused:
            warn(f"{len(refused)} journaled writes were refused on replay, first {', '.join(refused[:3])}")

    def _entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.is_file():
            return
        with self.path.open("rb") as journal:
            for number, line in enumerate(journal, start=1):
                try:
                    yield json.loads(line)
                except ValueError:  # an older recording's writes could interleave
                    warn(f"{self.path}: line {number} is not a whole entry; skipped")


def _start_of_last_line(journal: BinaryIO, end: int) -> int:
    """Where the text after the last newline starts (`end` when the journal ends with one)."""
    position = end
    while position > 0:
        size = min(_BLOCK, position)
        journal.seek(position - size)
        newline = journal.read(size).rfind(b"\n")
        if newline >= 0:
            return position - size + newline + 1
        position -= size
    return 0
