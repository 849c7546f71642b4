"""The benchmark suite's report: medians, ratios measured in the same run, targets.

Every benchmark names its ``group`` and ``extra_info["role"]``; the ``baseline`` of a group
is what the others are divided by. A role with a ``target`` ratio is checked against it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import pytest

#: (group prefix, role) -> (the ratio's bound, how it reads); ``sdk:`` ratios must reach
#: the bound (the SDK's time over bwhooks'), every other ratio must stay under it.
TARGETS: dict[tuple[str, str], tuple[float, str]] = {
    # One figure serves both targets of the core: msgspec is a core dependency, so a
    # plain install and `bwhooks[fast]` (empty since) run the same compiled path.
    ("core:", "bwhooks"): (1.0, "<= 1.0x json.loads (aim 0.7x; no extras <= 1.5x)"),
    ("sdk:", "bandwidth-sdk"): (4.0, "bwhooks >= 4x faster than the SDK"),
    ("raw:wsgi", "bwhooks"): (1.3, "<= 1.3x the raw function"),
    ("raw:asgi", "bwhooks"): (1.2, "<= 1.2x the raw function"),
    ("framework:", "bwhooks"): (1.1, "<= 1.1x the bare route"),
    ("http:", "bwhooks"): (1 / 0.95, "req/s >= 0.95x the bare app"),
    ("import", "bwhooks"): (1.1, "<= 1.1x import attrs, cattrs, werkzeug"),
}
_extra_rows: list[tuple[str, str, float, str]] = []


@pytest.fixture(scope="session")
def loop() -> Any:
    """One event loop for every in-process ASGI benchmark, closed at the end."""
    import asyncio

    made = asyncio.new_event_loop()
    yield made
    made.run_until_complete(made.shutdown_default_executor())
    made.close()


def report_row(group: str, role: str, ratio: float, note: str) -> None:
    """Add a row measured outside pytest-benchmark (HTTP load, import time, memory)."""
    _extra_rows.append((group, role, ratio, note))


def _target(group: str, role: str) -> tuple[float, str] | None:
    for (prefix, target_role), target in TARGETS.items():
        if group.startswith(prefix) and role == target_role:
            return target
    return None


def _verdict(group: str, role: str, ratio: float) -> str:
    target = _target(group, role)
    if target is None or role == "baseline":
        return ""
    met = ratio >= target[0] if group.startswith("sdk:") else ratio <= target[0]
    return f"{target[1]}: {'met' if met else 'MISSED'}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    medians: dict[str, dict[str, float]] = defaultdict(dict)
    paired: dict[tuple[str, str], float] = {}
    for bench in getattr(session, "benchmarks", []) or []:
        medians[bench.group][bench.extra_info["role"]] = bench.stats.median
        if "paired_ratio" in bench.extra_info:
            paired[(bench.group, bench.extra_info["role"])] = bench.extra_info["paired_ratio"]
    write = terminalreporter.write_line
    width = max([28, *(len(group) + 2 for group in medians)])
    write("")
    write("bwhooks benchmark: ratios to each group's baseline, medians of the same run")
    write("(ratios marked * were timed alternately with the baseline, batch for batch)")
    write(f"{'group':<{width}}{'role':<18}{'median':>12}{'ratio':>9}  target")
    per_role: dict[tuple[str, str], list[float]] = defaultdict(list)
    for group in sorted(medians):
        roles = medians[group]
        baseline = roles.get("baseline")
        for role, median in sorted(roles.items(), key=lambda item: item[1]):
            ratio = paired.get((group, role)) or (median / baseline if baseline else float("nan"))
            mark = "*" if (group, role) in paired else " "
            family = group.split(":")[0] + ":"
            per_role[(family, role)].append(ratio)
            verdict = _verdict(group, role, ratio)
            write(
                f"{group:<{width}}{role:<18}{median * 1e6:>10.2f}us{ratio:>8.2f}x{mark} {verdict}"
            )
    if per_role:
        write("")
        write("medians over every event kind / adapter of a family:")
        for (family, role), ratios in sorted(per_role.items()):
            if role == "baseline":
                continue
            median = statistics.median(ratios)
            verdict = _verdict(family, role, median)
            write(f"  {family:<14}{role:<18}{median:>6.2f}x over {len(ratios):>2}  {verdict}")
    for group, role, ratio, note in _extra_rows:
        write(f"{group:<{width}}{role:<18}{ratio:>19.2f}x  {note}  {_verdict(group, role, ratio)}")
