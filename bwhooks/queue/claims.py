"""Claims of queued work in Redis, shared by every receiver and worker.

Each queued ``(event, handler)`` has one key whose value moves through

    absent -> "enqueuing:<token>" -> "queued" -> "running:<token>" -> "done" (or "dead")

and back from ``running`` to ``queued`` when the handler fails. Every transition is one Lua
script that compares before it writes, so only the owner of a token moves a claim on (Redis
7 has no ``SET ... IFEQ``). A receiver takes ``enqueuing`` before it publishes, so that a
duplicate delivery is not published twice; a worker takes ``running`` with a lease, so
that a redelivered message never runs beside a live run. Published work stays in a pending
index (its envelope, and when it last moved) until it is done, so that work whose message a
broker lost is found and published again (:meth:`RedisClaims.sweep`). A publish that failed
takes its work out of the index, unless it was there before the claim (an earlier claim
lapsed while publishing: the claim reads ``enqueuing:<token>+pending``); a receiver finding
work held, not finished and not in the index (a publish reported failed that the broker took
after all, then run) puts it back before answering the delivery as a duplicate.

The lease is not the claim: ``running:<token>`` is kept as long as ``queued`` (the
``ttl`` of done work), and the lease is a key of its own, ``lease:<key>``, that lapses
``lease`` seconds after it was taken or renewed. A lapsed lease is work still pending whose
holder stopped (a node lost with its broker's copy of the message): the next run takes it
over and the sweep publishes it again; its holder, if it finishes after all and nobody took
the work over, still marks it ``done``.

The keys of a queue share one prefix (:func:`key_prefix`): ``bwhooks:`` for the default
queue, ``bwhooks:<name>:`` for another. Under it: ``claim:<key>`` and ``attempts:<key>``
per queued ``(event, handler)``, ``lease:<key>`` while it runs, the pending index
``pending`` (a hash) and ``pending-at`` (a sorted set), and the dead-letter stream ``dead``.
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
# With it, the envelope ARGV[3] (when given) is pending from time ARGV[4] (KEYS[2]: the
# envelopes, KEYS[3]: when each last moved), so that a publish that lands is never without it.
# Work pending already (an earlier claim lapsed while it was published, maybe answered 2xx) is
# claimed as "enqueuing:<token>+pending": its abandon keeps it pending.
# Work held but not finished and not pending (a worker ran the message of a publish that was
# abandoned, the broker having taken it after all) is pending from its duplicate on: the
# duplicate is answered as handled, so the work must not be lost.
_ENQUEUE = """
local held = redis.call('GET', KEYS[1])
if held then
  if ARGV[3] ~= '' and held ~= 'done' and held ~= 'dead'
      and redis.call('HEXISTS', KEYS[2], ARGV[5]) == 0 then
    redis.call('HSET', KEYS[2], ARGV[5], ARGV[3])
    redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
  end
  return held
end
local claim = ARGV[1]
if ARGV[3] ~= '' then
  if redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then claim = claim .. '+pending' end
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
end
redis.call('SET', KEYS[1], claim, 'PX', ARGV[2])
return false
"""
# Free the key if ARGV[1] (the owner's value) still holds it, and forget its pending entry
# unless the work was pending before that claim: 1 if freed, 0 if not.
_ABANDON = """
local held = redis.call('GET', KEYS[1])
if held ~= ARGV[1] and held ~= ARGV[1] .. '+pending' then return 0 end
redis.call('DEL', KEYS[1])
if held == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return 1
"""
# The publish of ARGV[1] landed: `queued` (unless a worker already took it), and the envelope
# ARGV[3] indexed as pending at time ARGV[4] until a worker finishes it (KEYS[2]: envelopes,
# KEYS[3]: when each was last seen moving), unless a worker finished it already.
_QUEUED = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or held == ARGV[1] .. '+pending' then
  redis.call('SET', KEYS[1], 'queued', 'PX', ARGV[2])
elseif held == 'done' or held == 'dead' then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
"""
# A compare-and-set from ARGV[1] to ARGV[2] for ARGV[3] ms that ends the run's lease (KEYS[4],
# lapsed or not: the claim is still the run's), and the pending index follows: ARGV[4] ==
# 'forget' drops the key from it, otherwise its time becomes ARGV[5].
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[4])
if ARGV[4] == 'forget' then
  redis.call('HDEL', KEYS[2], ARGV[6])
  redis.call('ZREM', KEYS[3], ARGV[6])
else
  redis.call('ZADD', KEYS[3], 'XX', ARGV[5], ARGV[6])
end
return 1
"""
# Pending work ARGV[3] (KEYS[1]: its claim, KEYS[2]: its lease) that nothing moved since
# ARGV[1] (KEYS[4]), and not finished: its message may be gone (a broker that lost it, a node
# lost with its unacknowledged copy), whether it is queued, running under a lapsed lease, or
# its claim lapsed while being published. Marked as moving at ARGV[2], so that one sweeper
# takes it, and its envelope (KEYS[3]) handed back to publish again; a live lease only
# counts as moving. Finished work leaves the index.
_SWEEP = """
local moved = redis.call('ZSCORE', KEYS[4], ARGV[3])
if not moved or tonumber(moved) > tonumber(ARGV[1]) then return false end
local held = redis.call('GET', KEYS[1])
if held == 'done' or held == 'dead' then
  redis.call('HDEL', KEYS[3], ARGV[3])
  redis.call('ZREM', KEYS[4], ARGV[3])
  return false
end
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
if held and string.sub(held, 1, 8) == 'running:' and redis.call('EXISTS', KEYS[2]) == 1 then
  return false
end
return redis.call('HGET', KEYS[3], ARGV[3]) or false
"""
# A worker's start: skip what is done or dead, wait for a live lease (KEYS[4]) unless it is
# ARGV[6]'s, a holder known dead; else take the claim and the lease (ARGV[7], for ARGV[2]
# ms; a lapsed lease is taken over), count the attempt (KEYS[2], kept ARGV[3] ms, as the
# claim) and note the pending work moved (KEYS[3]).
_BEGIN = """
local held = redis.call('GET', KEYS[1])
if held == 'done' or held == 'dead' then return {held, 0} end
if held and string.sub(held, 1, 8) == 'running:' and held ~= ARGV[6] then
  local left = redis.call('PTTL', KEYS[4])
  if left ~= -2 then return {'busy', math.max(left, 0), held} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[2])
local attempt = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[5])
return {'run', attempt}
"""
# Keep a lease (KEYS[2]) alive for ARGV[3] ms while the claim (KEYS[1]) is still ARGV[1]'s:
# a lapsed lease nobody took over is taken again.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
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

    def _lease(self, key: str) -> str:
        return f"{self.prefix}lease:{key}"

    # -- receivers --------------------------------------------------------------------------

    def enqueue(self, key: str, token: str, ttl: float, envelope: str = "") -> str | None:
        """Take ``key`` for publishing (``None``), or return the value that holds it; the
        ``envelope`` (JSON) is pending from then on, in the same step (see :meth:`sweep`),
        also when the work is held, not finished, and no longer pending."""
        held = self._enqueue(
            keys=[self._key(key), *self._pending],
            args=[ENQUEUING + token, _ms(ttl), envelope, time.time(), key],
        )
        return None if held is None else _text(held)

    def queued(self, key: str, token: str, ttl: float, envelope: str) -> None:
        """The publish of ``token`` landed: ``enqueuing`` becomes ``queued``, and the
        ``envelope`` (JSON) is pending until a worker finishes it (see :meth:`sweep`)."""
        self._queued(
            keys=[self._key(key), *self._pending],
            args=[ENQUEUING + token, _ms(ttl), envelope, time.time(), key],
        )

    def abandon(self, key: str, token: str) -> bool:
        """The publish of ``token`` failed: the key is free for the next delivery, and the
        work no longer pending, unless it was before this claim (an earlier publish)."""
        return bool(
            self._abandon(keys=[self._key(key), *self._pending], args=[ENQUEUING + token, key])
        )

    # -- workers ----------------------------------------------------------------------------

    def begin(
        self, key: str, token: str, lease: float, ttl: float, *, take_over: str = ""
    ) -> Begun:
        """Take the lease for a run, unless the work is done, dead or under a live lease
        elsewhere (a lapsed one is taken over); ``take_over``: the claim's value
        (``running:`` and :attr:`Begun.holder`) of a holder known dead. The claim is kept
        ``ttl`` seconds, the lease ``lease`` seconds unless renewed."""
        reply = self._begin(
            keys=[
                self._key(key),
                f"{self.prefix}attempts:{key}",
                self._pending[1],
                self._lease(key),
            ],
            args=[RUNNING + token, _ms(lease), _ms(ttl), time.time(), key, take_over, token],
        )
        start = Start(_text(reply[0]))
        if start is Start.BUSY:
            holder = _text(reply[2])[len(RUNNING) :]
            return Begun(start, wait=max(int(reply[1]), 0) / 1000, holder=holder)
        return Begun(start, attempt=int(reply[1]))

    def renew(self, key: str, token: str, lease: float) -> bool:
        """Extend this run's lease (take it again if it lapsed and nobody took the work
        over); ``False`` when the work is no longer this run's."""
        return bool(
            self._renew(
                keys=[self._key(key), self._lease(key)], args=[RUNNING + token, token, _ms(lease)]
            )
        )

    def finish(self, key: str, token: str, ttl: float) -> bool:
        """The run completed: ``done`` for ``ttl`` (duplicates are skipped meanwhile), also
        after its lease lapsed if nobody took the work over; ``False`` if somebody did."""
        return self._settled(key, RUNNING + token, DONE, ttl)

    def give_back(self, key: str, token: str, ttl: float) -> bool:
        """The run failed: ``queued`` again, so that the retry can take the lease."""
        return self._settled(key, RUNNING + token, QUEUED, ttl, forget=False)

    def bury(self, key: str, token: str, ttl: float) -> bool:
        """The work was dead-lettered: ``dead`` for ``ttl``."""
        return self._settled(key, RUNNING + token, DEAD, ttl)

    def sweep(self, idle: float, limit: int = 100) -> list[str]:
        """Envelopes (JSON) of work that nothing moved for ``idle`` seconds and is not
        finished: still ``queued``, ``running`` under a lapsed lease, or its claim lapsed
        while it was being published. Its message may be lost (a broker that died between
        handing a message to a worker and recording it unacknowledged, a node lost with its
        unacknowledged copy). Each is returned to one caller only: one compare-and-set per
        work, with its keys declared."""
        now = time.time()
        envelopes, moved = self._pending
        found = []
        for entry in self.client.zrangebyscore(moved, "-inf", now - idle, start=0, num=limit):
            key = _text(entry)
            envelope = self._sweep(
                keys=[self._key(key), self._lease(key), envelopes, moved],
                args=[now - idle, now, key],
            )
            if envelope is not None:
                found.append(_text(envelope))
        return found

    def _settled(
        self, key: str, expected: str, value: str, ttl: float, *, forget: bool = True
    ) -> bool:
        return bool(
            self._settle(
                keys=[self._key(key), *self._pending, self._lease(key)],
                args=[expected, value, _ms(ttl), "forget" if forget else "keep", time.time(), key],
            )
        )

    def lease_left(self, key: str) -> float:
        """Seconds left on the lease of ``key``'s run; ``0.0`` when none is live (lapsed,
        or no run holds it), for tools."""
        return max(int(self.client.pttl(self._lease(key))), 0) / 1000

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
