"""``from bwhooks.celery import CeleryQueue``: the public path of :mod:`bwhooks.queue.celery`."""

from bwhooks.queue.celery import CeleryQueue, redis_url_of

__all__ = ["CeleryQueue", "redis_url_of"]
