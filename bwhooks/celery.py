"""``from bwhooks.celery import CeleryQueue``: the public path of :mod:`bwhooks.queue.celery`
(and of :func:`~bwhooks.queue.current_run`, for a handler on a worker)."""

from bwhooks.queue.celery import CeleryQueue, redis_url_of
from bwhooks.queue.leases import Run, current_run

__all__ = ["CeleryQueue", "Run", "current_run", "redis_url_of"]
