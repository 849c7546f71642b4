"""Callbacks answered at once, handled on Celery workers: one module for both sides.

Receivers: BWHOOKS_CREDENTIALS="bw-user:s3cret" gunicorn -k gthread --threads 8 \
    examples.celery_app:app
Workers:   celery -A examples.celery_app:celery_app worker -P prefork -c 4
(Both need REDIS_URL, default redis://127.0.0.1:6379/0: the broker, and the claims that make
each callback complete once across every receiver and worker.)
"""

from __future__ import annotations

import logging
import os

from celery import Celery

from bwhooks import BasicAuth, Receiver
from bwhooks.adapters.wsgi import make_app
from bwhooks.celery import CeleryQueue
from bwhooks.events import (
    InboundMessageEvent,
    MessageFailedEvent,
    VoiceDisconnectEvent,
    VoiceInitiateEvent,
)
from bwhooks.queueing import DeadLetter

log = logging.getLogger(__name__)

celery_app = Celery("callbacks", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
celery_app.conf.worker_prefetch_multiplier = 1  # the start-up self-check warns otherwise


def dead_letter(letter: DeadLetter) -> None:
    """Called on the worker when a callback is given up on (kept in Redis as well)."""
    key, attempts, error = letter.envelope["key"], letter.attempts, letter.error
    log.error("gave up on %s after %d attempts: %s", key, attempts, error)


queue = CeleryQueue(celery_app, on_dead_letter=dead_letter)
receiver = Receiver(auth=BasicAuth.from_env())


@receiver.on(InboundMessageEvent, queue=queue)
def texted(event: InboundMessageEvent) -> None:
    """Slow work (a CRM write, a reply through the API) runs on a worker."""
    message = event.message
    log.info("message %s received on %s", message.id if message else None, event.to)


@receiver.on(MessageFailedEvent, queue=queue)
async def failed(event: MessageFailedEvent) -> None:
    """``async def`` handlers run on workers too."""
    log.warning("message failed with %s", event.error_code)


@receiver.on(VoiceDisconnectEvent, queue=queue)
def hung_up(event: VoiceDisconnectEvent) -> None:
    log.info("call %s ended: %s", event.call_id, event.cause)


@receiver.on(VoiceInitiateEvent)
def answer(event: VoiceInitiateEvent) -> str:
    """BXML answers stay inline: Bandwidth waits for them."""
    return "<Response><SpeakSentence>Thanks for calling.</SpeakSentence></Response>"


app = make_app(receiver)
