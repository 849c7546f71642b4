"""The ``bwhooks`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bwhooks", description="Receive and test Bandwidth HTTP callbacks."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="serve a receiver on 127.0.0.1 and send it a realistic sequence of callbacks",
        description="Start a receiver with Basic Auth on the embedded server, send it an inbound "
        "call, SMS and MMS over real HTTP (challenge first), print each typed event.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from bwhooks.demo import run_demo

        return run_demo()
    raise AssertionError(args.command)  # pragma: no cover  (argparse rejects the rest)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
