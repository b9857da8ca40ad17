"""What ``controller.cli.main`` hands each subcommand module's ``register(subparsers)``."""

from __future__ import annotations

import argparse
from typing import Protocol


class Subparsers(Protocol):
    """``ArgumentParser.add_subparsers()``: a subcommand module adds its parsers here, each with
    ``set_defaults(func=...)`` (the parsed args → the exit code)."""

    def add_parser(self, name: str, *, help: str | None = ...) -> argparse.ArgumentParser: ...
