"""The public Python API: plan(), build(), check() and test(), returning what the CLI prints.

The CLI is a thin layer over these functions: a release script or a nox session that calls
``zigwheel.build(...)`` gets the same plan, the same checked wheels and the same errors
(subclasses of ``zigwheel.errors.ZigwheelError``, each with a ``hint``) as ``zigwheel build``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from zigwheel.errors import ConfigError
from zigwheel.output import expand_folders

if TYPE_CHECKING:
    from zigwheel.builder.jobs import BuildPlan, BuiltWheel, Progress
    from zigwheel.compliance.analysis import WheelReport
    from zigwheel.compliance.archive import Limits
    from zigwheel.host import Host
    from zigwheel.runtime.wheeltest import WheelTestResult

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class BuildResult:
    """What ``build()`` made: the plan it followed and the checked wheels in the output folder."""

    plan: BuildPlan
    wheels: tuple[BuiltWheel, ...]


@dataclass(frozen=True)
class TestRun:
    """What ``test()`` found, one result per wheel, in the order the wheels were given."""

    results: tuple[WheelTestResult, ...]
    __test__ = False  # a result type, not a test class for pytest to collect

    @property
    def counts(self) -> dict[str, int]:
        """How many wheels ``passed``, ``failed`` and were ``not-tested``."""
        from zigwheel.runtime.wheeltest import FAILED, NOT_TESTED, PASSED  # noqa: PLC0415

        return {
            status: sum(result.status == status for result in self.results)
            for status in (PASSED, FAILED, NOT_TESTED)
        }

    def ok(self, *, strict: bool = False) -> bool:
        """True when no wheel failed; with ``strict``, also when none went untested."""
        counts = self.counts
        if counts["failed"] > 0:
            return False
        return not (strict and counts["not-tested"] > 0)


def plan(
    project_dir: PathLike = ".",
    *,
    targets: Sequence[str] = (),
    manylinux: str | None = None,
    musllinux: str | None = None,
    interpreters: Sequence[str] = (),
    out_dir: PathLike | None = None,
    maturin_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    host: Host | None = None,
) -> BuildPlan:
    """The build matrix ``build()`` would run, with where each setting came from.

    Arguments override ``ZIGWHEEL_*`` variables of ``env`` (default: ``os.environ``), which
    override ``[tool.zigwheel]`` of the project's pyproject.toml, exactly as flags do.
    ``host`` is the machine that builds (default: this one): its architecture is the default
    target.
    """
    from zigwheel.builder.jobs import plan_build  # noqa: PLC0415
    from zigwheel.builder.project import read_project  # noqa: PLC0415
    from zigwheel.builder.settings import FlagValues, resolve_settings  # noqa: PLC0415
    from zigwheel.host import Host  # noqa: PLC0415

    environment = dict(os.environ if env is None else env)
    project = read_project(Path(project_dir))
    flags = FlagValues(
        targets=tuple(targets),
        manylinux=manylinux,
        musllinux=musllinux,
        interpreters=tuple(interpreters),
        out_dir=Path(out_dir).resolve() if out_dir is not None else None,
        maturin_args=tuple(maturin_args),
    )
    settings = resolve_settings(
        pyproject=project.pyproject,
        env=environment,
        flags=flags,
        project_dir=project.directory,
        host_arch=(Host.detect(environment) if host is None else host).arch,
    )
    return plan_build(project, settings, environment)


def build(
    project_dir: PathLike = ".",
    *,
    targets: Sequence[str] = (),
    manylinux: str | None = None,
    musllinux: str | None = None,
    interpreters: Sequence[str] = (),
    out_dir: PathLike | None = None,
    maturin_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build, check and keep the project's wheels; only compliant wheels reach ``out_dir``.

    Raises ``zigwheel.builder.jobs.BuildFailure`` when a target fails (its ``built`` holds the
    checked wheels of the targets before it), and other ``ZigwheelError``s for bad settings or
    missing tools. ``progress(event, job, text)`` hears ``start``, ``line`` (each line of
    maturin's output as it comes), ``output`` (all of it) and ``done``.
    """
    environment = dict(os.environ if env is None else env)
    chosen = plan(
        project_dir,
        targets=targets,
        manylinux=manylinux,
        musllinux=musllinux,
        interpreters=interpreters,
        out_dir=out_dir,
        maturin_args=maturin_args,
        env=environment,
    )
    return run_plan(chosen, env=environment, progress=progress)


def run_plan(
    chosen: BuildPlan, *, env: Mapping[str, str] | None = None, progress: Progress | None = None
) -> BuildResult:
    """Run a plan made by ``plan()`` (the CLI shows the plan's warnings before it builds)."""
    from zigwheel.builder.jobs import build_wheels  # noqa: PLC0415

    environment = dict(os.environ if env is None else env)
    return BuildResult(plan=chosen, wheels=tuple(build_wheels(chosen, environment, progress)))


def check(
    paths: Sequence[PathLike], *, limits: Limits | None = None, jobs: int | None = 1
) -> list[WheelReport]:
    """Check wheels without unpacking them: one report per wheel, folders give their wheels.

    A wheel that cannot be read is a report whose policy is ``unknown``, not an exception. The
    reports come in the order of ``paths``. ``jobs=None`` checks several wheels in worker
    processes, one per CPU (spawned: a calling script needs the ``if __name__ == "__main__":``
    guard); the default checks them one by one in this process.
    """
    from zigwheel.compliance.analysis import check_paths  # noqa: PLC0415
    from zigwheel.compliance.archive import DEFAULT_LIMITS  # noqa: PLC0415

    return check_paths(
        [Path(path) for path in paths], limits=limits or DEFAULT_LIMITS, jobs=jobs
    )


TestEvent = Callable[[str, Path], None]


def run_tests(
    wheels: Sequence[PathLike],
    *,
    root: PathLike | None = None,
    command: str | None = None,
    project: PathLike | None = None,
    python: str | None = None,
    with_deps: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: PathLike | None = None,
    progress: TestEvent | None = None,
    host: Host | None = None,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    timeout: float | None = None,
) -> TestRun:
    """Install each wheel into a throwaway Python for its target and run its imports and tests.

    ``root`` is a root filesystem folder or ``debian:RELEASE[:ARCH]`` (built once, cached).
    Each wheel's project folder (``{project}`` in the command) is ``project``, else ``cwd`` (the
    current folder); its pyproject.toml gives the test settings (test-command, test-requires,
    test-extras, test-groups, test-timeout) when ``project`` is given or when it names the
    wheel's distribution, overridden by ``ZIGWHEEL_TEST_*`` variables and by these arguments.
    ``progress(event, wheel)`` hears ``start``, ``folder-command`` and ``preparing-root``.
    ``host`` is the machine the tests run on (default: this one, detected once).
    """
    from zigwheel.builder.settings import TestFlagValues, resolve_test_settings  # noqa: PLC0415
    from zigwheel.cache import default_cache_dir  # noqa: PLC0415
    from zigwheel.host import Host  # noqa: PLC0415
    from zigwheel.resources import parse_toml_text  # noqa: PLC0415
    from zigwheel.runtime import wheeltest  # noqa: PLC0415

    environment = dict(os.environ if env is None else env)
    machine = Host.detect(environment) if host is None else host
    here = (Path(cwd) if cwd is not None else Path.cwd()).absolute()
    report = progress or (lambda _event, _wheel: None)
    paths = wheel_files(wheels)
    project_dir = Path(project).absolute() if project is not None else None
    root_dir = resolve_root(str(root), environment, report, machine) if root is not None else None
    flags = TestFlagValues(command=command, requires=tuple(requires), extras=tuple(extras),
                           groups=tuple(groups), timeout=timeout)  # fmt: skip
    cache = default_cache_dir(environment)
    roots_dir = cache / "roots"
    results = []
    for path in paths:
        folder = project_dir or here
        own = project_dir is not None or wheeltest.wheel_project_folder(here, path)
        pyproject_file = folder / "pyproject.toml"
        pyproject = (
            parse_toml_text(pyproject_file.read_text(), source=str(pyproject_file))
            if own and pyproject_file.is_file()
            else {}
        )
        settings = resolve_test_settings(
            pyproject=pyproject, env=environment, flags=flags, project_dir=folder, cwd=here
        )
        group_requires = wheeltest.dependency_groups(
            pyproject, settings.groups, source=str(pyproject_file)
        ) if settings.groups else []  # fmt: skip
        report("start", path)
        if project_dir is None and settings.sources.get("test-command") == "pyproject":
            report("folder-command", path)
        results.append(
            wheeltest.run_wheel_test(
                path.absolute(),
                env=environment,
                root=root_dir,
                roots_dir=roots_dir,
                command=settings.command,
                project=folder,
                host_python=python or sys.executable,
                with_deps=with_deps,
                host=machine,
                requires=[*settings.requires, *group_requires],
                extras=settings.extras,
                timeout=settings.timeout,
                cache=cache,
            )
        )
    return TestRun(results=tuple(results))


# zigwheel.test(): the name the README documents. pytest must not take it for a test when a test
# module imports it.
test = run_tests
run_tests.__test__ = False  # type: ignore[attr-defined]


def wheel_files(paths: Sequence[PathLike]) -> list[Path]:
    """The wheels named or held by the folders given; a folder with none is a ConfigError."""
    found = expand_folders([Path(path) for path in paths])
    empty = [path for path in found if path.is_dir()]
    if empty or not found:
        where = ", ".join(str(path) for path in (empty or paths))
        msg = f"no wheel found in {where}"
        raise ConfigError(msg, hint="pass .whl files or a folder that holds them")
    return found


def resolve_root(
    spec: str, env: Mapping[str, str], progress: TestEvent, host: Host | None = None
) -> Path:
    """A root folder, or ``debian:RELEASE[:ARCH]`` built on first use and cached."""
    if spec.startswith("debian:") and not Path(spec).exists():
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[1]:
            msg = f"--root {spec} is not of the form debian:RELEASE[:ARCH]"
            raise ConfigError(
                msg, hint="e.g. --root debian:bullseye or --root debian:bookworm:arm64"
            )
        from zigwheel.runtime import debian_root  # noqa: PLC0415

        progress("preparing-root", Path(spec))
        built = debian_root.ensure_debian_root(
            parts[1], parts[2] if len(parts) == 3 else None, env=env, mirrors=(), packages=(),
            host=host,
        )
        return built.path
    path = Path(spec)
    if not path.is_dir():
        msg = f"the root filesystem {spec} does not exist"
        raise ConfigError(msg, hint="pass a folder, or debian:RELEASE[:ARCH] to build one")
    return path


__all__ = [
    "BuildResult",
    "TestRun",
    "build",
    "check",
    "plan",
    "resolve_root",
    "run_plan",
    "run_tests",
    "test",
    "wheel_files",
]
