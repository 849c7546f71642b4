"""The docs include the tested examples, by snippet includes that mkdocs can expand."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
SNIPPET = re.compile(r'--8<-- "([^"]+)"')


def test_snippet_includes_are_well_formed_and_point_at_files() -> None:
    for page in (ROOT / "docs").rglob("*.md"):
        for line in page.read_text().splitlines():
            if "8<" in line.replace(" ", ""):
                match = SNIPPET.fullmatch(line.strip())
                assert match, f"{page.name}: malformed snippet include {line!r}"
                assert (ROOT / match.group(1)).is_file(), f"{page.name}: no {match.group(1)}"


def test_every_example_is_shown_in_a_guide() -> None:
    included = {
        match.group(1)
        for page in (ROOT / "docs").rglob("*.md")
        for match in SNIPPET.finditer(page.read_text())
    }
    examples = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "examples").rglob("*.py")
        if path.name != "manage.py"
    }
    assert examples <= included, examples - included
