"""CLI commands for the toolchain: `toolchain`, `shims`, `doctor` and `cache dir|clean`."""

from __future__ import annotations

import os
import shlex
from typing import Annotated, Optional

import typer
from rich.text import Text

from zigwheel.cli._console import err_console, json_option, out_console, print_json
from zigwheel.cli._options import split_list, target_option
from zigwheel.errors import EXIT_FAILED_CHECK, EXIT_TOOLCHAIN, ConfigError

_STATUS_STYLE = {"ok": "green", "warning": "yellow", "missing": "red", "info": "cyan"}

JSON_OPTION = json_option("Print JSON for machines.", default=False)
DOCTOR_TARGETS_OPTION = target_option(
    "Architectures to check for, comma-separated or repeated (default: x86_64,aarch64)."
)


def _policy_text(manylinux: str | None, musllinux: str | None, arch: str) -> str:
    if manylinux and musllinux:
        msg = "--manylinux and --musllinux were both given"
        raise ConfigError(msg, hint="pick one libc: --manylinux 2_17 or --musllinux 1_2")
    from zigwheel.builder.settings import policy_from_flags  # noqa: PLC0415
    from zigwheel.toolchain.targets import default_policy, parse_arch, parse_policy  # noqa: PLC0415

    # The same spelling rules as zigwheel build ("2_17", "2014", "manylinux_2_28", "1_2").
    full = policy_from_flags(manylinux, musllinux, "the command line")
    if full is None:
        return default_policy(parse_arch(arch))
    option, given = ("--manylinux", manylinux) if manylinux else ("--musllinux", musllinux)
    try:
        parse_policy(full)
    except ConfigError as err:  # name what the user typed, not its expansion
        family = option.lstrip("-")
        msg = f"{option} {given!r} is not a {family} policy"
        raise ConfigError(msg, hint=err.hint) from err
    return full


def toolchain(json_output: bool = JSON_OPTION) -> None:
    """Show the zig that zigwheel uses: its path, version and the pinned version.

    Exit code 3 when that zig is not the pinned version (it is still shown).
    """
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    zig = locate_zig(os.environ, require_pin=False)
    if json_output:
        print_json(zig.to_json())
    else:
        console = out_console()
        console.print(f"zig path:    {zig.path}", markup=False)
        console.print(f"zig version: {zig.version}", markup=False)
        console.print(f"pinned:      {zig.pinned}", markup=False)
        console.print(f"command:     {shlex.join(zig.command)}", markup=False)
    if zig.version != zig.pinned:
        err_console().print(
            Text.assemble(
                ("warning:", "yellow"),
                f" zig {zig.version} is not the pinned {zig.pinned}; "
                f"run: pip install 'ziglang=={zig.pinned}'",
            )
        )
        # A wrong zig is a tool problem (README: exit 3), the same code a build would fail with.
        raise typer.Exit(code=EXIT_TOOLCHAIN)


def shims(
    target: Annotated[
        list[str], target_option("Architectures: x86_64, aarch64, ... (comma list or repeat).")
    ],
    manylinux: Optional[str] = typer.Option(  # noqa: UP045 - typer reads the annotation at runtime
        None, "--manylinux", help="glibc policy: 2_17, manylinux2014, manylinux_2_28, ..."
    ),
    musllinux: Optional[str] = typer.Option(  # noqa: UP045
        None, "--musllinux", help="musl policy: 1_2 or 1_1."
    ),
    env: bool = typer.Option(
        False,
        "--env",
        help="Print lines that set the variables: `export NAME=value` for sh (eval them), "
        "`$env:NAME = 'value'` for PowerShell on Windows.",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Install (if needed) and show the zig cc/c++/ar/ranlib/linker shims of targets.

    With several targets, --env prints every target's variables (they are named per Rust
    triple) and --json prints {"targets": [...]}, one document per target as for one.
    """
    from zigwheel.cache import cache_root  # noqa: PLC0415
    from zigwheel.cli._host import command_host  # noqa: PLC0415
    from zigwheel.toolchain.rewrite import rules_for  # noqa: PLC0415
    from zigwheel.toolchain.shims import install_shims  # noqa: PLC0415
    from zigwheel.toolchain.targets import resolve_target  # noqa: PLC0415
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    names = split_list(target)
    if not names:
        msg = "no architecture given"
        raise ConfigError(msg, hint="name one or more: zigwheel shims -t x86_64,aarch64")
    resolved = [resolve_target(name, _policy_text(manylinux, musllinux, name)) for name in names]
    host = command_host(os.environ)
    zig = locate_zig(os.environ)
    root = cache_root(os.environ)
    shim_sets = [install_shims(one, zig, root, host=host, env=os.environ) for one in resolved]
    if json_output:
        documents = []
        for one, shim_set in zip(resolved, shim_sets):
            document = shim_set.to_json()
            document["rules"] = [rule.to_json() for rule in rules_for(one)]
            documents.append(document)
        print_json(documents[0] if len(documents) == 1 else {"targets": documents})
    elif env:
        for shim_set in shim_sets:
            for name, value in shim_set.env().items():
                typer.echo(host.env_assignment(name, value))
    else:
        for one, shim_set in zip(resolved, shim_sets):
            if len(shim_sets) > 1:
                out_console().print(f"{one.platform_tag}:", markup=False)
            for role, path in shim_set.paths().items():
                out_console().print(f"{role:16} {path}", highlight=False, markup=False)


def doctor(
    target: Annotated[Optional[list[str]], DOCTOR_TARGETS_OPTION] = None,  # noqa: UP045
    manylinux: Optional[str] = typer.Option(  # noqa: UP045
        None, "--manylinux", help="glibc policy to check for [default: 2_17, or the arch's own]."
    ),
    musllinux: Optional[str] = typer.Option(  # noqa: UP045
        None, "--musllinux", help="musl policy to check for instead, e.g. 1_2."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Check this machine: host, zig, maturin, cargo, rustc, Rust targets and qemu-user (and
    say which checks do not apply to this host).

    Exit codes: 0 nothing missing, 1 something is missing, 2 a bad --target or policy.
    """
    from zigwheel.builder.settings import policy_from_flags  # noqa: PLC0415
    from zigwheel.cli._host import command_host  # noqa: PLC0415
    from zigwheel.toolchain.doctor import default_arches, run_doctor  # noqa: PLC0415
    from zigwheel.toolchain.targets import default_policy, parse_arch, resolve_target  # noqa: PLC0415

    names = split_list(target)
    arches = list(dict.fromkeys(parse_arch(name) for name in names)) if names else default_arches()
    # A policy that was asked for is validated like build validates it (ConfigError: exit 2);
    # only when none was given does each architecture get its own default.
    # --manylinux goes on as typed (its errors quote the user's words); --musllinux 1_2 is
    # spelt out, and both at once are refused, as build refuses them.
    asked = manylinux
    if musllinux:
        asked = policy_from_flags(manylinux, musllinux, "the command line")
    targets = [resolve_target(arch, asked or default_policy(arch)) for arch in arches]
    report = run_doctor(targets, os.environ, command_host(os.environ))
    if json_output:
        print_json(report.to_json())
    else:
        console = out_console()
        for check in report.checks:
            style = _STATUS_STYLE.get(check.status, "")
            console.print(
                Text.assemble((f"{check.status:8}", style), f" {check.name}: {check.detail}")
            )
            if check.fix and check.status != "ok":
                console.print(f"         fix: {check.fix}", highlight=False, markup=False)
    if not report.ok:
        raise typer.Exit(code=EXIT_FAILED_CHECK)


cache_app = typer.Typer(
    name="cache", help="zigwheel's cache folder (shims and other downloads).", no_args_is_help=True
)


@cache_app.command("dir")
def cache_dir() -> None:
    """Print the cache folder (ZIGWHEEL_CACHE_DIR or the platform's user cache)."""
    from zigwheel.cache import default_cache_dir  # noqa: PLC0415

    typer.echo(str(default_cache_dir(os.environ)))


@cache_app.command("clean")
def cache_clean(json_output: bool = JSON_OPTION) -> None:
    """Delete everything zigwheel cached; refuses a folder zigwheel did not tag as its own."""
    from zigwheel.cache import clean_cache, default_cache_dir, folder_size  # noqa: PLC0415

    root = default_cache_dir(os.environ)
    size = folder_size(root) if root.exists() else 0
    removed = clean_cache(root)
    if json_output:
        print_json({"cache_dir": str(root), "removed": [str(p) for p in removed], "bytes": size})
    else:
        err_console().print(
            f"removed {len(removed)} entries ({size / 1e6:.1f} MB) from {root}", markup=False
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the zigwheel app."""
    app.command("toolchain")(toolchain)
    app.command("shims")(shims)
    app.command("doctor")(doctor)
    app.add_typer(cache_app, name="cache")
