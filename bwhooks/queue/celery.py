"""Queued handlers on Celery workers (``pip install "bwhooks[celery]"``).

.. code-block:: python

    celery_app = Celery("callbacks", broker="redis://127.0.0.1:6379/0")
    queue = CeleryQueue(celery_app)

    @receiver.on(MessageDeliveredEvent, queue=queue)   # celery -A module:celery_app worker
    def delivered(event: MessageDeliveredEvent) -> None: ...

The receiver answers once the broker took the event; a worker runs the same function. The
task acknowledges a message only once its handler is done (late acknowledgement, requeue
when a worker child is lost, requeue after a hard time limit); the claims in Redis make each
``(event, handler)`` complete once across every receiver and worker, as long as Redis keeps
what it acknowledged: docs/scaling.md "What is guaranteed" says under which settings.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from celery import Celery, signals
from celery.exceptions import Reject, Retry

from bwhooks.events import Event
from bwhooks.idempotency import DAY
from bwhooks.queue.claims import DEFAULT_QUEUE, RedisClaims, key_prefix
from bwhooks.queue.context import Deadline, PublishTimeout, QueueOutcome, publish_deadline
from bwhooks.queue.envelopes import DeadLetter, Envelope
from bwhooks.queue.publishing import handler_key
from bwhooks.queue.routes import Route, RouteOptions, task_name
from bwhooks.queue.running import Ran, Verdict
from bwhooks.queue.spool import SPOOL_DIR_VARIABLE, Spool, default_spool_path, unchosen_spool_risk
from bwhooks.queue.tasks import TaskQueue
from bwhooks.registry import Handler

__all__ = ["CeleryQueue", "redis_url_of", "service_name", "transport_defaults"]

_DEFAULT_SPOOL: Any = object()
_NO_CLAIMS = (
    "CeleryQueue needs Redis for its claims: pass redis=redis.Redis(...) when the broker "
    "is not Redis (or not configured yet when the queue is built)"
)
_LATE_OPTIONS = (
    "bwhooks queue %r: broker_transport_options were replaced after the app's connections "
    "were made: those lack the socket timeouts (and RabbitMQ's confirms) bwhooks sets; set "
    "the app's options before its first publish, or include them"
)
_UNROUTED = RouteOptions()
_ADDED = "_bwhooks_transport_added"  # the transport options bwhooks set on an app
_WORKER = "_bwhooks_worker"  # an app a worker runs
_NO_MASTER = (
    "CeleryQueue's claims go to the Sentinel's master: set "
    'broker_transport_options={"master_name": ...} (as Celery\'s sentinel:// broker needs)'
)
_UNSAFE_POOLS = ("gevent", "eventlet")  # kombu's restore of unacked messages misbehaves there


class CeleryQueue(TaskQueue):
    """Runs handlers registered with ``queue=`` on the workers of ``app``.

    Defaults suit Bandwidth: a handler gets ``soft_time_limit`` (60 s) then is killed at
    ``time_limit`` (90 s) and retried; its claim's ``lease`` (120 s) outlives the time
    limit, and the broker's ``visibility_timeout`` (Celery's 3600 s) outlives both. On a
    pool that cannot stop a handler (threads, solo) its lease is renewed until
    ``time_limit``, then left to lapse: the work runs again elsewhere.
    Claiming and publishing an event give up after ``publish_timeout`` seconds together
    (3 s, inside Bandwidth's 10 s): the wait for one of Celery's ``broker_pool_limit``
    connections included.
    ``name`` names the task, the Redis keys and the spool: by default the Celery app's main
    name (:func:`service_name`), so that services sharing a Redis keep their work apart.
    ``redis`` (a ``redis.Redis``, or a ``redis.cluster.RedisCluster``) holds the claims and
    dead letters, under the queue's prefix (:func:`~bwhooks.queue.claims.key_prefix`:
    ``{bwhooks:<name>}:``); by default the broker's own Redis, a ``sentinel://`` broker's
    master included (a broker of another kind without ``redis``, or a Sentinel without
    ``master_name``, is refused here, :class:`ValueError`).
    :meth:`route` sends a handler's work to its own broker queue, priority or rate limit.
    ``spool``: where voice events wait while the broker is down (see
    :mod:`bwhooks.queue.spool`; ``None`` answers them ``500``, which Bandwidth does not retry);
    by default :func:`~bwhooks.queue.spool.default_spool_path` (``$BWHOOKS_SPOOL_DIR``), with a
    warning when nobody chose it and it would be lost (a temporary folder, a container's own
    filesystem).
    Each worker publishes again work its broker lost (still queued, unmoved for
    :attr:`orphan_after` seconds).
    """

    time_limit: float  # never None here: Celery's hard limit

    def __init__(
        self,
        app: Celery,
        *,
        name: str | None = None,
        redis: Any = None,
        spool: str | os.PathLike[str] | None = _DEFAULT_SPOOL,
        publish_timeout: float = 3.0,
        replicas: int = 0,
        soft_time_limit: float = 60.0,
        time_limit: float = 90.0,
        lease: float | None = None,
        max_attempts: int = 8,
        retry_backoff: float = 2.0,
        retry_backoff_max: float = 300.0,
        done_ttl: float = 2 * DAY,
        orphan_after: float | None = None,
        on_dead_letter: Callable[[DeadLetter], Any] | None = None,
        metrics: Callable[[QueueOutcome], Any] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if redis is None:  # else every callback would fail once answered
            _require_broker_redis(app.conf.broker_url or "", app.conf.broker_transport_options)
        name = service_name(app) if name is None else name
        self.app = app
        self.soft_time_limit = soft_time_limit
        self.time_limit = time_limit
        self._redis = redis
        self._orphan_after = orphan_after
        spool_path = default_spool_path(name) if spool is _DEFAULT_SPOOL else spool
        super().__init__(
            None,  # made from the broker's Redis when first needed: make_claims()
            name=name,
            spool=None if spool_path is None else Spool(spool_path),
            lease=lease if lease is not None else time_limit + 30.0,
            max_attempts=max_attempts,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
            done_ttl=done_ttl,
            publish_timeout=publish_timeout,
            replicas=replicas,
            renew_leases=True,  # until a prefork worker starts: it enforces the time limits
            time_limit=time_limit,  # else renewal stops there
            on_dead_letter=on_dead_letter,
            metrics=metrics,
            logger=logger,
        )
        risk = unchosen_spool_risk(name) if spool is _DEFAULT_SPOOL else None
        _prepare(app, redis, publish_timeout, spool_risk=risk, logger=self.logger, name=name)
        #: Handlers routed with :meth:`route`, by name, and their options.
        self.routes: dict[str, RouteOptions] = {}
        self._tasks: dict[str | None, Any] = {}
        #: The Celery task that runs this queue's work (one more per route's rate limit).
        self.task = self._task(None)
        signals.worker_init.connect(self._on_worker_init, weak=False)
        signals.worker_ready.connect(self._on_worker_ready, weak=False)

    def route(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        rate_limit: str | None = None,
    ) -> Route:
        """This queue, for one handler's work routed to Celery's ``queue`` (run a worker
        with ``-Q <queue>``), with its ``priority`` and its ``rate_limit`` (``"10/m"``: per
        worker, Celery's): ``on(Event, queue=queue.route(queue="slow"))``. Retries, sweeps
        and the spool keep the route. Make routes where handlers are registered, so that
        receivers and workers (which import that module) know the same tasks."""
        options = RouteOptions(queue=queue, priority=priority, rate_limit=rate_limit)
        self._task(options.rate_limit)  # registered now: the worker imports this module
        return Route(self, options)

    def bind_route(self, handler: Handler, options: RouteOptions) -> Callable[[Event], None]:
        """Register ``handler`` with its route's ``options`` (see :meth:`route`)."""
        name = handler_key(handler)
        known = self.routes.get(name)
        if known is not None and known != options:
            raise ValueError(f"handler {name} is routed twice on queue {self.name!r}")
        publish = self.bind(handler)
        self.routes[name] = options
        return publish

    def _task(self, rate_limit: str | None) -> Any:
        """The task that runs this queue's work at ``rate_limit`` (made once)."""
        if rate_limit not in self._tasks:
            self._tasks[rate_limit] = _make_task(self, rate_limit)
        return self._tasks[rate_limit]

    @property
    def orphan_after(self) -> float:
        """Seconds queued work may go unmoved before a worker publishes it again (its
        message lost by the broker): by default the broker's visibility timeout, the lease
        and the longest retry delay, plus a minute."""
        if self._orphan_after is not None:
            return self._orphan_after
        options = self.app.conf.broker_transport_options
        visibility = float(options.get("visibility_timeout", 3600))
        return visibility + self.lease + self.retry_backoff_max + 60.0

    @property
    def redis(self) -> Any:
        """The client of the claims: the one given, else the broker's Redis (a
        ``sentinel://`` broker's master), with ``publish_timeout`` socket timeouts."""
        if self._redis is None:
            conf = self.app.conf
            self._redis = _broker_redis(
                conf.broker_url or "", conf.broker_transport_options, self.publish_timeout
            )
        return self._redis

    def make_claims(self) -> RedisClaims:
        """The claims in :attr:`redis`, under the queue's prefix: ``{bwhooks}:`` for the
        default queue, ``{bwhooks:<name>}:`` for another
        (:func:`bwhooks.queue.claims.key_prefix`)."""
        return RedisClaims(self.redis, prefix=key_prefix(self.name))

    def publish(self, envelope: Envelope) -> None:
        """Send the envelope as the task's one JSON argument within the
        :func:`~bwhooks.queue.context.publish_deadline` (else ``publish_timeout`` from now):
        a producer of Celery's pool, the broker connection and the publish (with RabbitMQ,
        its confirm) each wait only what is left of it. Raises when the broker did not
        take it in time."""
        options = self.routes.get(envelope.handler, _UNROUTED)
        _publish(self, self._task(options.rate_limit), envelope, options.publish_options())

    # -- the start-up self-check ------------------------------------------------------------

    def check(self, pool: str) -> list[str]:
        """What in the settings breaks this queue's guarantees, for a worker using ``pool``
        (``prefork``, ``solo``, ``threads``...), and each claims script that fails on the
        claims store (:meth:`~bwhooks.queue.claims.RedisClaims.probe`). Raises for a pool
        bwhooks refuses."""
        if any(unsafe in pool for unsafe in _UNSAFE_POOLS):
            raise RuntimeError(
                f"bwhooks queue {self.name!r} refuses the {pool} pool: kombu's redelivery of "
                "unacknowledged messages is unreliable there; use prefork (or solo/threads)"
            )
        conf = self.app.conf
        problems = []
        if conf.worker_prefetch_multiplier != 1:
            problems.append(
                f"worker_prefetch_multiplier is {conf.worker_prefetch_multiplier}: set it to 1, "
                "or prefetched callbacks wait behind a slow handler, and a lost worker "
                "takes them along until the visibility timeout"
            )
        if self.soft_time_limit >= self.time_limit:
            problems.append("soft_time_limit should be below time_limit")
        enforced = "prefork" in pool
        if enforced and self.lease <= self.time_limit:
            problems.append(
                f"the lease ({self.lease}s) must outlive time_limit ({self.time_limit}s), or a "
                "slow run and its redelivery overlap"
            )
        if _redis_broker(conf.broker_url or ""):
            visibility = float(conf.broker_transport_options.get("visibility_timeout", 3600))
            needed = max(self.time_limit, self.lease) + self.retry_backoff_max
            if visibility <= needed:
                problems.append(
                    f"broker visibility_timeout ({visibility:g}s) must exceed the lease or time "
                    f"limit plus retry_backoff_max ({needed:g}s): Redis redelivers a message "
                    "still running or waiting for its retry"
                )
            if _version_tuple(version("kombu")) < (5, 7):
                problems.append(
                    "kombu < 5.7: a lost worker's messages come back only every ~100 s after "
                    "the visibility timeout (unacked_restore_interval needs 5.7)"
                )
        try:
            return problems + self.claims.probe()
        except Exception as exc:  # no claims client could be built
            return [*problems, f"the claims store cannot be used ({type(exc).__name__}: {exc})"]

    def _on_worker_ready(self, sender: Any = None, **_: Any) -> None:
        if sender is None or getattr(sender, "app", None) is not self.app:
            return
        self.publisher.drainer.ensure_running()  # the host's spool, if one was left
        threading.Thread(
            target=self.sweeper.keep_sweeping,
            args=(self.orphan_after, threading.Event()),  # as long as the worker runs
            name="bwhooks-orphans",
            daemon=True,
        ).start()

    def _on_worker_init(self, sender: Any = None, **_: Any) -> None:
        if sender is None or getattr(sender, "app", None) is not self.app:
            return
        worker_transport(self.app, self.publish_timeout)  # before the worker connects
        pool_cls = getattr(sender, "pool_cls", "prefork")
        pool = f"{getattr(pool_cls, '__module__', '')}.{getattr(pool_cls, '__name__', pool_cls)}"
        self.renew_leases = "prefork" not in pool.lower()
        for problem in self.check(pool.lower()):
            self.logger.warning("bwhooks queue %r: %s", self.name, problem)


def _prepare(
    app: Celery,
    redis: Any,
    publish_timeout: float,
    *,
    spool_risk: str | None,
    logger: logging.Logger,
    name: str,
) -> None:
    """What building a queue sets on the Celery app (the broker's timeouts, RabbitMQ's
    confirms) and warns of (a spool that would be lost, a claims client without timeouts)."""
    if spool_risk is not None:
        logger.warning(
            "bwhooks queue %r: the spool keeps acknowledged voice callbacks while the "
            "broker is down, and %s: pass spool= or set %s to a volume",
            name,
            spool_risk,
            SPOOL_DIR_VARIABLE,
        )
    transport_defaults(app, publish_timeout)
    if redis is not None and _without_socket_timeout(redis):
        logger.warning(
            "bwhooks queue %r: the redis= client has no socket_timeout: a claims Redis "
            "that stops answering holds a publishing thread for good; give it "
            "socket_timeout= and socket_connect_timeout= (publish_timeout: %gs)",
            name,
            publish_timeout,
        )


def transport_defaults(app: Celery, publish_timeout: float) -> bool:
    """Set what bwhooks needs of the broker's transport options, unless the app set them:
    socket timeouts of ``publish_timeout`` (a stalled broker must not hold a request past
    Bandwidth's timeout), with RabbitMQ publisher confirms (``2xx`` once it confirmed), and
    with Sentinels the same timeouts for them and no retry (redis-py 8.1 retries a Sentinel
    that is down for seconds before asking the next one).
    Called when the queue is built, and again before the first publish and when a worker
    starts, so that options the app replaces later keep them. Whether any was missing."""
    options = app.conf.broker_transport_options
    wanted: dict[str, Any] = {}
    if not getattr(app, _WORKER, False):  # see worker_transport
        wanted.update(socket_timeout=publish_timeout, socket_connect_timeout=publish_timeout)
    broker = str(app.conf.broker_url or "")
    if broker.startswith(("amqp", "pyamqp")):
        wanted["confirm_publish"] = True
    missing = {key: value for key, value in wanted.items() if key not in options}
    sentinels = dict(options.get("sentinel_kwargs") or {})
    if _sentinel_urls(broker) and not _SENTINEL_BOUNDS.issubset(sentinels):
        missing["sentinel_kwargs"] = {**_bounded(publish_timeout), **sentinels}
    if missing:
        app.conf.broker_transport_options = {**options, **missing}
        setattr(app, _ADDED, getattr(app, _ADDED, frozenset()) | set(missing))
    return bool(missing)


def worker_transport(app: Celery, publish_timeout: float) -> None:
    """The app's transport options for a worker: without the socket timeouts bwhooks added
    for its receivers (the app's own are kept). A worker's consumer given a socket timeout
    never consumes again after the broker stalled past it (kombu 5.7: an acknowledgement
    that timed out leaves it waiting for good); nobody waits on a worker's answer."""
    setattr(app, _WORKER, True)
    ours: frozenset[str] = getattr(app, _ADDED, frozenset())
    added = ours & {"socket_timeout", "socket_connect_timeout"}
    options = app.conf.broker_transport_options
    if added & set(options):
        app.conf.broker_transport_options = {
            key: value for key, value in options.items() if key not in added
        }
    transport_defaults(app, publish_timeout)  # kept: RabbitMQ's confirms, Sentinels' bounds


def service_name(app: Celery) -> str:
    """The name of a queue built without one: the Celery app's main name
    (``Celery("orders")``: ``orders``), spelled as a queue name, so that two services on one
    Redis have their own tasks, keys and dead letters; ``bwhooks`` for an app without one."""
    if app.main in (None, "", "__main__"):
        return DEFAULT_QUEUE
    main = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(app.main)).strip("-_.")[:64]
    return main or DEFAULT_QUEUE


def _make_task(queue: CeleryQueue, rate_limit: str | None) -> Any:
    """Register the Celery task that runs ``queue``'s work at ``rate_limit``."""
    return queue.app.task(
        name=task_name(queue.name, rate_limit),
        shared=False,  # this app's, bound to this queue: not every later app's
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,  # a killed child's message goes back to the queue
        acks_on_timeout=False,  # so does one killed at its hard time limit
        ignore_result=True,
        serializer="json",
        soft_time_limit=queue.soft_time_limit,
        time_limit=queue.time_limit,
        rate_limit=rate_limit,
        max_retries=None,  # bwhooks counts attempts itself, kills included
        typing=False,
    )(_run_task(queue))


def _run_task(queue: CeleryQueue) -> Callable[..., None]:
    def run(task: Any, envelope: Any) -> None:
        task_id = task.request.id
        try:
            ran = queue.run(envelope, task_id=task_id)
        except Exception as exc:  # the claims store failed: never ack the message
            ran = _store_failed(
                queue, envelope, exc, tries=task.request.retries + 1, task_id=task_id
            )
        if ran.verdict is Verdict.RETRY:
            try:
                raise task.retry(countdown=ran.countdown, max_retries=None)
            except Retry:
                raise
            except Exception as exc:  # the broker refused the retry: keep the message
                raise Reject(exc, requeue=True) from exc

    # Celery compiles a header from the name: an identifier ("orders-eu" is a subtraction)
    run.__name__ = run.__qualname__ = "run_" + re.sub(r"\W", "_", queue.name)
    return run


def _publish(queue: CeleryQueue, task: Any, envelope: Envelope, options: dict[str, Any]) -> None:
    """:meth:`CeleryQueue.publish` of ``envelope`` by ``task`` with the route's ``options``."""
    deadline = publish_deadline() or Deadline.after(queue.publish_timeout)
    app = queue.app
    if transport_defaults(app, queue.publish_timeout) and app._pool is not None:
        queue.logger.warning(_LATE_OPTIONS, queue.name)  # pooled connections lack them
    pool = app.pool  # kombu's producer pool waits for its connection without a bound
    try:
        connection = pool.acquire(block=True, timeout=deadline.left("taking a connection"))
    except pool.LimitExceeded as exc:
        raise PublishTimeout(
            f"all {pool.limit} pooled broker connections (broker_pool_limit) stayed "
            f"busy until the deadline ({queue.publish_timeout:g}s)"
        ) from exc
    try:
        _send(task, connection, envelope, deadline, options)
    finally:
        connection.release()


def _store_failed(
    queue: CeleryQueue, envelope: Any, error: Exception, *, tries: int, task_id: str | None
) -> Ran:
    """The claims store failed while a worker ran ``envelope`` (its lease could not be
    taken, or its end recorded), on this message's try ``tries`` (Celery counts them): an
    error, and a retry after the queue's backoff. Never a dead letter: it is written to
    that same store, and the work runs once the store is back."""
    countdown = queue.backoff(min(tries, 32))  # the backoff's ceiling is reached long before
    key = envelope.get("key") if isinstance(envelope, dict) else None
    queue.logger.error(
        "[task %s] could not run %s (try %d of this message): the claims store failed "
        "(%s: %s); kept in the broker, tried again in %.1fs",
        task_id,
        str(key)[:200] if key else "a queued event",
        tries,
        type(error).__name__,
        error,
        countdown,
    )
    return Ran(Verdict.RETRY, countdown)


def _send(
    task: Any, connection: Any, envelope: Envelope, deadline: Deadline, options: dict[str, Any]
) -> None:
    """Publish on ``connection`` within ``deadline``: connect, then publish without kombu's
    retries (they know no deadline), once more on a fresh connection if the pooled one
    was broken."""
    producer = task.app.amqp.Producer(connection, auto_declare=False)  # no I/O
    for attempt in (1, 2):
        connection.ensure_connection(
            max_retries=2,  # a broker that refuses is answered at once, as before
            interval_start=0,
            interval_step=0.2,
            interval_max=0.5,
            timeout=deadline.left("connecting to the broker"),
        )
        left = deadline.left("publishing")
        try:
            task.apply_async(
                (envelope.to_dict(),),
                producer=producer,
                retry=False,  # kombu's retries know no deadline: this loop retries
                timeout=left,
                confirm_timeout=left,
                **options,
            )
            return
        except connection.recoverable_connection_errors:
            if attempt == 2:
                raise
            connection.collect()  # drop the broken connection, without I/O
            producer.revive(connection)


def _without_socket_timeout(client: Any) -> bool:
    """Whether the ``redis.Redis`` ``client`` is known to wait for an answer forever (its
    connections' ``socket_timeout``, defaulted by redis-py's version)."""
    pool: Any = getattr(client, "connection_pool", None)
    try:
        connection = pool.connection_class(**pool.connection_kwargs)  # no I/O
    except Exception:  # not a redis.Redis as known here (a cluster...): not judged
        return False
    return getattr(connection, "socket_timeout", 0) is None


def redis_url_of(broker_url: str) -> str | None:
    """The ``redis-py`` URL of a Celery Redis broker URL (``redis://``, ``rediss://``,
    ``redis+socket://``), else ``None`` (a ``sentinel://`` URL too: it names Sentinels, not
    a Redis; :attr:`CeleryQueue.redis` is then the Sentinel's master)."""
    first = broker_url.split(";", maxsplit=1)[0].strip()
    if first.startswith(("redis://", "rediss://")):
        return first
    if first.startswith("redis+socket://"):
        return "unix://" + first[len("redis+socket://") :]
    return None


def _redis_broker(broker_url: str) -> bool:
    """Whether Celery's broker ``broker_url`` is a Redis (Sentinel's included)."""
    return redis_url_of(broker_url) is not None or bool(_sentinel_urls(broker_url))


def _sentinel_urls(broker_url: str) -> list[str]:
    """The Sentinels of a ``sentinel://host:port;sentinel://host2:port`` broker URL."""
    urls = [url.strip() for url in broker_url.split(";") if url.strip()]
    return urls if urls and urls[0].startswith("sentinel://") else []


def _require_broker_redis(broker_url: str, options: Any) -> None:
    """Raise :class:`ValueError` when no claims client can be built from the broker
    (``options``: its transport options)."""
    if not _redis_broker(broker_url):
        raise ValueError(_NO_CLAIMS)
    if _sentinel_urls(broker_url) and not options.get("master_name"):
        raise ValueError(_NO_MASTER)


def _broker_redis(broker_url: str, options: Any, timeout: float) -> Any:
    """A client of the broker's Redis (of the master a ``sentinel://`` broker's Sentinels
    name: ``options``, the broker's transport options, give ``master_name`` and
    ``sentinel_kwargs``), with ``timeout`` socket timeouts and no retry: a store that
    accepts and never answers must not hold the claim-and-publish's thread for long."""
    import redis

    _require_broker_redis(broker_url, options)
    url = redis_url_of(broker_url)
    if url is not None:
        return redis.Redis.from_url(url, **_bounded(timeout))
    from kombu.utils.url import url_to_parts
    from redis.sentinel import Sentinel

    parts = [url_to_parts(sentinel_url) for sentinel_url in _sentinel_urls(broker_url)]
    first = parts[0]  # its credentials and database are the master's, as for kombu
    sentinel = Sentinel(
        [(part.hostname or "127.0.0.1", part.port or 26379) for part in parts],
        sentinel_kwargs={**_bounded(timeout), **(options.get("sentinel_kwargs") or {})},
        min_other_sentinels=options.get("min_other_sentinels", 0),
    )
    return sentinel.master_for(
        options["master_name"],
        db=int((first.path or "0").strip("/") or 0),
        username=first.username,
        password=first.password,
        **_bounded(timeout),
    )


#: What :func:`_bounded` sets: a Sentinel's connections without them are not bounded.
_SENTINEL_BOUNDS = frozenset({"socket_timeout", "socket_connect_timeout", "retry"})


def _bounded(timeout: float) -> dict[str, Any]:
    """A redis-py client's options that bound each call to ``timeout``: socket timeouts, and
    no retry (a call that timed out, or a server that is down, is not tried again: the next
    Sentinel is asked, the claim-and-publish's deadline is kept)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


def _version_tuple(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)
