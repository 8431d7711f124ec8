"""Console helpers shared by the CLI: stdout for results, stderr for progress and errors."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Any

from rich.console import Console


@functools.lru_cache(maxsize=1)
def out_console() -> Console:
    """The console for results (tables, paths): stdout."""
    return Console(highlight=False, soft_wrap=True)


@functools.lru_cache(maxsize=1)
def err_console() -> Console:
    """The console for progress, warnings and errors: stderr."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(document: Any) -> None:
    """Print a JSON document to stdout, plain (no colour, no wrapping), for machines."""
    print(json.dumps(document, indent=2, sort_keys=False))


def on_github_actions(env: Mapping[str, str] | None = None) -> bool:
    """Return True when running inside GitHub Actions."""
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def github_escape(text: str) -> str:
    """Escape a message for a GitHub workflow command (``::error::...``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
