"""Options every command spells the same way: --target lists and their comma-or-repeat syntax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from zigwheel.errors import ConfigError


def target_option(help_text: str, *, alias: str | None = None) -> Any:
    """``--target``/``-t``, repeatable, each value a comma- or space-separated list.

    ``alias`` keeps an older spelling working (``zigwheel ci github --targets``).
    """
    names = ["--target", "-t"] if alias is None else ["--target", alias, "-t"]
    return typer.Option(*names, help=help_text)


def split_list(values: Sequence[str] | None, option: str = "--target") -> list[str]:
    """Repeated and comma- or space-separated option values as one list, in order, once each.

    An option given with nothing in it (``-t ''``) is a ConfigError: taking it as "not given"
    would silently build the default instead of what the user meant to name.
    """
    items = [part for value in values or () for part in value.replace(",", " ").split()]
    if values and not items:
        msg = f"{option} was given an empty value"
        raise ConfigError(msg, hint=f"name at least one, e.g. {option} x86_64, or leave it out")
    return list(dict.fromkeys(items))
