"""4. Import time of bwhooks (no framework) against attrs, cattrs and werkzeug alone."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from conftest import report_row


def import_seconds(statement: str, runs: int = 15) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def test_import_time() -> None:
    empty = import_seconds("pass")
    alone = import_seconds("import attrs, cattrs, werkzeug") - empty
    ours = import_seconds("import bwhooks") - empty
    report_row(
        "import",
        "bwhooks",
        ours / alone,
        f"import bwhooks {ours * 1000:.1f} ms vs attrs+cattrs+werkzeug "
        f"{alone * 1000:.1f} ms (interpreter start subtracted)",
    )
