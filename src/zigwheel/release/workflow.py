"""Render the GitHub Actions workflow that builds, checks, tests and publishes wheels."""

from __future__ import annotations

import functools
import os
import re
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigwheel._version import __version__
from zigwheel.errors import ConfigError, DataError
from zigwheel.platforms import Libc
from zigwheel.resources import data_dir, load_toml
from zigwheel.toolchain.targets import Target, resolve_target

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
    "github-one-job.yml",
    "github-test-host.yml",
    "github-install-qemu.yml",
    "github-check-mirror.yml",
    "github-test-qemu.yml",
)
# The repository variable (Settings > Variables) that names the Debian mirror for qemu-user tests.
MIRROR_VARIABLE = "ZIGWHEEL_DEBIAN_MIRROR"


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


def _workflow_dir() -> Path:
    return data_dir() / "workflow"


def parse_settings(
    document: Mapping[str, Any], templates: Mapping[str, str], *, source: str
) -> WorkflowSettings:
    """Validate the workflow settings and templates; DataError when anything is off."""

    def fail(message: str) -> DataError:
        return DataError(f"{source}: {message}", hint="fix zigwheel's workflow data")

    if document.get("schema") != SCHEMA:
        raise fail(f"schema is {document.get('schema')!r}, expected {SCHEMA}")
    scalars: dict[str, str] = {}
    for key in ("runner", "runner_arch", "python", "debian_release"):
        value = document.get(key)
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
    return WorkflowSettings(
        runner=scalars["runner"],
        runner_arch=scalars["runner_arch"],
        python=scalars["python"],
        debian_release=scalars["debian_release"],
        actions=tables["actions"],
        debian_arch=tables["debian_arch"],
        templates=dict(templates),
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


def _test_kind(target: Target, settings: WorkflowSettings) -> str:
    if target.libc is Libc.MUSL:
        return "none"  # no musl Python on an Ubuntu runner: musllinux wheels are checked only
    return "host" if target.arch.value == settings.runner_arch else "qemu"


def qemu_tested(targets: Sequence[Target], settings: WorkflowSettings | None = None) -> bool:
    """True when some of ``targets`` are tested under qemu-user (which needs a Debian mirror)."""
    settings = settings or load_settings()
    return any(_test_kind(target, settings) == "qemu" for target in targets)


def _target_values(target: Target, settings: WorkflowSettings) -> dict[str, str]:
    debian_arch = settings.debian_arch.get(target.arch.value, target.arch.value)
    return {
        "arch": target.arch.value,
        "policy": target.policy,
        "platform": target.platform_tag,
        "rust_target": target.rust_triple,
        "test": _test_kind(target, settings),
        "debian_arch": debian_arch,
        # The configured release unless it lacks the architecture (bookworm has no riscv64).
        "debian_release": _debian_release_for(debian_arch, settings.debian_release),
    }


def regenerate_command(
    arches: Sequence[str],
    policies: Sequence[str],
    *,
    one_job: bool,
    zigwheel_requirement: str | None = None,
) -> str:
    """The `zigwheel ci github` command line that renders the same workflow."""
    argv = ["zigwheel", "ci", "github", "--target", ",".join(arches)]
    for policy in policies:
        argv += ["--manylinux", policy]
    if one_job:
        argv.append("--one-job")
    if zigwheel_requirement:
        argv += ["--zigwheel-requirement", zigwheel_requirement]
    return shlex.join(argv)


def default_requirement() -> str:
    """The pip requirement the workflow installs zigwheel with unless told otherwise."""
    return f"zigwheel=={__version__}"


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


def render_github_workflow(
    targets: Sequence[Target],
    *,
    one_job: bool = False,
    command: str = "zigwheel ci github",
    zigwheel_requirement: str | None = None,
    settings: WorkflowSettings | None = None,
) -> str:
    """The workflow text for ``targets``: one job per target (matrix) or one job for all."""
    if not targets:
        raise ConfigError("no targets to build", hint="e.g. --target x86_64,aarch64")
    settings = settings or load_settings()
    templates = settings.templates
    common = {
        "mirror_variable": MIRROR_VARIABLE,
        "runner": settings.runner,
        "python": settings.python,
        "debian_release": settings.debian_release,
        "zigwheel_version": __version__,
        "zigwheel_requirement": check_requirement(zigwheel_requirement or default_requirement()),
        "command": command,
        **{f"action:{key}": ref for key, ref in settings.actions.items()},
    }
    per_target = [_target_values(target, settings) for target in targets]
    if one_job:
        build_job = _one_job(per_target, common, templates)
    else:
        entries = "".join(
            fill(templates["github-matrix-entry.yml"], values, name="github-matrix-entry.yml")
            for values in per_target
        )
        when = "if: matrix.test == 'qemu'"
        qemu_steps = _qemu_steps(per_target, common, templates, when=when)
        build_job = fill(
            templates["github-matrix.yml"],
            {**common, "matrix": entries, **qemu_steps},
            name="github-matrix.yml",
        )
    return fill(templates["github.yml"], {**common, "build_job": build_job}, name="github.yml")


def _one_job(
    per_target: list[dict[str, str]], common: Mapping[str, str], templates: Mapping[str, str]
) -> str:
    rust_targets = list(dict.fromkeys(values["rust_target"] for values in per_target))
    build_commands = "\n".join(
        f"zigwheel build --target {values['arch']} --manylinux {values['policy']} --out dist"
        for values in per_target
    )
    qemu_steps = _qemu_steps(per_target, common, templates, when="")
    steps = [qemu_steps["install_qemu"]]
    for values in per_target:
        if values["test"] == "none":
            continue
        name = f"github-test-{values['test']}.yml"
        steps.append(fill(templates[name], values, name=name))
    return fill(
        templates["github-one-job.yml"],
        {
            **common,
            "check_mirror": qemu_steps["check_mirror"],
            "rust_targets": " ".join(rust_targets),
            "build_commands": build_commands,
            "test_steps": "".join(steps).rstrip("\n"),
        },
        name="github-one-job.yml",
    )


def _qemu_steps(
    per_target: list[dict[str, str]],
    common: Mapping[str, str],
    templates: Mapping[str, str],
    *,
    when: str,
) -> dict[str, str]:
    """The mirror check and the qemu install steps (empty when no target runs under qemu)."""
    if not any(values["test"] == "qemu" for values in per_target):
        return {"check_mirror": "", "install_qemu": ""}
    values = {**common, "when": when}
    return {
        key: fill(templates[name], values, name=name)
        for key, name in (
            ("check_mirror", "github-check-mirror.yml"),
            ("install_qemu", "github-install-qemu.yml"),
        )
    }


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
