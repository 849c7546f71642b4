"""A worker's leases: the token a run holds its claim with, whether a holder's process died,
and the renewal of a lease while a handler runs."""

from __future__ import annotations

import os
import socket
import threading
import uuid

from bwhooks.queue.context import QueueContext

__all__ = ["Lease", "holder_is_dead", "run_token"]


class Lease:
    """Renews a run's lease every third of its length while the handler runs (for pools
    that cannot stop a handler at its time limit: ``queue.renew_leases``)."""

    def __init__(self, queue: QueueContext, key: str, token: str) -> None:
        self.queue, self.key, self.token = queue, key, token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        if self.queue.renew_leases:
            self._thread = threading.Thread(target=self._renew, daemon=True)
            self._thread.start()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _renew(self) -> None:
        queue = self.queue
        while not self._stop.wait(queue.lease / 3):
            try:
                if not queue.claims.renew(self.key, self.token, queue.lease):
                    queue.logger.warning("lost the lease of %s while running", self.key)
                    return
            except Exception:
                queue.logger.warning("could not renew the lease of %s", self.key)


def _machine() -> str:
    """This machine, across reboots: its host name and boot id."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            boot = file.read().strip()[:8]
    except OSError:
        boot = "-"
    return f"{socket.gethostname()}/{boot}"


_MACHINE = _machine()


def run_token() -> str:
    """A run's lease token: this machine, this process, and a random part."""
    return f"{_MACHINE}:{os.getpid()}:{uuid.uuid4().hex}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease's holder is a process of this machine that no longer runs (a killed
    pool child): only then can a lease be taken over before it expires."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _MACHINE or not parts[1].isdigit():
        return False
    pid_text = parts[1]
    if int(pid_text) == os.getpid():
        return False
    if not os.path.isdir("/proc"):
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    try:
        with open(f"/proc/{pid_text}/stat") as file:
            state = file.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return state in ("Z", "X")  # a zombie, not reaped yet: dead all the same
