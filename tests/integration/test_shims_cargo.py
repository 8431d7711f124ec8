"""cargo links real Rust programs and cdylibs with the linker shim (rustc's own flags, for real)."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from zigwheel.toolchain.rustenv import rust_std_installed
from zigwheel.toolchain.shims import install_shims
from zigwheel.toolchain.targets import resolve_target
from zigwheel.toolchain.zig import locate_zig

CARGO_TOML = """
[package]
name = "zwdemo"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[[bin]]
name = "zwdemo"
path = "src/main.rs"
"""

LIB_RS = textwrap.dedent(
    """
    #[no_mangle]
    pub extern "C" fn zw_mix(x: f64) -> f64 {
        let handle = std::thread::spawn(move || x.powf(2.5).ln().exp());
        handle.join().unwrap_or(0.0)
    }
    """
)

MAIN_RS = textwrap.dedent(
    """
    fn main() {
        let me = std::env::current_exe().unwrap();
        let size = std::fs::metadata(&me).unwrap().len();
        let total: f64 = (1..10).map(|i| std::thread::spawn(move || (i as f64).powf(1.5)))
            .map(|h| h.join().unwrap()).sum();
        let text = std::panic::catch_unwind(|| "unwinding works").unwrap();
        println!("zwdemo {} {:.1} {}", size > 0, total, text);
    }
    """
)


def rustc_with_std(triple: str) -> str | None:
    """The first rustc (RUSTC, then every rustc on PATH) whose sysroot has ``triple``'s std."""
    candidates = [os.environ.get("RUSTC", "")]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidates.append(str(Path(folder) / "rustc"))
    for candidate in candidates:
        if not candidate or not shutil.which(candidate):
            continue
        result = subprocess.run(
            [candidate, "--print", "sysroot"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and rust_std_installed(Path(result.stdout.strip()), triple):
            return candidate
    return None


def glibc_versions(path: Path) -> set[str]:
    with path.open("rb") as handle:
        versions: set[str] = set()
        for section in ELFFile(handle).iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _needed, auxiliaries in section.iter_versions():
                    versions.update(a.name for a in auxiliaries if a.name.startswith("GLIBC_2"))
        return versions


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zwdemo")
    (folder / "Cargo.toml").write_text(CARGO_TOML)
    (folder / "src").mkdir()
    (folder / "src" / "lib.rs").write_text(LIB_RS)
    (folder / "src" / "main.rs").write_text(MAIN_RS)
    return folder


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_cargo_links_with_the_linker_shim(
    arch: str, shim_form: str, crate: Path, session_cache: Path, tmp_path: Path
) -> None:
    target = resolve_target(arch, "manylinux_2_17")
    rustc = rustc_with_std(target.rust_triple)
    if rustc is None:
        pytest.skip(f"no rustc with the {target.rust_triple} standard library")
    shims = install_shims(target, locate_zig(os.environ), session_cache, form=shim_form)
    env = dict(os.environ, RUSTC=rustc, CARGO_TARGET_DIR=str(tmp_path / "target"), **shims.env())
    result = subprocess.run(
        ["cargo", "build", "--offline", "--release", "--target", target.rust_triple],
        cwd=crate,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = tmp_path / "target" / target.rust_triple / "release"
    for artefact in (out / "zwdemo", out / "libzwdemo.so"):
        versions = glibc_versions(artefact)
        assert versions
        newest = max(tuple(int(p) for p in v[6:].split(".")) for v in versions)
        assert newest <= (2, 17), sorted(versions)
        with artefact.open("rb") as handle:
            assert ELFFile(handle)["e_machine"] == target.e_machine
    if arch == os.uname().machine:
        ran = subprocess.run([str(out / "zwdemo")], capture_output=True, text=True, check=False)
        assert ran.returncode == 0, ran.stderr
        total = sum(i**1.5 for i in range(1, 10))
        assert ran.stdout.strip() == f"zwdemo true {total:.1f} unwinding works"
