"""Where each benchmark row's time goes: the bwhooks side of a row under cProfile, its own
time grouped by where the code lives (bwhooks module, msgspec, the framework, the standard
library), as shares of the whole.

    cd bench && ../.venv/bin/python profile_rows.py    # (make profile)

cProfile adds a constant per Python call, so the shares over-weight many small calls: they
say where to look, the paired ratios of ``make bench`` say how much it costs.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from payloads import V1, V2
from test_adapters import asgi_call, fastapi_apps, receiver, wsgi_call
from test_core import receiver as core_receiver
from test_core import request

from bwhooks.adapters import asgi, wsgi

CALLS = 20_000


def where(filename: str, function: str) -> str:
    """The group a profiled function belongs to."""
    if "/bwhooks/" in filename:
        return "bwhooks." + filename.rsplit("/bwhooks/", 1)[1].removesuffix(".py").replace("/", ".")
    if filename.startswith("<bwhooks compiled"):
        return "bwhooks.decoding.compiled (generated build functions)"
    for name in ("starlette", "fastapi", "asyncio", "msgspec"):
        if f"/{name}/" in filename:
            return name
    if filename == "~":  # a built-in
        if "msgspec" in function:
            return "msgspec (C: decoding)"
        return "built-ins (C)"
    return "other Python (" + filename.rsplit("/", 1)[-1] + ")"


def profile(call: Callable[[], Any]) -> list[tuple[str, float]]:
    call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(CALLS):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        groups[where(filename, function)] += own
        total += own
    return sorted(((name, own / total) for name, own in groups.items()), key=lambda x: -x[1])


def rows() -> dict[str, Callable[[], Any]]:
    loop = asyncio.new_event_loop()
    core = core_receiver()
    v1, v2 = request(V1["sms"]), request(V2["v2-answer"])
    return {
        "core: Receiver.handle, v1 sms": lambda: core.handle(v1),
        "core: Receiver.handle, Voice v2 answer (BXML answered)": lambda: core.handle(v2),
        "raw WSGI middleware, v1 answer": wsgi_call(wsgi.make_app(receiver())),
        "raw ASGI middleware, v1 answer": asgi_call(
            asgi.make_app(receiver(async_handler=True)), loop
        ),
        "FastAPI router, v1 answer": asgi_call(fastapi_apps()[1], loop, "/callbacks"),
        "FastAPI bare route in an included router (the baseline)": asgi_call(
            fastapi_apps()[0], loop, "/bare"
        ),
    }


def parts() -> None:
    """The core's steps, each timed alone (best of 7 runs), as multiples of ``json.loads``."""
    import json
    import timeit

    from bwhooks.decoding.compiled import _make_plan, decode_body

    plan = _make_plan()
    core = core_receiver()
    print("\nthe core's steps, each alone, in multiples of json.loads of the same body")
    print(f"  {'kind':<12}{'json.loads':>11}{'msgspec':>9}{'build':>7}{'decode':>8}{'handle':>8}")
    for kind, body in [("sms", V1["sms"]), ("v2-answer", V2["v2-answer"])]:
        struct = plan.voice.decode(body)
        build = plan.builds[struct.__class__]
        sent = request(body)
        steps = {
            "json.loads": lambda body=body: json.loads(body),
            "msgspec": lambda body=body: plan.voice.decode(body),
            "build": lambda s=struct, b=build, body=body: b(s, body, None),
            "decode": lambda body=body: decode_body(body),
            "handle": lambda sent=sent: core.handle(sent),
        }
        times = {n: min(timeit.repeat(f, number=CALLS, repeat=7)) for n, f in steps.items()}
        base = times["json.loads"]
        cells = "".join(f"{times[n] / base:>8.2f}x" for n in list(steps)[1:])
        print(f"  {kind:<12}{base / CALLS * 1e6:>8.2f} us{cells}")


def main() -> None:
    for name, call in rows().items():
        print(f"\n{name}")
        for group, share in profile(call)[:10]:
            print(f"  {share:6.1%}  {group}")
    parts()


if __name__ == "__main__":
    main()
