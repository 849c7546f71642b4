"""Real Redis stores of other shapes for the queue tests, beside tests/processes.py's plain
redis-server: a one-node Redis Cluster, a redis-server with a password, and a Redis Sentinel
watching it (``redis-server <conf> --sentinel``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis
from processes import Service, accepts, start, start_redis, wait_for

#: The name the tests' Sentinels know their master by.
MASTER = "bwhooks-master"


def _binary() -> str:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: `make test` installs it (Debian package)"
    return binary


def start_server(port: int, directory: Path, *options: str) -> Service:
    """redis-server on 127.0.0.1:``port`` (noeviction, nothing saved), with ``options``."""
    return start_redis(port, directory, *options)


def free_cluster_port() -> int:
    """A free port for a cluster node: at most 55535, its bus port (10,000 higher) free too."""
    import socket

    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port > 55535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise AssertionError("no free port for a cluster node and its bus")


def start_cluster(port: int, directory: Path) -> Service:
    """A Redis Cluster of one node on 127.0.0.1:``port`` holding every slot, ready when the
    node says ``cluster_state:ok``."""
    service = start_server(
        port,
        directory,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        str(directory / f"nodes-{port}.conf"),
    )
    with redis.Redis(port=port) as node:
        node.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)

        def ready() -> bool:
            info = node.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            return "cluster_state:ok" in text

        wait_for(ready, "cluster_state:ok", service)
    return service


def start_sentinel(port: int, master_port: int, directory: Path, password: str) -> Service:
    """A Redis Sentinel on 127.0.0.1:``port`` monitoring the redis-server on ``master_port``
    (quorum 1) as :data:`MASTER`, ready once it names that master."""
    config = directory / f"sentinel-{port}.conf"  # the Sentinel rewrites it: its own file
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
        f"sentinel auth-pass {MASTER} {password}\n"
    )
    service = start([_binary(), str(config), "--sentinel"], directory / f"sentinel-{port}.log")
    wait_for(lambda: accepts(port), "redis-sentinel start", service)
    with redis.Redis(port=port) as sentinel:
        wait_for(
            lambda: sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER),
            "the Sentinel knows its master",
            service,
        )
    return service
