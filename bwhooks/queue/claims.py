"""Claims of queued work in Redis, shared by every receiver and worker.

Each queued ``(event, handler)`` has one key whose value moves through

    absent -> "enqueuing:<token>" -> "queued" -> "running:<token>" -> "done" (or "dead")

and back from ``running`` to ``queued`` when the handler fails. Every transition is one Lua
script that compares before it writes, so only the owner of a token moves a claim on (Redis
7 has no ``SET ... IFEQ``). A receiver takes ``enqueuing`` before it publishes, so that a
duplicate delivery is not published twice; a worker takes ``running`` with a lease, so
that a redelivered message never runs beside a live run. Published work stays in a pending
index (its envelope, and when it last moved) until it is done, so that work whose message a
broker lost is found and published again (:meth:`RedisClaims.sweep`).

The keys of a queue share one prefix (:func:`key_prefix`): ``bwhooks:`` for the default
queue, ``bwhooks:<name>:`` for another. Under it: ``claim:<key>`` and ``attempts:<key>``
per queued ``(event, handler)``, the pending index ``pending`` (a hash) and ``pending-at``
(a sorted set), and the dead-letter stream ``dead``.
"""

from __future__ import annotations

import enum
import json
import time
from typing import Any

import attrs

__all__ = [
    "DEFAULT_QUEUE",
    "ENQUEUING",
    "QUEUED",
    "RUNNING",
    "Begun",
    "RedisClaims",
    "Start",
    "key_prefix",
]

#: The name of a queue when none is given (``CeleryQueue(app)``).
DEFAULT_QUEUE = "bwhooks"

ENQUEUING = "enqueuing:"
QUEUED = "queued"
RUNNING = "running:"
DONE = "done"
DEAD = "dead"

# Take "enqueuing:<token>" if the key is absent; else say what holds it.
_ENQUEUE = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
# Free the key if ARGV[1] (the owner's value) still holds it: 1 if freed, 0 if not.
_ABANDON = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
# The publish of ARGV[1] landed: `queued` (unless a worker already took it), and the envelope
# ARGV[3] indexed as pending at time ARGV[4] until a worker finishes it (KEYS[2]: envelopes,
# KEYS[3]: when each was last seen moving).
_QUEUED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'queued', 'PX', ARGV[2])
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
"""
# A compare-and-set from ARGV[1] to ARGV[2] for ARGV[3] ms, and the pending index follows:
# ARGV[4] == 'forget' drops the key from it, otherwise its time becomes ARGV[5].
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == 'forget' then
  redis.call('HDEL', KEYS[2], ARGV[6])
  redis.call('ZREM', KEYS[3], ARGV[6])
else
  redis.call('ZADD', KEYS[3], 'XX', ARGV[5], ARGV[6])
end
return 1
"""
# Pending work nobody moved since ARGV[1]: still queued, so its message may be gone (a
# broker that lost it): hand back up to ARGV[3] envelopes to publish again, each marked
# as moving at ARGV[2] so that one sweeper takes it. Finished work leaves the index.
_SWEEP = """
local found = {}
local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, key in ipairs(keys) do
  local held = redis.call('GET', ARGV[4] .. key)
  if held == 'queued' or (held and string.sub(held, 1, 10) == 'enqueuing:') then
    redis.call('ZADD', KEYS[2], ARGV[2], key)
    table.insert(found, redis.call('HGET', KEYS[1], key))
  elseif held and string.sub(held, 1, 8) == 'running:' then
    redis.call('ZADD', KEYS[2], ARGV[2], key)
  else
    redis.call('HDEL', KEYS[1], key)
    redis.call('ZREM', KEYS[2], key)
  end
end
return found
"""
# A worker's start: skip what is done or dead, wait for a live lease (unless it is ARGV[6],
# a lease whose holder is known dead), else take the lease, count the attempt (KEYS[2],
# kept ARGV[3] ms) and note the pending work moved (KEYS[3]).
_BEGIN = """
local held = redis.call('GET', KEYS[1])
if held == 'done' or held == 'dead' then return {held, 0} end
if held and string.sub(held, 1, 8) == 'running:' and held ~= ARGV[6] then
  return {'busy', redis.call('PTTL', KEYS[1]), held}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local attempt = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[5])
return {'run', attempt}
"""
# Keep a lease alive: PEXPIRE only while the owner holds it.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


class Start(enum.Enum):
    """What a worker's :meth:`RedisClaims.begin` found."""

    RUN = "run"  # the lease is this worker's: run the handler
    DONE = "done"  # completed before: a duplicate, skip it
    DEAD = "dead"  # dead-lettered before: skip it
    BUSY = "busy"  # another worker holds a live lease: try again later


@attrs.frozen
class Begun:
    """A worker's start: ``attempt`` (1, 2, ...) when it runs; when busy, ``wait`` seconds
    left on the lease and its ``holder``'s token."""

    start: Start
    attempt: int = 0
    wait: float = 0.0
    holder: str = ""


def key_prefix(name: str = DEFAULT_QUEUE) -> str:
    """The prefix of the Redis keys of the queue ``name``: ``bwhooks:`` for the default
    queue (``bwhooks:claim:...``), ``bwhooks:<name>:`` for another
    (``bwhooks:orders:claim:...``)."""
    return "bwhooks:" if name == DEFAULT_QUEUE else f"bwhooks:{name}:"


class RedisClaims:
    """The claims of queued work, in Redis (``client``: a ``redis.Redis``), under ``prefix``
    (by default the default queue's, :func:`key_prefix`).

    Times are seconds. Needs ``maxmemory-policy noeviction`` on that Redis, as Celery's
    broker does: an evicted claim is a duplicate run.
    """

    def __init__(self, client: Any, *, prefix: str = key_prefix()) -> None:
        self.client = client
        self.prefix = prefix
        self._enqueue = client.register_script(_ENQUEUE)
        self._abandon = client.register_script(_ABANDON)
        self._begin = client.register_script(_BEGIN)
        self._renew = client.register_script(_RENEW)
        self._queued = client.register_script(_QUEUED)
        self._settle = client.register_script(_SETTLE)
        self._sweep = client.register_script(_SWEEP)
        self._pending = (f"{prefix}pending", f"{prefix}pending-at")

    def _key(self, key: str) -> str:
        return f"{self.prefix}claim:{key}"

    # -- receivers --------------------------------------------------------------------------

    def enqueue(self, key: str, token: str, ttl: float) -> str | None:
        """Take ``key`` for publishing (``None``), or return the value that holds it."""
        held = self._enqueue(keys=[self._key(key)], args=[ENQUEUING + token, _ms(ttl)])
        return None if held is None else _text(held)

    def queued(self, key: str, token: str, ttl: float, envelope: str) -> None:
        """The publish of ``token`` landed: ``enqueuing`` becomes ``queued``, and the
        ``envelope`` (JSON) is pending until a worker finishes it (see :meth:`sweep`)."""
        self._queued(
            keys=[self._key(key), *self._pending],
            args=[ENQUEUING + token, _ms(ttl), envelope, time.time(), key],
        )

    def abandon(self, key: str, token: str) -> bool:
        """The publish of ``token`` failed: the key is free for the next delivery."""
        return bool(self._abandon(keys=[self._key(key)], args=[ENQUEUING + token]))

    # -- workers ----------------------------------------------------------------------------

    def begin(
        self, key: str, token: str, lease: float, ttl: float, *, take_over: str = ""
    ) -> Begun:
        """Take the lease for a run, unless the work is done, dead or leased elsewhere;
        ``take_over``: the lease value (:attr:`Begun.holder`) of a holder known dead."""
        reply = self._begin(
            keys=[self._key(key), f"{self.prefix}attempts:{key}", self._pending[1]],
            args=[RUNNING + token, _ms(lease), _ms(ttl), time.time(), key, take_over],
        )
        start = Start(_text(reply[0]))
        if start is Start.BUSY:
            holder = _text(reply[2])[len(RUNNING) :]
            return Begun(start, wait=max(int(reply[1]), 0) / 1000, holder=holder)
        return Begun(start, attempt=int(reply[1]))

    def renew(self, key: str, token: str, lease: float) -> bool:
        """Extend this run's lease; ``False`` when it is no longer this run's."""
        return bool(self._renew(keys=[self._key(key)], args=[RUNNING + token, _ms(lease)]))

    def finish(self, key: str, token: str, ttl: float) -> bool:
        """The run completed: ``done`` for ``ttl`` (duplicates are skipped meanwhile)."""
        return self._settled(key, RUNNING + token, DONE, ttl)

    def give_back(self, key: str, token: str, ttl: float) -> bool:
        """The run failed: ``queued`` again, so that the retry can take the lease."""
        return self._settled(key, RUNNING + token, QUEUED, ttl, forget=False)

    def bury(self, key: str, token: str, ttl: float) -> bool:
        """The work was dead-lettered: ``dead`` for ``ttl``."""
        return self._settled(key, RUNNING + token, DEAD, ttl)

    def sweep(self, idle: float, limit: int = 100) -> list[str]:
        """Envelopes (JSON) of work still ``queued`` that nothing moved for ``idle``
        seconds: its message may be lost (a broker that died between handing a message to
        a worker and recording it unacknowledged). Each is returned to one caller only."""
        now = time.time()
        found = self._sweep(
            keys=list(self._pending),
            args=[now - idle, now, limit, f"{self.prefix}claim:"],
        )
        return [_text(envelope) for envelope in found if envelope is not None]

    def _settled(
        self, key: str, expected: str, value: str, ttl: float, *, forget: bool = True
    ) -> bool:
        return bool(
            self._settle(
                keys=[self._key(key), *self._pending],
                args=[expected, value, _ms(ttl), "forget" if forget else "keep", time.time(), key],
            )
        )

    def state(self, key: str) -> str | None:
        """The claim's value (``"queued"``, ``"running:..."``, ``"done"``...), for tools."""
        held = self.client.get(self._key(key))
        return None if held is None else _text(held)

    # -- dead letters -----------------------------------------------------------------------

    def add_dead_letter(self, record: dict[str, Any], max_length: int) -> None:
        """Keep ``record`` on the dead-letter stream (about ``max_length`` records)."""
        self.client.xadd(
            f"{self.prefix}dead",
            {"record": json.dumps(record)},
            maxlen=max_length,
            approximate=True,
        )

    def dead_letters(self, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` dead-letter records, oldest first."""
        entries = self.client.xrevrange(f"{self.prefix}dead", count=count)
        records = [json.loads(fields[b"record"]) for _, fields in entries]
        return records[::-1]


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
