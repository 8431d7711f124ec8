"""The cache folder: location, CACHEDIR.TAG, atomic writes, refusing to clean foreign folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from zigwheel.cache import (
    TAG_NAME,
    atomic_write_text,
    cache_root,
    clean_cache,
    default_cache_dir,
    is_zigwheel_cache,
)
from zigwheel.errors import CacheError


def test_env_override_and_tag(tmp_path: Path) -> None:
    root = cache_root({"ZIGWHEEL_CACHE_DIR": str(tmp_path / "c")})
    assert root == tmp_path / "c"
    assert (root / TAG_NAME).read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert is_zigwheel_cache(root)


def test_default_is_a_user_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir({}).name == "zigwheel"


def test_foreign_folder_is_used_but_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("mine")
    root = cache_root({"ZIGWHEEL_CACHE_DIR": str(tmp_path)})
    assert not is_zigwheel_cache(root)
    with pytest.raises(CacheError, match="is not a zigwheel cache folder") as info:
        clean_cache(root)
    assert info.value.exit_code == 4
    assert (tmp_path / "precious.txt").read_text() == "mine"


def test_a_foreign_cachedir_tag_is_not_enough(tmp_path: Path) -> None:
    (tmp_path / TAG_NAME).write_text("Signature: 8a477f597d28d172789f06886806bc55\n# other tool\n")
    (tmp_path / "data").write_text("x")
    with pytest.raises(CacheError):
        clean_cache(tmp_path)


def test_clean_removes_everything_but_the_tag(tmp_path: Path) -> None:
    root = cache_root({"ZIGWHEEL_CACHE_DIR": str(tmp_path / "c")})
    (root / "shims" / "zig-0.15.2" / "x").mkdir(parents=True)
    (root / "file").write_text("x")
    removed = clean_cache(root)
    assert sorted(p.name for p in removed) == ["file", "shims"]
    assert [p.name for p in root.iterdir()] == [TAG_NAME]
    assert clean_cache(tmp_path / "does-not-exist") == []


def test_unwritable_cache_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="cannot create the cache folder") as info:
        cache_root({"ZIGWHEEL_CACHE_DIR": str(blocker / "cache")})
    assert "ZIGWHEEL_CACHE_DIR" in (info.value.hint or "")


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.sh"
    atomic_write_text(target, "one", mode=0o755)
    atomic_write_text(target, "two", mode=0o755)
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in target.parent.iterdir()] == ["f.sh"]
