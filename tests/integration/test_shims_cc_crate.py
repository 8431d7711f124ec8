"""The cc crate's compiler detection runs against the shims: zig recognised, a clean build log."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from zigwheel.toolchain.shims import install_shims
from zigwheel.toolchain.targets import resolve_target
from zigwheel.toolchain.zig import locate_zig

REPO = Path(__file__).resolve().parents[2]

CARGO_TOML = """
[package]
name = "zwprobe"
version = "0.1.0"
edition = "2021"

[build-dependencies]
cc = "1"
"""

# get_compiler() runs the cc crate's whole detection (-E of its probe file, --version, -?);
# the family it settles on is printed for the test to read.
BUILD_RS = textwrap.dedent(
    """
    fn main() {
        let compiler = cc::Build::new().get_compiler();
        let (clang, gnu) = (compiler.is_like_clang(), compiler.is_like_gnu());
        println!("zwprobe-family: clang={clang} gnu={gnu}");
        cc::Build::new().file("probe.c").flag_if_supported("-pthread").compile("zwprobe_c");
        cc::Build::new().cpp(true).file("probe.cpp").compile("zwprobe_cpp");
    }
    """
)

MAIN_RS = textwrap.dedent(
    """
    extern "C" { fn zw_probe_c() -> i32; fn zw_probe_cpp() -> i32; }
    fn main() { println!("{}", unsafe { zw_probe_c() + zw_probe_cpp() }); }
    """
)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cc_crate_detects_zig_through_the_shims_without_a_warning(
    shim_form: str, session_cache: Path, tmp_path: Path
) -> None:
    crate = tmp_path / "zwprobe"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML)
    (crate / "build.rs").write_text(BUILD_RS)
    (crate / "src" / "main.rs").write_text(MAIN_RS)
    (crate / "probe.c").write_text("int zw_probe_c(void) { return 40; }\n")
    (crate / "probe.cpp").write_text('extern "C" int zw_probe_cpp() { return 2; }\n')
    # cmix's lock file pins a cc crate that is in the offline registry cache of a set-up machine.
    shutil.copy(REPO / "examples" / "cmix" / "Cargo.lock", crate / "Cargo.lock")
    target = resolve_target("x86_64", "manylinux_2_17")
    shims = install_shims(target, locate_zig(os.environ), session_cache, form=shim_form)
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"), **shims.env())
    result = subprocess.run(
        ["cargo", "build", "--offline", "-vv", "--target", target.rust_triple],
        cwd=crate,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    log = result.stdout + result.stderr
    if result.returncode != 0 and "but --offline was specified" in log:
        pytest.skip("the cc crate is not in the offline cargo registry cache")
    assert result.returncode == 0, log[-4000:]
    assert "zwprobe-family: clang=true gnu=false" in log
    assert "zig: error" not in log
    assert "Compiler family detection failed" not in log
    warnings = [line for line in log.splitlines() if "warning" in line and "Running" not in line]
    assert warnings == []
    if os.uname().machine == "x86_64":
        program = tmp_path / "target" / target.rust_triple / "debug" / "zwprobe"
        ran = subprocess.run([str(program)], capture_output=True, text=True, check=False)
        assert ran.stdout == "42\n"
