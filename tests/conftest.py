"""Shared test fixtures: isolation from the user's environment and wheels built from examples/."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's ZIGWHEEL_* settings and colours out of every test."""
    for name in list(os.environ):
        if name.startswith("ZIGWHEEL_") and name != "ZIGWHEEL_CACHE_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zigwheel cache shared by one test session (shims are rendered once)."""
    return tmp_path_factory.mktemp("zigwheel-cache")


def host_shim_forms() -> list[str]:
    """The shim forms this host can run: sh and native on Linux and macOS, native on Windows."""
    return ["native"] if sys.platform == "win32" else ["sh", "native"]


@pytest.fixture(scope="session", params=host_shim_forms())
def shim_form(request: pytest.FixtureRequest) -> str:
    """Each shim form this host runs: a test taking it runs once per form."""
    form: str = request.param
    return form


ExampleWheel = Callable[..., Path]


@pytest.fixture(scope="session")
def example_wheel(tmp_path_factory: pytest.TempPathFactory) -> ExampleWheel:
    """Build (once per session) a wheel of ``examples/<name>`` for an architecture.

    ``example_wheel("hello-abi3", "aarch64")`` returns the path of a manylinux_2_17 wheel;
    ``native=True`` builds with plain ``maturin build`` on this host (no zig), which links
    against the host's glibc and is expected to fail manylinux_2_17.
    """
    built: dict[tuple[str, str, bool], Path] = {}
    out_root = tmp_path_factory.mktemp("example-wheels")

    def build(name: str, arch: str = "x86_64", *, native: bool = False) -> Path:
        key = (name, arch, native)
        if key not in built:
            built[key] = _build_example(name, arch, native=native, out_root=out_root)
        return built[key]

    return build


def _build_example(name: str, arch: str, *, native: bool, out_root: Path) -> Path:
    out = out_root / f"{name}-{arch}-{'native' if native else 'zig'}"
    out.mkdir()
    if native:
        return _build_native(EXAMPLES / name, out)
    # Through zigwheel's public API, so every consumer of this fixture exercises it.
    import zigwheel  # noqa: PLC0415

    result = zigwheel.build(
        EXAMPLES / name, targets=[arch], manylinux="2_17", out_dir=out, env=dict(os.environ)
    )
    (built,) = result.wheels
    return built.path


def _build_native(project: Path, out: Path) -> Path:
    """Plain maturin on this host, no zig: links against the host's glibc."""
    cmd = [
        sys.executable, "-m", "maturin", "build", "--release", "--strip", "--out", str(out),
        "--manifest-path", str(project / "Cargo.toml"),
        "--compatibility", "linux", "--auditwheel", "skip", "--interpreter", sys.executable,
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


def python_for_tests() -> str:
    """The interpreter running the tests."""
    return sys.executable


def have(tool: str) -> bool:
    """True when ``tool`` is on PATH."""
    return shutil.which(tool) is not None


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """subprocess.run with text output captured; for tests."""
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="session")
def check_builders() -> ModuleType:
    """The crafted-wheel builders of tests/integration/test_check_build.py, loaded once.

    (make_wheel, compile_so, host_built_wheel, retagged_wheel: test modules cannot import
    each other under pytest's importlib mode.)
    """
    path = REPO / "tests" / "integration" / "test_check_build.py"
    spec = importlib.util.spec_from_file_location("zigwheel_check_builders", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bullseye_amd64() -> Path:
    """Debian 11 amd64 root: glibc 2.31, Python 3.9 (provisioned by .ci/provision.d/roots.sh)."""
    from zigwheel.runtime import debian_root  # noqa: PLC0415

    return debian_root.ensure_debian_root("bullseye", "x86_64", env=os.environ).path


@pytest.fixture(scope="session")
def bullseye_cpython311(bullseye_amd64: Path) -> Path:
    """The Debian 11 amd64 root plus CPython 3.11 built by zig (.ci/provision.d/roots.sh)."""
    from zigwheel.runtime import python_root  # noqa: PLC0415

    root = python_root.ensure_python_root("3.11", arch="x86_64", release="bullseye", env=os.environ)
    return root.path


@pytest.fixture(scope="session")
def bookworm_arm64() -> Path:
    """Debian 12 arm64 root: glibc 2.36, Python 3.11, run under qemu-user."""
    from zigwheel.platforms import find_qemu  # noqa: PLC0415
    from zigwheel.runtime import debian_root  # noqa: PLC0415

    if find_qemu("aarch64", os.environ.get("PATH", "")) is None:
        pytest.skip("aarch64: no qemu-aarch64 or qemu-aarch64-static on PATH")
    return debian_root.ensure_debian_root("bookworm", "aarch64", env=os.environ).path
