"""zigwheel's per-user cache folder: location, CACHEDIR.TAG marker, atomic writes, cleaning."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import platformdirs

from zigwheel.errors import CacheError

logger = logging.getLogger(__name__)

CACHE_ENV = "ZIGWHEEL_CACHE_DIR"
TAG_NAME = "CACHEDIR.TAG"
# The standard signature (https://bford.info/cachedir/) followed by zigwheel's own marker line;
# `zigwheel cache clean` only deletes a folder whose tag carries that marker.
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_MARKER = "# This file is a cache directory tag created by zigwheel."
TAG_TEXT = (
    f"{TAG_SIGNATURE}\n{TAG_MARKER}\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """The cache folder without creating it: ZIGWHEEL_CACHE_DIR or the platform's user cache."""
    override = env.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("zigwheel", appauthor=False))


def is_zigwheel_cache(path: Path) -> bool:
    """True when ``path`` carries zigwheel's CACHEDIR.TAG."""
    try:
        text = (path / TAG_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return text.startswith(TAG_SIGNATURE) and TAG_MARKER in text


def cache_root(env: Mapping[str, str]) -> Path:
    """Return the cache folder, created and tagged; CacheError when it cannot be written.

    A new or empty folder gets zigwheel's CACHEDIR.TAG; a folder that already holds other files
    is used as it is and left untagged.
    """
    root = default_cache_dir(env)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not is_zigwheel_cache(root):
            if any(root.iterdir()):
                # Somebody else's files: use the folder but never claim it, so that
                # `zigwheel cache clean` keeps refusing to empty it.
                logger.warning("%s holds files zigwheel did not make; not tagging it", root)
            else:
                atomic_write_text(root / TAG_NAME, TAG_TEXT)
    except OSError as err:
        msg = f"cannot create the cache folder {root}: {err.strerror or err}"
        raise CacheError(
            msg, hint=f"set {CACHE_ENV} to a writable folder or fix the permissions"
        ) from err
    return root


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        Path(temp_name).chmod(mode)
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_folder(dest: Path, *, replace: bool = False) -> Iterator[Path]:
    """A new empty folder beside ``dest`` to fill; renamed to ``dest`` when the block ends,
    removed whatever happens, so readers see no folder or a whole one, never a part.

    ``replace`` removes a ``dest`` that exists first; otherwise the rename fails with OSError
    unless ``dest`` is missing or empty (another process finishing first is the caller's case).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    staging.chmod(0o755)  # as mkdir would make it: mkdtemp makes it private
    try:
        yield staging
        if replace and dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def clean_cache(root: Path) -> list[Path]:
    """Delete everything inside a zigwheel cache folder (keeping its tag); return what went.

    Refuses (CacheError) a folder without zigwheel's CACHEDIR.TAG, so a mistyped
    ZIGWHEEL_CACHE_DIR can never wipe somebody's files.
    """
    if not root.exists():
        return []
    if not is_zigwheel_cache(root):
        msg = f"{root} is not a zigwheel cache folder (it has no zigwheel {TAG_NAME})"
        raise CacheError(msg, hint=f"check {CACHE_ENV}; zigwheel only deletes folders it made")
    removed: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.name == TAG_NAME:
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as err:
            msg = f"cannot delete {entry}: {err.strerror or err}"
            raise CacheError(msg, hint="close programs using it or fix the permissions") from err
        removed.append(entry)
    return removed


def folder_size(path: Path) -> int:
    """Total size in bytes of the regular files below ``path``."""
    total = 0
    for dirpath, _dirnames, filenames in os.walk(path):
        for name in filenames:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total
