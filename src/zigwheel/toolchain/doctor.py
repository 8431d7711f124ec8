"""`zigwheel doctor`: check host, zig, maturin, Rust targets, qemu-user; say what does not apply."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zigwheel import _proc
from zigwheel.cache import cache_root
from zigwheel.errors import ZigwheelError
from zigwheel.host import WHERE_LINUX_WHEELS_RUN, Host
from zigwheel.platforms import find_qemu, qemu_programs
from zigwheel.toolchain.rustenv import (
    SYSTEM_RUSTC_CANDIDATES,
    choose_rustc,
    default_rustc,
    find_toolchain_pin,
    missing_pin_error,
)
from zigwheel.toolchain.targets import Arch, Target, parse_arch
from zigwheel.toolchain.zig import locate_zig

logger = logging.getLogger(__name__)

OK = "ok"
WARNING = "warning"
MISSING = "missing"
INFO = "info"

@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, its state and what to do about it."""

    name: str
    status: str  # ok | warning | missing | info
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """A JSON-ready description."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in the order they ran."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing (warnings allowed)."""
        return all(check.status != MISSING for check in self.checks)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready description."""
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}


def _which(program: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(program, path=env.get("PATH", os.defpath))


# What a macOS host is promised: no more than zigwheel's own workflow shows.
PROVEN_BY_WORKFLOW = "supported, proven by the workflow .github/workflows/ci.yml"
NOT_ON_THIS_HOST = "does not apply on this host"


def check_host(host: Host) -> Check:
    """Operating system, architecture and libc of the host."""
    detail = host.describe()
    if host.os == "linux":
        return Check("host", OK, detail)
    if host.os == "darwin":
        return Check("host", OK, f"{detail} (macOS: {PROVEN_BY_WORKFLOW})")
    if host.os == "windows":
        # No sh there: the shims are the native program, cc.exe and friends (toolchain.shims).
        return Check("host", OK, f"{detail} (Windows, native shims: {PROVEN_BY_WORKFLOW})")
    return Check("host", WARNING, detail, "zigwheel builds on Linux and macOS hosts")


def check_runtime(host: Host) -> list[Check]:
    """What of ``zigwheel test`` does not apply here: Linux wheels run on Linux hosts only."""
    if host.runs_linux_wheels:
        return []
    detail = (
        f"wheel tests, qemu-user and Debian roots: {NOT_ON_THIS_HOST} ({host.display_os}); "
        "zigwheel test reports each wheel as not tested here"
    )
    return [Check("wheel tests", INFO, detail, f"test the wheels on {WHERE_LINUX_WHEELS_RUN}")]


def check_zig(env: Mapping[str, str]) -> Check:
    """The pinned zig from the ziglang package."""
    try:
        zig = locate_zig(env, require_pin=False)
    except ZigwheelError as err:
        return Check("zig", MISSING, str(err), err.hint or "")
    how = "" if zig.direct else f" (through {' '.join(zig.command)})"
    detail = f"zig {zig.version} at {zig.path}{how}"
    if zig.version != zig.pinned:
        return Check(
            "zig",
            WARNING,
            f"{detail}; zigwheel is tested with {zig.pinned}",
            f"pip install 'ziglang=={zig.pinned}'",
        )
    return Check("zig", OK, detail)


def check_cache(env: Mapping[str, str]) -> Check:
    """The cache folder for shims exists (or can be made) and is writable."""
    try:
        root = cache_root(env)
    except ZigwheelError as err:
        return Check("cache", MISSING, str(err), err.hint or "")
    if not os.access(root, os.W_OK):
        return Check(
            "cache",
            MISSING,
            f"{root} is not writable",
            "set ZIGWHEEL_CACHE_DIR to a writable folder",
        )
    return Check("cache", OK, str(root))


def check_maturin() -> Check:
    """The maturin Python package (zigwheel drives `python -m maturin`)."""
    try:
        version = importlib.metadata.version("maturin")
    except importlib.metadata.PackageNotFoundError:
        return Check(
            "maturin", MISSING, "maturin is not installed", "pip install 'maturin>=1.9,<2'"
        )
    return Check("maturin", OK, f"maturin {version}")


def _tool_version(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> str | None:
    try:
        result = _proc.run(argv, env=env, cwd=cwd, check=False, timeout=60)
    except ZigwheelError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip().splitlines()[0] if result.stdout.strip() else None


def check_cargo(
    env: Mapping[str, str], cwd: Path | None = None, host: Host | None = None
) -> Check:
    """cargo on PATH (run in ``cwd``, where a toolchain pin applies)."""
    cargo = env.get("CARGO") or _which("cargo", env)
    version = _tool_version([cargo, "--version"], env, cwd) if cargo else None
    if version is None:
        fix = (Host.detect(env) if host is None else host).rust_install_hint()
        return Check("cargo", MISSING, "cargo was not found", fix)
    return Check("cargo", OK, version)


def check_rust_targets(
    targets: Sequence[Target],
    env: Mapping[str, str],
    system: Sequence[str] = SYSTEM_RUSTC_CANDIDATES,
    *,
    cwd: Path | None = None,
    host: Host | None = None,
) -> list[Check]:
    """cargo's rustc, and for every target the rustc build will use (rustenv.choose_rustc).

    build and doctor ask the same function, so a target doctor calls ok is one build compiles:
    when only another rustc on the system has a target's std, build sets RUSTC to it for that
    target and doctor says so. An explicit RUSTC is never replaced.
    """
    host = Host.detect(env) if host is None else host
    default, explicit = default_rustc(env)
    label = "RUSTC" if explicit else "rustc"
    if default is None:
        return [Check("rustc", MISSING, "rustc was not found", host.rust_install_hint())]
    version = _tool_version([default, "--version"], env, cwd)
    checks: list[Check] = []
    if version is None:
        fix = "unset RUSTC or point it at a working rustc" if explicit else "reinstall Rust"
        checks.append(Check(label, MISSING, f"{default} does not run", fix))
    else:
        checks.append(Check(label, OK, f"{version} at {default}"))
    for triple in sorted({target.rust_triple for target in targets}):
        choice = choose_rustc(triple, env, system, cwd=cwd)
        if choice.rustc is None:
            where = f"{default}" if choice.default_runs else f"{default} (which does not run)"
            checks.append(Check(triple, MISSING, f"no std for {where}", choice.fix(env, host)))
        elif choice.override is not None:
            detail = f"std from {choice.rustc} (RUSTC will be set for that target)"
            checks.append(Check(triple, OK, detail))
        else:
            checks.append(Check(triple, OK, f"std from {choice.rustc} in {choice.sysroot}"))
    return checks


def check_qemu(targets: Sequence[Target], env: Mapping[str, str], host: Host) -> list[Check]:
    """qemu-user for every target architecture that is not the host's (for runtime tests).

    None off Linux: qemu-user does not exist there (check_runtime says what does not apply).
    """
    if not host.runs_linux_wheels:
        return []
    checks: list[Check] = []
    seen: set[Arch] = set()
    for target in targets:
        if target.arch in seen or target.arch.value == host.arch:
            continue
        seen.add(target.arch)
        found = find_qemu(target.arch.value, env.get("PATH", os.defpath))
        name = f"qemu {target.arch.value}"
        if found:
            checks.append(Check(name, OK, str(found)))
        else:
            program, static = qemu_programs(target.arch.value)
            checks.append(
                Check(
                    name,
                    WARNING,
                    f"no {program} or {static} on PATH; "
                    f"{target.arch.value} wheels build but cannot be import-tested",
                    host.qemu_hint(target.qemu),
                )
            )
    return checks


def check_toolchain_pin(
    targets: Sequence[Target], env: Mapping[str, str], folder: Path
) -> Check | None:
    """A rust-toolchain file pinning a toolchain in ``folder``: installed, or the step to take."""
    pin = find_toolchain_pin(folder, env)
    if pin is None:
        return None
    triples = sorted({target.rust_triple for target in targets})
    error = missing_pin_error(folder, env, triples)
    if error is not None:
        return Check("rust toolchain", MISSING, str(error), error.hint or "")
    return Check("rust toolchain", OK, f"{pin.channel} (pinned by {pin.file})")


def run_doctor(
    targets: Sequence[Target], env: Mapping[str, str], host: Host, folder: Path | None = None
) -> DoctorReport:
    """Run every check for building ``targets`` on ``host`` (whose programs ``env`` finds).

    ``folder`` (default: the current one) is where cargo would run: a toolchain pinned there
    is the one checked.
    """
    here = folder if folder is not None else Path.cwd()
    checks = [check_host(host), check_zig(env), check_cache(env), check_maturin()]
    pin = check_toolchain_pin(targets, env, here)
    if pin is not None:
        checks.append(pin)
    if pin is not None and pin.status == MISSING:
        # cargo and rustc do not run here at all: saying "not found" would send the user to
        # reinstall Rust.
        detail = "not checked: the pinned toolchain is not installed"
        checks.append(Check("cargo, rustc and targets", INFO, detail))
    else:
        checks.append(check_cargo(env, here, host))
        checks += check_rust_targets(targets, env, cwd=here, host=host)
    checks += check_qemu(targets, env, host)
    checks += check_runtime(host)
    return DoctorReport(checks)


def default_arches() -> list[Arch]:
    """The architectures doctor checks when none are named: x86_64 and aarch64."""
    return [parse_arch("x86_64"), parse_arch("aarch64")]
