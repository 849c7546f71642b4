"""4. Import time of bwhooks (no framework) against attrs, cattrs and werkzeug alone."""

from __future__ import annotations

import statistics
import subprocess
import sys

from conftest import report_row

RUNS = 15
_TIMED = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"


def import_seconds(statement: str) -> float:
    """The time ``statement`` takes in a fresh interpreter, timed inside it."""
    output = subprocess.run(
        [sys.executable, "-c", _TIMED.format(statement)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output)


def test_import_time() -> None:
    """Alternating fresh interpreters, so that a shared machine's drift hits both alike."""
    alone, ours = [], []
    for _ in range(RUNS):
        alone.append(import_seconds("import attrs, cattrs, werkzeug"))
        ours.append(import_seconds("import bwhooks"))
    alone_s, ours_s = statistics.median(alone), statistics.median(ours)
    report_row(
        "import",
        "bwhooks",
        ours_s / alone_s,
        f"import bwhooks {ours_s * 1000:.1f} ms vs attrs+cattrs+werkzeug "
        f"{alone_s * 1000:.1f} ms (each timed in a fresh interpreter, alternately)",
    )
