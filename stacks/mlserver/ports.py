"""Ports for MLServer's three servers (REST, gRPC, metrics) that no other listener holds.

ZenML's own probe binds with SO_REUSEPORT set, so it calls a port free while a gRPC server (which
sets SO_REUSEPORT too, as MLServer's does) listens on it, also as `[::ffff:127.0.0.1]`: a third
model server then failed with "address already in use". Here a port is free only if a server
could bind it without sharing it, and the ports that are not preferred are handed out by the
kernel, which never hands out a port in use.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack


def is_free(host: str, port: int) -> bool:
    """Whether a server could bind `host:port` now: as uvicorn does (SO_REUSEADDR, so connections
    of an earlier server in TIME_WAIT do not count), without SO_REUSEPORT (so a listener counts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(host: str, count: int, taken: tuple[int, ...] = ()) -> list[int]:
    """`count` different ports on `host` that nothing listens on, none of them in `taken`."""
    ports: list[int] = []
    with ExitStack() as held:  # all held open at once, so the kernel gives different ports
        while len(ports) < count:
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
            if port not in taken:
                ports.append(port)
    return ports


def preferred_or_free_port(host: str, preferred: int | None, previous: int | None = None) -> int:
    """`preferred` if a server could bind it, else the port used last time, else one from the kernel."""
    for port in (preferred, previous):
        if port and is_free(host, port):
            return port
    return free_ports(host, 1)[0]
