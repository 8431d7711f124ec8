"""Unit tests of runtime.wheeltest: module discovery, tag compatibility, reasons, test commands."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import pytest
from packaging.tags import Tag

from zigwheel.errors import ConfigError
from zigwheel.host import Host
from zigwheel.runtime import wheeltest
from zigwheel.runtime.debian import load_recipe


def facts(tags: str, modules: tuple[str, ...] = ("m",)) -> wheeltest.WheelFacts:
    parsed = set()
    for tag in tags.split():
        interpreter, abi, platform = tag.split("-")
        parsed.add(Tag(interpreter, abi, platform))
    return wheeltest.WheelFacts(Path("x.whl"), frozenset(parsed), modules)


BULLSEYE = wheeltest.PythonFacts((3, 9), "cpython", "glibc 2.31", "x86_64", "/r/usr", "/r/usr/lib")
BOOKWORM_ARM = wheeltest.PythonFacts((3, 11), "cpython", "glibc 2.36", "aarch64", "", "")


def test_extension_modules_follow_package_folders_and_skip_vendored_libs() -> None:
    names = [
        "hello_abi3/__init__.py",
        "hello_abi3/hello_abi3.abi3.so",
        "versioned/versioned.cpython-311-x86_64-linux-gnu.so",
        "cmix.abi3.so",
        "pkg.data/platlib/fast/_speed.cpython-39-x86_64-linux-gnu.so",
        "pkg.data/data/share/not_a_module.so",
        "hello_abi3.libs/libgcc_s-1234.so.1",
        "pkg-1.0.dist-info/RECORD",
        "weird-name/lib.so",
    ]
    assert wheeltest.extension_modules(names) == (
        "hello_abi3.hello_abi3",
        "versioned.versioned",
        "cmix",
        "fast._speed",
    )


@pytest.mark.parametrize(
    ("platform", "arch"),
    [
        ("manylinux_2_17_aarch64", "aarch64"),
        ("manylinux2014_x86_64", "x86_64"),
        ("musllinux_1_2_armv7l", "armv7l"),
        ("linux_x86_64", "x86_64"),
        ("any", "any"),
    ],
)
def test_platform_arch(platform: str, arch: str) -> None:
    assert wheeltest.platform_arch(platform) == arch


def test_linux_platforms_of_glibc_2_31_stop_at_the_oldest_policy() -> None:
    platforms = wheeltest.linux_platforms("x86_64", "glibc 2.31")
    assert platforms[0] == "manylinux_2_31_x86_64"
    assert "manylinux2014_x86_64" in platforms
    assert "manylinux1_x86_64" in platforms
    assert "manylinux_2_32_x86_64" not in platforms
    assert platforms[-1] == "linux_x86_64"
    arm = wheeltest.linux_platforms("aarch64", "glibc 2.36")
    assert arm[-2:] == ["manylinux2014_aarch64", "linux_aarch64"]


def test_abi3_cp39_wheel_loads_in_python_3_9_and_3_11() -> None:
    wheel = facts("cp39-abi3-manylinux_2_17_x86_64 cp39-abi3-manylinux2014_x86_64")
    assert wheeltest.incompatibility(wheel, BULLSEYE) is None
    arm = facts("cp39-abi3-manylinux_2_17_aarch64")
    assert wheeltest.incompatibility(arm, BOOKWORM_ARM) is None


def test_cp311_wheel_is_refused_by_python_3_9_with_the_reason() -> None:
    wheel = facts("cp311-cp311-manylinux_2_17_x86_64")
    reason = wheeltest.incompatibility(wheel, BULLSEYE)
    assert reason == ("its Python tag cp311-cp311 does not load in CPython 3.9, glibc 2.31, x86_64")


def test_abi3_wheel_for_a_newer_python_is_refused() -> None:
    reason = wheeltest.incompatibility(facts("cp312-abi3-manylinux_2_17_x86_64"), BULLSEYE)
    assert reason is not None
    assert "cp312-abi3" in reason


def test_platform_mismatches_name_the_platform() -> None:
    too_new = wheeltest.incompatibility(facts("cp39-abi3-manylinux_2_34_x86_64"), BULLSEYE)
    assert too_new == (
        "its platform manylinux_2_34_x86_64 does not run on CPython 3.9, glibc 2.31, x86_64"
    )
    other_arch = wheeltest.incompatibility(facts("cp39-abi3-manylinux_2_17_aarch64"), BULLSEYE)
    assert other_arch is not None
    assert "manylinux_2_17_aarch64" in other_arch
    # A plain linux_ tag carries no glibc claim: the runtime test is what decides.
    assert wheeltest.incompatibility(facts("cp39-abi3-linux_x86_64"), BULLSEYE) is None


def test_parse_probe_and_describe() -> None:
    output = "noise\n" + json.dumps(
        {
            "version": [3, 9],
            "implementation": "cpython",
            "libc": "glibc 2.31",
            "prefix": "/r/usr",
            "stdlib": "/r/usr/lib/python3.9",
            "gil_disabled": False,
        }
    )
    python = wheeltest.parse_probe(output, "x86_64")
    assert python.glibc == (2, 31)
    assert python.describe() == "CPython 3.9, glibc 2.31, x86_64"


def test_failure_reason_names_the_missing_glibc_version() -> None:
    detail = (
        "ImportError: /r/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found "
        "(required by /tmp/site/cmix.abi3.so)"
    )
    modules = [wheeltest.ModuleResult("cmix", ok=False, detail=detail)]
    assert wheeltest.failure_reason(modules, BULLSEYE) == (
        "import cmix failed: version `GLIBC_2.34' not found (the environment has glibc 2.31)"
    )
    other = [wheeltest.ModuleResult("m", ok=False, detail="ImportError: no module named m")]
    assert (
        wheeltest.failure_reason(other, BULLSEYE)
        == "import m failed: ImportError: no module named m"
    )


def test_parse_import_results_reads_only_marked_lines() -> None:
    line = wheeltest.IMPORT_MARK + json.dumps({"module": "m", "ok": True, "detail": "/s/m.so"})
    assert wheeltest.parse_import_results(f"Traceback\n{line}\n") == [
        wheeltest.ModuleResult("m", ok=True, detail="/s/m.so")
    ]


def test_project_test_command_string_list_and_missing(tmp_path: Path) -> None:
    assert wheeltest.project_test_command(tmp_path) is None
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.zigwheel]\ntest-command = \"python -c 'import cmix'\"\n")
    assert wheeltest.project_test_command(tmp_path) == "python -c 'import cmix'"
    pyproject.write_text('[tool.zigwheel]\ntest-command = ["python -m a", "python -m b"]\n')
    assert wheeltest.project_test_command(tmp_path) == "python -m a && python -m b"
    pyproject.write_text("[tool.zigwheel\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        wheeltest.project_test_command(tmp_path)


def test_folder_test_command_applies_only_to_the_folders_own_wheels(tmp_path: Path) -> None:
    wheel = Path("my_pkg-1.0-cp39-abi3-manylinux_2_17_x86_64.whl")
    assert wheeltest.folder_test_command(tmp_path, wheel) is None  # no pyproject.toml
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "My.Pkg"\n[tool.zigwheel]\ntest-command = "pytest"\n')
    assert wheeltest.folder_test_command(tmp_path, wheel) == "pytest"  # names compare normalized
    other = Path("other-1.0-cp39-abi3-manylinux_2_17_x86_64.whl")
    assert wheeltest.folder_test_command(tmp_path, other) is None
    assert wheeltest.folder_test_command(tmp_path, Path("not-a-wheel.whl")) is None
    pyproject.write_text('[tool.zigwheel]\ntest-command = "pytest"\n')  # no [project] name
    assert wheeltest.folder_test_command(tmp_path, wheel) is None
    pyproject.write_text('[project\nname = "my-pkg"\n')  # nobody asked for it: passed over
    assert wheeltest.folder_test_command(tmp_path, wheel) is None


def test_expand_command_quotes_paths() -> None:
    command = wheeltest.expand_command(
        "python {project}/tests/run.py {wheel}",
        wheel=Path("/w/a b.whl"),
        project=Path("/p"),
    )
    assert command == "python /p/tests/run.py '/w/a b.whl'"


def test_read_wheel_and_unpack_fold_platlib_into_site(tmp_path: Path) -> None:
    wheel = tmp_path / "fast-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fast/__init__.py", "")
        archive.writestr("fast-1.0.data/platlib/fast/_speed.abi3.so", b"\x7fELF")
        archive.writestr("fast-1.0.data/scripts/tool", "#!python\n")
        archive.writestr("fast-1.0.dist-info/RECORD", "")
    read = wheeltest.read_wheel(wheel)
    assert read.modules == ("fast._speed",)
    assert read.arches == frozenset({"x86_64"})
    site = tmp_path / "site"
    wheeltest.unpack_wheel(wheel, site)
    assert (site / "fast/_speed.abi3.so").read_bytes() == b"\x7fELF"
    assert (site / "fast/__init__.py").is_file()
    assert not (site / "tool").exists()
    assert not (site / "fast-1.0.data").exists()


def test_a_damaged_wheel_is_a_failed_result_not_a_crash(tmp_path: Path) -> None:
    wheel = tmp_path / "bad-1.0-cp39-abi3-linux_x86_64.whl"
    wheel.write_bytes(b"not a zip")
    result = wheeltest.run_wheel_test(wheel, env={})
    assert result.status == wheeltest.FAILED
    assert "cannot open" in result.reason
    assert result.to_json()["status"] == "failed"


def test_foreign_wheel_without_a_root_is_not_tested_and_says_how(tmp_path: Path) -> None:
    wheel = tmp_path / "w-1.0-cp39-abi3-manylinux_2_17_riscv64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w.abi3.so", b"\x7fELF")
    result = wheeltest.run_wheel_test(wheel, env={}, roots_dir=tmp_path / "no-roots")
    assert result.status == wheeltest.NOT_TESTED
    assert result.reason.startswith("riscv64: not tested, no --root given")
    # The suggested command must work: bookworm has no riscv64, so another release is named.
    release = re.search(r"--release (\S+) --arch riscv64`", result.reason)
    assert release, result.reason
    assert "riscv64" in load_recipe().releases[release.group(1)]
    arm = tmp_path / "w-1.0-cp39-abi3-manylinux_2_17_aarch64.whl"
    arm.write_bytes(wheel.read_bytes())
    if Host.detect().arch != "aarch64":
        reason = wheeltest.run_wheel_test(arm, env={}, roots_dir=tmp_path / "no-roots").reason
        assert "--release bookworm --arch arm64`" in reason


def test_foreign_root_without_qemu_keeps_the_install_hint(tmp_path: Path) -> None:
    """No qemu-user: not tested, and the report says what to install (not only what is missing)."""
    arch, machine = ("x86_64", 62) if Host.detect().arch == "aarch64" else ("aarch64", 183)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3").write_bytes(header)
    wheel = tmp_path / f"w-1.0-cp39-abi3-manylinux_2_17_{arch}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w.abi3.so", b"\x7fELF")
    result = wheeltest.run_wheel_test(wheel, env={"PATH": str(tmp_path / "empty")}, root=root)
    assert result.status == wheeltest.NOT_TESTED
    assert f"{arch}: not tested, no qemu-" in result.reason
    assert "install qemu-user-static" in result.reason


def test_pick_cached_root_takes_one_whose_python_and_glibc_fit(tmp_path: Path) -> None:
    def fake(name: str, python: str, glibc: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        marker = {"arch": "aarch64", "python": python, "glibc": glibc}
        (root / ".zigwheel-root.json").write_text(json.dumps(marker))
        return root

    # By name, bullseye sorts after bookworm; by Python, bookworm's 3.11 is newer than 3.9.
    old = fake("debian-bullseye-arm64", "3.9", "glibc 2.31")
    new = fake("debian-bookworm-arm64", "3.11", "glibc 2.36")
    cp311 = facts("cp311-cp311-manylinux_2_17_aarch64")
    assert wheeltest.pick_cached_root(cp311, tmp_path) == new
    abi3 = facts("cp39-abi3-manylinux_2_17_aarch64")
    assert wheeltest.pick_cached_root(abi3, tmp_path) == new  # the newest Python that fits
    cp39 = facts("cp39-cp39-manylinux_2_17_aarch64")
    assert wheeltest.pick_cached_root(cp39, tmp_path) == old  # only 3.9 loads a cp39 wheel
    newer = fake("debian-aaa-arm64", "3.13", "glibc 2.38")  # sorts first by name, newest Python
    assert wheeltest.pick_cached_root(abi3, tmp_path) == newer
    needs_new_glibc = facts("cp39-abi3-manylinux_2_37_aarch64")
    assert wheeltest.pick_cached_root(needs_new_glibc, tmp_path) == newer
    assert wheeltest.pick_cached_root(facts("cp312-cp312-manylinux_2_17_aarch64"), tmp_path) is None
    assert wheeltest.pick_cached_root(facts("cp39-abi3-manylinux_2_17_s390x"), tmp_path) is None


def test_dependency_groups_follow_includes_in_order() -> None:
    pyproject = {
        "dependency-groups": {
            "Test": ["pytest>=8", {"include-group": "typing"}],
            "typing": ["mypy", "pytest>=8"],
        }
    }
    assert wheeltest.dependency_groups(pyproject, ["test"], source="p") == ["pytest>=8", "mypy"]
    with pytest.raises(ConfigError, match="no dependency group 'docs'") as err:
        wheeltest.dependency_groups(pyproject, ["docs"], source="p")
    assert "test, typing" in (err.value.hint or "")
    looped = {"dependency-groups": {"a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}}
    with pytest.raises(ConfigError, match="includes itself"):
        wheeltest.dependency_groups(looped, ["a"], source="p")


def test_a_missing_module_names_the_wheels_runtime_dependencies_and_the_flag() -> None:
    wheel = wheeltest.WheelFacts(
        Path("pendulum-3.0-cp311-cp311-manylinux_2_17_x86_64.whl"), frozenset(), ("pendulum",),
        ("python-dateutil>=2.6", "tzdata>=2020.1", "pytest; extra == 'test'"),
    )  # fmt: skip
    output = "ModuleNotFoundError: No module named 'dateutil'"
    hint = wheeltest.missing_dependency_hint(output, wheel, with_deps=False)
    assert hint == (
        "'dateutil' is not installed: it is likely python-dateutil's, a Requires-Dist of the "
        "wheel; zigwheel test installs the wheel's dependencies only with --with-deps"
    )
    assert wheeltest.missing_dependency_hint(output, wheel, with_deps=True) == ""
    assert wheeltest.missing_dependency_hint("ImportError: x", wheel, with_deps=False) == ""
    # a module no Requires-Dist is named after: all of them, and where else it may belong
    other = wheeltest.missing_dependency_hint(
        "ModuleNotFoundError: No module named 'hypothesis'", wheel, with_deps=False
    )
    assert "Requires-Dist (python-dateutil>=2.6, tzdata>=2020.1)" not in other
    assert "Requires-Dist (python-dateutil, tzdata) provides it, test with --with-deps" in other
    assert "test-requires" in other
    assert "pytest" not in other  # an extra's requirement is not a runtime dependency
    module = wheeltest.ModuleResult("pendulum", ok=False, detail=output)
    reason = wheeltest.failure_reason([module], BULLSEYE, wheel)
    assert reason.startswith("import pendulum failed: ModuleNotFoundError")
    assert "likely python-dateutil's" in reason
    assert "--with-deps" in reason


@pytest.mark.parametrize(
    ("module", "names", "provider"),
    [
        ("iniconfig", ["numpy", "iniconfig"], "iniconfig"),
        ("dateutil.tz", ["python-dateutil"], "python-dateutil"),
        ("yaml", ["PyYAML"], "PyYAML"),
        ("typing_extensions", ["typing-extensions"], "typing-extensions"),
        ("socks", ["PySocks"], "PySocks"),
        ("cv2", ["opencv-python"], None),  # no name says so: not guessed
    ],
)
def test_the_distribution_of_a_missing_module_is_found_by_its_name(
    module: str, names: list[str], provider: str | None
) -> None:
    assert wheeltest.providing_distribution(module, names) == provider


def test_a_failed_command_names_the_glibc_the_program_lacks() -> None:
    wheel = wheeltest.WheelFacts(Path("x.whl"), frozenset(), (), ("iniconfig",))
    output = ("/t/scripts/prog: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.32' not "
              "found (required by /t/scripts/prog)")  # fmt: skip
    assert wheeltest.command_failure_hint(output, BULLSEYE, wheel, with_deps=False) == (
        "version `GLIBC_2.32' not found (the environment has glibc 2.31)"
    )
    missing = "ModuleNotFoundError: No module named 'iniconfig'"
    assert "--with-deps" in wheeltest.command_failure_hint(missing, BULLSEYE, wheel,
                                                           with_deps=False)  # fmt: skip
    assert wheeltest.command_failure_hint("exit 1", BULLSEYE, wheel, with_deps=False) == ""


def test_a_bin_wheels_programs_are_its_scripts_and_entry_points(tmp_path: Path) -> None:
    wheel = tmp_path / "tool-1.0-py3-none-manylinux_2_17_x86_64.whl"
    entry_points = (
        "[console_scripts]\nTool-CLI = tool.cli:main [fast]\nother = tool:App.run\n\n"
        "[gui_scripts]\nviewer = tool.gui:main\n"
    )
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tool-1.0.data/scripts/tool", b"\x7fELF")
        archive.writestr("tool-1.0.data/scripts/sub/ignored", b"")
        archive.writestr("tool-1.0.data/data/share/tool.1", b"")
        archive.writestr("tool-1.0.dist-info/METADATA", "Name: tool\nVersion: 1.0\n")
        archive.writestr("tool-1.0.dist-info/entry_points.txt", entry_points)
    facts = wheeltest.read_wheel(wheel)
    assert facts.modules == ()
    assert facts.scripts == ("tool-1.0.data/scripts/tool",)
    assert facts.entry_points == (("Tool-CLI", "tool.cli:main"), ("other", "tool:App.run"))
    assert facts.programs == ("tool", "Tool-CLI", "other")
    assert wheeltest.console_scripts("not [an ini") == ()


def test_the_install_plan_needs_pip_only_for_requirements_or_dependencies() -> None:
    assert not wheeltest.Install().needs_pip
    assert wheeltest.Install(requires=("pytest",)).needs_pip
    with_extras = wheeltest.Install(extras=("test", "fast"))
    assert with_extras.deps  # pip resolves the extras' requirements: the wheel's own deps too
    assert with_extras.spec(Path("/d/x.whl")) == "/d/x.whl[test,fast]"


def test_the_wheels_project_folder_is_the_one_naming_its_distribution(tmp_path: Path) -> None:
    wheel = Path("tiny_ext-0.1-cp39-abi3-manylinux_2_17_x86_64.whl")
    assert not wheeltest.wheel_project_folder(tmp_path, wheel)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "Tiny.Ext"\n')
    assert wheeltest.wheel_project_folder(tmp_path, wheel)
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert not wheeltest.wheel_project_folder(tmp_path, wheel)


def test_not_tested_names_the_cached_roots_and_the_release_that_would_serve(
    tmp_path: Path,
) -> None:
    root = tmp_path / "debian-bookworm-arm64"
    root.mkdir()
    marker = {"arch": "aarch64", "python": "3.11", "glibc": "glibc 2.36"}
    (root / ".zigwheel-root.json").write_text(json.dumps(marker))
    cp39 = facts("cp39-cp39-manylinux_2_17_aarch64")
    assert wheeltest.pick_cached_root(cp39, tmp_path) is None
    reason = wheeltest.no_root_reason(cp39, tmp_path)
    assert "debian-bookworm-arm64 (Python 3.11, glibc 2.36), none fits the wheel" in reason
    assert "Debian bullseye arm64 (Python 3.9) would serve" in reason
    assert "--release bullseye --arch arm64" in reason
    cp313 = facts("cp313-cp313-manylinux_2_17_riscv64")
    assert "Debian trixie riscv64 (Python 3.13)" in wheeltest.no_root_reason(cp313, tmp_path)
    assert "no cached root for riscv64" in wheeltest.no_root_reason(cp313, tmp_path)
    abi3 = facts("cp39-abi3-manylinux_2_17_aarch64")
    assert wheeltest.pick_cached_root(abi3, tmp_path) == root


def test_the_deadline_is_shared_by_a_wheels_steps() -> None:
    deadline = wheeltest.Deadline(0.0)
    with pytest.raises(wheeltest.TimedOut, match="within 0 seconds"):
        deadline.left()
    assert wheeltest.Deadline(60).left() > 59


def test_a_run_with_only_untested_wheels_fails_only_when_strict() -> None:
    from zigwheel.api import TestRun  # noqa: PLC0415

    untested = wheeltest.WheelTestResult("a.whl", Path("a.whl"), wheeltest.NOT_TESTED)
    passed = wheeltest.WheelTestResult("b.whl", Path("b.whl"), wheeltest.PASSED)
    failed = wheeltest.WheelTestResult("c.whl", Path("c.whl"), wheeltest.FAILED)
    assert TestRun((untested,)).ok()
    assert not TestRun((untested,)).ok(strict=True)
    assert TestRun((passed, untested)).ok()
    assert not TestRun((passed, failed)).ok()
