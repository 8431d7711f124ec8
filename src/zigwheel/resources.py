"""Where zigwheel's shipped data lives, and the one TOML reader for it."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from zigwheel.errors import ConfigError, DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def toolchains_dir() -> Path:
    """Return the ``toolchains`` data folder.

    Inside an installed wheel it is ``zigwheel/toolchains`` (force-included by the build backend);
    in a source checkout or an editable install it is the repository's top-level ``toolchains/``.
    """
    for candidate in (PACKAGE_DIR / "toolchains", PACKAGE_DIR.parent.parent / "toolchains"):
        if (candidate / "targets.toml").is_file():
            return candidate
    msg = f"zigwheel's toolchain data was not found next to {PACKAGE_DIR}"
    raise DataError(msg, hint="reinstall zigwheel; the package is incomplete")


def data_dir() -> Path:
    """Return the package's own data folder (``src/zigwheel/data``)."""
    return PACKAGE_DIR / "data"


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML data file shipped with zigwheel; a broken file is a DataError."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as err:
        msg = f"cannot read zigwheel data file {path.name}: {err}"
        raise DataError(msg, hint="reinstall zigwheel; the package data is damaged") from err


def parse_toml_text(text: str, *, source: str) -> dict[str, Any]:
    """Parse user-supplied TOML text (e.g. a pyproject.toml); errors name ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = f"{source} is not valid TOML: {err}"
        raise ConfigError(msg, hint=f"fix the syntax of {source}") from err
