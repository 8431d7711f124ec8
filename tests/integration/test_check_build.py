"""zigwheel check on wheels compiled here (gcc, zig): verdicts, symbols, host independence."""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from zigwheel.compliance.analysis import check_wheel
from zigwheel.compliance.policy import ladder

REPO = Path(__file__).resolve().parents[2]

EXT_OLD = """
#include <string.h>
void *PyInit_{name}(void) {{ return (void *)strlen("x"); }}
"""

# getrandom is GLIBC_2.25 and pthread_create moved to GLIBC_2.34: a native build here needs both.
EXT_NEW = """
#include <pthread.h>
#include <sys/random.h>
static void *run(void *arg) {{ return arg; }}
void *PyInit_{name}(void) {{
    char buf[4]; pthread_t t;
    getrandom(buf, sizeof buf, 0);
    pthread_create(&t, 0, run, 0);
    return buf[0] ? (void *)t : 0;
}}
"""

EXT_RANDOM = """
#include <sys/random.h>
static char b[1];
void *PyInit_{name}(void) {{ getrandom(b, 1, 0); return b[0] ? b : 0; }}
"""

# puts cannot be folded away: the library needs libc by name.
EXT_PUTS = """
#include <stdio.h>
void *PyInit_{name}(void) {{ return (void *)(long)puts("x"); }}
"""

EXT_CALLS = """
extern int {symbol}(void);
void *PyInit_{name}(void) {{ return (void *)(long){symbol}(); }}
"""

LIB_DEFINES = """
#include <sys/random.h>
int {symbol}(void) {{ char b[1]; getrandom(b, 1, 0); return b[0]; }}
"""


def make_wheel(folder: Path, dist: str, tag: str, files: dict[str, bytes]) -> Path:
    """Zip ``files`` into ``<dist>-1.0-cp311-cp311-<tag>.whl`` with WHEEL, METADATA and RECORD."""
    info = f"{dist}-1.0.dist-info"
    members = dict(files)
    members[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n".encode()
    members[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: zigwheel-tests\nRoot-Is-Purelib: false\n"
        f"Tag: cp311-cp311-{tag}\n"
    ).encode()
    record = []
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{dist}-1.0-cp311-cp311-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


def compile_so(source: str, out: Path, *args: str, compiler: tuple[str, ...] = ("gcc",)) -> bytes:
    """Compile C ``source`` into the shared library ``out``; return its bytes."""
    src = out.with_suffix(".c")
    src.write_text(source)
    cmd = [*compiler, "-shared", "-fPIC", "-O1", "-o", str(out), str(src), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def zig_cc(target: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "ziglang", "cc", "-target", target)


def host_built_wheel(folder: Path) -> Path:
    """A C extension built natively on this host, tagged manylinux_2_17: it needs newer glibc."""
    so = compile_so(EXT_NEW.format(name="hostbuilt"), folder / "hostbuilt.so", "-lpthread")
    name = "hostbuilt.cpython-311-x86_64-linux-gnu.so"
    return make_wheel(folder, "hostbuilt", "manylinux_2_17_x86_64", {name: so})


def retagged_wheel(wheel: Path, folder: Path, tag: str) -> Path:
    """A copy of ``wheel`` whose file name claims the platform ``tag``."""
    stem = wheel.name.rsplit("-", 1)[0]
    target = folder / f"{stem}-{tag}.whl"
    shutil.copyfile(wheel, target)
    return target


def auditwheel_tag(wheel: Path) -> str | None:
    """auditwheel's overall tag; None when it refuses the wheel (e.g. no ELF for its platform)."""
    cmd = [sys.executable, "-m", "auditwheel", "show", "--json", "--ldpaths", "", str(wheel)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    start = result.stdout.find("{")
    if start < 0:
        return CRASHED + result.stderr.strip().splitlines()[-1]
    tag = json.loads(result.stdout[start:]).get("overall_tag")
    return str(tag) if tag else None


CRASHED = "auditwheel crashed: "


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="builds Linux ELF files")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test wheel of this module, built once."""
    tmp = tmp_path_factory.mktemp("check-build")
    wheels: dict[str, Path] = {}
    host = host_built_wheel(tmp)
    wheels["host"] = host
    wheels["host_retagged_2_5"] = retagged_wheel(host, tmp, "manylinux1_x86_64")

    old = compile_so(EXT_OLD.format(name="oldsyms"), tmp / "oldsyms.so")
    wheels["old"] = make_wheel(
        tmp, "oldsyms", "manylinux_2_5_x86_64.manylinux1_x86_64", {"oldsyms.abi3.so": old}
    )
    random = compile_so(EXT_RANDOM.format(name="rnd"), tmp / "rnd.so")
    wheels["random_too_old"] = make_wheel(
        tmp, "rnd", "manylinux_2_24_x86_64", {"rnd.abi3.so": random}
    )
    wheels["random_ok"] = make_wheel(tmp, "rnd", "manylinux_2_28_x86_64", {"rnd.abi3.so": random})

    # A bundled library found through RUNPATH=$ORIGIN/../bund.libs (its GLIBC_2.25 need counts).
    libdir = tmp / "libs"
    libdir.mkdir()
    helper = compile_so(
        LIB_DEFINES.format(symbol="helper_value"),
        libdir / "libhelper-1a2b3c.so",
        "-Wl,-soname,libhelper-1a2b3c.so",
    )
    ext = compile_so(
        EXT_CALLS.format(name="bund", symbol="helper_value"),
        tmp / "bund.so",
        f"-L{libdir}",
        "-l:libhelper-1a2b3c.so",
        "-Wl,-rpath,$ORIGIN/../bund.libs",
    )
    wheels["bundled"] = make_wheel(
        tmp,
        "bund",
        "manylinux_2_28_x86_64",
        {"bund/bund.abi3.so": ext, "bund.libs/libhelper-1a2b3c.so": helper},
    )
    wheels["unbundled"] = make_wheel(
        tmp, "bund", "manylinux_2_28_x86_64.manylinux_2_17_x86_64", {"bund/bund.abi3.so": ext}
    )

    # A blacklisted libz symbol that newer policies allow again.
    older = ladder("glibc", "x86_64").get("manylinux_2_35")
    newer = ladder("glibc", "x86_64").get("manylinux_2_36")
    assert older is not None
    assert newer is not None
    symbol = sorted(older.blacklist["libz.so.1"] - newer.blacklist["libz.so.1"])[0]
    zdir = tmp / "z"
    zdir.mkdir()
    compile_so(f"int {symbol}(void) {{ return 1; }}", zdir / "libz.so.1", "-Wl,-soname,libz.so.1")
    zext = compile_so(
        EXT_CALLS.format(name="zuse", symbol=symbol), tmp / "zuse.so", f"-L{zdir}", "-l:libz.so.1"
    )
    wheels["blacklisted"] = make_wheel(tmp, "zuse", "manylinux_2_17_x86_64", {"zuse.abi3.so": zext})

    # x86-64-v3 marked as needed in the GNU property note.
    isa = compile_so(
        EXT_OLD.format(name="isa"), tmp / "isa.so", "-march=x86-64-v3", "-Wl,-z,x86-64-v3"
    )
    wheels["isa_v3"] = make_wheel(tmp, "isa", "manylinux_2_17_x86_64", {"isa.abi3.so": isa})

    # Cross builds with zig: an aarch64 glibc 2.17 extension and an x86_64 musl one.
    arm = compile_so(
        EXT_OLD.format(name="armx"), tmp / "armx.so", compiler=zig_cc("aarch64-linux-gnu.2.17")
    )
    wheels["zig_aarch64_217"] = make_wheel(
        tmp, "armx", "manylinux_2_17_aarch64", {"armx.abi3.so": arm}
    )
    arm_new = compile_so(
        EXT_RANDOM.format(name="armx"), tmp / "armx2.so", compiler=zig_cc("aarch64-linux-gnu.2.28")
    )
    wheels["zig_aarch64_228"] = make_wheel(
        tmp, "armx2", "manylinux_2_17_aarch64", {"armx.abi3.so": arm_new}
    )
    musl = compile_so(
        EXT_OLD.format(name="muslx"), tmp / "muslx.so", compiler=zig_cc("x86_64-linux-musl")
    )
    wheels["zig_musl"] = make_wheel(tmp, "muslx", "musllinux_1_1_x86_64", {"muslx.abi3.so": musl})
    # A musl extension that needs a library the wheel does not bundle.
    mdir = tmp / "musl-libs"
    mdir.mkdir()
    compile_so(
        "int musl_helper(void) { return 1; }",
        mdir / "libmh.so",
        "-Wl,-soname,libmh.so",
        compiler=zig_cc("x86_64-linux-musl"),
    )
    musl_ext = compile_so(
        EXT_CALLS.format(name="muslext", symbol="musl_helper"),
        tmp / "muslext.so",
        f"-L{mdir}",
        "-lmh",
        compiler=zig_cc("x86_64-linux-musl"),
    )
    wheels["zig_musl_external"] = make_wheel(
        tmp, "muslext", "musllinux_1_1_x86_64", {"muslext.abi3.so": musl_ext}
    )
    # musl's own soname "libc.so" (what zig links), on x86_64 and aarch64: allowed by musllinux.
    for arch in ("x86_64", "aarch64"):
        needs_libc = compile_so(
            EXT_PUTS.format(name="muslc"), tmp / f"muslc-{arch}.so",
            compiler=zig_cc(f"{arch}-linux-musl"),
        )  # fmt: skip
        wheels[f"zig_musl_libc_{arch}"] = make_wheel(
            tmp, "muslc", f"musllinux_1_2_{arch}",
            {f"muslc.cpython-311-{arch}-linux-musl.so": needs_libc},
        )  # fmt: skip
    # An aarch64 extension named for x86_64: CPython on aarch64 never imports it.
    wheels["zig_aarch64_x86_name"] = make_wheel(
        tmp, "armx3", "manylinux_2_17_aarch64", {"armx.cpython-311-x86_64-linux-gnu.so": arm}
    )
    # zig's oldest ppc64le glibc is 2.19, but a library needing only GLIBC_2.17 symbols (the
    # ppc64le baseline) is manylinux_2_17 content, as auditwheel judges it.
    ppc = compile_so(
        EXT_PUTS.format(name="ppcx"), tmp / "ppcx.so", compiler=zig_cc("powerpc64le-linux-gnu.2.19")
    )
    wheels["zig_ppc64le_219"] = make_wheel(
        tmp, "ppcx", "manylinux_2_17_ppc64le", {"ppcx.cpython-311-powerpc64le-linux-gnu.so": ppc}
    )
    # No DT_NEEDED at all: the code runs on either libc, so it may claim both families.
    wheels["static_both"] = make_wheel(
        tmp, "both", "manylinux_2_17_x86_64.musllinux_1_1_x86_64", {"muslx.abi3.so": musl}
    )
    # musl by its file name (no DT_NEEDED): in a manylinux wheel it counts for nothing.
    wheels["musl_as_glibc"] = make_wheel(
        tmp, "muslg", "manylinux_2_17_x86_64", {"muslx.cpython-311-x86_64-linux-musl.so": musl}
    )
    return wheels


def test_policy_equals_auditwheel_on_every_built_wheel(built: dict[str, Path]) -> None:
    mismatches = {}
    crashed = set()
    for key, wheel in built.items():
        ours, theirs = check_wheel(wheel), auditwheel_tag(wheel)
        if theirs and theirs.startswith(CRASHED):
            crashed.add(key)
            continue
        if key.startswith("zig_musl_libc_"):
            # Off a musl host auditwheel allows musl only by its loader's name and finds no
            # "libc.so" to load; by the policy rules musl's own soname is allowed.
            arch = key.removeprefix("zig_musl_libc_")
            assert (ours.policy, theirs) == (f"musllinux_1_2_{arch}", f"linux_{arch}")
            continue
        # auditwheel refuses a wheel without an ELF for its platform: zigwheel flags it.
        agree = ours.policy == theirs if theirs else not ours.compliant
        if not agree:
            mismatches[key] = (ours.policy, theirs, ours.problems)
    assert not mismatches
    # auditwheel raises InvalidLibcError for an extension without any libc dependency.
    assert crashed == {"static_both"}


def test_host_build_fails_manylinux_2_17_and_names_the_symbols(built: dict[str, Path]) -> None:
    report = check_wheel(built["host"])
    assert report.readable
    assert not report.compliant
    assert report.policy == "manylinux_2_34_x86_64"
    (elf,) = report.elves
    offending = {(o.symbol, o.version, o.library) for o in elf.offending}
    assert ("getrandom", "GLIBC_2.25", "libc.so.6") in offending
    assert ("pthread_create", "GLIBC_2.34", "libc.so.6") in offending
    assert all(o.version not in ("GLIBC_2.2.5", "GLIBC_2.17") for o in elf.offending)
    text = "\n".join(report.problems)
    assert "GLIBC_2.34" in text
    assert "pthread_create" in text
    assert "zigwheel build --manylinux 2_17" in text
    assert "manylinux_2_34_x86_64" in text


def test_offending_symbols_match_objdump(built: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("objdump") is None:
        pytest.fail("objdump (binutils) is needed for this cross-check")
    with zipfile.ZipFile(built["host"]) as archive:
        so = tmp_path / "ext.so"
        so.write_bytes(archive.read("hostbuilt.cpython-311-x86_64-linux-gnu.so"))
    dump = subprocess.run(["objdump", "-T", str(so)], capture_output=True, text=True, check=True)
    expected = set()
    policy = ladder("glibc", "x86_64").get("manylinux_2_17")
    assert policy is not None
    for match in re.finditer(r"\*UND\*\s+\S+\s+\((GLIBC_[^)]+)\)\s+(\S+)", dump.stdout):
        version, symbol = match.groups()
        if not policy.allows_version(version):
            expected.add((symbol, version))
    report = check_wheel(built["host"])
    assert {(o.symbol, o.version) for o in report.elves[0].offending} == expected
    assert expected


def test_retagged_wheels(built: dict[str, Path]) -> None:
    assert not check_wheel(built["host_retagged_2_5"]).compliant
    too_old = check_wheel(built["random_too_old"])
    assert not too_old.compliant
    assert too_old.policy == "manylinux_2_26_x86_64"
    assert [o.symbol for o in too_old.elves[0].offending] == ["getrandom"]
    ok = check_wheel(built["random_ok"])
    assert ok.compliant, ok.problems
    assert ok.elves[0].offending == []
    old = check_wheel(built["old"])
    assert old.compliant, old.problems
    assert old.policy == "manylinux_2_5_x86_64"
    assert old.claimed == ["manylinux1_x86_64", "manylinux_2_5_x86_64"]


def test_bundled_library_resolves_through_runpath(built: dict[str, Path]) -> None:
    bundled = check_wheel(built["bundled"])
    assert bundled.compliant, bundled.problems
    assert bundled.policy == "manylinux_2_26_x86_64"  # the bundled helper needs GLIBC_2.25
    unbundled = check_wheel(built["unbundled"])
    assert unbundled.policy == "linux_x86_64"
    assert not unbundled.compliant
    assert any("libhelper-1a2b3c.so" in p for p in unbundled.problems)


def test_blacklist_isa_and_cross_builds(built: dict[str, Path]) -> None:
    black = check_wheel(built["blacklisted"])
    assert black.policy == "manylinux_2_36_x86_64"
    (forbids,) = [p for p in black.problems if "forbids" in p]
    blacklisted = [o for o in black.elves[0].offending if o.library == "libz.so.1"]
    assert [o.version for o in blacklisted] == [None]  # unversioned, named in the offending list
    assert f"uses {blacklisted[0].symbol} from libz.so.1" in forbids
    isa = check_wheel(built["isa_v3"])
    assert isa.policy == "linux_x86_64"
    assert any("x86_64_v3" in p for p in isa.problems)
    arm = check_wheel(built["zig_aarch64_217"])
    assert arm.compliant, arm.problems
    assert arm.elves[0].arch == "aarch64"
    arm_new = check_wheel(built["zig_aarch64_228"])
    assert not arm_new.compliant
    assert arm_new.elves[0].offending
    musl = check_wheel(built["zig_musl"])
    assert musl.compliant, musl.problems
    assert musl.policy == "musllinux_1_2_x86_64"
    external = check_wheel(built["zig_musl_external"])
    assert not external.compliant
    assert any("libmh.so" in p for p in external.problems)
    # A library the wheel lacks: rebuilding for the same policy changes nothing, bundling does.
    (claim,) = [p for p in external.problems if "does not hold" in p]
    assert "zigwheel build" not in claim
    assert "bundle the libraries it lacks" in claim
    for arch in ("x86_64", "aarch64"):
        needs_libc = check_wheel(built[f"zig_musl_libc_{arch}"])
        assert needs_libc.compliant, needs_libc.problems
        assert needs_libc.policy == f"musllinux_1_2_{arch}"
        assert needs_libc.elves[0].needed == ["libc.so"]
    misnamed = check_wheel(built["zig_aarch64_x86_name"])
    assert not misnamed.compliant
    assert misnamed.policy == "manylinux_2_17_aarch64"  # the content is fine, its name is not
    (suffix,) = [p for p in misnamed.problems if "is named for" in p]
    assert "expected .cpython-311-aarch64-linux-gnu.so" in suffix
    ppc = check_wheel(built["zig_ppc64le_219"])
    assert ppc.compliant, ppc.problems
    assert ppc.policy == "manylinux_2_17_ppc64le"
    assert ppc.elves[0].versions == {"libc.so.6": ["GLIBC_2.17"]}
    wrong = check_wheel(built["musl_as_glibc"])
    assert not wrong.compliant
    both = check_wheel(built["static_both"])
    assert both.compliant, both.problems
    assert both.policy == "manylinux_2_5_x86_64"


def _guard_host(monkeypatch: pytest.MonkeyPatch, allowed: list[Path]) -> list[str]:
    """Make every open/stat outside ``allowed`` fail, and record the attempts."""
    roots = [str(p) for p in allowed]
    attempts: list[str] = []

    def check(target: object) -> None:
        if isinstance(target, int):
            return
        assert isinstance(target, (str, bytes, os.PathLike))
        path = os.fspath(target)
        path = path.decode() if isinstance(path, bytes) else path
        if not any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots):
            attempts.append(path)
            raise PermissionError(f"host file touched: {path}")

    def wrap(original: Callable[..., object]) -> Callable[..., object]:
        def guarded(target: object, *args: object, **kwargs: object) -> object:
            check(target)
            return original(target, *args, **kwargs)

        return guarded

    for module, name in (
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (os, "stat"),
        (os, "lstat"),
        (os, "listdir"),
        (os, "scandir"),
    ):
        monkeypatch.setattr(module, name, wrap(getattr(module, name)))
    return attempts


def test_never_touches_host_libraries(
    built: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {key: check_wheel(w).to_json() for key, w in built.items()}  # warm caches/imports
    monkeypatch.setenv("LD_LIBRARY_PATH", str(built["host"].parent / "libs"))
    monkeypatch.setenv("AUDITWHEEL_LD_LIBRARY_PATH", str(built["host"].parent / "libs"))
    attempts = _guard_host(monkeypatch, list(built.values()))
    guarded = {key: check_wheel(w).to_json() for key, w in built.items()}
    monkeypatch.undo()
    assert attempts == []
    assert guarded == expected


def test_cli_json_and_exit_codes(built: dict[str, Path], tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "zigwheel", "check", "--json"]
    good = subprocess.run([*cmd, str(built["old"])], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    document = json.loads(good.stdout)
    assert document["version"] == 1
    assert document["wheels"][0]["policy"] == "manylinux_2_5_x86_64"
    bad = subprocess.run(
        [*cmd, str(built["host"]), str(built["old"])], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert [w["compliant"] for w in json.loads(bad.stdout)["wheels"]] == [False, True]
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    both = subprocess.run(
        [*cmd, str(built["host"]), str(junk)], capture_output=True, text=True, check=False
    )
    assert both.returncode == 6
    env = {**os.environ, "GITHUB_ACTIONS": "true"}
    annotated = subprocess.run(
        [sys.executable, "-m", "zigwheel", "check", str(built["host"])],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert annotated.returncode == 1
    errors = [line for line in annotated.stdout.splitlines() if line.startswith("::error file=")]
    assert len(errors) == 1
    assert "GLIBC_2.34" in errors[0]


CXX_EXT = """
#include <stdexcept>
#include <string>
extern "C" void *PyInit_{name}(void) {{
    static std::string s("x");
    s += std::to_string(s.size());
    if (s.size() > 100) throw std::runtime_error(s);
    return (void *)s.c_str();
}}
"""


@pytest.fixture(scope="module")
def real_elves(
    built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """ELF files from gcc, g++ and zig (x86_64 and aarch64, glibc and musl), by a short name."""
    elves: dict[str, bytes] = {}
    for key in ("host", "bundled", "zig_aarch64_217", "zig_aarch64_228", "zig_musl", "blacklisted"):
        with zipfile.ZipFile(built[key]) as archive:
            for name in archive.namelist():
                if name.endswith(".so"):
                    elves[f"{key}:{name}"] = archive.read(name)
    tmp = tmp_path_factory.mktemp("real-elves")
    elves["g++"] = compile_so(CXX_EXT.format(name="cxx"), tmp / "cxx.so", compiler=("g++",))
    elves["zig-x86_64"] = compile_so(
        LIB_DEFINES.format(symbol="zv"),
        tmp / "libzv.so",
        "-Wl,-rpath,/opt/zv",
        compiler=zig_cc("x86_64-linux-gnu.2.28"),
    )
    return elves


def _pyelftools_facts(data: bytes) -> dict[str, object]:
    """What zigwheel's decoder reports, read through pyelftools' full object model instead."""
    from elftools.elf.dynamic import DynamicSection  # noqa: PLC0415
    from elftools.elf.elffile import ELFFile  # noqa: PLC0415
    from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection  # noqa: PLC0415
    from elftools.elf.sections import SymbolTableSection  # noqa: PLC0415

    elf = ELFFile(io.BytesIO(data))
    needed: list[str] = []
    rpath = runpath = None
    dynamic = elf.get_section_by_name(".dynamic")
    assert dynamic is None or isinstance(dynamic, DynamicSection)
    for tag in dynamic.iter_tags() if dynamic is not None else ():
        if tag.entry.d_tag == "DT_NEEDED":
            needed.append(tag.needed)  # type: ignore[attr-defined]  # set per tag kind
        elif tag.entry.d_tag == "DT_RPATH":
            rpath = tag.rpath  # type: ignore[attr-defined]
        elif tag.entry.d_tag == "DT_RUNPATH":
            runpath = tag.runpath  # type: ignore[attr-defined]
    verneed: list[tuple[str | None, tuple[str, ...]]] = []
    by_index: dict[int, tuple[str | None, str]] = {}
    section = elf.get_section_by_name(".gnu.version_r")
    assert section is None or isinstance(section, GNUVerNeedSection)
    for need, auxes in section.iter_versions() if section is not None else ():
        names = []
        for aux in auxes:
            names.append(aux.name)
            by_index[aux["vna_other"] & 0x7FFF] = (need.name, aux.name)
        verneed.append((need.name, tuple(names)))
    dynsym = elf.get_section_by_name(".dynsym")
    versym = elf.get_section_by_name(".gnu.version")
    assert isinstance(dynsym, SymbolTableSection)
    assert versym is None or isinstance(versym, GNUVerSymSection)
    undefined = set()
    for index, sym in enumerate(dynsym.iter_symbols()):
        if index == 0 or sym["st_shndx"] != "SHN_UNDEF":
            continue
        version = library = None
        if versym is not None:
            ndx = versym.get_symbol(index)["ndx"]
            if isinstance(ndx, int) and ndx & 0x7FFF in by_index:
                library, version = by_index[ndx & 0x7FFF]
        undefined.add((sym.name, version, library))
    return {
        "machine": elf["e_machine"],
        "needed": tuple(needed),
        "rpath": rpath,
        "runpath": runpath,
        "verneed": tuple(verneed),
        "undefined": undefined,
    }


def test_decoder_agrees_with_pyelftools_full_parse(real_elves: dict[str, bytes]) -> None:
    from zigwheel.compliance.elf import parse_elf  # noqa: PLC0415

    kinds = set()
    for name, data in real_elves.items():
        info = parse_elf(data)
        ours = {
            "machine": info.machine,
            "needed": info.needed,
            "rpath": info.rpath,
            "runpath": info.runpath,
            "verneed": info.verneed,
            "undefined": {(s.name, s.version, s.library) for s in info.undefined},
        }
        assert ours == _pyelftools_facts(data), name
        if info.verneed:
            kinds.add(info.machine)
    assert kinds == {"EM_X86_64", "EM_AARCH64"}  # versioned needs from both architectures
    assert any(lib.startswith("libstdc++") for lib, _v in parse_elf(real_elves["g++"]).verneed)
    assert parse_elf(real_elves["zig-x86_64"]).runpath or parse_elf(real_elves["zig-x86_64"]).rpath
