"""Use-case: plan and run `maturin build --zig` per target, and let only compliant wheels out."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from zigwheel import _proc
from zigwheel.builder.cargoconfig import (
    RustcFacts,
    find_build_std,
    honoured_for,
    rust_src_installed,
    rustc_facts,
)
from zigwheel.builder.project import KNOWN_PYTHONS, Project
from zigwheel.builder.settings import BuildSettings
from zigwheel.builder.syscrates import static_warnings, system_crate_needs
from zigwheel.cache import cache_root
from zigwheel.compliance.analysis import WheelReport, check_wheel
from zigwheel.compliance.findings import Finding, FindingKind, SymbolsDetail
from zigwheel.compliance.policy import version_key
from zigwheel.compliance.words import render_finding
from zigwheel.errors import (
    EXIT_COMMAND,
    EXIT_FAILED_CHECK,
    ConfigError,
    ToolchainError,
    ZigwheelError,
)
from zigwheel.explain import Explanation, explain, explain_by_id
from zigwheel.toolchain.rustenv import RustcChoice, choose_rustc, missing_pin_error
from zigwheel.toolchain.shims import install_shims
from zigwheel.toolchain.targets import Target, default_policy, parse_arch, resolve_target
from zigwheel.toolchain.zig import Zig, locate_zig


@dataclass(frozen=True)
class BuildJob:
    """One maturin invocation: a target and the interpreters to build for."""

    target: Target
    interpreters: tuple[str, ...]
    rustc: str | None  # a RUSTC to use instead of the default, when only it has the target's std


@dataclass(frozen=True)
class BuildPlan:
    """The resolved build matrix."""

    project: Project
    settings: BuildSettings
    jobs: tuple[BuildJob, ...]
    warnings: tuple[str, ...] = ()
    # SOURCE_DATE_EPOCH maturin gets (the last commit's time) when the user set none: the same
    # commit then gives byte-identical wheels (zip dates, the SBOM) on any machine, any day.
    source_date_epoch: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description of the plan and where each setting came from."""
        return {
            "project": str(self.project.directory),
            "abi3": self.project.abi3,
            "bindings": self.project.bindings or None,
            "abi3_minimum": self.project.abi3_minimum,
            "out_dir": str(self.settings.out_dir),
            "maturin_args": list(self.settings.maturin_args),
            "policy": self.settings.policy,
            "environment": {
                name: {"value": value, "source": self.settings.environment_sources.get(name)}
                for name, value in self.settings.environment.items()
            },
            "sources": dict(self.settings.sources),
            "source_date_epoch": self.source_date_epoch,
            "warnings": list(self.warnings),
            "jobs": [
                {
                    "arch": job.target.arch.value,
                    "policy": job.target.policy,
                    "platform_tag": job.target.platform_tag,
                    "rust_triple": job.target.rust_triple,
                    "zig_triple": job.target.zig_triple,
                    "interpreters": list(job.interpreters),
                    "rustc": job.rustc,
                }
                for job in self.jobs
            ],
        }


@dataclass(frozen=True)
class BuiltWheel:
    """A checked wheel in the output folder."""

    path: Path
    target: Target
    policy: str
    size: int
    sha256: str
    seconds: float
    warnings: tuple[str, ...] = ()  # maturin's own warnings while building it

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "wheel": self.path.name,
            "path": str(self.path),
            "target": self.target.platform_tag,
            "policy": self.policy,
            "size": self.size,
            "sha256": self.sha256,
            "seconds": round(self.seconds, 2),
            "warnings": list(self.warnings),
        }


class BuildFailure(ZigwheelError):
    """A target failed. ``built`` holds the checked wheels earlier targets already wrote."""

    exit_code = EXIT_FAILED_CHECK

    def __init__(
        self,
        message: str,
        *,
        job: BuildJob,
        output: str = "",
        report: WheelReport | None = None,
        explanations: Sequence[Explanation] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.job = job
        self.output = output
        self.report = report
        self.explanations = list(explanations)
        self.built: list[BuiltWheel] = []


class MaturinFailed(BuildFailure):
    """maturin exited non-zero or produced no wheel: an external command failed."""

    exit_code = EXIT_COMMAND


class NonCompliantWheel(BuildFailure):
    """maturin built a wheel but zigwheel's check refused it: a check result."""

    exit_code = EXIT_FAILED_CHECK


class UnimportableWheel(BuildFailure):
    """maturin built a wheel and warned that Python will fail to import it."""

    exit_code = EXIT_FAILED_CHECK


# progress(event, job, text): "start"; "line" for each line of maturin's output as it comes;
# "output" with all of it when maturin exited; "warning" for each of maturin's warnings about the
# wheel; "done" with the time taken.
Progress = Callable[[str, BuildJob, str], None]


# -- planning --------------------------------------------------------------------------------


def _interpreters(project: Project, settings: BuildSettings) -> tuple[str, ...]:
    # A program crate's wheels are py3-none; an abi3 crate with a minimum needs no interpreter.
    fixed = project.bindings == "bin" or (project.abi3 and project.abi3_minimum)
    if settings.interpreters or fixed:
        return tuple(settings.interpreters)
    try:
        spec = SpecifierSet(project.requires_python or "")
    except InvalidSpecifier as err:
        msg = f"requires-python {project.requires_python!r} is not a valid specifier"
        raise ConfigError(msg, hint="fix [project] requires-python") from err
    allowed = [version for version in KNOWN_PYTHONS if spec.contains(version)]
    if project.abi3:
        # A bare `abi3` names no oldest Python: maturin then needs an interpreter to take the
        # version from, and finds none for another architecture. The oldest that
        # requires-python allows gives the widest wheel (cp39-abi3 for ">=3.8").
        if project.requires_python is None or not allowed:
            why = "has no requires-python" if project.requires_python is None else (
                f"allows no known Python with requires-python {project.requires_python!r}"
            )
            msg = f"{project.name} is abi3 without a minimum Python version and {why}"
            raise ConfigError(
                msg,
                hint='name the oldest supported Python in pyo3\'s feature ("abi3-py39" instead of '
                '"abi3") in Cargo.toml, or set [project] requires-python = ">=3.9", or pass -i 3.9',
            )
        return (allowed[0],)
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    # One interpreter by default: the host's when the project allows it, else its oldest.
    if spec.contains(host):
        return (host,)
    if not allowed:
        msg = f"no known Python version satisfies requires-python {project.requires_python!r}"
        raise ConfigError(msg, hint="pass the interpreters with -i 3.X")
    return (allowed[0],)


def _system_crate_warnings(
    project: Project, settings: BuildSettings, env: Mapping[str, str], targets: Sequence[Target]
) -> list[str]:
    """Refuse a crate that will not find its C library; the warnings of those that may not.

    Decided from what the build will see: Cargo.lock, the features the maturin arguments and
    [tool.maturin] turn on, and the variables (shell and [tool.zigwheel] environment).
    """
    triples = list(dict.fromkeys(target.rust_triple for target in targets))
    needs = system_crate_needs(
        project, maturin_args=settings.maturin_args, env=env, triples=triples
    )
    for need in needs:
        if not need.warn_only:
            where = "" if len(need.triples) == len(triples) else f" for {', '.join(need.triples)}"
            msg = f"{project.name} needs a C library zig cannot link for the target: "
            msg += f"{need.message}{where}"
            raise ConfigError(msg, hint=need.fix[:1].upper() + need.fix[1:])
    shown = [f"{need.message}; {need.fix}" for need in needs]
    return shown + static_warnings(project, env, triples)


def _build_std_warnings(
    directory: Path, choices: Sequence[RustcChoice], env: Mapping[str, str]
) -> list[str]:
    """Refuse an `[unstable] build-std` the build would honour without rust-src; else warn.

    maturin's zig mode makes cargo honour `[unstable]` for the host's own triple, so a table
    kept for another build (Pyodide) fails minutes later with "unable to build with the
    standard library"; said now, with the file and the table.
    """
    build_std = find_build_std(directory, env)
    if build_std is None:
        return []
    warnings: list[str] = []
    facts: dict[str, RustcFacts | None] = {}
    for choice in choices:
        rustc = choice.rustc or ""
        if rustc not in facts:
            facts[rustc] = rustc_facts(rustc, env, directory)
        if not honoured_for([choice.triple], facts[rustc], env):
            continue
        what = f"[unstable] build-std in {build_std.source}"
        if choice.sysroot is not None and not rust_src_installed(choice.sysroot):
            msg = (
                f"{what} makes cargo build Rust's standard library from source for "
                f"{choice.triple}, and the toolchain has no rust-src component"
            )
            (found,) = [item for item in explain(msg) if item.id == "build-std-without-rust-src"]
            raise ConfigError(msg, hint=found.fix)
        warnings.append(
            f"{what}: cargo builds Rust's standard library from source for {choice.triple} "
            "(slower; the table is honoured because maturin runs cargo as nightly for the "
            "host's own triple)"
        )
    return warnings


def plan_build(project: Project, settings: BuildSettings, env: Mapping[str, str]) -> BuildPlan:
    """Resolve targets, policies, interpreters and compilers; catch missing prerequisites."""
    interpreters = _interpreters(project, settings)
    # x86_64 and amd64 name one architecture: it is planned (and built) once.
    arches = list(dict.fromkeys(map(parse_arch, settings.targets)))
    targets = [resolve_target(arch, settings.policy or default_policy(arch)) for arch in arches]
    # A RUSTC in [tool.zigwheel] environment is as much the user's choice as one in the shell.
    rust_env = {**env, **settings.environment}
    warnings = _system_crate_warnings(project, settings, rust_env, targets)
    # A missing cargo explains every later failure; say it before probing each target's std.
    if shutil.which("cargo", path=env.get("PATH")) is None:
        msg = "cargo was not found"
        raise ToolchainError(msg, hint="install Rust (https://rustup.rs), then run zigwheel doctor")
    # cargo runs in the project folder, where a rust-toolchain file may pin a toolchain: a
    # missing one is said now, by name, not as cargo's failure minutes into the build.
    pin_error = missing_pin_error(
        project.directory, rust_env, list(dict.fromkeys(t.rust_triple for t in targets))
    )
    if pin_error is not None:
        raise pin_error
    jobs: list[BuildJob] = []
    choices: list[RustcChoice] = []
    for target in targets:
        choice = choose_rustc(target.rust_triple, rust_env, cwd=project.directory)
        if choice.rustc is None:
            raise choice.error(rust_env)
        jobs.append(BuildJob(target, interpreters, choice.override))
        choices.append(choice)
    warnings += _build_std_warnings(project.directory, choices, rust_env)
    epoch = None if "SOURCE_DATE_EPOCH" in rust_env else last_commit_time(project.directory, env)
    return BuildPlan(project, settings, tuple(jobs), tuple(warnings), epoch)


def last_commit_time(directory: Path, env: Mapping[str, str]) -> str | None:
    """The time (seconds since 1970) of the last commit of ``directory``'s repository.

    None outside a git checkout or without git. A tree with uncommitted changes still gets the
    last commit's time: only the changed files differ then.
    """
    try:
        result = _proc.run(
            ["git", "-C", str(directory), "log", "-1", "--format=%ct"], env=env, check=False,
            timeout=60,
        )  # fmt: skip
    except ZigwheelError:  # no git on this machine
        return None
    text = result.stdout.strip()
    return text if result.returncode == 0 and text.isdigit() else None


# -- building --------------------------------------------------------------------------------


def maturin_command(plan: BuildPlan, job: BuildJob, out: Path) -> list[str]:
    """The maturin command line of one job."""
    command = [
        sys.executable, "-m", "maturin", "build", "--release", "--zig", "--strip",
        "--target", job.target.rust_triple,
        "--compatibility", job.target.policy,
        "--manifest-path", str(plan.project.manifest),
        "--out", str(out),
    ]  # fmt: skip
    if job.interpreters:
        command += ["--interpreter", *(_interpreter_arg(version) for version in job.interpreters)]
    return command + list(plan.settings.maturin_args)


def _interpreter_arg(version: str) -> str:
    # "3.11" -> "python3.11": maturin cross-compiles for a named version with its bundled
    # sysconfig data; a path (e.g. an existing interpreter) is passed through.
    return f"python{version}" if version[:1].isdigit() else version


def build_env(job: BuildJob, zig: Zig, base: Mapping[str, str], cache: Path) -> dict[str, str]:
    """The environment maturin runs in for one job."""
    env = dict(base)
    shims = install_shims(job.target, zig, cache, env=base)  # this machine: maturin runs here
    shim_env = shims.env()
    # maturin's embedded cargo-zigbuild links the Rust code itself and knows rustc's link
    # arguments (and keeps build scripts on the host linker); zigwheel's shims serve C/C++
    # compiled by build scripts (cc crate, cmake) and archives, so the linker entry stays out.
    shim_env.pop(f"CARGO_TARGET_{job.target.env_triple.upper()}_LINKER", None)
    for name, value in shim_env.items():
        env.setdefault(name, value)  # the user's own CC_<triple> etc. win
    # The pinned zig, both ways maturin looks for it.
    env["CARGO_ZIGBUILD_PYTHON_PATH"] = sys.executable
    if zig.direct:
        env["CARGO_ZIGBUILD_ZIG_PATH"] = str(zig.path)
    if job.rustc:
        env["RUSTC"] = job.rustc
    return env


def _with_epoch(plan: BuildPlan, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the plan's SOURCE_DATE_EPOCH, unless the user's (shell or table) is set."""
    given = {**env, **plan.settings.environment}
    if plan.source_date_epoch is None or "SOURCE_DATE_EPOCH" in given:
        return dict(env)
    return {**env, "SOURCE_DATE_EPOCH": plan.source_date_epoch}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _offending_summary(report: WheelReport) -> str:
    symbols = [item.label for elf in report.elves for item in elf.offending]
    if symbols:
        shown = ", ".join(sorted(set(symbols))[:8])
        return f"{shown}{' ...' if len(set(symbols)) > 8 else ''}"
    return "; ".join(report.problems[:3])


# maturin's own warnings ("⚠️  Warning: ..."), not cargo's lower-case "warning:" lines: maturin
# says there what it noticed about the wheel it writes (a missing PyInit_ symbol, ...).
_MATURIN_WARNING = re.compile(r"^\s*\u26a0\ufe0f?\s*Warning:\s*(?P<text>\S.*?)\s*$", re.MULTILINE)
# Explanations of warnings that mean the wheel cannot work: such a wheel is refused.
UNIMPORTABLE = frozenset({"module-init-symbol-missing"})


def maturin_warnings(output: str) -> list[str]:
    """maturin's warnings in its output, each once, in order."""
    found = (match["text"] for match in _MATURIN_WARNING.finditer(output))
    return list(dict.fromkeys(found))


def _refuse_unimportable(job: BuildJob, warnings: Sequence[str], output: str) -> None:
    """Raise UnimportableWheel when one of maturin's warnings says the module cannot import."""
    for warning in warnings:
        broken = [item for item in explain(warning) if item.id in UNIMPORTABLE]
        if broken:
            msg = f"maturin built a wheel for {job.target.platform_tag} that cannot be imported: "
            msg += warning
            raise UnimportableWheel(
                msg, job=job, output=output, explanations=broken,
                hint=f"the wheel was not written to the output folder; {broken[0].fix}",
            )  # fmt: skip


def run_job(
    plan: BuildPlan,
    job: BuildJob,
    *,
    zig: Zig,
    env: Mapping[str, str],
    staging_root: Path,
    progress: Progress,
) -> list[BuiltWheel]:
    """Build, check and publish into the output folder the wheels of one job."""
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=".zigwheel-", dir=staging_root))
    try:
        progress("start", job, "")
        base = {**_with_epoch(plan, env), **plan.settings.environment}
        job_env = build_env(job, zig, base, cache_root(env))
        command = maturin_command(plan, job, staging)
        result = _proc.run(
            command,
            env=job_env,
            cwd=plan.project.directory,
            check=False,  # a failure is explained below, with maturin's whole output
            on_line=lambda line: progress("line", job, line),
        )
        progress("output", job, result.stdout)
        if result.returncode != 0:
            raise _maturin_failure(job, result.stdout, result.returncode)
        wheels = sorted(staging.glob("*.whl"))
        if not wheels:
            msg = f"maturin produced no wheel for {job.target.platform_tag}"
            raise MaturinFailed(msg, job=job, output=result.stdout)
        warnings = maturin_warnings(result.stdout)
        _refuse_unimportable(job, warnings, result.stdout)
        for warning in warnings:
            progress("warning", job, warning)
        built = admit_wheels(job, wheels, plan.settings.out_dir, output=result.stdout)
        seconds = time.monotonic() - started
        built = [
            dataclasses.replace(wheel, seconds=seconds, warnings=tuple(warnings))
            for wheel in built
        ]
        progress("done", job, f"{seconds:.1f}s")
        return built
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def zig_link_log(policy: str, versions: str, content: str | None = None) -> str:
    """A log line, in the words zigwheel explain recognises, for too-new symbols in a zig link.

    The too-recent-symbols explanation is written for a plain maturin build and says "build with
    zig", which is what zigwheel build just did; this line matches the explanation of host
    libraries leaking into a zig link instead.
    """
    line = f"linked with zig for {policy} but needs newer symbol versions: {versions}"
    return f"{line} (its content is {content})" if content else line


# The explanation (an id in explanations.toml) build gives for each kind of check finding; None
# where the check's own words say all there is to say.
FINDING_EXPLANATIONS: Mapping[FindingKind, str | None] = {
    **dict.fromkeys(FindingKind),
    # zig's stubs for the claimed glibc cannot produce these versions: something in the link
    # brought the host's libraries (the too-recent-symbols explanation says "build with zig",
    # which is what build just did).
    FindingKind.TOO_NEW_SYMBOL_VERSION: "zig-build-needs-newer-glibc",
    # The archive or a file in it is not what maturin writes (RECORD rows, duplicate names, ELF
    # headers that hide needs, a module named for another target): the finding's words are the
    # explanation; no log pattern of a build leads to them.
    FindingKind.UNLISTED_MEMBER: None,
    FindingKind.RECORD_MISMATCH: None,
    FindingKind.DUPLICATE_MEMBER: None,
    FindingKind.ELF_VIEWS_DISAGREE: None,
    FindingKind.EXTENSION_SUFFIX_MISMATCH: None,
}
# Symbols that only a newer libc has and that have explanations of their own, in the order they
# are given: (explanation id, does the symbol name it, the details it fills).
_SYMBOL_EXPLANATIONS: tuple[tuple[str, Callable[[str], dict[str, str] | None]], ...] = (
    ("cxa-thread-atexit-impl", lambda s: {} if s == "__cxa_thread_atexit_impl" else None),
    (
        "isoc23-symbols",
        lambda s: {"function": s.removeprefix("__isoc23_")} if s.startswith("__isoc23_") else None,
    ),
)


def _too_new(finding: Finding) -> SymbolsDetail | None:
    """The detail of a too-new-symbol-version finding that names the symbols asking for it."""
    detail = finding.detail
    if finding.kind is FindingKind.TOO_NEW_SYMBOL_VERSION and isinstance(detail, SymbolsDetail):
        # A version no imported symbol asks for has no symbol in the link to blame.
        return detail if detail.symbols and detail.version else None
    return None


def _details(finding: Finding, report: WheelReport, policy: str) -> dict[str, str] | None:
    """What the explanation of ``finding`` fills in; None when it has nothing to explain."""
    if _too_new(finding) is None:
        return None
    versions = {d.version for f in report.findings if (d := _too_new(f)) and d.version}
    return {
        "policy": policy,
        "versions": ", ".join(sorted(versions, key=version_key)),
        "content": report.policy,
    }


def _evidence(report: WheelReport, finding: Finding) -> str:
    """What an explanation was recognised in: the offending symbols, else the finding's words."""
    labels = sorted({item.label for elf in report.elves for item in elf.offending})
    # All of them, not the three a problem line shows: the JSON output has no ELF table.
    return f"symbols: {', '.join(labels)}" if labels else render_finding(finding)


def compliance_explanations(report: WheelReport, policy: str) -> list[Explanation]:
    """The explanations of a non-compliant wheel's findings, chosen by the findings' kinds.

    ``policy`` is the policy the build targeted. Each explanation's line number is that of the
    finding it explains in the report's problem list; its matched line names the symbols.
    """
    explained: dict[str, Explanation] = {}
    naming: dict[str, tuple[Finding, int]] = {}  # symbol -> the first finding naming it
    for number, finding in enumerate(report.findings, start=1):
        rule_id = FINDING_EXPLANATIONS[finding.kind]
        details = _details(finding, report, policy) if rule_id is not None else None
        if rule_id is None or details is None:
            continue
        too_new = _too_new(finding)
        for symbol in too_new.symbols if too_new else ():
            naming.setdefault(symbol, (finding, number))
        if rule_id not in explained:
            explained[rule_id] = explain_by_id(
                rule_id, details, matched_line=_evidence(report, finding), line_number=number
            )
    for rule_id, names in _SYMBOL_EXPLANATIONS:
        for symbol in sorted(naming):
            symbol_details = names(symbol)
            if symbol_details is not None:
                finding, number = naming[symbol]
                explained[rule_id] = explain_by_id(
                    rule_id, symbol_details, matched_line=_evidence(report, finding),
                    line_number=number,
                )  # fmt: skip
                break
    return list(explained.values())


def admit_wheels(
    job: BuildJob, wheels: Sequence[Path], out_dir: Path, *, output: str = ""
) -> list[BuiltWheel]:
    """Check every wheel maturin left in staging; move them into ``out_dir`` only if all pass.

    A non-compliant wheel raises NonCompliantWheel with the check's report and the explanations
    of what broke it; nothing is moved then (the caller removes the staging folder).
    """
    reports = [check_wheel(wheel) for wheel in wheels]
    for report in reports:
        if not report.compliant:
            msg = (
                f"{report.wheel} is not {job.target.policy} compliant "
                f"(its content is {report.policy}): {_offending_summary(report)}"
            )
            explanations = compliance_explanations(report, job.target.policy)
            fix = explanations[0].fix if explanations else "see zigwheel check's report above"
            raise NonCompliantWheel(
                msg, job=job, output=output, report=report, explanations=explanations,
                hint=f"the wheel was not written to the output folder; {fix}",
            )  # fmt: skip
    built: list[BuiltWheel] = []
    for wheel, report in zip(wheels, reports):
        final = out_dir / wheel.name
        wheel.replace(final)  # same file system: the wheel appears whole or not at all
        built.append(
            BuiltWheel(
                final, job.target, report.policy, final.stat().st_size, _sha256(final), 0.0
            )
        )
    return built


def _maturin_failure(job: BuildJob, output: str, returncode: int) -> MaturinFailed:
    explanations = explain(output)
    for index, found in enumerate(explanations):
        if found.id == "too-recent-versioned-symbols":
            # maturin's own audit refused the zig-linked library: say why a zig link does that.
            line = zig_link_log(
                found.details.get("policy", job.target.policy),
                found.details.get("versions", "versions newer than the policy allows"),
            )
            # The line that matched is maturin's, not the synthesised one.
            explanations[index : index + 1] = [
                dataclasses.replace(
                    item, matched_line=found.matched_line, line_number=found.line_number
                )
                for item in explain(line)[:1]
            ] or [found]
    hint = explanations[0].fix if explanations else "see maturin's output above"
    msg = f"maturin failed for {job.target.platform_tag} (exit code {returncode})"
    return MaturinFailed(msg, job=job, output=output, explanations=explanations, hint=hint)


def build_wheels(
    plan: BuildPlan, env: Mapping[str, str], progress: Progress | None = None
) -> list[BuiltWheel]:
    """Run every job of ``plan``; raise BuildFailure on the first failed target.

    The failure carries the wheels earlier targets built: they are checked and stay in the
    output folder, so the caller can say what exists and what does not.
    """
    report = progress or (lambda _event, _job, _text: None)
    zig = locate_zig(env)
    out_dir = plan.settings.out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        msg = f"cannot create the output folder {out_dir}: {err.strerror}"
        raise ConfigError(msg, hint="choose another folder with -o") from err
    built: list[BuiltWheel] = []
    for job in plan.jobs:
        try:
            built += run_job(plan, job, zig=zig, env=env, staging_root=out_dir, progress=report)
        except BuildFailure as err:
            err.built = list(built)
            raise
    return built


__all__ = [
    "BuildFailure",
    "BuildJob",
    "BuildPlan",
    "BuiltWheel",
    "MaturinFailed",
    "NonCompliantWheel",
    "UnimportableWheel",
    "build_wheels",
    "plan_build",
]

