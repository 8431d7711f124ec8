"""zigwheel explain on failures produced right here by real zig, cargo, pip and maturin runs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from zigwheel.explain import Explanation, explain

REPO = Path(__file__).resolve().parent.parent.parent
HOST_ARCH = platform.machine()


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        cmd, capture_output=True, text=True, check=False, timeout=300, **kwargs
    )


def _zig_cc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "ziglang", "cc", *args], cwd=cwd)


def _only(found: list[Explanation], rule_id: str) -> Explanation:
    matches = [item for item in found if item.id == rule_id]
    assert matches, f"expected {rule_id}, got {[item.id for item in found]}"
    return matches[0]


@pytest.fixture
def c_main(tmp_path: Path) -> Path:
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    return tmp_path


def test_zig_rejects_an_unknown_linker_flag(c_main: Path) -> None:
    result = _zig_cc(
        "-target", "x86_64-linux-gnu.2.17", "-Wl,--fix-cortex-a53-843419", "main.c", cwd=c_main
    )
    assert result.returncode != 0
    match = _only(explain(result.stdout + result.stderr), "unsupported-linker-arg")
    assert match.details["arg"] == "--fix-cortex-a53-843419"
    assert "`--fix-cortex-a53-843419`" in match.fix


def test_zig_finds_no_host_library(c_main: Path) -> None:
    result = _zig_cc("-target", "x86_64-linux-gnu.2.17", "main.c", "-lz", cwd=c_main)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "system-library-not-found")
    assert match.details["library"] == "z"


def test_zig_finds_no_host_header(tmp_path: Path) -> None:
    (tmp_path / "z.c").write_text("#include <zlib.h>\nint main(void) { return 0; }\n")
    result = _zig_cc("-target", "x86_64-linux-gnu.2.17", "z.c", cwd=tmp_path)
    assert result.returncode != 0
    assert _only(explain(result.stderr), "header-not-found").details["header"] == "zlib.h"


def test_linking_python_symbols_into_a_program(tmp_path: Path) -> None:
    (tmp_path / "py.c").write_text(
        "extern void _Py_Dealloc(void *);\nint main(void) { _Py_Dealloc(0); return 0; }\n"
    )
    result = _zig_cc("-target", "x86_64-linux-gnu.2.17", "py.c", cwd=tmp_path)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "python-symbols-undefined")
    assert match.details["symbol"] == "_Py_Dealloc"


def test_objects_from_new_glibc_headers_in_an_old_glibc_link(tmp_path: Path) -> None:
    (tmp_path / "parse.c").write_text(
        "#include <stdlib.h>\nlong parse(const char *s) { return strtol(s, 0, 0); }\n"
    )
    (tmp_path / "main.c").write_text(
        "long parse(const char *s);\n"
        "int main(int c, char **v) { (void)c; return (int)parse(v[0]); }\n"
    )
    compiled = _zig_cc(
        "-target",
        "x86_64-linux-gnu.2.39",
        "-std=c2x",
        "-c",
        "parse.c",
        "-o",
        "parse.o",
        cwd=tmp_path,
    )
    assert compiled.returncode == 0, compiled.stderr
    result = _zig_cc("-target", "x86_64-linux-gnu.2.17", "main.c", "parse.o", cwd=tmp_path)
    assert result.returncode != 0
    assert _only(explain(result.stderr), "isoc23-symbols").details["function"] == "strtol"


@pytest.mark.skipif(not Path("/usr/include/stdio.h").is_file(), reason="needs the host's C headers")
def test_host_headers_in_a_zig_compile(tmp_path: Path) -> None:
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
    multiarch = f"/usr/include/{HOST_ARCH}-linux-gnu"
    result = _zig_cc(
        "-target", "x86_64-linux-gnu.2.17", "-I/usr/include", f"-I{multiarch}", "-c", "h.c",
        f"-DRUN={uuid.uuid4().hex}",  # a new cache key: a cached compile repeats no warning
        cwd=tmp_path,
    )  # fmt: skip
    _only(explain(result.stderr), "host-headers-mixed")


@pytest.mark.skipif(HOST_ARCH == "aarch64", reason="runs an aarch64 program on another host")
@pytest.mark.skipif(
    Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(),
    reason="qemu-user is registered with binfmt_misc here: aarch64 programs just run",
)
def test_running_a_program_for_another_architecture(tmp_path: Path) -> None:
    (tmp_path / "h.c").write_text("int main(void) { return 0; }\n")
    built = _zig_cc("-target", "aarch64-linux-gnu.2.17", "h.c", "-o", "h", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    with pytest.raises(OSError, match="format") as raised:
        subprocess.run([str(tmp_path / "h")], check=False, timeout=60)
    _only(explain(f"OSError: {raised.value}"), "exec-format-error")
    shell = _run(["sh", "-c", str(tmp_path / "h")])
    assert shell.returncode != 0
    _only(explain(shell.stderr), "exec-format-error")


def _host_glibc() -> tuple[int, int]:
    name, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
    if name != "glibc":
        return (0, 0)
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.skipif(HOST_ARCH != "x86_64", reason="builds an x86_64 program to run on the host")
@pytest.mark.skipif(
    not (2, 17) <= _host_glibc() < (2, 38), reason="needs a glibc host older than 2.38"
)
def test_loader_reports_a_missing_glibc_version(tmp_path: Path) -> None:
    # strlcpy arrived in glibc 2.38: linked for 2.39, the program cannot start on an older host.
    (tmp_path / "new.c").write_text(
        "#include <string.h>\n#include <stdio.h>\n"
        "int main(int c, char **v) { char b[8]; (void)c; strlcpy(b, v[0], sizeof b);"
        " puts(b); return 0; }\n"
    )
    built = _zig_cc("-target", "x86_64-linux-gnu.2.39", "new.c", "-o", "new", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    result = _run([str(tmp_path / "new")])
    assert result.returncode != 0
    match = _only(explain(result.stderr), "glibc-version-not-found")
    assert match.details["version"] == "GLIBC_2.38"


@pytest.mark.network  # builds the bullseye root when the cache lacks it (CI provisions it)
@pytest.mark.skipif(HOST_ARCH != "x86_64", reason="uses the Debian bullseye amd64 test root")
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs the host's g++")
def test_older_root_lacks_the_hosts_libstdcxx_version(tmp_path: Path) -> None:
    """A C++ program linked by the host's g++ does not start on Debian 11 (older libstdc++)."""
    from zigwheel.runtime import debian_root  # noqa: PLC0415

    if _host_glibc() < (2, 34):
        pytest.skip("needs a host newer than Debian 11")
    root = debian_root.ensure_debian_root("bullseye", "x86_64", env=os.environ).path
    (tmp_path / "conv.cpp").write_text(
        "#include <charconv>\n#include <string>\n#include <cstdio>\n"
        "int main(int c, char **v) { (void)c; double d = 0; std::string s = v[0];\n"
        '  std::from_chars(s.data(), s.data() + s.size(), d); std::printf("%f\\n", d); }\n'
    )
    built = _run(["g++", "-std=c++17", "-O2", "conv.cpp", "-o", "conv"], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    libs = f"{root}/lib/x86_64-linux-gnu:{root}/usr/lib/x86_64-linux-gnu"
    loader = root / "lib" / "x86_64-linux-gnu" / "ld-linux-x86-64.so.2"
    result = _run([str(loader), "--library-path", libs, str(tmp_path / "conv")])
    assert result.returncode != 0
    match = _only(explain(result.stderr), "glibcxx-version-not-found")
    assert match.details["version"].startswith("GLIBCXX_3.4.")
    assert tuple(int(p) for p in match.details["version"].split("_")[1].split(".")) > (3, 4, 28)


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs the host's g++")
def test_gxx_object_linked_by_zig_cxx(tmp_path: Path) -> None:
    """An object compiled by the host's g++ (libstdc++, std::__cxx11) linked by zig's c++."""
    (tmp_path / "lib.cpp").write_text(
        "#include <string>\n"
        'std::string greet(const std::string &name) { return "hello " + name; }\n'
    )
    (tmp_path / "main.cpp").write_text(
        "#include <string>\nstd::string greet(const std::string &name);\n"
        'int main() { return (int)greet("x").size(); }\n'
    )
    compiled = _run(["g++", "-c", "lib.cpp", "-o", "lib.o"], cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    result = _run(
        [sys.executable, "-m", "ziglang", "c++", "-target", f"{HOST_ARCH}-linux-gnu.2.17",
         "main.cpp", "lib.o", "-o", "main"],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "std::__cxx11::" in result.stderr  # the real linker names the libstdc++ symbols
    match = _only(explain(result.stderr), "libcxx-abi-mismatch")
    assert "std::__" in match.matched_line
    assert "rebuild the c++ dependency from source" in match.fix.lower()


@pytest.mark.parametrize("interpreter", ["bogus", "path"])
def test_maturin_cross_build_without_a_python_version(tmp_path: Path, interpreter: str) -> None:
    """A non-abi3 crate cross-built with -i naming no version: maturin stops before compiling."""
    if interpreter == "path":  # a real interpreter whose path names no version
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "python3").symlink_to(sys.executable)
        interpreter = str(tmp_path / "bin" / "python3")
    other = "x86_64" if HOST_ARCH == "aarch64" else "aarch64"
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    result = _run(
        [sys.executable, "-m", "maturin", "build", "--release", "--target",
         f"{other}-unknown-linux-gnu", "-i", interpreter, "-o", str(tmp_path / "dist"),
         "-m", str(REPO / "examples" / "versioned" / "Cargo.toml")],
        env=env,
    )  # fmt: skip
    assert result.returncode != 0
    match = _only(explain(result.stdout + result.stderr), "no-python-interpreter")
    assert "-i python3.11" in match.fix
    assert not (tmp_path / "target").exists()  # it failed fast: nothing was compiled


def _tiny_wheel(folder: Path, name: str, tag: str) -> Path:
    """A wheel of one empty package, tagged ``tag``: enough for an uploader or an installer."""
    wheel = folder / f"{name}-0.1.0-{tag}.whl"
    purelib = "true" if tag.endswith("-any") else "false"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(
            f"{name}-0.1.0.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n",
        )
        archive.writestr(
            f"{name}-0.1.0.dist-info/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n",
        )
        archive.writestr(f"{name}-0.1.0.dist-info/RECORD", "")
    return wheel


def test_twine_upload_without_credentials_or_terminal(tmp_path: Path) -> None:
    wheel = _tiny_wheel(tmp_path, "tinypure", "py3-none-any")
    # No TWINE_* variables, a HOME without .pypirc, no terminal: twine has nothing to ask.
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWINE_")}
    env.update({"HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    result = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", "http://127.0.0.1:9/legacy/", str(wheel)],
        capture_output=True, text=True, check=False, timeout=120, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode != 0
    match = _only(explain(result.stdout + result.stderr), "upload-no-credentials")
    assert match.details["what"] == "username"
    assert "TWINE_USERNAME" in match.fix


def _cargo_with_std(triple: str) -> tuple[str, str] | None:
    """A (cargo, rustc) pair on PATH whose rustc has ``triple``'s standard library."""
    from zigwheel.toolchain.rustenv import has_std  # noqa: PLC0415

    for folder in os.environ.get("PATH", "").split(os.pathsep):
        rustc, cargo = Path(folder) / "rustc", Path(folder) / "cargo"
        if rustc.is_file() and cargo.is_file() and has_std(str(rustc), triple, os.environ):
            return str(cargo), str(rustc)
    return None


@pytest.mark.slow
@pytest.mark.network  # openssl-sys and its build dependencies come from the crate registry
def test_openssl_sys_cross_build_finds_no_openssl(tmp_path: Path) -> None:
    other = "x86_64" if HOST_ARCH == "aarch64" else "aarch64"
    triple = f"{other}-unknown-linux-gnu"
    tools = _cargo_with_std(triple)
    assert tools, f"no cargo on PATH has the {triple} standard library (.ci/apt-packages.txt)"
    cargo, rustc = tools
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text(
        "pub fn v() -> u64 { unsafe { openssl_sys::OpenSSL_version_num() as u64 } }\n"
    )
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "needssl"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nopenssl-sys = "0.9"\n'
    )
    env = {key: value for key, value in os.environ.items() if "OPENSSL" not in key}
    env.update({"RUSTC": rustc, "CARGO_TARGET_DIR": str(tmp_path / "target")})
    result = _run([cargo, "build", "--target", triple], cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "openssl-sys" in result.stderr
    match = _only(explain(result.stderr), "openssl-not-found")
    assert "vendored" in match.fix


def _rustup_cargo() -> str | None:
    cargo = shutil.which("cargo")
    if cargo is None or shutil.which("rustup") is None:
        return None
    return cargo


@pytest.mark.skipif(_rustup_cargo() is None, reason="needs rustup's cargo")
def test_cargo_without_the_target_std(tmp_path: Path) -> None:
    installed = _run(["rustup", "target", "list", "--installed"]).stdout.split()
    candidates = [
        "aarch64-unknown-linux-gnu",
        "riscv64gc-unknown-linux-gnu",
        "s390x-unknown-linux-gnu",
    ]
    triple = next(item for item in candidates if item not in installed)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("pub fn one() -> u8 { 1 }\n")
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "notarget"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"RUSTC", "CARGO_BUILD_TARGET"}
    }
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    result = _run(["cargo", "build", "--offline", "--target", triple], cwd=tmp_path, env=env)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "rust-target-missing")
    assert f"rustup target add {triple}" in match.fix


def test_pip_refuses_a_wheel_for_another_architecture(tmp_path: Path) -> None:
    other = "x86_64" if HOST_ARCH == "aarch64" else "aarch64"
    tag = f"py3-none-manylinux_2_17_{other}"
    wheel = _tiny_wheel(tmp_path, "tinyother", tag)
    result = _run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--dry-run", "--no-deps", str(wheel)]
    )
    assert result.returncode != 0
    match = _only(explain(result.stdout + result.stderr), "unsupported-wheel-platform")
    assert match.details["wheel"] == wheel.name


def _tiny_pyo3_crate(folder: Path) -> Path:
    """A minimal abi3 PyO3 extension crate (used until examples/hello-abi3 exists)."""
    (folder / "src").mkdir(parents=True)
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "tinynative"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[lib]\nname = "tinynative"\ncrate-type = ["cdylib"]\n\n[dependencies]\n'
        'pyo3 = { version = "0.27", features = ["extension-module", "abi3-py39"] }\n'
    )
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.9,<2"]\nbuild-backend = "maturin"\n\n'
        '[project]\nname = "tinynative"\nversion = "0.1.0"\n'
    )
    (folder / "src" / "lib.rs").write_text(
        "use pyo3::prelude::*;\n\n#[pyfunction]\nfn log_now() -> f64 {\n"
        "    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);\n"
        "    now.map(|d| d.as_secs_f64().ln()).unwrap_or(0.0)\n}\n\n#[pymodule]\n"
        "fn tinynative(m: &Bound<'_, PyModule>) -> PyResult<()> {\n"
        "    m.add_function(wrap_pyfunction!(log_now, m)?)\n}\n"
    )
    return folder / "Cargo.toml"


@pytest.mark.slow
def test_native_maturin_build_fails_manylinux_2_17(tmp_path: Path) -> None:
    """The seed guide's error: a plain maturin build on a modern host fails manylinux_2_17."""
    if _host_glibc() <= (2, 17):
        pytest.skip("needs a glibc host newer than 2.17")
    manifest = REPO / "examples" / "hello-abi3" / "Cargo.toml"
    if not manifest.is_file():
        manifest = _tiny_pyo3_crate(tmp_path / "crate")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARGO_ZIGBUILD")}
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    result = _run(
        [
            sys.executable,
            "-m",
            "maturin",
            "build",
            "--release",
            "--compatibility",
            "manylinux_2_17",
            "-o",
            str(tmp_path / "dist"),
            "-m",
            str(manifest),
        ],
        env=env,
    )
    assert result.returncode != 0, "a native build on this host unexpectedly passed manylinux_2_17"
    match = _only(explain(result.stdout + result.stderr), "too-recent-versioned-symbols")
    assert match.details["policy"] == "manylinux_2_17"
    assert "GLIBC_2." in match.details["versions"]
    assert "zigwheel build" in match.fix


def _crate(folder: Path, manifest_tail: str, lib: str, *, build_rs: str | None = None) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "Cargo.toml").write_text(
        f'[package]\nname = "{folder.name}"\nversion = "0.1.0"\nedition = "2021"\n{manifest_tail}'
    )
    (folder / "src" / "lib.rs").write_text(lib)
    if build_rs is not None:
        (folder / "build.rs").write_text(build_rs)
    return folder


def _cargo_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "RUSTC_BOOTSTRAP"}
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    return env


@pytest.mark.skipif(_rustup_cargo() is None, reason="needs rustup's cargo")
def test_a_feature_gate_on_stable_rust(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "wantsnightly", "", "#![feature(portable_simd)]\npub fn one() {}\n")
    env = {**_cargo_env(tmp_path), "RUSTUP_TOOLCHAIN": "stable"}
    result = _run(["cargo", "build", "--offline"], cwd=crate, env=env)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "nightly-feature-on-stable")
    assert match.details["channel"] == "stable"
    assert "RUSTC_BOOTSTRAP" in match.fix
    # The advice works: the same compiler accepts it with RUSTC_BOOTSTRAP=1.
    fixed = _run(["cargo", "build", "--offline"], cwd=crate, env={**env, "RUSTC_BOOTSTRAP": "1"})
    assert fixed.returncode == 0, fixed.stderr


_HOST_ARCH_BUILD_RS = """fn main() {
    if %s {
        println!("cargo:rustc-cfg=fast_x86");
    }
    println!("cargo:rustc-check-cfg=cfg(fast_x86)");
}
"""
_X86_LIB = """#[cfg(fast_x86)]
use core::arch::x86_64::_mm_add_epi32;
#[cfg(fast_x86)]
#[target_feature(enable = "avx512f")]
unsafe fn wide() -> u32 { 1 }
pub fn pick() -> u32 {
    #[cfg(fast_x86)]
    if is_x86_feature_detected!("avx512f") {
        let _ = _mm_add_epi32;
        return unsafe { wide() };
    }
    0
}
"""


@pytest.mark.skipif(HOST_ARCH != "x86_64", reason="a build script on x86_64 cross-compiling")
def test_a_build_script_that_tests_the_host_arch(tmp_path: Path) -> None:
    triple = "aarch64-unknown-linux-gnu"
    tools = _cargo_with_std(triple)
    if tools is None:
        pytest.skip(f"no cargo on PATH has the {triple} standard library")
    cargo, rustc = tools
    wrong = _HOST_ARCH_BUILD_RS % 'cfg!(target_arch = "x86_64")'
    crate = _crate(tmp_path / "simdpick", "", _X86_LIB, build_rs=wrong)
    env = {**_cargo_env(tmp_path), "RUSTC": rustc}
    result = _run([cargo, "build", "--offline", "--target", triple], cwd=crate, env=env)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "build-script-host-arch")
    assert match.details == {"arch": "x86_64", "feature": "avx512f"}
    assert "CARGO_CFG_TARGET_ARCH" in match.fix
    # The advice works: reading the target's arch from cargo's variable builds.
    right = 'std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")'
    (crate / "build.rs").write_text(_HOST_ARCH_BUILD_RS % right)
    fixed = _run([cargo, "build", "--offline", "--target", triple], cwd=crate, env=env)
    assert fixed.returncode == 0, fixed.stderr


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_a_git_dependency_that_cannot_be_fetched(tmp_path: Path) -> None:
    dependency = (
        '\n[dependencies]\nfancy-hash = { git = "https://git.example.invalid/fancy-hash.git" }\n'
    )
    crate = _crate(tmp_path / "usesgit", dependency, "pub fn one() {}\n")
    env = {**_cargo_env(tmp_path), "CARGO_HOME": str(tmp_path / "cargo-home")}
    env["CARGO_NET_RETRY"] = "0"
    result = _run(["cargo", "build"], cwd=crate, env=env)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "dependency-fetch-failed")
    assert match.details["crate"] == "fancy-hash"
    assert match.details["source"].startswith("https://git.example.invalid/fancy-hash.git")
    assert "CARGO_NET_GIT_FETCH_WITH_CLI" in match.fix


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_a_lock_file_that_locked_may_not_update(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "locky", "", "pub fn one() {}\n")
    env = _cargo_env(tmp_path)
    assert _run(["cargo", "generate-lockfile", "--offline"], cwd=crate, env=env).returncode == 0
    # A new dependency (a path one: no network) that Cargo.lock does not record yet.
    _crate(tmp_path / "helper", "", "pub fn two() {}\n")
    with (crate / "Cargo.toml").open("a") as manifest:
        manifest.write('\n[dependencies]\nhelper = { path = "../helper" }\n')
    result = _run(["cargo", "build", "--locked", "--offline"], cwd=crate, env=env)
    assert result.returncode != 0
    match = _only(explain(result.stderr), "cargo-lock-outdated")
    assert match.details["flag"] == "locked"
    assert "cargo update" in match.fix
