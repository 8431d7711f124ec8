"""CLI commands `zigwheel test` (runtime proof of wheels) and `zigwheel root` (test roots)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.text import Text

from zigwheel.cli._console import (
    err_console,
    json_option,
    on_github_actions,
    out_console,
    print_json,
)
from zigwheel.errors import EXIT_FAILED_CHECK
from zigwheel.output import github_annotation

if TYPE_CHECKING:
    from zigwheel.runtime.debian_root import BuiltRoot
    from zigwheel.runtime.wheeltest import WheelTestResult

root_app = typer.Typer(
    name="root",
    help="Build and list root filesystems of other Linux systems for `zigwheel test --root`.",
    no_args_is_help=True,
)

_OUTPUT_LINES = 12  # of a failed test's output in the human report (--json has it all)
_SUMMARY_LINES = 3  # of a passed test's output: pytest's summary line is the last
_LABELS = {
    "passed": ("PASS", "green"),
    "failed": ("FAIL", "red"),
    "not-tested": ("NOT TESTED", "yellow"),
}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the zigwheel app."""
    app.command("test")(wheel_test_command)
    app.add_typer(root_app, name="root")


def _debian_root(
    release: str,
    *,
    arch: str | None,
    dest: Path | None = None,
    mirrors: list[str] | None = None,
    python: str | None = None,
    packages: list[str] | None = None,
) -> BuiltRoot:
    from zigwheel.runtime import debian_root  # noqa: PLC0415

    return debian_root.ensure_debian_root(
        release,
        arch,
        env=os.environ,
        dest=dest,
        mirrors=mirrors or (),
        python=python,
        packages=packages or (),
    )


def wheel_test_command(
    wheels: Annotated[list[Path], typer.Argument(help="Wheel files, or folders holding wheels.")],
    *,
    root: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option(
            "--root",
            help="Root filesystem with a Python (a folder, or debian:RELEASE[:ARCH] for a cached "
            "Debian root). Same architecture: run through the root's own loader; other: qemu-user.",
        ),
    ] = None,
    command: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--command",
            help="Shell command run after the imports; `python` is the test Python; {wheel} and "
            "{project} are replaced.",
        ),
    ] = None,
    project: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--project",
            help="Project folder: its test-command (tool.zigwheel) is used. Without it (and "
            "without --command), the current folder's pyproject.toml is used for wheels of the "
            "same distribution name.",
        ),
    ] = None,
    python: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--python", help="Host Python for the fresh venv (default: the one running zigwheel)."
        ),
    ] = None,
    with_deps: Annotated[
        bool, typer.Option("--with-deps", help="Let pip install the wheel's dependencies.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="A wheel that was not tested fails the run (exit 1)."),
    ] = False,
    test_requires: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--test-requires",
            help="Requirements installed for the tests by the test Python's pip (shell words, "
            "repeatable; overrides test-requires).",
        ),
    ] = None,
    test_extras: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--test-extras",
            help="Extras of the wheel installed with it (and its dependencies); comma-separated "
            "or repeated.",
        ),
    ] = None,
    test_groups: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--test-groups",
            help="PEP 735 dependency groups of the project's pyproject.toml to install.",
        ),
    ] = None,
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--timeout",
            help="Seconds each wheel's test may take (default 900, or test-timeout); then its "
            "processes are stopped, it FAILs, and the next wheel is tested.",
        ),
    ] = None,
    as_json: Annotated[bool, json_option("Print the results as JSON.")] = False,
) -> None:
    """Install each wheel into a throwaway environment, import its extension modules and run
    the project's tests.

    The test Python is a fresh venv (a wheel for this machine), a root filesystem through its
    own loader (an older glibc), or a root under qemu-user (another architecture). The command
    runs in a fresh empty folder; {project} is the --project folder, else the current folder.

    Exit codes: 0 no wheel failed (wheels not tested are listed; with --strict they fail the
    run), 1 a wheel failed or, with --strict, was not tested, 2 usage or configuration error,
    3 a tool is missing, 4 the cache cannot be written, 6 an input cannot be read.
    """
    from zigwheel.api import run_tests  # noqa: PLC0415
    from zigwheel.cli._host import command_host  # noqa: PLC0415

    def progress(event: str, wheel: Path) -> None:
        if event == "preparing-root":
            release = str(wheel).split(":")[1]
            err_console().print(
                f"preparing the Debian {release} root (cached after the first time)", markup=False
            )
        elif as_json:
            return  # stdout holds only the JSON document; progress would only be noise
        elif event == "start":
            err_console().print(f"testing {wheel.name} ...", markup=False)
        elif event == "folder-command":
            err_console().print(
                "  using test-command from ./pyproject.toml [tool.zigwheel] (same project "
                "as the wheel; --command overrides it)",
                markup=False,
            )

    run = run_tests(
        wheels,
        root=root,
        command=command,
        project=project,
        python=python,
        with_deps=with_deps,
        progress=progress,
        host=command_host(os.environ),
        requires=[word for given in test_requires or () for word in shlex.split(given)],
        extras=_names(test_extras),
        groups=_names(test_groups),
        timeout=timeout,
    )
    counts = run.counts
    if as_json:
        print_json({"results": [r.to_json() for r in run.results], "summary": counts})
    else:
        _print_results(list(run.results), counts)
    if not run.ok(strict=strict):
        raise typer.Exit(code=EXIT_FAILED_CHECK)


def _names(given: list[str] | None) -> list[str]:
    """Comma- or space-separated names, repeated or not."""
    return [name for item in given or () for name in item.replace(",", " ").split()]


def _print_results(results: list[WheelTestResult], counts: dict[str, int]) -> None:
    console = out_console()
    github = on_github_actions(os.environ)
    for result in results:
        console.print(Text.assemble(_LABELS[result.status], f" {result.wheel}"))
        if result.environment:
            console.print(f"  in {result.environment}", markup=False)
        for module in result.modules:
            console.print(f"  import {module.module}: {'ok' if module.ok else 'FAILED'}")
        if result.command is not None:
            verdict = "ok" if result.command_ok else "FAILED"
            console.print(f"  command {result.command}: {verdict}", markup=False)
        if result.reason:
            console.print(f"  {result.reason}", markup=False)
        if result.sealed:
            console.print(f"  {result.sealed}", markup=False)
        lines = [line for line in result.output.splitlines() if line.strip()]
        if lines and result.status != "not-tested":
            count = _OUTPUT_LINES if result.status == "failed" else _SUMMARY_LINES
            console.print("  " + "\n  ".join(lines[-count:]), markup=False)
        if github and result.status == "failed":
            print(github_annotation("error", f"zigwheel test {result.wheel}: {result.reason}"))
        elif github and result.status == "not-tested":
            print(github_annotation("warning", f"zigwheel test {result.wheel}: {result.reason}"))
    console.print(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['not-tested']} not tested"
    )


@root_app.command("debian")
def root_debian(
    dest: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="Folder to create (default: in zigwheel's cache, used by `test`)."),
    ] = None,
    *,
    release: Annotated[str, typer.Option("--release", help="Debian codename, e.g. bullseye.")],
    arch: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--arch", help="Debian architecture (amd64, arm64, ...); default: this host's."
        ),
    ] = None,
    mirror: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--mirror", help="Mirror base URL (default: those of the apt sources)."),
    ] = None,
    python: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--python", help="Python version (default: the release's python3)."),
    ] = None,
    package: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--package", help="Extra Debian package to add (repeatable)."),
    ] = None,
    as_json: Annotated[bool, json_option("Print the root as JSON.")] = False,
) -> None:
    """Build a root filesystem from a Debian release's packages (no root rights, no dpkg)."""
    if not as_json:
        err_console().print(f"preparing the Debian {release} root (downloads and roots are cached)")
    built = _debian_root(
        release, arch=arch, dest=dest, mirrors=mirror or [], python=python, packages=package
    )
    if as_json:
        print_json(built.to_json())
        return
    how = "reused from the cache" if built.from_cache else f"{len(built.packages)} packages"
    out_console().print(
        f"{built.path}  (Debian {built.release} {built.debian_arch}, Python {built.python}, "
        f"{built.glibc}; {how}; Release signature {built.signature or 'not recorded'})",
        markup=False,
    )


@root_app.command("python")
def root_python(
    version: Annotated[str, typer.Argument(help="CPython version X.Y, e.g. 3.11.")],
    *,
    libc: Annotated[
        str, typer.Option("--libc", help="glibc (a Debian root) or musl (Debian's musl package).")
    ] = "glibc",
    release: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--release", help="Debian release of the root (default: bullseye; musl: bookworm)."
        ),
    ] = None,
    arch: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--arch", help="Architecture (x86_64, aarch64, arm64, ...); default: this host's."
        ),
    ] = None,
    build_python: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--build-python",
            help="Python X.Y that runs the cross build (default: pythonX.Y on PATH).",
        ),
    ] = None,
    mirror: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--mirror", help="Mirror base URL (default: those of the apt sources)."),
    ] = None,
    as_json: Annotated[bool, json_option("Print the root and its Python as JSON.")] = False,
) -> None:
    """Build a test root with CPython X.Y built by zig from Debian's source packages.

    glibc: the Debian release's root (see `zigwheel root debian`, glibc 2.31 for bullseye) plus
    the Python under /usr/local. musl: Debian's musl package (musl 1.2.3 in bookworm) plus the
    Python. Kept in zigwheel's cache; `zigwheel test` picks it for wheels of that Python.
    """
    from zigwheel.errors import ConfigError  # noqa: PLC0415
    from zigwheel.platforms import Libc  # noqa: PLC0415
    from zigwheel.runtime import python_root  # noqa: PLC0415

    if libc not in ("glibc", "musl"):
        msg = f"--libc {libc} is not glibc or musl"
        raise ConfigError(msg, hint="pass --libc glibc or --libc musl")

    def progress(line: str) -> None:
        if not as_json:
            err_console().print(line, markup=False, highlight=False)

    built = python_root.ensure_python_root(
        version, arch=arch, release=release, libc=Libc(libc), env=os.environ,
        build_python_exe=build_python, mirrors=mirror or (), progress=progress,
    )  # fmt: skip
    if as_json:
        print_json(built.to_json())
        return
    python = built.python
    how = "reused from the cache" if built.from_cache else "built now"
    out_console().print(
        f"{built.path}  (Debian {built.release} {built.debian_arch}, {built.libc}; CPython "
        f"{python.full_version} for {python.zig_target}, {how}; source {python.source})",
        markup=False,
    )


@root_app.command("list")
def root_list(
    as_json: Annotated[bool, json_option("Print the roots as JSON.")] = False,
) -> None:
    """List the root filesystems in zigwheel's cache."""
    from zigwheel.cache import default_cache_dir  # noqa: PLC0415
    from zigwheel.runtime import roots  # noqa: PLC0415

    found = roots.cached_roots(default_cache_dir(os.environ) / "roots")
    described = [{"path": str(p), **(roots.read_marker(p) or {})} for p in found]
    if as_json:
        print_json({"roots": described})
        return
    for item in described:
        out_console().print(
            f"{item['path']}  ({item.get('release')} {item.get('debian_arch')}, "
            f"Python {item.get('python')}, {item.get('glibc')})",
            markup=False,
        )
    if not described:
        err_console().print("no roots yet: build one with `zigwheel root debian --release ...`")
