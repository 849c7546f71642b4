"""The code of the README and the docs is shown where it is read, and runs as shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import PAGES, ROOT, Block, all_blocks, blocks, programs, synced

BLOCKS = all_blocks()
PROGRAMS = programs()
# Pages that are the repository's own files shown whole on the site, not guides.
WHOLE_FILE_PAGES = {"docs/changelog.md": "CHANGELOG.md", "docs/contributing.md": "CONTRIBUTING.md"}


def _ids(items: list[Block] | list[tuple[Block, str]]) -> list[str]:
    return [(item[0] if isinstance(item, tuple) else item).where for item in items]


def test_no_guide_shows_its_code_by_an_include_line() -> None:
    """An include line shows as itself outside the site (GitHub, an editor): code is inline."""
    for page in PAGES:
        name = str(page.relative_to(ROOT))
        for number, line in enumerate(page.read_text().splitlines(), 1):
            if "8<" in line.replace(" ", ""):
                whole = WHOLE_FILE_PAGES.get(name)
                assert whole, f"{name}:{number}: an include line; put the code in the page"
                assert line == f'--8<-- "{whole}"', f"{name}:{number}: {line!r}"


EXAMPLES = [block for block in BLOCKS if block.marker == "example"]


@pytest.mark.parametrize("block", EXAMPLES, ids=_ids(EXAMPLES))
def test_an_example_block_is_its_file_byte_for_byte(block: Block) -> None:
    assert block.value is not None
    path = ROOT / block.value
    assert path.is_file(), f"{block.where}: no {block.value}"
    differs = f"{block.where} differs from {block.value}: make docs-sync"
    assert block.code == path.read_text(), differs
    assert block.lang == "python"


def test_docs_sync_leaves_the_pages_as_they_are() -> None:
    for page in PAGES:
        assert synced(page) == page.read_text(), f"{page.name}: make docs-sync"


def test_every_example_is_shown_in_a_guide() -> None:
    shown = {block.value for block in EXAMPLES}
    examples = {str(path.relative_to(ROOT)) for path in (ROOT / "examples").rglob("*.py")}
    assert examples <= shown, examples - shown


def test_the_pages_that_have_the_reader_write_files_name_the_test_that_runs_them() -> None:
    for page in PAGES:
        found = blocks(page)
        files = [block for block in found if block.marker == "file"]
        runners = {block.value for block in found if block.marker == "run"}
        if files:
            assert runners, f"{page.name}: files to write, but no <!-- run: TEST --> command"
        for runner in runners:
            assert runner is not None
            test = ROOT / runner
            assert test.is_file(), f"{page.name}: no {runner}"
            assert page.name in test.read_text(), f"{runner} does not read {page.name}"


def test_every_python_block_runs_or_says_it_is_an_excerpt() -> None:
    """A block that does not run says so to its reader (`# excerpt: ...`)."""
    for block in BLOCKS:
        if block.lang in ("py", "python3", "pycon"):
            pytest.fail(f"{block.where}: write ```python")
    assert len(PROGRAMS) >= 15, "the docs test found too few programs: is the parser right?"


@pytest.mark.parametrize(("block", "program"), PROGRAMS, ids=_ids(PROGRAMS))
def test_a_python_block_runs_as_shown(block: Block, program: str, tmp_path: Path) -> None:
    """Run as the reader would paste it: in an empty folder, with only the installed
    bwhooks and its extras (not this repository) importable, no credentials in the
    environment unless the block sets them."""
    (tmp_path / "shown.py").write_text(program)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BWHOOKS_", "BANDWIDTH_", "PYTHONPATH"))
    }
    run = [sys.executable, "-W", "error::DeprecationWarning", "-c"]
    code = "import runpy; runpy.run_path('shown.py', run_name='shown')"
    done = subprocess.run(
        [*run, code],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where} does not run as shown:\n{done.stderr[-3000:]}"


COMMAND = re.compile(r"^(bwhooks [^\n#]*?)\s*(?:#.*)?$")


def test_every_bwhooks_command_shown_is_one_the_cli_accepts() -> None:
    """The commands of the guides parse with today's options (they are run by the CLI tests
    and the guides' own tests; here an option renamed or removed is caught everywhere)."""
    import shlex

    from bwhooks.cli import _parser

    parser = _parser()
    seen = 0
    for block in BLOCKS:
        if block.lang not in ("sh", "console", "bash"):
            continue
        text = block.code.replace("\\\n", " ")
        for shown in text.splitlines():
            if block.lang == "console" and not shown.startswith("$ "):
                continue  # a transcript: commands after the prompt, then their output
            match = COMMAND.match(shown.removeprefix("$ ").strip())
            if match is None:
                continue
            args = shlex.split(match.group(1))[1:]
            try:
                parser.parse_args(args)
            except SystemExit:
                pytest.fail(f"{block.where}: bwhooks does not accept {match.group(1)!r}")
            seen += 1
    assert seen >= 5


def test_every_failure_the_scaling_guide_says_was_tried_is_a_test_of_ours() -> None:
    """docs/scaling.md "Failures tried": each row names a test function that exists, so the
    table says only what CI runs."""
    import ast

    guide = (ROOT / "docs" / "scaling.md").read_text()
    section = guide.split("### Failures tried", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", section)
    assert len(named) >= 10
    rows = [line for line in section.splitlines() if line.startswith("| ") and "::" in line]
    assert len(rows) == len(named)  # every row names one
    for path, function in named:
        tree = ast.parse((ROOT / path).read_text())
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert function in defined, f"{path}::{function} is in docs/scaling.md, not in {path}"
