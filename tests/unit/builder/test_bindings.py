"""Unit tests of the bindings a project is read with: "bin" where maturin packs a program."""

from __future__ import annotations

from pathlib import Path

import pytest

from zigwheel.builder.project import read_project

PYO3 = '[dependencies]\npyo3 = "0.27"\n'


@pytest.mark.parametrize(
    ("maturin", "cargo", "files", "bindings"),
    [
        ('bindings = "bin"', "", ["src/main.rs"], "bin"),  # said so
        ("", "", ["src/main.rs"], "bin"),  # a program, no library: maturin picks bin
        ("", '[[bin]]\nname = "tool"\npath = "tool.rs"\n', ["tool.rs"], "bin"),
        ("", PYO3, ["src/main.rs"], ""),  # pyo3: an extension (or a pyo3 bin, maturin's call)
        ("", "", ["src/lib.rs", "src/main.rs"], ""),  # a library beside it
        ('bindings = "pyo3"', "", ["src/main.rs"], "pyo3"),
    ],
)
def test_a_program_crate_is_read_as_bin(
    tmp_path: Path, maturin: str, cargo: str, files: list[str], bindings: str
) -> None:
    (tmp_path / "Cargo.toml").write_text(f'[package]\nname = "x"\nversion = "0.1.0"\n{cargo}')
    (tmp_path / "pyproject.toml").write_text(
        f'[build-system]\nbuild-backend = "maturin"\n[project]\nname = "x"\n'
        f"[tool.maturin]\n{maturin}\n"
    )
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("fn main() {}\n")
    assert read_project(tmp_path).bindings == bindings
