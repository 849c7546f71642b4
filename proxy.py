"""A TCP proxy in front of Redis that can stall (accept, never answer) and heal."""

from __future__ import annotations

import select
import socket
import threading
import time


class Proxy:
    def __init__(self, upstream_port: int, port: int) -> None:
        self.up, self.port = upstream_port, port
        self.mode = "forward"  # forward | stall
        self.conns: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(256)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            c, _ = self.srv.accept()
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        while self.mode == "stall":  # accepted, never answered
            time.sleep(0.05)
            if c.fileno() < 0:
                return
        try:
            u = socket.create_connection(("127.0.0.1", self.up))
        except OSError:
            c.close()
            return
        with self.lock:
            self.conns.append((c, u))
        socks = [c, u]
        try:
            while True:
                if self.mode == "stall":
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select(socks, [], [], 0.05)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (u if s is c else c).sendall(data)
        except OSError:
            pass
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass

    def stall(self) -> None:
        self.mode = "stall"

    def heal(self, reset: bool = False) -> None:
        if reset:
            with self.lock:
                for c, u in self.conns:
                    for s in (c, u):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                self.conns.clear()
        self.mode = "forward"
