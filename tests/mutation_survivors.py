"""After `make mutation`: fail when a mutant survived that CONTRIBUTING.md does not list.

The accepted survivors (equivalent mutants and the like) are the lines between the
``<!-- survivors -->`` markers of CONTRIBUTING.md's "Mutation testing" section, each a
mutant's name then the reason. Mutants not checked by this run (a bounded one) are
ignored; a listed mutant that is now killed is reported, to be taken off the list.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).parents[1]
# What mutmut says of a mutant that no test told apart from the original code.
ALIVE = {"survived", "no tests", "suspicious", "skipped"}
_LINE = re.compile(r"^\s*(bwhooks\.\S+)\s+(\S.*)$")


def accepted(text: str) -> dict[str, str]:
    """The listed survivors: name -> reason."""
    _, _, rest = text.partition("<!-- survivors -->")
    block, found, _ = rest.partition("<!-- /survivors -->")
    if not found:
        raise SystemExit("CONTRIBUTING.md: no <!-- survivors --> ... <!-- /survivors --> list")
    return {m[1]: m[2] for line in block.splitlines() if (m := _LINE.match(line))}


def statuses() -> dict[str, str]:
    """Every mutant mutmut knows of, and its status."""
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def main() -> int:
    listed = accepted((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    found = statuses()
    counts = Counter(found.values())
    print("mutants:", ", ".join(f"{n} {status}" for status, n in counts.most_common()))
    unlisted = sorted(n for n, s in found.items() if s in ALIVE and n not in listed)
    for name in sorted(n for n in listed if found.get(n) in {"killed", "timeout"}):
        print(f"no longer survives, take it off CONTRIBUTING.md's list: {name}")
    for name in unlisted:
        print(f"survived, and not listed in CONTRIBUTING.md: {name} ({found[name]})")
    if unlisted:
        print("kill each with a test (mutmut show NAME), or list it with the reason")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
