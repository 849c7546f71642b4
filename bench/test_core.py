"""1. The core: Receiver.handle (verify + parse + dispatch to one handler) per event kind, v1
and v2, against json.loads of the same body, as installed (the compiled path) and with every
body sent to the general path (what bwhooks costs without its compiled decoder); for v1 also
msgspec (the floor) and pydantic (generated from bwhooks' v1 field lists); and bandwidth-sdk
parsing the same v2 payload."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import pytest
from models import msgspec_decoder, pydantic_adapter
from payloads import CREDENTIALS, HEADERS, SDK_EQUIVALENTS, SDK_MODELS, V1, V2, sdk_element

from bwhooks import BasicAuth, CallbackRequest, Event, Receiver, Reply

BXML = "<Response><SpeakSentence>Hello</SpeakSentence></Response>"
MSGSPEC = msgspec_decoder()
PYDANTIC = pydantic_adapter()


def receiver() -> Receiver:
    """A receiver with one handler, which answers BXML where Bandwidth waits for some."""
    made = Receiver(auth=BasicAuth(CREDENTIALS))
    made.on(Event)(lambda event: BXML if event.REPLY is Reply.BXML else None)
    return made


def request(body: bytes) -> CallbackRequest:
    return CallbackRequest("POST", "/callbacks", HEADERS, body)


def run(benchmark: Any, group: str, role: str, function: Any, baseline: Any = None) -> None:
    """Time ``function`` in batches (timer overhead out of the per-call figure).

    With a ``baseline``, also time it alternately with ``function``, batch for batch, and
    keep the median of the per-batch ratios: a shared machine's drift then cancels out.
    """
    benchmark.group = group
    benchmark.extra_info["role"] = role
    if baseline is not None:
        ratios = []
        for _ in range(ROUNDS):
            ratios.append(_batch(function) / _batch(baseline))
        benchmark.extra_info["paired_ratio"] = statistics.median(ratios)
    benchmark.pedantic(function, iterations=ITERATIONS, rounds=ROUNDS, warmup_rounds=2)


def _batch(function: Any) -> float:
    start = time.perf_counter()
    for _ in range(ITERATIONS):
        function()
    return time.perf_counter() - start


ITERATIONS, ROUNDS = 200, 40


BODIES = {**V1, **V2}
CORE_ROLES = ["baseline", "bwhooks", "bwhooks, general path"]
CASES = [(kind, role) for kind in sorted(V1) for role in [*CORE_ROLES, "msgspec", "pydantic"]]
CASES += [(kind, role) for kind in sorted(V2) for role in CORE_ROLES]  # no v2 model there


@pytest.mark.parametrize(("kind", "role"), CASES)
def test_core(benchmark: Any, kind: str, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = BODIES[kind]
    if role == "baseline":
        run(benchmark, f"core:{kind}", role, lambda: json.loads(body))
    elif role.startswith("bwhooks"):
        handler, sent = receiver(), request(body)
        if role != "bwhooks":  # every body through the general path: bwhooks without msgspec
            monkeypatch.setattr(handler.decoder, "quick", lambda body: None)
        assert handler.handle(sent).status == 200
        run(benchmark, f"core:{kind}", role, lambda: handler.handle(sent), lambda: json.loads(body))
    elif role == "msgspec":
        run(benchmark, f"core:{kind}", role, lambda: MSGSPEC.decode(body))
    else:
        run(benchmark, f"core:{kind}", role, lambda: PYDANTIC.validate_json(body))


@pytest.mark.parametrize("kind", sorted(SDK_EQUIVALENTS))
@pytest.mark.parametrize("role", ["baseline", "bandwidth-sdk"])
def test_against_bandwidth_sdk(benchmark: Any, kind: str, role: str) -> None:
    """bwhooks handling its v1 payload (baseline) against the SDK parsing the v2 equivalent."""
    if role == "baseline":
        handler, sent = receiver(), request(V1[kind])
        run(benchmark, f"sdk:{kind}", role, lambda: handler.handle(sent))
        return
    models = pytest.importorskip("bandwidth.models")
    model = models.AnswerCallback if kind == "answer" else models.InboundCallback
    text = SDK_EQUIVALENTS[kind].decode()
    assert model.from_json(text) is not None
    handler, sent = receiver(), request(V1[kind])
    run(benchmark, f"sdk:{kind}", role, lambda: model.from_json(text), lambda: handler.handle(sent))


@pytest.mark.parametrize("kind", sorted(SDK_MODELS))
@pytest.mark.parametrize("role", ["baseline", "bandwidth-sdk"])
def test_v2_against_bandwidth_sdk(benchmark: Any, kind: str, role: str) -> None:
    """bwhooks handling the whole v2 delivery (baseline) against the SDK's ``from_json`` of
    the same payload (the element alone, for messaging)."""
    handler, sent = receiver(), request(V2[kind])
    assert handler.handle(sent).status == 200
    if role == "baseline":
        run(benchmark, f"sdk:{kind}", role, lambda: handler.handle(sent))
        return
    models = pytest.importorskip("bandwidth.models")
    model, text = getattr(models, SDK_MODELS[kind]), sdk_element(kind)
    assert model.from_json(text) is not None
    run(benchmark, f"sdk:{kind}", role, lambda: model.from_json(text), lambda: handler.handle(sent))
