"""Runtime proof of a wheel: install it into a throwaway Python (venv, root, qemu), import it."""

from __future__ import annotations

import configparser
import json
import logging
import re
import shlex
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from zigwheel._proc import run, tail
from zigwheel.builder.settings import DEFAULT_TEST_TIMEOUT, parse_test_command
from zigwheel.compliance.policy import LEGACY_MANYLINUX_VERSIONS, parse_platform_tag
from zigwheel.errors import (
    CacheError,
    CommandFailedError,
    ConfigError,
    ToolchainError,
    UnreadableInputError,
    ZigwheelError,
)
from zigwheel.host import WHERE_LINUX_WHEELS_RUN, Host, current_os, venv_python_for
from zigwheel.platforms import lookup
from zigwheel.resources import parse_toml_text
from zigwheel.runtime import roots
from zigwheel.runtime.debian import load_recipe

logger = logging.getLogger(__name__)

PASSED = "passed"
FAILED = "failed"
NOT_TESTED = "not-tested"
RUN_TIMEOUT = DEFAULT_TEST_TIMEOUT
# The Debian release a "no root" report suggests, unless it lacks the wheel's architecture.
SUGGESTED_RELEASE = "bookworm"
IMPORT_MARK = "ZIGWHEEL-IMPORT "
_GLIBC_MISSING = re.compile(r"version [`'](GLIBC_[0-9.]+)' not found")
_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
# pip runs from its own wheel in the test Python. Debian's Python 3.9 keeps distutils in a
# package of its own (not in a root), and pip < 3.10 wants it unless told to use sysconfig.
_PIP_FROM_WHEEL = (
    "import runpy, sys, sysconfig; sysconfig._PIP_USE_SYSCONFIG = True; "
    "sys.path.insert(0, sys.argv.pop(1))\n"
    # A musl root's pip asks the loader its Python names (/lib/ld-musl-...) for musl's version;
    # before the root is sealed that path is the host's, so zigwheel names how to run it.
    "import os\n"
    "if os.environ.get('ZIGWHEEL_MUSL_LOADER'):\n"
    "    import functools, json, subprocess\n"
    "    from pip._vendor.packaging import _musllinux as musl\n"
    "    loader = json.loads(os.environ['ZIGWHEEL_MUSL_LOADER'])\n"
    "    musl._get_musl_version = functools.lru_cache(lambda executable: musl._parse_musl_version("
    "subprocess.run(loader, stderr=subprocess.PIPE, text=True, check=False).stderr))\n"
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)
_SITECUSTOMIZE_PIP = "import sysconfig\nsysconfig._PIP_USE_SYSCONFIG = True\n"
# The variables of the caller's pip configuration handed to the test Python's pip.
_PIP_PASSED = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_FIND_LINKS",
    "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES", "PIP_PROXY", "PIP_CONFIG_FILE",
)  # fmt: skip
# Oldest glibc minor per architecture for which manylinux tags exist.
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "i686": 5}
# The legacy aliases (manylinux2014 = manylinux_2_17, ...), from the policy module's table.
_LEGACY_MANYLINUX = {
    version: name for name, version in LEGACY_MANYLINUX_VERSIONS.items()
}

_SMOKE = """\
import importlib, json, sys, traceback
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
        doc = {"module": name, "ok": True, "detail": getattr(module, "__file__", "") or ""}
    except BaseException as err:
        doc = {"module": name, "ok": False, "detail": "%s: %s" % (type(err).__name__, err)}
        traceback.print_exc()
    print("MARK" + json.dumps(doc), flush=True)
""".replace("MARK", IMPORT_MARK)
# A console_scripts entry point started as pip's launcher would: NAME MODULE:ATTR, then its
# own arguments (python -c leaves sys.argv[0] as "-c").
_ENTRY_POINT = """\
import importlib, sys
sys.argv[0] = sys.argv.pop(1)
module, _, attrs = sys.argv.pop(1).partition(":")
target = importlib.import_module(module)
for part in filter(None, attrs.split(".")):
    target = getattr(target, part)
sys.exit(target())
"""


@dataclass(frozen=True)
class WheelFacts:
    """What the runtime test needs to know about a wheel file."""

    path: Path
    tags: frozenset[Tag]
    modules: tuple[str, ...]
    requires_dist: tuple[str, ...] = ()  # Requires-Dist of its METADATA
    scripts: tuple[str, ...] = ()  # members under *.data/scripts/ (a bin wheel's programs)
    entry_points: tuple[tuple[str, str], ...] = ()  # console_scripts: (name, "module:attr")

    @property
    def arches(self) -> frozenset[str]:
        """Machine names of the platform tags ("any" for a pure wheel)."""
        return frozenset(platform_arch(tag.platform) for tag in self.tags)

    @property
    def programs(self) -> tuple[str, ...]:
        """The names of the commands the wheel installs: its scripts and entry points."""
        names = [PurePosixPath(member).name for member in self.scripts]
        return tuple(dict.fromkeys([*names, *(name for name, _ in self.entry_points)]))


@dataclass(frozen=True)
class PythonFacts:
    """What a probed Python reports about itself."""

    version: tuple[int, int]
    implementation: str
    libc: str  # "glibc 2.31", "musl", or "" when the Python could not tell
    arch: str
    prefix: str
    stdlib: str
    gil_disabled: bool = False
    ssl: bool = True  # False: its pip cannot reach an https index (a Python built without it)

    @property
    def glibc(self) -> tuple[int, int] | None:
        """The glibc version as a tuple, if it is glibc."""
        match = re.fullmatch(r"glibc (\d+)\.(\d+)", self.libc)
        return (int(match.group(1)), int(match.group(2))) if match else None

    def describe(self) -> str:
        """E.g. "CPython 3.9, glibc 2.31, x86_64"."""
        impl = {"cpython": "CPython", "pypy": "PyPy"}.get(self.implementation, self.implementation)
        libc = self.libc or "libc unknown"
        return f"{impl} {self.version[0]}.{self.version[1]}, {libc}, {self.arch}"


@dataclass(frozen=True)
class ModuleResult:
    """The import of one extension module."""

    module: str
    ok: bool
    detail: str


@dataclass
class WheelTestResult:
    """The outcome of one wheel's runtime test: passed, failed or not tested (with why)."""

    wheel: str
    path: Path
    status: str
    reason: str = ""
    environment: str = ""
    kind: str = ""  # host | loader | qemu
    arch: str = ""
    python: str = ""
    libc: str = ""
    modules: list[ModuleResult] = field(default_factory=list)
    command: str | None = None
    command_ok: bool | None = None
    output: str = ""  # the whole output of the imports and the command (--json keeps it all)
    timed_out: bool = False
    sealed: str = ""  # how the root was sealed from the host, or why it was not

    @property
    def passed(self) -> bool:
        """True when the wheel imported (and its test command passed) in the environment."""
        return self.status == PASSED

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "wheel": self.wheel,
            "path": str(self.path),
            "status": self.status,
            "reason": self.reason,
            "environment": self.environment,
            "kind": self.kind,
            "arch": self.arch,
            "python": self.python,
            "libc": self.libc,
            "modules": [vars(m) for m in self.modules],
            "command": self.command,
            "command_ok": self.command_ok,
            "output": self.output,
            "timed_out": self.timed_out,
            "sealed": self.sealed,
        }


# ---------------------------------------------------------------- pure parts


def platform_arch(platform: str) -> str:
    """The machine of a platform tag: manylinux_2_17_aarch64 -> aarch64, any -> any."""
    arch = parse_platform_tag(platform).arch
    return arch if arch is not None else platform


def installed_parts(name: str) -> tuple[str, ...] | None:
    """Where a wheel member lands in site-packages, as path parts; None if it does not.

    ``*.data/purelib/...`` and ``*.data/platlib/...`` fold into site-packages; other ``*.data``
    folders (scripts, headers, data) are not importable and are skipped.
    """
    parts = PurePosixPath(name).parts
    if parts and parts[0].endswith(".data"):
        return parts[2:] if len(parts) >= 3 and parts[1] in ("purelib", "platlib") else None
    return parts


def extension_modules(names: Sequence[str]) -> tuple[str, ...]:
    """Dotted import names of the extension modules among a wheel's file names.

    ``pkg/_core.cpython-311-x86_64-linux-gnu.so`` -> ``pkg._core``; files under ``*.data/``
    (other than purelib/platlib), ``*.dist-info/`` and vendored ``*.libs/`` folders are skipped.
    """
    modules: list[str] = []
    for name in names:
        parts = installed_parts(name)
        if not parts or not parts[-1].endswith(".so"):
            continue
        if any(p.endswith((".dist-info", ".libs")) for p in parts[:-1]):
            continue
        stem = parts[-1].split(".", 1)[0]
        dotted = [*parts[:-1], stem]
        if all(p.isidentifier() for p in dotted):
            module = ".".join(dotted)
            if module not in modules:
                modules.append(module)
    return tuple(modules)


def wheel_scripts(names: Sequence[str]) -> tuple[str, ...]:
    """The members a wheel installs as programs: ``NAME.data/scripts/PROGRAM``."""
    found = []
    for name in names:
        parts = PurePosixPath(name).parts
        if (len(parts) == 3 and parts[0].endswith(".data") and parts[1] == "scripts"
                and not name.endswith("/") and parts[2] not in (".", "..")):  # fmt: skip
            found.append(name)
    return tuple(found)


def console_scripts(text: str) -> tuple[tuple[str, str], ...]:
    """(name, "module:attr") of the [console_scripts] of an entry_points.txt; an unreadable
    file has none (pip would refuse the wheel, which the install then reports)."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    try:
        parser.read_string(text)
    except configparser.Error:
        return ()
    if not parser.has_section("console_scripts"):
        return ()
    return tuple(
        (name, value.split("[", 1)[0].strip())
        for name, value in parser.items("console_scripts")
    )


def _dist_info_text(archive: zipfile.ZipFile, names: Sequence[str], file: str) -> str:
    """The text of ``file`` in the wheel's top-level .dist-info folder ("" without one)."""
    found = [n for n in names if n.count("/") == 1 and n.endswith(f".dist-info/{file}")]
    return archive.read(found[0]).decode(errors="replace") if found else ""


def read_wheel(path: Path) -> WheelFacts:
    """Read a wheel's tags (from its name), extension modules, programs and Requires-Dist."""
    try:
        tags = parse_wheel_filename(path.name)[3]
    except InvalidWheelFilename as err:
        msg = f"{path.name} is not a wheel file name: {err}"
        raise UnreadableInputError(
            msg, hint="pass a .whl file built by maturin or zigwheel"
        ) from err
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            text = _dist_info_text(archive, names, "METADATA")
            entry_text = _dist_info_text(archive, names, "entry_points.txt")
    except (OSError, zipfile.BadZipFile) as err:
        msg = f"cannot open {path} as a wheel: {err}"
        raise UnreadableInputError(msg, hint="rebuild the wheel; the file is damaged") from err
    requires = tuple(HeaderParser().parsestr(text).get_all("Requires-Dist") or ())
    return WheelFacts(path, frozenset(tags), extension_modules(names), requires,
                      wheel_scripts(names), console_scripts(entry_text))  # fmt: skip


def runtime_requirements(requires_dist: Sequence[str]) -> list[str]:
    """The names of the distributions a wheel needs at run time (no extra's, no marker-less
    parse failures), as Requires-Dist spells them."""
    names = []
    for line in requires_dist:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker or "")
        if "extra" not in marker and requirement.name not in names:
            names.append(requirement.name)
    return names


def linux_platforms(arch: str, libc: str) -> list[str]:
    """Platform tags a Linux with this libc ("glibc 2.31") accepts, most specific first."""
    platforms: list[str] = []
    match = re.fullmatch(r"glibc (\d+)\.(\d+)", libc)
    if match and int(match.group(1)) == 2:
        newest = int(match.group(2))
        for minor in range(newest, _OLDEST_GLIBC_MINOR.get(arch, 17) - 1, -1):
            platforms.append(f"manylinux_2_{minor}_{arch}")
            legacy = _LEGACY_MANYLINUX.get((2, minor))
            if legacy:
                platforms.append(f"{legacy}_{arch}")
    elif libc == "musl":  # its version is not reported by Python; accept 1.1 and 1.2
        platforms += [f"musllinux_1_2_{arch}", f"musllinux_1_1_{arch}"]
    # An unknown libc ("") gets neither: a wheel for it is not tested rather than misjudged.
    platforms.append(f"linux_{arch}")
    return platforms


def supported_tags(python: PythonFacts) -> list[Tag]:
    """The wheel tags a probed Python can load, most preferred first."""
    platforms = linux_platforms(python.arch, python.libc)
    major, minor = python.version
    tags: list[Tag] = []
    if python.implementation == "cpython":
        abi = f"cp{major}{minor}{'t' if python.gil_disabled else ''}"
        tags += cpython_tags((major, minor), abis=[abi], platforms=platforms)
        interpreter = f"cp{major}{minor}"
    else:
        interpreter = f"{python.implementation[:2]}{major}{minor}"
    tags += compatible_tags((major, minor), interpreter=interpreter, platforms=platforms)
    return tags


def incompatibility(wheel: WheelFacts, python: PythonFacts) -> str | None:
    """Why ``python`` cannot load ``wheel`` according to the tags, or None if it can."""
    supported = set(supported_tags(python))
    if wheel.tags & supported:
        return None
    interpreters = {(t.interpreter, t.abi) for t in supported}
    platforms = {t.platform for t in supported}
    python_ok = any((t.interpreter, t.abi) in interpreters for t in wheel.tags)
    platform_ok = any(t.platform in platforms for t in wheel.tags)
    wheel_pythons = ", ".join(sorted({f"{t.interpreter}-{t.abi}" for t in wheel.tags}))
    wheel_platforms = ", ".join(sorted({t.platform for t in wheel.tags}))
    reasons = []
    if not python_ok:
        reasons.append(f"its Python tag {wheel_pythons} does not load in {python.describe()}")
    if not platform_ok:
        reasons.append(f"its platform {wheel_platforms} does not run on {python.describe()}")
    if not reasons:
        reasons.append(f"no tag of {wheel_pythons} / {wheel_platforms} fits {python.describe()}")
    return "; ".join(reasons)


def parse_probe(output: str, arch: str) -> PythonFacts:
    """Parse the JSON printed by roots.probe_script()."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
                return PythonFacts(
                    version=(int(data["version"][0]), int(data["version"][1])),
                    implementation=str(data["implementation"]),
                    libc=str(data.get("libc", "")),
                    arch=arch,
                    prefix=str(data.get("prefix", "")),
                    stdlib=str(data.get("stdlib", "")),
                    gil_disabled=bool(data.get("gil_disabled", False)),
                    ssl=bool(data.get("ssl", True)),
                )
            except (ValueError, KeyError, IndexError, TypeError):
                break
    msg = "the test Python did not report its version"
    raise UnreadableInputError(msg, hint=f"its output was: {tail(output, 10)}")


def parse_import_results(output: str) -> list[ModuleResult]:
    """The per-module results printed by the smoke script."""
    results = []
    for line in output.splitlines():
        if line.startswith(IMPORT_MARK):
            data = json.loads(line[len(IMPORT_MARK) :])
            results.append(ModuleResult(str(data["module"]), bool(data["ok"]), str(data["detail"])))
    return results


def _readable(output: str) -> str:
    """Output for a person: the smoke script's machine lines removed, all the rest kept."""
    return "\n".join(line for line in output.splitlines() if not line.startswith(IMPORT_MARK))


def providing_distribution(module: str, names: Sequence[str]) -> str | None:
    """The distribution among ``names`` that, by its name, provides the top-level package of
    ``module`` (``iniconfig`` -> iniconfig, ``dateutil`` -> python-dateutil, ``yaml`` -> PyYAML)."""
    top = canonicalize_name(module.split(".", 1)[0])
    for name in names:
        canonical = canonicalize_name(name)
        spellings = {canonical, canonical.removeprefix("python-"), canonical.removeprefix("py"),
                     canonical.removesuffix("-python")}  # fmt: skip
        if top in spellings:
            return name
    return None


def missing_dependency_hint(output: str, wheel: WheelFacts, *, with_deps: bool) -> str:
    """When ``output`` shows a module that is not installed, which of the wheel's runtime
    dependencies (Requires-Dist) provides it and the flag that installs them; "" otherwise."""
    missing = _NO_MODULE.search(output)
    if missing is None:
        return ""
    needed = runtime_requirements(wheel.requires_dist)
    if with_deps or not needed:
        return ""
    module = missing.group(1)
    provider = providing_distribution(module, needed)
    if provider is not None:
        return (
            f"{module!r} is not installed: it is likely {provider}'s, a Requires-Dist of the "
            "wheel; zigwheel test installs the wheel's dependencies only with --with-deps"
        )
    return (
        f"{module!r} is not installed: if one of the wheel's Requires-Dist "
        f"({', '.join(needed)}) provides it, test with --with-deps; else add it to test-requires"
    )


def command_failure_hint(
    output: str, python: PythonFacts, wheel: WheelFacts, *, with_deps: bool
) -> str:
    """What a failed test command's output shows: a glibc version the environment lacks (a
    program of the wheel that cannot load), or a dependency left out; "" otherwise."""
    glibc = _GLIBC_MISSING.search(output)
    if glibc:
        return f"version `{glibc.group(1)}' not found (the environment has {python.libc})"
    return missing_dependency_hint(output, wheel, with_deps=with_deps)


def failure_reason(
    modules: Sequence[ModuleResult], python: PythonFacts, wheel: WheelFacts | None = None,
    *, with_deps: bool = False,
) -> str:
    """One sentence on why imports failed, naming a missing glibc version or a dependency
    left out when that is it."""
    for module in modules:
        if module.ok:
            continue
        missing = _GLIBC_MISSING.search(module.detail)
        if missing:
            return (
                f"import {module.module} failed: version `{missing.group(1)}' not found "
                f"(the environment has {python.libc or 'another libc'})"
            )
        reason = f"import {module.module} failed: {module.detail}"
        hint = missing_dependency_hint(module.detail, wheel, with_deps=with_deps) if wheel else ""
        return f"{reason}; {hint}" if hint else reason
    return ""


def _project_table(project: Path) -> dict[str, Any] | None:
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return None
    return parse_toml_text(pyproject.read_text(), source=str(pyproject))


def project_test_command(project: Path) -> str | None:
    """The ``test-command`` of a project's ``[tool.zigwheel]`` table (a list joins with &&)."""
    data = _project_table(project)
    return _test_command_of(data) if data is not None else None


def _test_command_of(pyproject: Mapping[str, Any]) -> str | None:
    return parse_test_command(pyproject.get("tool", {}).get("zigwheel", {}).get("test-command"))


def folder_test_command(folder: Path, wheel: Path) -> str | None:
    """The test-command of the project in ``folder`` when ``wheel`` is that project's wheel.

    Used without --project: a pyproject.toml in the current folder applies only to wheels of
    the same distribution name, so that testing someone else's wheel never runs its command.
    An unreadable pyproject.toml here is nobody's request: it is passed over (None).
    """
    try:
        wheel_name = parse_wheel_filename(wheel.name)[0]
        data = _project_table(folder)  # read once: the name and the command
        name = data.get("project", {}).get("name") if data is not None else None
        if data is None or not isinstance(name, str):
            return None
        if canonicalize_name(name) != canonicalize_name(wheel_name):
            return None
        return _test_command_of(data)
    except (InvalidWheelFilename, OSError, ZigwheelError):
        return None


def wheel_project_folder(folder: Path, wheel: Path) -> bool:
    """True when ``folder``'s pyproject.toml names the distribution of ``wheel``."""
    try:
        data = _project_table(folder)
        name = data.get("project", {}).get("name") if data is not None else None
        wheel_name = parse_wheel_filename(wheel.name)[0]
    except (InvalidWheelFilename, OSError, ZigwheelError):
        return False
    return isinstance(name, str) and canonicalize_name(name) == canonicalize_name(wheel_name)


def dependency_groups(
    pyproject: Mapping[str, Any], names: Sequence[str], *, source: str
) -> list[str]:
    """The requirements of PEP 735 dependency groups (``include-group`` followed), in order."""
    table = pyproject.get("dependency-groups", {})
    if not isinstance(table, dict):
        msg = f"[dependency-groups] of {source} must be a table"
        raise ConfigError(msg, hint='write e.g. [dependency-groups] test = ["pytest"]')
    groups = {canonicalize_name(str(key)): value for key, value in table.items()}
    out: list[str] = []

    def expand(name: str, seen: tuple[str, ...]) -> None:
        key = canonicalize_name(name)
        if key in seen:
            msg = f"dependency group {name!r} of {source} includes itself"
            raise ConfigError(msg, hint="remove the include-group cycle")
        if key not in groups:
            known = ", ".join(sorted(groups)) or "none"
            msg = f"{source} has no dependency group {name!r}"
            raise ConfigError(msg, hint=f"its [dependency-groups]: {known}")
        entries = groups[key]
        if not isinstance(entries, list):
            msg = f"dependency group {name!r} of {source} must be a list"
            raise ConfigError(msg, hint='write e.g. test = ["pytest"]')
        for entry in entries:
            if isinstance(entry, str):
                if entry not in out:
                    out.append(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                expand(entry["include-group"], (*seen, key))
            else:
                msg = f"dependency group {name!r} of {source} has an unreadable entry {entry!r}"
                raise ConfigError(msg, hint='entries are requirements or {include-group = "name"}')

    for name in names:
        expand(name, ())
    return out


def expand_command(command: str, *, wheel: Path, project: Path | None) -> str:
    """Replace {wheel} and {project} in a test command (paths shell-quoted)."""
    command = command.replace("{wheel}", shlex.quote(str(wheel)))
    if project is not None:
        command = command.replace("{project}", shlex.quote(str(project)))
    return command


# ---------------------------------------------------------------- I/O


def unpack_wheel(wheel: Path, site: Path) -> None:
    """Install a wheel by unpacking it into a site folder (purelib/platlib data folded in)."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            parts = installed_parts(info.filename)
            if not parts or info.is_dir() or ".." in parts or info.filename.startswith("/"):
                continue
            target = site.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode | 0o644 if mode else 0o644)


class TimedOut(Exception):
    """A wheel's test went past its time limit (its process group was stopped)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} seconds")
        self.seconds = seconds


class Deadline:
    """The time one wheel's test may still take: every step of it shares one limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TimedOut when there are none."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimedOut(self.seconds)
        return left


def _stream(line: str) -> None:
    # -v shows the test Python's output as it comes (the CLI's logging is at INFO then).
    if not line.startswith(IMPORT_MARK):
        logger.info("  | %s", line)


def _step(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str],
    cwd: Path | None,
    deadline: Deadline,
    check: bool = False,
) -> Any:
    """Run one step of a wheel's test in its own process group, within the wheel's deadline."""
    try:
        return run(argv, env=env, cwd=cwd, check=check, timeout=deadline.left(), on_line=_stream)
    except CommandFailedError as err:
        if err.returncode == -1 and deadline.end <= time.monotonic():
            raise TimedOut(deadline.seconds) from err
        raise


def _probe(runner: roots.PythonRunner, cwd: Path, deadline: Deadline) -> PythonFacts:
    result = _step(runner.command("-c", roots.probe_script()), env=runner.env, cwd=cwd,
                   deadline=deadline)  # fmt: skip
    if result.returncode != 0:
        msg = f"the test Python could not start (exit code {result.returncode})"
        raise UnreadableInputError(msg, hint=tail(result.stdout, 15))
    return parse_probe(result.stdout, runner.arch)


def pip_wheel(version: tuple[int, int], *, env: Mapping[str, str], cache: Path,
              deadline: Deadline) -> Path:  # fmt: skip
    """pip's own wheel for a Python version, downloaded once by the host's pip and cached.

    The test Python runs pip from this file: neither a root nor a fresh venv has pip, and the
    host's installed pip is never put on a test Python's path.
    """
    folder = cache / "pip" / f"py{version[0]}.{version[1]}"
    found = sorted(folder.glob("pip-*.whl"), key=lambda p: parse_wheel_filename(p.name)[1])
    if found:
        return found[-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as temp:
            where = Path(temp)
            fetched = _step(
                [sys.executable, "-m", "pip", "download", "pip", "--only-binary", ":all:",
                 "--no-deps", "--python-version", f"{version[0]}.{version[1]}", "-q",
                 "--dest", where],
                env=env, cwd=where, deadline=deadline,
            )  # fmt: skip
            wheels = sorted(where.glob("pip-*.whl"))
            if fetched.returncode != 0 or not wheels:
                msg = f"cannot download pip for Python {version[0]}.{version[1]}"
                raise CommandFailedError(
                    msg, command=["pip", "download", "pip"], returncode=fetched.returncode,
                    output=fetched.stdout,
                    hint="the test requirements need pip from the package index; check the "
                    "network and pip's index settings",
                )  # fmt: skip
            return wheels[-1].replace(folder / wheels[-1].name)
    except OSError as err:
        msg = f"cannot write pip's wheel into {folder}: {err}"
        raise CacheError(msg, hint="check the cache folder's permissions and free space") from err


def _pip_env(base: Mapping[str, str], caller: Mapping[str, str], cache: Path) -> dict[str, str]:
    """The test Python's environment for pip: the caller's index settings, zigwheel's cache."""
    out = dict(base)
    out.update({key: caller[key] for key in _PIP_PASSED if caller.get(key)})
    out.update({
        "PIP_CACHE_DIR": str(cache / "pip" / "http"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
    })  # fmt: skip
    return out


@dataclass(frozen=True)
class Install:
    """What goes into a wheel's test environment besides the wheel."""

    requires: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    with_deps: bool = False

    @property
    def deps(self) -> bool:
        """Whether pip resolves the wheel's own dependencies (extras need them)."""
        return self.with_deps or bool(self.extras)

    @property
    def needs_pip(self) -> bool:
        """Whether pip must run at all (else the wheel alone is installed, offline)."""
        return self.deps or bool(self.requires)

    def spec(self, wheel: Path) -> str:
        """The wheel as pip names it, with its extras."""
        return f"{wheel}[{','.join(self.extras)}]" if self.extras else str(wheel)


def _pip_failed(what: str, result: Any, argv: Sequence[str | Path]) -> CommandFailedError:
    msg = f"pip could not install {what} (exit code {result.returncode})"
    return CommandFailedError(
        msg, command=[str(a) for a in argv], returncode=result.returncode, output=result.stdout
    )


def _host_runner(
    wheel: Path, python: str, env: Mapping[str, str], work: Path, *, install: Install,
    arch: str, cache: Path, deadline: Deadline,
) -> roots.PythonRunner:  # fmt: skip
    """A fresh venv of ``python`` with pip (from its cached wheel), the wheel and the test
    requirements installed by that venv's own pip.

    Offline with nothing but the wheel to install and no cached pip wheel, the host's pip
    installs the wheel into the venv (``pip --python``), which then has no pip.
    """
    venv = work / "venv"
    venv_python = venv_python_for(current_os(), venv)
    _step([python, "-m", "venv", "--without-pip", venv], env=env, cwd=work, deadline=deadline,
          check=True)  # fmt: skip
    run_env = roots.python_env(env, {})
    run_env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    run_env["VIRTUAL_ENV"] = str(venv)
    runner = roots.PythonRunner((str(venv_python),), run_env, arch, "host")
    pip_env = _pip_env(run_env, env, cache)
    quiet: list[str | Path] = ["install", "-q"]
    try:
        version = parse_probe(_step([venv_python, "-c", roots.probe_script()], env=run_env,
                                    cwd=work, deadline=deadline).stdout, arch).version  # fmt: skip
        pip = pip_wheel(version, env=env, cache=cache, deadline=deadline)
    except ZigwheelError:
        if install.needs_pip:
            raise
        logger.warning("no pip wheel for the venv; the host's pip installs %s", wheel.name)
        argv: list[str | Path] = [python, "-m", "pip", "--python", venv_python, *quiet,
                                  "--no-index", "--no-deps", wheel]  # fmt: skip
        done = _step(argv, env=env, cwd=work, deadline=deadline)
        if done.returncode != 0:
            raise _pip_failed(wheel.name, done, argv) from None
        return runner
    first: list[str | Path]
    if install.deps:
        first = [venv_python, "-c", _PIP_FROM_WHEEL, pip, *quiet, pip, install.spec(wheel),
                 *install.requires]  # fmt: skip
    else:
        first = [venv_python, "-c", _PIP_FROM_WHEEL, pip, *quiet, "--no-index", "--no-deps",
                 pip, wheel]  # fmt: skip
    done = _step(first, env=pip_env, cwd=work, deadline=deadline)
    if done.returncode != 0:
        raise _pip_failed(wheel.name, done, first)
    if install.requires and not install.deps:
        second: list[str | Path] = [venv_python, "-m", "pip", *quiet, *install.requires]
        done = _step(second, env=pip_env, cwd=work, deadline=deadline)
        if done.returncode != 0:
            raise _pip_failed("the test requirements " + " ".join(install.requires), done, second)
    return runner


def _root_install(
    wheel: Path, runner: roots.PythonRunner, python: PythonFacts, work: Path, *,
    env: Mapping[str, str], install: Install, cache: Path, deadline: Deadline,
) -> None:  # fmt: skip
    """Put the wheel (and what it needs) into the root's site folder, with the root's pip.

    pip runs in the root's own interpreter, so markers and platform tags are the target's.
    """
    site = work / "site"
    if not install.deps:
        unpack_wheel(wheel, site)
    if not install.needs_pip:
        return
    pip = pip_wheel(python.version, env=env, cache=cache, deadline=deadline)
    what = [install.spec(wheel)] if install.deps else []
    offline: list[str] = []
    if not python.ssl:
        offline = _host_download([*what, *install.requires], python, work, env=env,
                                 cache=cache, deadline=deadline)  # fmt: skip
    argv = runner.command("-c", _PIP_FROM_WHEEL, str(pip), "install", "-q", *offline, "--target",
                          str(site), str(pip), *what, *install.requires)  # fmt: skip
    pip_env = _pip_env(runner.env, env, cache)
    if python.libc == "musl":
        pip_env["ZIGWHEEL_MUSL_LOADER"] = json.dumps(musl_loader_command(runner))
    done = _step(argv, env=pip_env, cwd=work, deadline=deadline)
    if done.returncode != 0:
        raise _pip_failed(" ".join([*what, *install.requires]) or wheel.name, done, argv)
    if python.version < (3, 10):
        # `python -m pip` in the tests: tell this pip what the bootstrap told the first one,
        # by a .pth file where the folder is a site folder (sealed), else by sitecustomize.
        (site / "zigwheel-pip.pth").write_text(_SITECUSTOMIZE_PIP.replace("\n", "; ", 1))
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE_PIP)


def musl_loader_command(runner: roots.PythonRunner) -> list[str]:
    """How to run the root's musl loader from the host (it prints musl's version): its own
    path resolved inside the root, under the runner's qemu-user for another architecture."""
    if runner.root is None:
        return []
    python = roots.find_root_python(runner.root)
    interpreter = roots.read_elf_info(python).interpreter or ""
    loader = str(roots.resolve_in_root(runner.root, interpreter))
    return [*runner.argv[:-1], loader] if runner.kind == "qemu" else [loader]


def _host_download(
    specs: Sequence[str], python: PythonFacts, work: Path, *, env: Mapping[str, str],
    cache: Path, deadline: Deadline,
) -> list[str]:  # fmt: skip
    """Download ``specs`` (and what they need) as wheels for ``python``'s tags with the host's
    pip, which can reach the index; the pip options that install from them with no index."""
    wheelhouse = work / "wheelhouse"
    wheelhouse.mkdir(exist_ok=True)
    tags = [f"--platform={tag}" for tag in linux_platforms(python.arch, python.libc)]
    version = f"{python.version[0]}.{python.version[1]}"
    abi = f"cp{python.version[0]}{python.version[1]}"
    # The same tags for both pips: the root's pip then never asks the interpreter for them
    # (for musl that runs the root's loader by its path inside the root, before sealing).
    tag_options = [
        "--only-binary=:all:", f"--python-version={version}", "--implementation=cp",
        f"--abi={abi}", "--abi=abi3", "--abi=none", *tags,
    ]  # fmt: skip
    argv: list[str | Path] = [
        sys.executable, "-m", "pip", "download", "-q", "--dest", wheelhouse, *tag_options, *specs,
    ]  # fmt: skip
    done = _step(argv, env=_pip_env(env, env, cache), cwd=work, deadline=deadline)
    if done.returncode != 0:
        error = _pip_failed(" ".join(specs), done, argv)
        error.hint = (
            f"the test Python ({python.describe()}) has no ssl module, so the host's pip "
            "downloads wheels for it: only binary wheels can be used"
        )
        raise error
    return ["--no-index", f"--find-links={wheelhouse}", *tag_options]


def _prepare(
    result: WheelTestResult,
    *,
    root: Path | None,
    env: Mapping[str, str],
    work: Path,
    host_python: str,
    host: Host,
    deadline: Deadline,
) -> tuple[roots.PythonRunner, PythonFacts] | None:
    """Find the test Python and probe it; on failure fill ``result`` and return None."""
    try:
        if root is None:
            runner = roots.PythonRunner(
                (host_python,), roots.python_env(env, {}), host.arch, "host"
            )
        else:
            site = work / "site"
            site.mkdir()
            runner = roots.root_runner(root, env=env, site_dir=site, host=host)
        return runner, _probe(runner, work / "cwd", deadline)
    except ToolchainError as err:  # e.g. qemu missing: the wheel was not tested
        # The hint is the way out (install qemu-user-static): the report keeps it.
        result.reason = f"{err}; {err.hint}" if err.hint else str(err)
    except ZigwheelError as err:
        result.status, result.reason = FAILED, f"the test environment failed: {err}"
        if isinstance(err, CommandFailedError):
            result.output = err.output
        elif err.hint:
            result.output = err.hint
    return None


def _install(
    result: WheelTestResult,
    wheel: WheelFacts,
    runner: roots.PythonRunner,
    python: PythonFacts,
    work: Path,
    *,
    env: Mapping[str, str],
    install: Install,
    cache: Path,
    deadline: Deadline,
) -> roots.PythonRunner | None:
    """Check that the Python can load the wheel, then install it; None (result filled) if not."""
    if runner.root is not None and not roots.check_stdlib_inside(runner.root, python.stdlib):
        result.status = FAILED
        result.reason = f"the root's Python used the stdlib at {python.stdlib}, not its own"
        return None
    refusal = incompatibility(wheel, python)
    if refusal is not None:
        result.reason = f"{wheel.path.name}: not tested: {refusal}"
        return None
    try:
        if runner.root is not None:
            _root_install(wheel.path, runner, python, work, env=env, install=install,
                          cache=cache, deadline=deadline)  # fmt: skip
        else:
            runner = _host_runner(wheel.path, runner.argv[0], env, work, install=install,
                                  arch=runner.arch, cache=cache, deadline=deadline)  # fmt: skip
    except CommandFailedError as err:
        result.status, result.reason = FAILED, f"installing the wheel failed: {err}"
        result.output = err.output
        return None
    except ZigwheelError as err:
        result.status, result.reason = FAILED, f"installing the wheel failed: {err}"
        result.output = err.hint or ""
        return None
    return runner


def _sealed(
    result: WheelTestResult, runner: roots.PythonRunner, python: PythonFacts, *,
    binds: tuple[Path, ...], work: Path, env: Mapping[str, str], deadline: Deadline,
) -> roots.PythonRunner:  # fmt: skip
    """The root's Python sealed from the host when this machine allows it (result.sealed says
    how, or why not); else the unsealed runner."""
    sealed, how = roots.seal(runner, binds=binds, site_dir=work / "site",
                             scratch=work / ".seal", env=env)  # fmt: skip
    if sealed is None:
        result.sealed = f"{how}; {_unsealed_executable(runner, work)}"
        return runner
    probe = _step(sealed.command("-c", roots.probe_script()), env=sealed.env, cwd=work / "cwd",
                  deadline=deadline)  # fmt: skip
    try:
        inside = parse_probe(probe.stdout, sealed.arch) if probe.returncode == 0 else None
    except UnreadableInputError:
        inside = None
    if inside is None or inside.version != python.version or inside.libc != python.libc:
        first = next((line for line in probe.stdout.splitlines() if line.strip()), "no output")
        leak = _unsealed_executable(runner, work)
        result.sealed = f"not sealed: the user-namespace chroot did not start ({first}); {leak}"
        return runner
    result.sealed = how
    result.environment = _describe(sealed, python)
    return sealed


def _unsealed_executable(runner: roots.PythonRunner, work: Path) -> str:
    """Unsealed, point the root Python's sys.executable at a host script that starts it the
    same way (its loader, or qemu), so that its subprocesses do not escape to the host's
    loader or fail with "Exec format error"; what the report says about it."""
    wrapper = work / "bin-root" / "python"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(runner.shell_wrapper())
    wrapper.chmod(0o755)
    custom = work / "site" / "sitecustomize.py"
    before = custom.read_text() if custom.is_file() else ""
    # sitecustomize is imported from the site folder (first on PYTHONPATH when unsealed).
    custom.write_text(f"{before}import sys\nsys.executable = {str(wrapper)!r}\n")
    return (
        "sys.executable is a wrapper that starts the root's Python again, but the root is not "
        "the test's / (other programs and paths are the host's)"
    )


def _shell_env(runner: roots.PythonRunner, wheel: WheelFacts, work: Path) -> dict[str, str]:
    """The environment of a test command: ``python`` and the wheel's programs first on PATH,
    each started as the test Python is."""
    bin_dir = work / "bin"
    bin_dir.mkdir(exist_ok=True)
    program_wrappers(wheel, runner, bin_dir, work / "scripts")
    for name in ("python", "python3"):  # last: a program of the wheel never hides them
        _write_wrapper(bin_dir / name, runner.shell_wrapper())
    shell_env = dict(runner.env)
    shell_env["PATH"] = f"{bin_dir}:{shell_env.get('PATH', '')}"
    return shell_env


def program_wrappers(
    wheel: WheelFacts, runner: roots.PythonRunner, bin_dir: Path, scripts: Path
) -> None:
    """In a root, the wheel's programs as commands in ``bin_dir``: each script unpacked into
    ``scripts`` and started as the root's Python is (its loader, qemu, or inside the chroot),
    each entry point by the root's Python. A host venv has them already: pip made them."""
    if runner.root is None:
        return
    with zipfile.ZipFile(wheel.path) as archive:
        for member in wheel.scripts:
            data = archive.read(member)
            program = scripts / PurePosixPath(member).name
            program.parent.mkdir(exist_ok=True)
            program.write_bytes(data)
            program.chmod(0o755)
            # "#!python": the wheel format's mark for a script run by the installing Python.
            argv = (runner.command(str(program)) if data.startswith(b"#!python")
                    else roots.program_command(runner, program))  # fmt: skip
            _write_wrapper(bin_dir / program.name, runner.shell_wrapper(argv))
    for name, target in wheel.entry_points:
        if "/" not in name and not name.startswith("."):
            argv = runner.command("-c", _ENTRY_POINT, name, target)
            _write_wrapper(bin_dir / name, runner.shell_wrapper(argv))


def _write_wrapper(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _describe(runner: roots.PythonRunner, python: PythonFacts) -> str:
    if runner.kind == "host":
        return f"fresh venv on this host ({python.describe()})"
    if runner.sealed:
        how = "under binfmt_misc qemu" if runner.kind == "qemu" else "as its /"
        return f"root {runner.root} {how}, in a user-namespace chroot ({python.describe()})"
    if runner.kind == "loader":
        return f"root {runner.root} through its own loader ({python.describe()})"
    qemu = Path(runner.argv[0]).name
    return f"root {runner.root} under {qemu} ({python.describe()})"


def _marker_python(marker: Mapping[str, Any]) -> tuple[int, int]:
    """The (major, minor) Python version a root's marker records; (0, 0) when it has none."""
    try:
        major, minor = str(marker.get("python", "")).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def pick_cached_root(wheel: WheelFacts, roots_dir: Path | None) -> Path | None:
    """A cached root for a foreign-architecture wheel: of those whose Python and glibc fit the
    wheel's tags, the one with the newest Python (then the newest glibc, then by name)."""
    if roots_dir is None:
        return None
    for arch in sorted(wheel.arches - {"any"}):
        candidates = []
        for root in roots.roots_for_arch(roots_dir, arch):
            facts = _root_facts(roots.read_marker(root) or {}, arch)
            if not facts.libc or incompatibility(wheel, facts) is None:
                candidates.append((facts.version, facts.glibc or (0, 0), root.name, root))
        if candidates:
            return max(candidates)[-1]
    return None


def _root_facts(marker: Mapping[str, Any], arch: str) -> PythonFacts:
    # A musl root's marker says "libc": "musl" (its "glibc" is what `root list` shows)
    libc = str(marker.get("libc") or marker.get("glibc", ""))
    return PythonFacts(_marker_python(marker), "cpython", libc, arch, "", "")


def pick_python_root(wheel: WheelFacts, root: Path) -> Path | None:
    """A cached root of the same Debian release and architecture as ``root`` with a built
    CPython that loads the wheel (the newest such Python), or None."""
    base = roots.read_marker(root) or {}
    if "release" not in base:
        return None
    candidates = []
    for other in roots.cached_roots(root.parent):
        marker = roots.read_marker(other) or {}
        same = all(marker.get(key) == base.get(key) for key in ("release", "debian_arch"))
        if other == root or not same or "cpython" not in marker:
            continue
        if incompatibility(wheel, _root_facts(marker, str(marker.get("arch", "")))) is None:
            candidates.append((_marker_python(marker), other.name, other))
    return max(candidates)[-1] if candidates else None


def python_root_hint(wheel: WheelFacts, root: Path) -> str:
    """"; a CPython X.Y root would serve: ..." when zigwheel can build a Python for the wheel
    on this root's release, else ""."""
    from zigwheel.platforms import Libc  # noqa: PLC0415
    from zigwheel.runtime.cpython import load_recipe as python_recipe  # noqa: PLC0415
    from zigwheel.runtime.python_root import build_command  # noqa: PLC0415

    marker = roots.read_marker(root) or {}
    release, debian_arch = marker.get("release"), marker.get("debian_arch")
    if not isinstance(release, str) or not isinstance(debian_arch, str):
        return ""
    for version in python_recipe().sources:
        major, minor = (int(part) for part in version.split("."))
        facts = replace(_root_facts(marker, str(marker.get("arch", ""))), version=(major, minor))
        if incompatibility(wheel, facts) is None:
            libc = Libc.MUSL if facts.libc == "musl" else Libc.GLIBC
            command = build_command(version, release, debian_arch, libc)
            return f"; a CPython {version} root would serve: build it with `{command}`"
    return ""


def run_wheel_test(  # noqa: PLR0911, PLR0912 - each early return is a verdict on the wheel
    wheel_path: Path,
    *,
    env: Mapping[str, str],
    root: Path | None = None,
    roots_dir: Path | None = None,
    command: str | None = None,
    project: Path | None = None,
    host_python: str = "python3",
    with_deps: bool = False,
    host: Host | None = None,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    timeout: float = RUN_TIMEOUT,
    cache: Path | None = None,
) -> WheelTestResult:
    """Install one wheel into a throwaway environment and import its extension modules.

    Without ``root``: a wheel for this machine goes into a fresh venv of ``host_python``; a
    wheel for another architecture uses a cached root of that architecture from ``roots_dir``
    (under qemu-user). With ``root``: the wheel is unpacked into a temporary site folder for
    the root's Python, which runs through the root's own loader (same architecture) or under
    qemu-user. ``requires`` (and the wheel's ``extras``, and its dependencies with
    ``with_deps``) are installed by the test Python's own pip. ``command`` (a shell command;
    ``python`` on PATH is the test Python) runs after the imports, in a fresh empty folder.
    A wheel the Python cannot load by its tags is not tested, with the reason. The whole test
    of the wheel has ``timeout`` seconds: then its process group is stopped and it FAILs.
    ``host`` is the machine the test runs on (default: this one, detected); ``cache`` is where
    pip's wheel and downloads are kept (default: zigwheel's cache).
    """
    host = Host.detect(env) if host is None else host
    result = WheelTestResult(wheel=wheel_path.name, path=wheel_path, status=NOT_TESTED)
    try:
        wheel = read_wheel(wheel_path)
    except UnreadableInputError as err:
        result.status, result.reason = FAILED, str(err)
        return result
    result.arch = ",".join(sorted(wheel.arches))
    if not host.runs_linux_wheels:
        # No Linux loader, root or qemu-user here: a verdict needs a Linux machine.
        result.reason = (
            f"not tested on this host ({host.describe()}): Linux wheels run on Linux; "
            f"what would test it: {WHERE_LINUX_WHEELS_RUN}"
        )
        return result
    if root is None and host.arch not in wheel.arches and "any" not in wheel.arches:
        root = pick_cached_root(wheel, roots_dir)
        if root is None:
            result.reason = no_root_reason(wheel, roots_dir)
            return result
    if cache is None:
        from zigwheel.cache import default_cache_dir  # noqa: PLC0415

        cache = default_cache_dir(env)
    install = Install(tuple(requires), tuple(extras), with_deps)
    deadline = Deadline(timeout)
    with tempfile.TemporaryDirectory(prefix="zigwheel-test-") as temp:
        work = Path(temp)
        cwd = work / "cwd"
        cwd.mkdir()
        try:
            prepared = _prepare(result, root=root, env=env, work=work, host_python=host_python,
                                host=host, deadline=deadline)  # fmt: skip
            if prepared is None:
                return result
            runner, python = prepared
            result.kind, result.python, result.libc = runner.kind, python.describe(), python.libc
            result.environment = _describe(runner, python)
            installed = _install(result, wheel, runner, python, work, env=env, install=install,
                                 cache=cache, deadline=deadline)  # fmt: skip
            if installed is None and result.status == NOT_TESTED and root is None:
                # This machine's Python cannot load it: a cached root of another Python may.
                other = pick_cached_root(wheel, roots_dir)
                if other is None:
                    result.reason += "; " + no_root_reason(wheel, roots_dir).split("; ", 2)[-1]
                    return result
                return run_wheel_test(
                    wheel_path, env=env, root=other, roots_dir=roots_dir, command=command,
                    project=project, host_python=host_python, with_deps=with_deps, host=host,
                    requires=requires, extras=extras, timeout=deadline.left(), cache=cache,
                )  # fmt: skip
            if installed is None and result.status == NOT_TESTED and root is not None:
                # The root's Python cannot load it: the same root with a built CPython may.
                other = pick_python_root(wheel, root)
                if other is not None:
                    return run_wheel_test(
                        wheel_path, env=env, root=other, roots_dir=roots_dir, command=command,
                        project=project, host_python=host_python, with_deps=with_deps,
                        host=host, requires=requires, extras=extras, timeout=deadline.left(),
                        cache=cache,
                    )  # fmt: skip
                result.reason += python_root_hint(wheel, root)
            if installed is None:
                return result
            if installed.root is not None:
                binds = (work, wheel.path.parent, *([project] if project else []))
                installed = _sealed(result, installed, python, binds=binds, work=work, env=env,
                                    deadline=deadline)  # fmt: skip
            return _run_tests(result, wheel=wheel, runner=installed, python=python, work=work,
                              cwd=cwd, command=command, project=project, with_deps=with_deps,
                              deadline=deadline)  # fmt: skip
        except TimedOut as err:
            result.status, result.timed_out = FAILED, True
            result.reason = (
                f"timeout: the test {err} (its processes were stopped; raise --timeout or "
                "test-timeout)"
            )
            return result


run_wheel_test.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def no_root_reason(wheel: WheelFacts, roots_dir: Path | None) -> str:
    """Why a foreign-architecture wheel found no cached root: what is cached, what would serve."""
    arch = ",".join(sorted(wheel.arches - {"any"}))
    row = lookup(arch)
    debian_arch = row.debian if row is not None else arch
    recipe = load_recipe()
    cached = []
    for root in roots.roots_for_arch(roots_dir, arch) if roots_dir is not None else []:
        marker = roots.read_marker(root) or {}
        cached.append(f"{root.name} (Python {marker.get('python', '?')}, "
                      f"{marker.get('glibc', 'libc unknown')})")  # fmt: skip
    serving = []
    for release, python in RELEASE_PYTHONS.items():
        if debian_arch not in recipe.releases.get(release, ()):
            continue
        facts = PythonFacts(python, "cpython", RELEASE_GLIBC[release], arch, "", "")
        if incompatibility(wheel, facts) is None:
            serving.append(release)
    have = f"cached for {arch}: {', '.join(cached)}, none fits the wheel" if cached else (
        f"no cached root for {arch}")
    musl = _musl_root_fix(wheel, arch, debian_arch)
    if musl:
        fix = musl
    elif serving:
        release = SUGGESTED_RELEASE if SUGGESTED_RELEASE in serving else serving[-1]
        version = ".".join(map(str, RELEASE_PYTHONS[release]))
        fix = (f"Debian {release} {debian_arch} (Python {version}) would serve: build it with "
               f"`zigwheel root debian --release {release} --arch {debian_arch}`")  # fmt: skip
    else:
        fix = f"no Debian release zigwheel knows has a Python for {wheel.path.name}"
    return f"{arch}: not tested, no --root given; {have}; {fix}"


def _musl_root_fix(wheel: WheelFacts, arch: str, debian_arch: str) -> str:
    """For a musllinux wheel: the `zigwheel root python --libc musl` command whose root would
    load it, or ""."""
    from zigwheel.platforms import Libc  # noqa: PLC0415
    from zigwheel.runtime.cpython import load_recipe as python_recipe  # noqa: PLC0415
    from zigwheel.runtime.python_root import DEFAULT_RELEASE, build_command  # noqa: PLC0415

    if not any(tag.platform.startswith("musllinux_") for tag in wheel.tags):
        return ""
    for version in python_recipe().sources:
        major, minor = (int(part) for part in version.split("."))
        if incompatibility(wheel, PythonFacts((major, minor), "cpython", "musl", arch, "", "")):
            continue
        command = build_command(version, DEFAULT_RELEASE[Libc.MUSL], debian_arch, Libc.MUSL)
        return f"a musl root with CPython {version} would serve: build it with `{command}`"
    return ""


# The python3 and glibc of each Debian release zigwheel builds roots of.
RELEASE_PYTHONS: dict[str, tuple[int, int]] = {
    "bullseye": (3, 9), "bookworm": (3, 11), "trixie": (3, 13),
}  # fmt: skip
RELEASE_GLIBC = {"bullseye": "glibc 2.31", "bookworm": "glibc 2.36", "trixie": "glibc 2.41"}


def _run_tests(
    result: WheelTestResult,
    *,
    wheel: WheelFacts,
    runner: roots.PythonRunner,
    python: PythonFacts,
    work: Path,
    cwd: Path,
    command: str | None,
    project: Path | None,
    with_deps: bool,
    deadline: Deadline,
) -> WheelTestResult:
    outputs = []
    # Without a test command, a wheel with nothing to import (a bin wheel) proves itself by
    # running each of its programs with --version.
    versions = [] if command or wheel.modules else [
        f"{shlex.quote(name)} --version" for name in wheel.programs
    ]
    if wheel.modules:
        smoke = _step(runner.command("-c", _SMOKE, *wheel.modules), env=runner.env, cwd=cwd,
                      deadline=deadline)  # fmt: skip
        result.modules = parse_import_results(smoke.stdout)
        outputs.append(smoke.stdout)
        if len(result.modules) != len(wheel.modules) or not all(m.ok for m in result.modules):
            result.status = FAILED
            result.reason = failure_reason(result.modules, python, wheel, with_deps=with_deps) or (
                f"the import smoke test exited with code {smoke.returncode}"
            )
            result.output = _readable("\n".join(outputs))
            return result
    if command:
        shell_env = _shell_env(runner, wheel, work)
        expanded = expand_command(command, wheel=wheel.path, project=project)
        result.command = expanded
        done = _step(["sh", "-c", expanded], env=shell_env, cwd=cwd, deadline=deadline)
        outputs.append(done.stdout)
        result.command_ok = done.returncode == 0
        if not result.command_ok:
            result.status = FAILED
            result.reason = f"the test command exited with code {done.returncode}"
            hint = command_failure_hint(done.stdout, python, wheel, with_deps=with_deps)
            if hint:
                result.reason += f"; {hint}"
            result.output = _readable("\n".join(outputs))
            return result
    elif versions:
        shell_env = _shell_env(runner, wheel, work)
        result.command = " && ".join(versions)
        for line in versions:
            done = _step(["sh", "-c", line], env=shell_env, cwd=cwd, deadline=deadline)
            outputs.append(done.stdout)
            if done.returncode != 0:
                result.status, result.command_ok = FAILED, False
                result.reason = (
                    f"{line} exited with code {done.returncode} (no test command given: "
                    "each program of the wheel was run with --version)"
                )
                hint = command_failure_hint(done.stdout, python, wheel, with_deps=with_deps)
                if hint:
                    result.reason += f"; {hint}"
                result.output = _readable("\n".join(outputs))
                return result
        result.command_ok = True
        result.reason = (
            "no test command given: each program of the wheel ran with --version "
            "(a test-command can test more)"
        )
    elif not wheel.modules:
        result.reason = (
            "not tested: the wheel has no extension module to import and no program to run; "
            "give a test command (--command, or test-command in [tool.zigwheel])"
        )
        return result
    result.status = PASSED
    result.output = _readable("\n".join(outputs))
    return result
