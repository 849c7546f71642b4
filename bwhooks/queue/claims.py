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

A dead letter re-queued by an operator moves its claim from ``dead`` (or lapsed) back to
``enqueuing``, its attempts counted afresh, in one step (:meth:`RedisClaims.revive`).

The keys of a queue share one prefix (:func:`key_prefix`): ``{bwhooks}:`` for the default
queue, ``{bwhooks:<name>}:`` for another. Under it: ``claim:<key>`` and ``attempts:<key>``
per queued ``(event, handler)``, ``lease:<key>`` while it runs, the pending index
``pending`` (a hash) and ``pending-at`` (a sorted set), and the dead-letter stream ``dead``.
The braces are a Redis Cluster hash tag: every key of a queue is in one slot, so each script
(which declares every key it touches in ``KEYS``) runs on a cluster, on the node holding the
queue. :meth:`RedisClaims.probe` tries each script on the store once.
"""

from __future__ import annotations

import enum
import json
import re
import time
import uuid
from collections.abc import Iterator
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
# Whether the claim (KEYS[1]) is still ARGV[1]'s under its live lease (KEYS[2] is ARGV[2]).
_HELD = """
return redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[2]
"""
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""

# Dead letter ARGV[6] (on the stream KEYS[5]) sent back to work: its claim (KEYS[1]), `dead`
# or lapsed, taken as ARGV[1] for ARGV[2] ms (a receiver's `enqueuing`), its attempts
# (KEYS[2]) counted afresh, its envelope ARGV[3] pending from time ARGV[4] (KEYS[3], KEYS[4])
# under its key ARGV[5]. Work done meanwhile: the letter is removed. Returns 'revived',
# 'gone' (no such letter), 'done', or the value that holds the claim (queued, running...).
_REVIVE = """
if #redis.call('XRANGE', KEYS[5], ARGV[6], ARGV[6]) == 0 then return 'gone' end
local held = redis.call('GET', KEYS[1])
if held == 'done' then
  redis.call('XDEL', KEYS[5], ARGV[6])
  return 'done'
end
if held and held ~= 'dead' then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
return 'revived'
"""
#: What a Redis stream names an entry with: milliseconds and a sequence number.
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}", re.ASCII)


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
    """The prefix of the Redis keys of the queue ``name``: ``{bwhooks}:`` for the default
    queue (``{bwhooks}:claim:...``), ``{bwhooks:<name>}:`` for another
    (``{bwhooks:orders}:claim:...``). The braces are a Redis Cluster hash tag: a queue's
    keys share one slot."""
    return "{bwhooks}:" if name == DEFAULT_QUEUE else f"{{bwhooks:{name}}}:"


class RedisClaims:
    """The claims of queued work, in Redis (``client``: a ``redis.Redis``, or a
    ``redis.cluster.RedisCluster``), under ``prefix`` (by default the default queue's,
    :func:`key_prefix`; on a cluster, a prefix with a hash tag).

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
        self._held = client.register_script(_HELD)
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

    def queued(
        self, key: str, token: str, ttl: float, envelope: str, *, replicas: int = 0, wait: float = 0
    ) -> int:
        """The publish of ``token`` landed: ``enqueuing`` becomes ``queued``, and the
        ``envelope`` (JSON) is pending until a worker finishes it (see :meth:`sweep`).
        With ``replicas``, then waits up to ``wait`` seconds (Redis ``WAIT``, on the same
        connection) for that many replicas to acknowledge every write made so far: the
        number that did (``0`` without ``replicas``)."""
        keys = [self._key(key), *self._pending]
        args = [ENQUEUING + token, _ms(ttl), envelope, time.time(), key]
        if not replicas:
            self._queued(keys=keys, args=args)
            return 0
        with self.client.pipeline(transaction=False) as pipe:  # one connection: WAIT covers it
            self._queued(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAIT", replicas, _ms(wait))
            return int(pipe.execute()[-1])

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

    def held(self, key: str, token: str) -> bool:
        """Whether the run ``token`` still holds ``key``: its claim ``running:<token>``
        under a live lease (one script: one round trip, read at one instant)."""
        return bool(
            self._held(keys=[self._key(key), self._lease(key)], args=[RUNNING + token, token])
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

    # -- the start-up self-check -------------------------------------------------------------

    def probe(self) -> list[str]:
        """Run each script once on the store, on keys of a probe of its own (under the
        prefix, so in the queue's slot; expiring within a second, deleted at the end): what
        fails, grouped by error, with the reason (keys on several slots, a script or user
        refused, a read-only replica; an unreachable store stops the probe at once). An
        empty list when every script ran."""
        failures: dict[str, tuple[str, list[str]]] = {}  # by error: its reason, the scripts
        keys = _ProbeKeys(self.prefix, uuid.uuid4().hex)
        try:
            for name, script, script_keys, args in self._probe_steps(keys):
                try:
                    script(keys=script_keys, args=args)
                except Exception as exc:
                    kind = type(exc).__name__
                    failures.setdefault(kind, (f"{kind}: {exc}", []))[1].append(name)
                    if _unreachable(exc):
                        break
        finally:
            keys.remove(self.client)
        return [_failed_scripts(names, reason) for reason, names in failures.values()]

    def _probe_steps(self, keys: _ProbeKeys) -> list[tuple[str, Any, list[str], list[Any]]]:
        """Each script, named, with its keys and arguments: the life of one probe's work."""
        now, ttl, token = time.time(), _ms(1.0), keys.token
        pending = [keys.claim, keys.envelopes, keys.moved]
        running = RUNNING + token
        return [
            ("enqueue", self._enqueue, pending, [ENQUEUING + token, ttl, "{}", now, token]),
            ("queued", self._queued, pending, [ENQUEUING + token, ttl, "{}", now, token]),
            (
                "begin",
                self._begin,
                [keys.claim, keys.attempts, keys.moved, keys.lease],
                [running, ttl, ttl, now, token, "", token],
            ),
            ("renew", self._renew, [keys.claim, keys.lease], [running, token, ttl]),
            ("held", self._held, [keys.claim, keys.lease], [running, token]),
            (
                "sweep",
                self._sweep,
                [keys.claim, keys.lease, keys.envelopes, keys.moved],
                [now - 3600, now, token],
            ),
            (
                "settle",
                self._settle,
                [*pending, keys.lease],
                [running, DONE, ttl, "forget", now, token],
            ),
            ("abandon", self._abandon, pending, [ENQUEUING + token, token]),
        ]

    # -- dead letters -----------------------------------------------------------------------

    def add_dead_letter(self, record: dict[str, Any], max_length: int) -> str:
        """Keep ``record`` on the dead-letter stream (about ``max_length`` records); returns
        the id the stream gave it."""
        return _text(
            self.client.xadd(
                f"{self.prefix}dead",
                {"record": json.dumps(record)},
                maxlen=max_length,
                approximate=True,
            )
        )

    def dead_letters(self, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` dead-letter records, oldest first, each with its ``id``."""
        entries = self.client.xrevrange(f"{self.prefix}dead", count=count)
        return [_letter(entry) for entry in reversed(entries)]

    def dead_letter(self, letter_id: str) -> dict[str, Any] | None:
        """The record of dead letter ``letter_id`` (with its ``id``); ``None`` when there is
        none, or ``letter_id`` is no stream id."""
        if not _STREAM_ID.fullmatch(letter_id):
            return None
        entries = self.client.xrange(f"{self.prefix}dead", letter_id, letter_id)
        return _letter(entries[0]) if entries else None

    def all_dead_letters(self, batch: int = 100) -> Iterator[dict[str, Any]]:
        """Every dead-letter record (with its ``id``), oldest first, read ``batch`` at a time,
        up to the newest when first asked: letters added meanwhile wait for the next call."""
        stream = f"{self.prefix}dead"
        newest = self.client.xrevrange(stream, count=1)
        if not newest:
            return
        start, last = "-", _text(newest[0][0])
        while True:
            entries = self.client.xrange(stream, start, last, count=batch)
            yield from (_letter(entry) for entry in entries)
            if len(entries) < batch:
                return
            start = f"({_text(entries[-1][0])}"  # after it

    def revive(self, letter_id: str, key: str, token: str, ttl: float, envelope: str) -> str:
        """Send dead letter ``letter_id``'s work (``key``) back to be published, in one step:
        unless it is done or held, its claim (``dead``, or lapsed) becomes ``enqueuing`` for
        ``token`` (kept ``ttl`` seconds, as :meth:`enqueue` takes it), its attempts are
        counted afresh and its ``envelope`` (JSON) is pending. Returns ``"revived"``;
        ``"done"`` (the work was done meanwhile: the letter is removed); ``"gone"`` (no
        such letter); or the value holding the claim (the work is queued or running)."""
        revive = self.client.register_script(_REVIVE)  # no I/O: loaded when first run
        keys = [self._key(key), f"{self.prefix}attempts:{key}", *self._pending]
        args = [ENQUEUING + token, _ms(ttl), envelope, time.time(), key, letter_id]
        return _text(revive(keys=[*keys, f"{self.prefix}dead"], args=args))

    def remove_dead_letter(self, letter_id: str) -> None:
        """Take dead letter ``letter_id`` off the stream (it was published again)."""
        self.client.xdel(f"{self.prefix}dead", letter_id)

    # -- gauges -----------------------------------------------------------------------------

    def pending_count(self) -> int:
        """How much work is pending: published (or being published), not finished."""
        return int(self.client.zcard(self._pending[1]))

    def oldest_pending_age(self) -> float:
        """Seconds since the pending work that moved least recently last moved; ``0.0``
        when nothing is pending."""
        oldest = self.client.zrange(self._pending[1], 0, 0, withscores=True)
        return max(0.0, time.time() - float(oldest[0][1])) if oldest else 0.0

    def dead_letter_count(self) -> int:
        """How many dead letters the stream holds."""
        return int(self.client.xlen(f"{self.prefix}dead"))


class _ProbeKeys:
    """The keys of one :meth:`RedisClaims.probe`, ``<prefix>probe:<token>:...``: apart from
    every work's keys, under the claims' prefix, so in the same slot as the queue's own."""

    def __init__(self, prefix: str, token: str) -> None:
        self.token = token
        parts = ("claim", "attempts", "lease", "pending", "pending-at")
        self.claim, self.attempts, self.lease, self.envelopes, self.moved = (
            f"{prefix}probe:{token}:{part}" for part in parts
        )

    def remove(self, client: Any) -> None:
        """Delete the probe's keys, one at a time (each may be on a slot of its own); a
        store that does not answer keeps nothing for long (the strings expire)."""
        for name in (self.claim, self.attempts, self.lease, self.envelopes, self.moved):
            try:
                client.delete(name)
            except Exception:
                return


def _unreachable(error: Exception) -> bool:
    """Whether ``error`` says the store could not be reached (no point trying more)."""
    try:
        from redis.exceptions import ConnectionError, TimeoutError
    except ImportError:  # pragma: no cover - a client of another library
        return False
    return isinstance(error, (ConnectionError, TimeoutError))


def _failed_scripts(names: list[str], reason: str) -> str:
    listed = ", ".join(names)
    which = f"scripts {listed} fail" if len(names) > 1 else f"script {listed} fails"
    return (
        f"the claims {which} on the claims store ({reason}): queued work cannot be claimed, "
        "run or finished there"
    )


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _letter(entry: Any) -> dict[str, Any]:
    """A dead-letter record of the stream's ``(id, fields)`` entry, with its ``id``."""
    letter_id, fields = entry
    record: dict[str, Any] = json.loads(fields[b"record"])
    return {**record, "id": _text(letter_id)}
