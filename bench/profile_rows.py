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
        return "bwhooks.compiled (generated build functions)"
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


def main() -> None:
    for name, call in rows().items():
        print(f"\n{name}")
        for group, share in profile(call)[:10]:
            print(f"  {share:6.1%}  {group}")


if __name__ == "__main__":
    main()
