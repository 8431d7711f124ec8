"""The rewrite rule engine: validation, selection per target, and both shims vs. the spec.

The rendered sh (under each shell there is) and the native program (built by the pinned zig
for this host, reading its rules file) run for real on the same arguments; a stand-in zig
prints what it got.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zigwheel.errors import DataError
from zigwheel.host import Host, current_os
from zigwheel.toolchain.native import build_program, host_triple
from zigwheel.toolchain.rewrite import (
    apply_rules,
    load_probes,
    load_rules,
    parse_probes,
    parse_rule,
    parse_rules,
    probe_args,
    rules_for,
)
from zigwheel.toolchain.shims import (
    RULES_SUFFIX,
    baked_flags,
    render_rules_file,
    render_shims,
    tool_specs,
)
from zigwheel.toolchain.targets import Target, resolve_target
from zigwheel.toolchain.zig import locate_zig

SHELLS = [sh for sh in ("dash", "sh", "bash") if shutil.which(sh)]
# Every way a shim runs here: the sh script under each shell, and the native program.
RUNNERS = [*SHELLS, "native"]


def ids(target_arch: str, policy: str) -> list[str]:
    return [rule.id for rule in rules_for(resolve_target(target_arch, policy))]


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.why for r in rules)


def test_conditions_select_rules_per_target() -> None:
    gnu = ids("x86_64", "2_17")
    musl = ids("x86_64", "musllinux_1_2")
    arm = ids("armv7l", "2_17")
    assert "musl-lc" not in gnu
    assert "musl-lc" in musl
    assert "arm-compiler-builtins" in arm
    assert "arm-compiler-builtins" not in gnu
    assert "march-baked-mcpu" in arm
    assert "march-x86-64-v3" in gnu
    assert "march-x86-64-v3" not in ids("aarch64", "2_17")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "x", "match": ["-a;b"], "action": "drop", "why": "w"}, "safe characters"),
        ({"id": "x", "match": ["-a"], "action": "explode", "why": "w"}, "unknown action"),
        ({"id": "x", "match": ["-a"], "action": "drop"}, "needs a why"),
        ({"id": "x", "match": ["-a"], "action": "replace", "why": "w"}, "without `with`"),
        (
            {
                "id": "x",
                "match": ["-Wl,*"],
                "action": "replace-prefix",
                "prefix": "-Wp,",
                "why": "w",
            },
            "does not start with its prefix",
        ),
        (
            {"id": "x", "match": ["-a"], "action": "drop", "why": "w", "when": {"os": ["mac"]}},
            "`when`",
        ),
        (
            {"id": "x", "match": ["-a"], "action": "drop", "why": "w", "when": {"arch": ["vax"]}},
            "unknown architecture",
        ),
        ({"id": "X Y", "match": ["-a"], "action": "drop", "why": "w"}, "malformed id"),
        ({"id": "x", "match": ["-a"], "action": "drop", "why": "w", "colour": 1}, "unknown fields"),
        (
            {"id": "x", "match": ["-a"], "action": "replace", "with": ["$(rm)"], "why": "w"},
            "unsafe",
        ),
    ],
)
def test_rule_validation(raw: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_rule(raw)


def test_duplicate_ids_are_refused() -> None:
    rule = {"id": "x", "match": ["-a"], "action": "drop", "why": "w"}
    with pytest.raises(DataError, match="appears twice"):
        parse_rules({"rule": [rule, rule]})


def test_shipped_probes_load() -> None:
    probes = load_probes()
    assert {"--version", "-dumpmachine", "-print-target-triple"} <= set(probe_args())
    assert all(probe.why for probe in probes)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no \\[\\[probe\\]\\] tables"),
        ({"probe": [{"id": "v", "args": ["--ver*"], "why": "w"}]}, "no wildcard"),
        ({"probe": [{"id": "v", "args": ["--version"]}]}, "needs a why"),
        ({"probe": [{"id": "v", "args": ["--version"], "why": "w", "to": "x"}]}, "unknown fields"),
        (
            {
                "probe": [
                    {"id": "a", "args": ["-v"], "why": "w"},
                    {"id": "b", "args": ["-v"], "why": "w"},
                ]
            },
            "appears twice",
        ),
    ],
)
def test_probe_validation(document: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_probes(document)


@pytest.mark.parametrize("runner", ["sh", "native"])
@pytest.mark.parametrize(("arch", "policy"), [("aarch64", "2_28"), ("x86_64", "musllinux_1_2")])
def test_shims_answer_probes_without_the_libc_version(
    runner: str, arch: str, policy: str, *, echo_zig: Path, native_program: Path, tmp_path: Path
) -> None:
    target = resolve_target(arch, policy)
    for role, subcommand in (("cc", "cc"), ("c++", "c++"), ("linker", "cc")):
        shim = shim_command(
            runner, target, role, zig=echo_zig, folder=tmp_path / role, program=native_program
        )
        for probe in probe_args():
            got = run_shim(shim, [probe], tmp_path)
            assert got == [subcommand, "-target", target.zig_probe_triple, probe]
        # Only a probe alone is answered that way; with other arguments it is an ordinary word.
        got = run_shim(shim, ["--version", "-c"], tmp_path)
        assert got[:3] == [subcommand, "-target", target.zig_triple]
    # ar and ranlib take no target, no flags and no rewriting: zig's own tools, as they are.
    for role in ("ar", "ranlib"):
        shim = shim_command(
            runner, target, role, zig=echo_zig, folder=tmp_path / role, program=native_program
        )
        assert run_shim(shim, ["--version"], tmp_path) == [role, "--version"]
        assert run_shim(shim, ["cr", "-Wl,-O1", "a b"], tmp_path) == [role, "cr", "-Wl,-O1", "a b"]
    assert target.zig_probe_triple == {"aarch64": "aarch64-linux-gnu"}.get(arch, target.zig_triple)


def test_python_semantics_of_shipped_rules() -> None:
    rules = rules_for(resolve_target("aarch64", "2_17"))
    args = [
        "-target",
        "aarch64-unknown-linux-gnu",
        "--target=aarch64-unknown-linux-gnu",
        "-lgcc_s",
        "-Wp,-D_FORTIFY_SOURCE=2",
        "-Wp,-U_FORTIFY_SOURCE",
        "-Wp,-MD,dep.d",
        "-Wp,-C",
        "-Wl,--undefined=sym",
        "-Wl,--fix-cortex-a53-843419",
        "-Wl,/exists.a",
        "-Wl,/missing.a",
        "-Wl,--as-needed",
        "-march=armv8-a+crypto",
        "-march=armv8-a",
        "-c",
    ]
    out = apply_rules(rules, args, is_file=lambda path: path == "/exists.a")
    assert out == [
        "-lgcc_s",  # zig 0.15.2 handles it (no rule); see test_shims_compile.py
        "-D_FORTIFY_SOURCE=2",
        "-U_FORTIFY_SOURCE",
        "-Wp,-MD,dep.d",
        "-Wl,-u,sym",
        "/exists.a",
        "-Wl,/missing.a",
        "-Wl,--as-needed",
        "-mcpu=generic+crypto",
        "-mcpu=generic",
        "-c",
    ]


# --- the rendered sh, run for real --------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_zig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for zig that prints the arguments it got, NUL-separated."""
    path = tmp_path_factory.mktemp("echo") / "echo-zig"
    path.write_text("#!/bin/sh\nprintf '%s\\0' \"$@\"\n")
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def native_program(session_cache: Path) -> Path:
    """The native shim program for this host, built by the pinned zig (once per session)."""
    host = Host(current_os(), platform.machine())
    return build_program(locate_zig(os.environ), session_cache, host_triple(host.os, host.arch))


def shim_command(
    runner: str, target: Target, role: str, *, zig: Path, folder: Path, program: Path
) -> list[str]:
    """The command line that starts ``role``'s shim for ``target`` in form ``runner``.

    A shell name runs the rendered sh script under that shell; ``native`` puts a copy of the
    program and its rules file into ``folder``, as install_shims does.
    """
    if runner != "native":
        return [runner, "-c", render_shims(target, [str(zig)])[role], "shim"]
    (spec,) = [spec for spec in tool_specs(target, [str(zig)]) if spec.name == role]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / role
    shutil.copyfile(program, path)
    path.chmod(0o755)
    (folder / f"{role}{RULES_SUFFIX}").write_text(render_rules_file(spec))
    return [str(path)]


def run_shim(command: list[str], args: list[str], cwd: Path) -> list[str]:
    result = subprocess.run([*command, *args], capture_output=True, check=True, cwd=cwd)
    return result.stdout.decode().split("\0")[:-1]


TRICKY = st.sampled_from(
    [
        "-target",
        "x86_64-unknown-linux-gnu",
        "--target=x86_64-unknown-linux-gnu",
        "-lgcc_s",
        "-Wp,-D_FOO=1",
        "-Wp,-U_FOO",
        "-Wp,-MMD,x.d",
        "-Wp,-P",
        "-Wl,--no-undefined-version",
        "-Wl,-znostart-stop-gc",
        "-Wl,-plugin-opt=O3",
        "-Wl,--undefined=a b",
        "-Wl,present.a",
        "-Wl,absent.a",
        "-Wl,-O1",
        "-march=x86-64-v3",
        "-march=x86-64",
        "-lc",
        "-o",
        "out file",
        "it's",
        'say "hi"',
        "$HOME",
        "`id`",
        "a\\b",
        "*",
        "-Dx=$(y)",
        "",
        " ",
        "\t",
        "-e",
        "-n",
        "--",
        "@notes.txt",
        "x\ny",
        "--version",
        "-dumpmachine",
    ]
)
ARGS = st.lists(
    st.one_of(
        TRICKY,
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=8),
    ),
    max_size=12,
)


@pytest.mark.parametrize("runner", RUNNERS)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; raise max_examples to explore more
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(args=ARGS)
def test_shims_match_python_semantics(
    runner: str, args: list[str], echo_zig: Path, native_program: Path, tmp_path: Path
) -> None:
    target = resolve_target("x86_64", "2_17")
    (tmp_path / "present.a").write_text("")
    shim = shim_command(
        runner, target, "cc", zig=echo_zig, folder=tmp_path / "shim", program=native_program
    )
    got = run_shim(shim, args, tmp_path)
    if len(args) == 1 and args[0] in probe_args():
        assert got == ["cc", "-target", target.zig_probe_triple, args[0]]
        return
    baked = ["cc", *baked_flags(target, linker=False)]
    assert got[: len(baked)] == baked
    expected = apply_rules(rules_for(target), args, is_file=lambda p: (tmp_path / p).is_file())
    assert got[len(baked) :] == expected


@pytest.mark.parametrize("runner", RUNNERS)
def test_shims_filter_response_files(
    runner: str, echo_zig: Path, native_program: Path, tmp_path: Path
) -> None:
    target = resolve_target("x86_64", "musllinux_1_2")
    response = tmp_path / "linker-arguments"
    lines = [
        "-lc",
        "-Wl,--no-undefined-version",
        "/rust/self-contained/crt1.o",
        "-target",
        "x86_64-unknown-linux-musl",
        "-lgcc_s",
        "main.o",
        "-Wl,--undefined=f",
    ]
    (tmp_path / "dir with space").mkdir()
    (tmp_path / "dir with space" / "lib.a").write_text("")
    # rustc escapes spaces and backslashes in response files; the file test must see through it.
    escaped = ["-Wl,dir\\ with\\ space/lib.a", "-Wl,no\\ such.a"]
    response.write_text("\n".join(lines + escaped) + "\n")
    other = tmp_path / "notes.txt"
    other.write_text("-lc\n")
    shim = shim_command(
        runner, target, "linker", zig=echo_zig, folder=tmp_path / "shim", program=native_program
    )
    got = run_shim(shim, [f"@{response}", f"@{other}", "-lc"], tmp_path)
    assert got[-2:] == [f"@{response}", f"@{other}"]  # the trailing -lc is dropped for musl
    rewritten = response.read_text().splitlines()
    assert rewritten[:-2] == apply_rules(rules_for(target), lines)
    assert rewritten == [
        "-Wl,--no-undefined-version",
        "-lgcc_s",
        "main.o",
        "-Wl,-u,f",
        "dir\\ with\\ space/lib.a",
        "-Wl,no\\ such.a",
    ]
    assert other.read_text() == "-lc\n"  # only rustc's linker-arguments files are rewritten
    assert [p.name for p in tmp_path.iterdir() if "zigwheel" in p.name] == []


def test_linker_shim_alone_bakes_debug_info() -> None:
    files = render_shims(resolve_target("armv7l", "2_17"), ["/opt/zig dir/zig"])
    assert "-g" in files["linker"].split("exec ", 1)[1]
    assert " -g " not in files["cc"].split("exec ", 1)[1]
    assert "-mcpu=generic+v7a+vfp3-d32+thumb2-neon" in files["cc"]
    assert "exec '/opt/zig dir/zig' cc -target arm-linux-gnueabihf.2.17" in files["cc"]
    assert "exec '/opt/zig dir/zig' ar \"$@\"" in files["ar"]
    assert "CMAKE_SYSTEM_PROCESSOR armv7l" in files["toolchain.cmake"]
