"""The code blocks of the Markdown docs: read, checked against the files they show, rewritten.

A block is shown where the Markdown is read (the site and the repository view alike): the
code is in the page, never only an include line. What a block is, is said on the line right
before its fence, or by its own first line:

- ``<!-- example: examples/flask_app.py -->``: the whole file, byte for byte (the file is the
  one the example tests run; ``make docs-sync`` rewrites the block from it);
- ``<!-- file: NAME -->`` and ``<!-- run: tests/test_x.py -->``: a file a guide has the reader
  write, and a command it has the reader run, both run by that test (the page names it);
- a first line ``# excerpt: ...`` (Python) says, to the reader too, that the block is part of a
  larger program: it is not run;
- a first line ``# continued ...`` says the block goes on from the blocks above it on the page:
  it is run after them, as one program;
- any other ``python`` block is a complete program: ``tests/test_docs.py`` runs it as shown
  (under a module name that is not ``__main__``: a server it starts there is not started).

``python tests/doc_blocks.py`` (``make docs-sync``) rewrites every example block from its file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")))
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>example|file|run):\s*(?P<value>\S+)\s*-->\s*$")
EXCERPT = re.compile(r"^\s*#\s*excerpt\b")
CONTINUED = re.compile(r"^\s*#\s*continued\b")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # the fence's line, 1-based
    end: int  # the closing fence's line
    indent: str
    lang: str
    info: str
    code: str
    marker: str | None  # "example", "file" or "run"
    value: str | None  # what the marker names

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def first_line(self) -> str:
        return self.code.lstrip("\n").split("\n", 1)[0]

    @property
    def is_excerpt(self) -> bool:
        return bool(EXCERPT.match(self.first_line))

    @property
    def continues(self) -> bool:
        return bool(CONTINUED.match(self.first_line))

    @property
    def runs(self) -> bool:
        """A Python block that the docs test runs (alone, or after the blocks it continues)."""
        return self.lang == "python" and self.marker is None and not self.is_excerpt


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        close = index + 1
        while close < len(lines) and lines[close].strip() != fence:
            close += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[index + 1 : close]
        ]
        marker = MARKER.match(lines[index - 1]) if index else None
        info = opening.group("info").strip()
        found.append(
            Block(
                page=page,
                line=index + 1,
                end=close + 1,
                indent=indent,
                lang=info.split(" ", 1)[0] if info else "",
                info=info,
                code="\n".join(body) + "\n" if body else "",
                marker=marker.group("kind") if marker else None,
                value=marker.group("value") if marker else None,
            )
        )
        index = close + 1
    return found


def all_blocks() -> list[Block]:
    """Every code block of the README and of ``docs/``."""
    return [block for page in PAGES for block in blocks(page)]


def programs() -> list[tuple[Block, str]]:
    """Each Python block the docs test runs, with the program it is part of: the block alone,
    or the blocks above it on its page that it continues, and itself."""
    found: list[tuple[Block, str]] = []
    for page in PAGES:
        program = ""
        for block in blocks(page):
            if not block.runs:
                continue
            program = program + "\n" + block.code if block.continues else block.code
            found.append((block, program))
    return found


def synced(page: Path) -> str:
    """``page`` with each example block holding its file as it is now."""
    lines = page.read_text(encoding="utf-8").split("\n")
    for block in reversed(blocks(page)):
        if block.marker != "example" or block.value is None:
            continue
        source = (ROOT / block.value).read_text(encoding="utf-8").rstrip("\n").split("\n")
        opened = lines[block.line - 1].strip()
        fence = opened[: len(opened) - len(block.info)]
        opening = f'{block.indent}{fence}python title="{block.value}"'
        body = [f"{block.indent}{line}" if line else "" for line in source]
        lines[block.line - 1 : block.end] = [opening, *body, f"{block.indent}{fence}"]
    return "\n".join(lines)


def sync() -> list[Path]:
    """Rewrite every page whose example blocks differ from their files; the pages rewritten."""
    changed = []
    for page in PAGES:
        text = synced(page)
        if text != page.read_text(encoding="utf-8"):
            page.write_text(text, encoding="utf-8")
            changed.append(page)
    return changed


if __name__ == "__main__":
    for page in sync():
        print(f"rewrote {page.relative_to(ROOT)}", file=sys.stderr)
