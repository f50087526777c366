"""stacks/mlserver/ports.py: a port another server listens on is never handed out again, not even
one a gRPC server holds with SO_REUSEPORT as an IPv4-mapped IPv6 address (as MLServer's does)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from zenml.utils.networking_utils import port_available

from stacks.mlserver.ports import free_ports, is_free, preferred_or_free_port


@pytest.fixture
def grpc_like_listener() -> Iterator[int]:
    """A dual-stack listener with SO_REUSEPORT on [::ffff:127.0.0.1]: how a gRPC server binds."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(("::ffff:127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_zenmls_probe_misses_the_listener_and_ours_does_not(grpc_like_listener: int) -> None:
    assert port_available(grpc_like_listener, "127.0.0.1")  # the collision MLServer ran into
    assert not is_free("127.0.0.1", grpc_like_listener)


def test_a_busy_preferred_port_gives_way_to_a_free_one(grpc_like_listener: int) -> None:
    port = preferred_or_free_port("127.0.0.1", grpc_like_listener)

    assert port != grpc_like_listener
    assert is_free("127.0.0.1", port)


def test_a_free_preferred_port_is_kept() -> None:
    free = free_ports("127.0.0.1", 1)[0]

    assert preferred_or_free_port("127.0.0.1", free) == free


def test_ports_handed_out_together_differ_and_avoid_the_taken_ones(grpc_like_listener: int) -> None:
    ports = free_ports("127.0.0.1", 3, taken=(grpc_like_listener,))

    assert len(set(ports)) == 3
    assert grpc_like_listener not in ports
    assert all(is_free("127.0.0.1", port) for port in ports)
