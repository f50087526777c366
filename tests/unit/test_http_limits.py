"""HTTP sources stay within their limits, against a real HTTP server on 127.0.0.1: the body's size,
the whole download's time, a compressed body's ratio, and the hosts a redirect may lead to."""

from __future__ import annotations

import gzip
import io
import random
import re
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pandas as pd
import pytest

from core.errors import DataSourceError
from core.sources import HttpSource, load_source
from tests.http_server import serving

PEOPLE = b"age,target\n31,y\n45,n\n27,y\n"
MANY = b"age,target\n" + b"31,y\n" * 1000
_random = random.Random(7)
# About 2 MB of CSV that gzip compresses only ~2x: over the size below which no ratio is checked.
NUMBERS = ("x,y\n" + "".join(f"{_random.random()},{_random.random()}\n" for _ in range(50_000))).encode()
NUMBERS_GZIP = gzip.compress(NUMBERS)
BOMB = gzip.compress(b"x,y\n" + b"0,0\n" * 5_000_000, compresslevel=9)  # 20 MB in ~20 KB
DRIP_SECONDS = 0.2


class Handler(BaseHTTPRequestHandler):
    """Answers by path; `port` is the server's, for redirects to another name of this host."""

    port = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        routes: dict[str, Callable[[], None]] = {
            "/people.csv": lambda: self.send(PEOPLE),
            "/numbers.csv": lambda: self.send(NUMBERS_GZIP, {"Content-Encoding": "gzip"}),
            "/people-gzip.csv": lambda: self.send(gzip.compress(PEOPLE), {"Content-Encoding": "gzip"}),
            "/bomb.csv": lambda: self.send(BOMB, {"Content-Encoding": "gzip"}),
            "/unsized.csv": lambda: self.send(MANY, length=False),
            "/drip.csv": self.drip,
            "/here": lambda: self.redirect("/people.csv"),
            "/away": lambda: self.redirect(f"http://localhost:{self.port}/people.csv"),
        }
        route = routes.get(self.path)
        if route is None:
            self.send_error(404)
        else:
            route()

    def send(self, body: bytes, headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(200)
        for name, value in {
            **(headers or {}),
            **({"Content-Length": str(len(body))} if length else {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drip(self) -> None:
        """A byte every DRIP_SECONDS for ever: each read gets its byte well within its timeout."""
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"age,target\n")
        try:
            while True:
                self.wfile.write(b"1")
                self.wfile.flush()
                time.sleep(DRIP_SECONDS)
        except OSError:  # the client gave up
            pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serving(Handler) as port:
        Handler.port = port
        yield f"http://127.0.0.1:{port}"


def http(url: str, **limits: Any) -> HttpSource:
    return HttpSource(kind="http", url=url, timeout_seconds=limits.pop("timeout_seconds", 5), **limits)


def refused(source: HttpSource) -> str:
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    return str(caught.value)


def test_a_body_within_max_bytes_loads_and_one_byte_over_is_refused_before_download(base: str) -> None:
    url = f"{base}/people.csv"
    assert load_source(http(url, max_bytes=len(PEOPLE)))["age"].tolist() == [31, 45, 27]

    assert refused(http(url, max_bytes=len(PEOPLE) - 1)) == (
        f"URL '{url}': larger than max_bytes ({len(PEOPLE) - 1} bytes); raise the source's `max_bytes` "
        "if the file is meant to be this large"
    )


def test_a_body_without_content_length_is_cut_at_max_bytes(base: str) -> None:
    url = f"{base}/unsized.csv"
    assert len(load_source(http(url, max_bytes=len(MANY)))) == 1000

    assert refused(http(url, max_bytes=1000)).startswith(f"URL '{url}': larger than max_bytes (1,000 bytes)")


def test_a_slow_drip_is_cut_at_the_total_timeout(base: str) -> None:
    url = f"{base}/drip.csv"
    started = time.monotonic()

    message = refused(http(url, timeout_seconds=1))

    assert message == f"URL '{url}': the download took longer than timeout_seconds (1 s)"
    assert time.monotonic() - started < 1 + 1  # not a read timeout per byte: the drip never pauses that long


def test_honest_gzip_decodes(base: str) -> None:
    small = load_source(http(f"{base}/people-gzip.csv"))
    assert small["target"].tolist() == ["y", "n", "y"]

    numbers = load_source(http(f"{base}/numbers.csv"))  # past the size where the ratio is checked
    pd.testing.assert_frame_equal(numbers, pd.read_csv(io.BytesIO(NUMBERS)))


def test_a_gzip_bomb_is_refused_as_one(base: str) -> None:
    url = f"{base}/bomb.csv"

    assert refused(http(url)) == (
        f"URL '{url}': its gzip encoding expands it over max_compression_ratio (100 times); refused as a "
        "decompression bomb"
    )
    # within a generous ratio, the size limit still holds on the decoded bytes
    assert refused(http(url, max_compression_ratio=10_000, max_bytes=5_000_000)).startswith(
        f"URL '{url}': larger than max_bytes (5,000,000 bytes)"
    )


def test_redirects_stay_on_the_host_unless_another_is_listed(base: str) -> None:
    assert len(load_source(http(f"{base}/here"))) == 3

    url = f"{base}/away"
    assert refused(http(url)) == (
        f"URL '{url}': redirected to another host, 'localhost'; list it in the source's `redirect_hosts` "
        "to follow it"
    )
    assert len(load_source(http(url, redirect_hosts=["LocalHost"]))) == 3


def test_the_limits_are_validated() -> None:
    for limits in ({"max_bytes": 0}, {"max_compression_ratio": 1}):
        with pytest.raises(ValueError, match=re.escape(next(iter(limits)))):
            http("http://127.0.0.1/x.csv", **limits)
