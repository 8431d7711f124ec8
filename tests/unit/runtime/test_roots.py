"""Unit tests of runtime.roots: ELF loader lookup, symlinks resolved inside a root, run plans."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from zigwheel.errors import ToolchainError, UnreadableInputError
from zigwheel.host import Host
from zigwheel.runtime import roots

EM_AARCH64 = 183


def elf64(machine: int, interpreter: str | None) -> bytes:
    """A minimal little-endian ELF64 executable header with an optional PT_INTERP segment."""
    phoff, phentsize = 64, 56
    phnum = 1 if interpreter else 0
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, machine, 1, 0, phoff, 0, 0, 64, phentsize, phnum, 64, 0, 0
    )
    if not interpreter:
        return header
    text = interpreter.encode() + b"\0"
    offset = phoff + phentsize
    program = struct.pack("<IIQQQQQQ", 3, 4, offset, 0, 0, len(text), len(text), 1)
    return header + program + text


def test_read_elf_info_of_a_foreign_executable(tmp_path: Path) -> None:
    exe = tmp_path / "python3.11"
    exe.write_bytes(elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"))
    info = roots.read_elf_info(exe)
    assert info == roots.ElfInfo("aarch64", "/lib/ld-linux-aarch64.so.1")


def test_read_elf_info_of_this_python() -> None:
    info = roots.read_elf_info(Path(sys.executable).resolve())
    assert info.arch == Host.detect().arch
    assert info.interpreter is not None
    assert info.interpreter.startswith("/")


def test_read_elf_info_rejects_a_script(tmp_path: Path) -> None:
    script = tmp_path / "python3"
    script.write_text('#!/bin/sh\nexec python3 "$@"\n' * 4)
    with pytest.raises(UnreadableInputError, match="not an ELF executable"):
        roots.read_elf_info(script)


def test_resolve_in_root_maps_absolute_links_into_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (tmp_path / "usr/lib/x86_64-linux-gnu/ld-2.31.so").write_bytes(b"loader")
    (tmp_path / "lib").symlink_to("usr/lib")  # merged /usr, relative
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-2.31.so")
    resolved = roots.resolve_in_root(tmp_path, "/lib64/ld-linux-x86-64.so.2")
    assert resolved == tmp_path / "usr/lib/x86_64-linux-gnu/ld-2.31.so"
    kept = roots.resolve_in_root(tmp_path, "/lib64/ld-linux-x86-64.so.2", follow_last=False)
    assert kept == tmp_path / "lib64/ld-linux-x86-64.so.2"
    assert roots.resolve_in_root(tmp_path, "/../../etc") == tmp_path / "etc"


def test_resolve_in_root_stops_on_a_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("/b")
    (tmp_path / "b").symlink_to("/a")
    with pytest.raises(UnreadableInputError, match="too many symbolic links"):
        roots.resolve_in_root(tmp_path, "/a/x")


def _fake_root(root: Path, python_bytes: bytes, *, version: str = "3.9") -> Path:
    (root / "usr/bin").mkdir(parents=True)
    python = root / f"usr/bin/python{version}"
    python.write_bytes(python_bytes)
    python.chmod(0o755)
    (root / "usr/lib/python3").mkdir(parents=True)
    return python


def test_find_root_python_prefers_python3_then_newest_versioned(tmp_path: Path) -> None:
    python = _fake_root(tmp_path, b"\x7fELF", version="3.9")
    (tmp_path / "usr/bin/python3.11").write_bytes(b"\x7fELF")
    (tmp_path / "usr/bin/python3.9-config").write_text("#!/bin/sh\n")
    assert roots.find_root_python(tmp_path) == tmp_path / "usr/bin/python3.11"
    (tmp_path / "usr/bin/python3").symlink_to("/usr/bin/python3.9")
    assert roots.find_root_python(tmp_path) == python


def test_find_root_python_in_an_empty_tree_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="no Python was found") as info:
        roots.find_root_python(tmp_path)
    assert "zigwheel root debian" in (info.value.hint or "")


def test_same_arch_root_runs_through_its_own_loader(tmp_path: Path) -> None:
    host = roots.read_elf_info(Path(sys.executable).resolve())
    assert host.interpreter is not None
    python = _fake_root(tmp_path, Path(sys.executable).resolve().read_bytes())
    triplet_dir = tmp_path / "lib" / "some-linux-gnu"
    triplet_dir.mkdir(parents=True)
    loader = triplet_dir / "ld-test.so"
    loader.write_bytes(b"loader")
    interp = tmp_path / host.interpreter.lstrip("/")
    interp.parent.mkdir(parents=True, exist_ok=True)
    interp.unlink(missing_ok=True)
    interp.symlink_to("/lib/some-linux-gnu/ld-test.so")  # absolute, like Debian's /lib64 link
    env = {"PATH": "/usr/bin", "PYTHONPATH": "/host/site", "LD_LIBRARY_PATH": "/host/lib"}
    runner = roots.root_runner(tmp_path, env=env, site_dir=tmp_path / "site")
    assert runner.kind == "loader"
    assert runner.argv[0] == str(loader)
    assert runner.argv[1] == "--library-path"
    assert runner.argv[2].split(":")[0] == str(triplet_dir)
    assert runner.argv[3] == str(python)
    assert runner.env["PYTHONHOME"] == str(tmp_path / "usr")
    assert runner.env["PYTHONPATH"] == str(tmp_path / "site")
    assert "LD_LIBRARY_PATH" not in runner.env
    assert "exec " in runner.shell_wrapper()


def test_shell_wrapper_holds_no_secret_yet_the_python_sees_the_environment(
    tmp_path: Path,
) -> None:
    base = {"PATH": os.defpath, "DEPLOY_TOKEN": "pypi-s3cr3t", "PYTHONPATH": "/caller/site"}
    env = roots.python_env(base, {"PYTHONPATH": str(tmp_path / "site")})
    runner = roots.PythonRunner((sys.executable,), env, Host.detect().arch, "host")
    text = runner.shell_wrapper()
    assert "pypi-s3cr3t" not in text  # a file on disk: no token in it
    assert "DEPLOY_TOKEN" not in text
    assert f"export PYTHONPATH={tmp_path / 'site'}" in text
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(text)
    (bin_dir / "python").chmod(0o755)
    probe = "import os, sys; print(os.environ['DEPLOY_TOKEN']); print(sys.path[1])"
    done = subprocess.run(
        ["sh", "-c", f'python -c "{probe}"'], capture_output=True, text=True, check=True,
        env={**env, "PATH": f"{bin_dir}:{os.defpath}"},
    )  # fmt: skip
    token, first_path = done.stdout.splitlines()
    assert token == "pypi-s3cr3t"  # passed through the process environment
    assert first_path == str(tmp_path / "site")  # zigwheel's PYTHONPATH, not the caller's


def test_foreign_root_runs_under_qemu_found_on_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    python = _fake_root(root, elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"), version="3.11")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    qemu = bin_dir / "qemu-aarch64-static"
    qemu.write_text("#!/bin/sh\n")  # only looked up on PATH, never run here
    qemu.chmod(0o755)
    runner = roots.root_runner(root, env={"PATH": str(bin_dir)})
    assert runner.kind == "qemu"
    assert runner.arch == "aarch64"
    assert runner.argv == (str(qemu), "-L", str(root.resolve()), str(python.resolve()))


def test_foreign_root_without_qemu_is_not_tested(tmp_path: Path) -> None:
    _fake_root(tmp_path, elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"), version="3.11")
    with pytest.raises(ToolchainError, match="aarch64: not tested, no qemu-aarch64"):
        roots.root_runner(tmp_path, env={"PATH": str(tmp_path / "empty")})


def test_cached_roots_need_the_completion_marker(tmp_path: Path) -> None:
    (tmp_path / "debian-bullseye-amd64").mkdir()
    (tmp_path / "debian-bullseye-amd64" / roots.MARKER).write_text('{"arch": "x86_64"}')
    (tmp_path / ".debian-bookworm-arm64.x.partial").mkdir()
    (tmp_path / "half").mkdir()
    assert roots.cached_roots(tmp_path) == [tmp_path / "debian-bullseye-amd64"]
    assert roots.roots_for_arch(tmp_path, "x86_64") == [tmp_path / "debian-bullseye-amd64"]
    assert roots.roots_for_arch(tmp_path, "aarch64") == []


def test_library_dirs_put_multiarch_first_and_resolve_merged_usr(tmp_path: Path) -> None:
    (tmp_path / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    (tmp_path / "usr/local/lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    assert roots.library_dirs(tmp_path) == [
        tmp_path / "usr/lib/aarch64-linux-gnu",
        tmp_path / "usr/lib",
        tmp_path / "usr/local/lib",
    ]


def test_binfmt_rule_matches_executables_of_the_pythons_machine(tmp_path: Path) -> None:
    python = tmp_path / "python3.11"
    # an aarch64 little-endian 64-bit ELF header: class 2, data 1, e_machine 0xb7
    header = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\xb7\x00"
    python.write_bytes(header + b"\x00" * 40)
    rule = roots.binfmt_rule(python, Path("/usr/bin/qemu-aarch64-static"))
    name, kind, _offset, magic, mask, interpreter, flags = rule.split(":")[1:]
    assert (name, kind, interpreter, flags) == (
        "zigwheel-qemu-aarch64-static", "M", "/usr/bin/qemu-aarch64-static", "F"
    )
    assert magic.startswith("\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00")
    assert magic.endswith("\\x02\\x00\\xb7\\x00")  # e_type EXEC (DYN through the mask)
    assert mask.endswith("\\xfe\\xff\\xff\\xff")


def test_site_target_is_debians_local_dist_packages(tmp_path: Path) -> None:
    python = tmp_path / "usr" / "bin" / "python3.9"
    assert roots.site_target(tmp_path, python) is None  # no stdlib
    stdlib = tmp_path / "usr" / "lib" / "python3.9"
    stdlib.mkdir(parents=True)
    (stdlib / "site.py").write_text("prefix + '/lib/python3.9/site-packages'\n")
    assert roots.site_target(tmp_path, python) is None  # CPython's own layout
    debian = "os.path.join(prefix, 'local/lib', 'python' + v, 'dist-packages')\n"
    (stdlib / "site.py").write_text(debian)
    assert roots.site_target(tmp_path, python) == "/usr/local/lib/python3.9/dist-packages"


def test_a_merged_usr_root_gets_its_top_level_links(tmp_path: Path) -> None:
    """trixie: the loader is /lib64/ld-linux-x86-64.so.2, but packages ship /usr/lib64 only."""
    (tmp_path / "usr" / "lib64").mkdir(parents=True)
    (tmp_path / "usr" / "lib64" / "ld-linux-x86-64.so.2").write_text("loader")
    (tmp_path / "usr" / "bin").mkdir()
    (tmp_path / "lib").mkdir()  # a real folder stays as it is
    assert roots.merged_usr_links(tmp_path) == ["bin", "lib64"]
    assert roots.resolve_in_root(tmp_path, "/lib64/ld-linux-x86-64.so.2").read_text() == "loader"
    assert not (tmp_path / "lib").is_symlink()
    assert roots.merged_usr_links(tmp_path) == []  # once


def test_a_program_of_the_wheel_starts_as_the_roots_python_does(tmp_path: Path) -> None:
    """A bin wheel's program in a root: its own PT_INTERP through the root's loader, the same
    qemu -L under qemu, the chroot's argv when sealed; a static program or a script as is."""
    root = tmp_path / "root"
    _fake_root(root, elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"), version="3.11")
    loader = root / "lib" / "ld-linux-aarch64.so.1"
    loader.parent.mkdir()
    loader.write_bytes(b"loader")
    (root / "lib" / "aarch64-linux-gnu").mkdir()
    program = tmp_path / "scripts" / "prog"
    program.parent.mkdir()
    program.write_bytes(elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"))
    qemu = roots.PythonRunner(("qemu-aarch64", "-L", str(root), "python3.11"), {}, "aarch64",
                              "qemu", root)  # fmt: skip
    assert roots.program_command(qemu, program) == ("qemu-aarch64", "-L", str(root), str(program))
    loaded = roots.PythonRunner(("ld.so", "--library-path", "x", "python3.11"), {}, "aarch64",
                                "loader", root)  # fmt: skip
    libs = ":".join(str(p) for p in roots.library_dirs(root))
    assert roots.program_command(loaded, program) == (str(loader), "--library-path", libs,
                                                      str(program))  # fmt: skip
    sealed = roots.PythonRunner(("unshare", "-r", "--", "/usr/bin/python3.11"), {}, "aarch64",
                                "qemu", root, "sealed: user-namespace chroot")  # fmt: skip
    assert roots.program_command(sealed, program) == ("unshare", "-r", "--", str(program))
    static = tmp_path / "scripts" / "static"
    static.write_bytes(elf64(EM_AARCH64, None))
    assert roots.program_command(loaded, static) == (str(static),)
    script = tmp_path / "scripts" / "tool"
    script.write_text("#!/bin/sh\necho hi\n")
    assert roots.program_command(loaded, script) == (str(script),)
    host = roots.PythonRunner(("python",), {}, "aarch64", "host")
    assert roots.program_command(host, program) == (str(program),)
    wrapper = loaded.shell_wrapper(roots.program_command(loaded, program))
    assert wrapper.endswith(f'exec {loader} --library-path {libs} {program} "$@"\n')
