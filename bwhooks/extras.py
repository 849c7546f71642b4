"""Friendly errors for optional dependencies (the framework extras)."""

from __future__ import annotations

__all__ = ["MissingDependency", "missing_extra"]


class MissingDependency(ImportError):
    """An adapter's framework is not installed; the message names the extra to install."""


def missing_extra(adapter: str, package: str, extra: str) -> MissingDependency:
    """The error to raise (``from`` the ``ImportError``) when an adapter's framework is missing."""
    return MissingDependency(
        f'bwhooks.adapters.{adapter} needs {package}: pip install "bwhooks[{extra}]"',
        name=package,
    )
