"""Real zig compiles through the shims: ELF architecture, glibc symbol versions, rewrites, runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import Symbol, SymbolTableSection

from zigwheel.platforms import Libc
from zigwheel.toolchain.shims import MANIFEST, ShimSet, install_shims, render_shims
from zigwheel.toolchain.targets import Arch, load_table, resolve_target
from zigwheel.toolchain.zig import Zig, locate_zig

# Functions whose default symbol version on a modern glibc is newer than 2.17:
# pow/exp/log -> GLIBC_2.29, fcntl -> GLIBC_2.28 (fcntl64), stat -> GLIBC_2.33,
# pthread_create -> GLIBC_2.34 (libpthread merged into libc), memcpy -> GLIBC_2.14 (x86_64).
PROGRAM = textwrap.dedent(
    """
    #include <fcntl.h>
    #include <math.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/stat.h>
    #include <unistd.h>

    #ifndef _FOO
    #error "_FOO is not defined: -Wp,-D_FOO=1 was lost"
    #endif

    static void *work(void *arg) {
        double *x = arg;
        *x = pow(*x, 2.0) + log(*x) + exp(0.0);
        return NULL;
    }

    int main(int argc, char **argv) {
        char src[64], dst[64];
        double x = 1.0 + argc;
        pthread_t thread;
        struct stat st;
        size_t n = (size_t)snprintf(src, sizeof src, "zigwheel %d", _FOO);
        memcpy(dst, src, n + 1);
        if (pthread_create(&thread, NULL, work, &x) != 0) return 2;
        pthread_join(thread, NULL);
        if (stat(argv[0], &st) != 0) return 3;
        int fd = open(argv[0], O_RDONLY);
        if (fd < 0 || fcntl(fd, F_GETFD) < 0) return 4;
        close(fd);
        printf("%s %.3f\\n", dst, x);
        return 0;
    }
    """
)

LIBRARY = textwrap.dedent(
    """
    #include <math.h>
    #include <string.h>
    double zw_norm(const double *v, unsigned n) {
        double s = 0.0;
        double copy[16];
        memcpy(copy, v, (n < 16 ? n : 16) * sizeof *v);
        for (unsigned i = 0; i < n && i < 16; i++) s += pow(copy[i], 2.0);
        return sqrt(s) + log(1.0) + exp(0.0) - 1.0;
    }
    """
)

CXX_PROGRAM = textwrap.dedent(
    """
    #include <iostream>
    #include <map>
    #include <string>
    #include <thread>
    #include <vector>
    int main() {
        std::map<std::string, std::vector<int>> m{{"zig", {1, 2, 3}}};
        int total = 0;
        std::thread t([&] { for (int v : m["zig"]) total += v; });
        t.join();
        std::cout << "cxx " << total << std::endl;
        return total == 6 ? 0 : 1;
    }
    """
)

E_MACHINE = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}


def _dynamic_section(elf: ELFFile) -> DynamicSection:
    section = elf.get_section_by_name(".dynamic")
    assert isinstance(section, DynamicSection), "no .dynamic section"
    return section


def _symbols(elf: ELFFile, name: str) -> SymbolTableSection:
    section = elf.get_section_by_name(name)
    assert isinstance(section, SymbolTableSection), f"no {name} section"
    return section


def _needed(dynamic: DynamicSection) -> list[str]:
    # pyelftools sets `needed` on DT_NEEDED tags only, so its types do not declare it.
    tags = [tag for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]
    return [str(tag.needed) for tag in tags]  # type: ignore[attr-defined]


def _named(table: SymbolTableSection, name: str) -> list[Symbol]:
    found = table.get_symbol_by_name(name)
    assert found is not None, f"no symbol {name}"
    return found


@pytest.fixture(scope="module")
def zig() -> Zig:
    return locate_zig(os.environ)


@pytest.fixture(scope="module")
def shim_sets(zig: Zig, session_cache: Path, shim_form: str) -> dict[str, ShimSet]:
    wanted = {
        "x86_64-2_17": ("x86_64", "manylinux_2_17"),
        "aarch64-2_17": ("aarch64", "manylinux2014"),
        "x86_64-musl": ("x86_64", "musllinux_1_2"),
        "aarch64-musl": ("aarch64", "musllinux_1_2"),
        "x86_64-2_36": ("x86_64", "manylinux_2_36"),
    }
    return {
        name: install_shims(resolve_target(arch, policy), zig, session_cache, form=shim_form)
        for name, (arch, policy) in wanted.items()
    }


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    (folder / "prog.c").write_text(PROGRAM)
    (folder / "lib.c").write_text(LIBRARY)
    (folder / "prog.cpp").write_text(CXX_PROGRAM)
    return folder


def compile_with(tool: Path, args: list[str], cwd: Path) -> None:
    result = subprocess.run(
        [str(tool), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, f"{tool.name} {' '.join(args)}\n{result.stdout}{result.stderr}"


def elf_facts(path: Path) -> tuple[str, set[str], bool]:
    """(e_machine, required GLIBC_* versions, has a PT_INTERP/dynamic section)."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        versions: set[str] = set()
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _needed, auxiliaries in section.iter_versions():
                    versions.update(aux.name for aux in auxiliaries)
        dynamic = elf.get_section_by_name(".dynamic") is not None
        return elf["e_machine"], {v for v in versions if v.startswith("GLIBC_2")}, dynamic


def glibc_max(versions: set[str]) -> tuple[int, ...]:
    return max(tuple(int(p) for p in v[len("GLIBC_") :].split(".")) for v in versions)


@pytest.mark.parametrize("name", ["x86_64-2_17", "aarch64-2_17"])
def test_program_and_shared_library_stay_within_glibc_2_17(
    name: str, shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    shims = shim_sets[name]
    exe = tmp_path / "prog"
    lib = tmp_path / "libnorm.so"
    # Flags zig rejects on its own: the shim must rewrite or drop them.
    compile_with(
        shims.cc,
        [
            "-O2",
            "-Wp,-D_FOO=7",
            str(sources / "prog.c"),
            "-o",
            str(exe),
            "-lm",
            "-lpthread",
            "-Wl,--no-undefined-version",
            f"--target={shims.target.rust_triple}",
        ],
        tmp_path,
    )
    compile_with(
        shims.cc,
        ["-O2", "-shared", "-fPIC", str(sources / "lib.c"), "-o", str(lib), "-lm"],
        tmp_path,
    )
    for artefact in (exe, lib):
        machine, versions, dynamic = elf_facts(artefact)
        assert machine == E_MACHINE[shims.target.arch.value]
        assert dynamic
        assert versions, f"{artefact.name} needs no GLIBC version at all: the check is empty"
        assert glibc_max(versions) <= (2, 17), sorted(versions)


def test_same_program_for_glibc_2_36_needs_newer_symbols(
    shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    """Proves the 2.17 check above can fail: the same source for 2.36 needs GLIBC > 2.17."""
    exe = tmp_path / "prog"
    compile_with(
        shim_sets["x86_64-2_36"].cc,
        ["-O2", "-D_FOO=1", str(sources / "prog.c"), "-o", str(exe), "-lm", "-lpthread"],
        tmp_path,
    )
    _machine, versions, _dynamic = elf_facts(exe)
    assert glibc_max(versions) > (2, 17), sorted(versions)


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="x86_64")
def test_x86_64_program_runs(shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path) -> None:
    exe = tmp_path / "prog"
    compile_with(
        shim_sets["x86_64-2_17"].cc,
        ["-O2", "-Wp,-D_FOO=7", str(sources / "prog.c"), "-o", str(exe), "-lm", "-lpthread"],
        tmp_path,
    )
    result = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("zigwheel 7 ")


@pytest.mark.parametrize("name", ["x86_64-musl", "aarch64-musl"])
def test_static_musl_program_runs(
    name: str, shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    shims = shim_sets[name]
    exe = tmp_path / "prog"
    compile_with(
        shims.cc,
        ["-O2", "-static", "-D_FOO=3", str(sources / "prog.c"), "-o", str(exe), "-lm", "-lc"],
        tmp_path,
    )
    machine, versions, _dynamic = elf_facts(exe)
    assert machine == E_MACHINE[shims.target.arch.value]
    assert not versions
    if shims.target.arch.value == os.uname().machine:
        argv = [str(exe)]
    else:
        qemu = shutil.which(f"qemu-{shims.target.qemu}-static") or shutil.which(
            f"qemu-{shims.target.qemu}"
        )
        if qemu is None:
            pytest.skip(f"qemu-{shims.target.qemu} is not installed")
        argv = [qemu, str(exe)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("zigwheel 3 ")


MUSL_LIBRARY = textwrap.dedent(
    """
    #include <math.h>
    #include <stdio.h>
    #include <stdlib.h>
    /* Calls libc for real (no builtin can replace malloc or snprintf). */
    char *zw_format(double x) {
        char *text = malloc(64);
        if (text) snprintf(text, 64, "%.3f", pow(x, x) + log(x));
        return text;
    }
    """
)


@pytest.mark.parametrize("name", ["x86_64-musl", "aarch64-musl"])
def test_musl_shared_library_links_musl_libc_dynamically(
    name: str, shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    """An extension module for musllinux: a shared object that needs musl's libc.so, no glibc."""
    shims = shim_sets[name]
    source = tmp_path / "fmt.c"
    source.write_text(MUSL_LIBRARY)
    lib = tmp_path / "libfmt.so"
    compile_with(
        shims.cc, ["-O2", "-shared", "-fPIC", str(source), "-o", str(lib), "-lm"], tmp_path
    )
    with lib.open("rb") as handle:
        elf = ELFFile(handle)
        assert elf["e_machine"] == E_MACHINE[shims.target.arch.value]
        assert elf["e_type"] == "ET_DYN"
        dynamic = _dynamic_section(elf)
        needed = _needed(dynamic)
        # musl is one library (libc.so, which is also its loader); glibc would add libm.so.6.
        assert needed == ["libc.so"], needed
        assert not any(isinstance(s, GNUVerNeedSection) for s in elf.iter_sections())
        symbols = _symbols(elf, ".dynsym")
        assert _named(symbols, "zw_format")[0]["st_shndx"] != "SHN_UNDEF"
        for function in ("malloc", "snprintf", "pow"):  # taken from libc at run time, not copied
            (symbol,) = _named(symbols, function)
            assert symbol["st_shndx"] == "SHN_UNDEF", function
    _machine, versions, _dynamic = elf_facts(lib)
    assert not versions


@pytest.mark.parametrize("name", ["x86_64-2_17", "aarch64-2_17"])
def test_cxx_program_links(
    name: str, shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    shims = shim_sets[name]
    exe = tmp_path / "prog-cxx"
    compile_with(shims.cxx, ["-O1", str(sources / "prog.cpp"), "-o", str(exe)], tmp_path)
    machine, versions, _dynamic = elf_facts(exe)
    assert machine == E_MACHINE[shims.target.arch.value]
    assert glibc_max(versions) <= (2, 17), sorted(versions)
    if shims.target.arch.value == os.uname().machine:
        result = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
        assert result.returncode == 0
        assert result.stdout.strip() == "cxx 6"


def test_static_archive_with_ar_and_ranlib(
    shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    shims = shim_sets["aarch64-2_17"]
    obj = tmp_path / "lib.o"
    archive = tmp_path / "libnorm.a"
    compile_with(shims.cc, ["-O2", "-fPIC", "-c", str(sources / "lib.c"), "-o", str(obj)], tmp_path)
    compile_with(shims.ar, ["crs", str(archive), str(obj)], tmp_path)
    compile_with(shims.ranlib, [str(archive)], tmp_path)
    main = tmp_path / "main.c"
    main.write_text(
        "double zw_norm(const double*, unsigned);\nint main(void){double v[2]={3,4};"
        "return zw_norm(v, 2) == 5.0 ? 0 : 1;}\n"
    )
    compile_with(shims.cc, [str(main), str(archive), "-o", str(tmp_path / "main"), "-lm"], tmp_path)
    machine, _versions, _dynamic = elf_facts(tmp_path / "main")
    assert machine == "EM_AARCH64"


def test_linker_flags_from_rustc_and_a_response_file(
    shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    """The flags newer rustc passes to the aarch64 linker, inline and in a response file."""
    shims = shim_sets["aarch64-2_17"]
    obj = tmp_path / "lib.o"
    archive = tmp_path / "libnorm.a"
    compile_with(shims.cc, ["-O2", "-fPIC", "-c", str(sources / "lib.c"), "-o", str(obj)], tmp_path)
    compile_with(shims.ar, ["crs", str(archive), str(obj)], tmp_path)
    response = tmp_path / "linker-arguments"
    response.write_text(
        "\n".join(
            [
                "-Wl,--fix-cortex-a53-843419",
                "-Wl,-znostart-stop-gc",
                "-Wl,--whole-archive",
                f"-Wl,{archive}",
                "-Wl,--no-whole-archive",
                "-lgcc_s",
                "-Wl,--undefined=zw_norm",
                "-target",
                "aarch64-unknown-linux-gnu",
                "-Wl,-plugin-opt=O2",
            ]
        )
        + "\n"
    )
    out = tmp_path / "libwhole.so"
    compile_with(
        shims.linker,
        ["-shared", f"@{response}", "-Wl,--no-undefined-version", "-o", str(out), "-lm"],
        tmp_path,
    )
    rewritten = response.read_text().splitlines()
    assert "-Wl,--fix-cortex-a53-843419" not in rewritten
    assert str(archive) in rewritten
    assert "-Wl,-u,zw_norm" in rewritten
    with out.open("rb") as handle:
        symbols = _symbols(ELFFile(handle), ".dynsym")
        assert symbols.get_symbol_by_name("zw_norm"), "--whole-archive member was not linked"


@pytest.mark.parametrize("name", ["x86_64-2_17", "aarch64-2_17", "aarch64-musl"])
@pytest.mark.parametrize("role", ["cc", "c++", "linker"])
def test_compiler_probes_answer_cleanly(
    name: str, role: str, shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    """The cc crate's, CMake's and meson's questions get the target's answer, exit 0, no error."""
    shims = shim_sets[name]
    tool = shims.paths()[role]
    expected = shims.target.zig_probe_triple.replace("-linux-", "-unknown-linux-")
    answers: dict[str, str] = {}
    for probe in ("--version", "-dumpmachine", "-print-target-triple", "-dumpversion"):
        result = subprocess.run([str(tool), probe], capture_output=True, text=True, check=False)
        assert (result.returncode, result.stderr) == (0, ""), f"{role} {probe}: {result.stderr}"
        answers[probe] = result.stdout
    assert "ziglang" in answers["--version"]  # how the cc crate recognises zig cc
    assert f"Target: {expected}\n" in answers["--version"]
    assert answers["-dumpmachine"] == answers["-print-target-triple"] == expected + "\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", answers["-dumpversion"])
    empty = tmp_path / "empty.c"
    empty.write_text("")
    result = subprocess.run(
        [str(tool), "-E", str(empty)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_shim_passes_arguments_with_spaces_and_quotes(
    shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    folder = tmp_path / "dir with 'quotes' and spaces"
    folder.mkdir()
    source = folder / "it's here.c"
    source.write_text(
        '#include <string.h>\nint main(void){return strcmp(MSG, "a b \\"c\\" $d");}\n'
    )
    exe = folder / "out prog"
    compile_with(
        shim_sets["x86_64-2_17"].cc,
        [str(source), '-DMSG="a b \\"c\\" $d"', "-o", str(exe)],
        tmp_path,
    )
    if os.uname().machine == "x86_64":
        assert subprocess.run([str(exe)], check=False).returncode == 0


def test_cli_env_output_evaluates_in_sh(session_cache: Path, tmp_path: Path) -> None:
    env = dict(os.environ, ZIGWHEEL_CACHE_DIR=str(session_cache))
    source = tmp_path / "hello.c"
    source.write_text("int main(void){return 0;}\n")
    script = (
        f'eval "$({sys.executable} -m zigwheel shims --target aarch64 --manylinux 2_17 --env)" && '
        f'"$CC_aarch64_unknown_linux_gnu" {source} -o {tmp_path / "hello"}'
    )
    result = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    machine, _versions, _dynamic = elf_facts(tmp_path / "hello")
    assert machine == "EM_AARCH64"


CONCURRENT_PUBLISH = """
import json, platform, sys, time
from pathlib import Path
from zigwheel.host import Host, current_os
from zigwheel.toolchain.native import build_program, host_triple
from zigwheel.toolchain.shims import publish_shims, render_shims
from zigwheel.toolchain.targets import resolve_target
from zigwheel.toolchain.zig import Zig
cache, binary, version, go = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
form = sys.argv[5]
zig = Zig(path=Path(binary), version=version, pinned=version, command=(binary,))
target = resolve_target("x86_64", "manylinux_2_17")
# The eight also race to build the one native program (each its own compile, one rename).
program = None
if form == "native":
    host = Host(current_os(), platform.machine())
    program = build_program(zig, cache, host_triple(host.os, host.arch))
files = render_shims(target, zig.command, form=form)  # all done before the common start
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
# publish_shims, not install_shims: no early return on a finished folder, every process stages
# its own copy and races for the rename.
done = publish_shims(target, zig, cache, files, program)
print(json.dumps({"dir": str(done.shim_set.directory), "staging": done.staging_name,
                  "won": done.won, "cc": str(done.shim_set.cc)}))
"""


def test_eight_processes_publish_the_same_shims_at_once(
    zig: Zig, shim_form: str, tmp_path: Path
) -> None:
    cache = tmp_path / "fresh-cache"
    cache.mkdir()
    go = tmp_path / "go"
    argv = [sys.executable, "-c", CONCURRENT_PUBLISH, str(cache), str(zig.path), zig.version]
    procs = [
        subprocess.Popen(
            [*argv, str(go), shim_form],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    for proc in procs:  # common start: every process has imported zigwheel and rendered
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", proc.communicate(timeout=120)[1]
    go.touch()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _out, err in outputs]
    results = [json.loads(out) for out, _err in outputs]
    # Every process staged its own copy, exactly one rename won, the seven others lost the race
    # (the loser path) and still got the same, complete folder.
    assert len({r["staging"] for r in results}) == 8
    assert sorted(r["won"] for r in results) == [False] * 7 + [True]
    directories = {r["dir"] for r in results}
    assert len(directories) == 1
    directory = Path(directories.pop())
    leftovers = [p.name for p in directory.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    files = render_shims(resolve_target("x86_64", "manylinux_2_17"), zig.command, form=shim_form)
    programs = {"cc", "c++", "ar", "ranlib", "linker"} if shim_form == "native" else set()
    assert {p.name for p in directory.iterdir()} == {*files, *programs, MANIFEST}
    for name, text in files.items():
        assert (directory / name).read_text() == text, name
    if shim_form == "native":  # each tool is a copy of the one program built in the cache
        (program,) = [p for p in directory.parent.iterdir() if p.name.startswith("native-")]
        for name in programs:
            assert (directory / name).read_bytes() == program.read_bytes()
    # Every shim of the published folder works: compile, archive, index, link C and C++.
    lib = tmp_path / "lib.c"
    lib.write_text("int zw_answer(void){return 42;}\n")
    main = tmp_path / "main.cpp"
    main.write_text('extern "C" int zw_answer(void);\nint main(){return zw_answer() - 42;}\n')
    archive = tmp_path / "libanswer.a"
    compile_with(directory / "cc", ["-c", str(lib), "-o", str(tmp_path / "lib.o")], tmp_path)
    compile_with(directory / "ar", ["cr", str(archive), str(tmp_path / "lib.o")], tmp_path)
    compile_with(directory / "ranlib", [str(archive)], tmp_path)
    compile_with(directory / "c++", ["-c", str(main), "-o", str(tmp_path / "main.o")], tmp_path)
    exe = tmp_path / "answer"
    compile_with(
        directory / "linker",
        [str(tmp_path / "main.o"), str(archive), "-lc++", "-o", str(exe)],
        tmp_path,
    )
    with exe.open("rb") as handle:
        assert _symbols(ELFFile(handle), ".symtab").get_symbol_by_name("zw_answer")
    if os.uname().machine == "x86_64":
        assert subprocess.run([str(exe)], check=False).returncode == 0


OTHER_ARCHES = {
    # arch: (policy, pyelftools e_machine, flags the cc crate passes for the Rust target)
    "i686": ("manylinux_2_17", "EM_386", ["-m32", "-march=i686"]),
    "armv7l": ("manylinux_2_17", "EM_ARM", ["-march=armv7-a", "-mfpu=vfpv3-d16"]),
    "ppc64le": ("manylinux_2_28", "EM_PPC64", ["-m64"]),
    "s390x": ("manylinux_2_17", "EM_S390", ["-march=z10"]),
    "riscv64": ("manylinux_2_31", "EM_RISCV", ["-march=rv64gc", "-mabi=lp64d"]),
}


@pytest.mark.parametrize("arch", sorted(OTHER_ARCHES))
def test_other_architectures_link_within_their_policy(
    arch: str, zig: Zig, session_cache: Path, shim_form: str, *, sources: Path, tmp_path: Path
) -> None:
    policy, machine_name, cc_rs_flags = OTHER_ARCHES[arch]
    shims = install_shims(resolve_target(arch, policy), zig, session_cache, form=shim_form)
    exe = tmp_path / "prog"
    # The -march/-m flags the cc crate passes for these targets must not break the compile.
    compile_with(
        shims.cc,
        [
            *cc_rs_flags,
            "-O2",
            "-D_FOO=1",
            str(sources / "prog.c"),
            "-o",
            str(exe),
            "-lm",
            "-lpthread",
        ],
        tmp_path,
    )
    machine, versions, _dynamic = elf_facts(exe)
    assert machine == machine_name
    floor = tuple(int(p) for p in policy.split("_")[1:])
    assert glibc_max(versions) <= floor, sorted(versions)


CMAKE_PROJECT = """
cmake_minimum_required(VERSION 3.13)
project(zwdemo C CXX)
add_library(norm STATIC lib.c)
add_executable(demo prog.cpp)
target_link_libraries(demo PRIVATE norm m)
"""


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_cmake_toolchain_file_cross_builds(
    shim_sets: dict[str, ShimSet], sources: Path, tmp_path: Path
) -> None:
    shims = shim_sets["aarch64-2_17"]
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(CMAKE_PROJECT)
    shutil.copy(sources / "lib.c", project / "lib.c")
    shutil.copy(sources / "prog.cpp", project / "prog.cpp")
    build = tmp_path / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "CFLAGS", "CXXFLAGS")}
    configure = subprocess.run(
        [
            "cmake",
            "-S",
            str(project),
            "-B",
            str(build),
            "-G",
            "Unix Makefiles",
            f"-DCMAKE_TOOLCHAIN_FILE={shims.cmake_toolchain}",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert configure.returncode == 0, configure.stdout + configure.stderr
    cache = (build / "CMakeCache.txt").read_text()
    assert f"CMAKE_AR:FILEPATH={shims.ar}" in cache
    built = subprocess.run(
        ["cmake", "--build", str(build)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    machine, versions, _dynamic = elf_facts(build / "demo")
    assert machine == "EM_AARCH64"
    assert glibc_max(versions) <= (2, 17), sorted(versions)


FIND_PROJECT = """
cmake_minimum_required(VERSION 3.13)
project(zwfind C)
find_path(ZW_STDIO stdio.h)
find_library(ZW_LIBM m)
find_path(ZW_HOST_H zwhost.h)
find_library(ZW_HOST_LIB zwhost)
find_path(ZW_TARGET_H zwtarget.h)
foreach(name ZW_STDIO ZW_LIBM ZW_HOST_H ZW_HOST_LIB ZW_TARGET_H)
  message(STATUS "zwfind ${name}=${${name}}")
endforeach()
"""


def cmake_finds(project: Path, build: Path, *options: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "CFLAGS", "CXXFLAGS")}
    configure = subprocess.run(
        ["cmake", "-S", str(project), "-B", str(build), "-G", "Unix Makefiles", *options],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert configure.returncode == 0, configure.stdout + configure.stderr
    found = {}
    for line in configure.stdout.splitlines():
        if line.startswith("-- zwfind "):
            name, _, value = line[len("-- zwfind ") :].partition("=")
            found[name] = value
    return found


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
@pytest.mark.parametrize("name", ["x86_64-2_17", "aarch64-2_17"])
def test_cmake_toolchain_finds_no_host_headers_or_libraries(
    name: str, shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    """find_path/find_library never return the build machine's files; a user's root still works."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(FIND_PROJECT)
    # A host-only prefix (like a library installed on the build machine) ...
    host = tmp_path / "host-prefix"
    (host / "include").mkdir(parents=True)
    (host / "include" / "zwhost.h").write_text("")
    (host / "lib").mkdir()
    (host / "lib" / "libzwhost.a").write_bytes(b"!<arch>\n")
    # ... and a root for the target that a user names on purpose.
    target_root = tmp_path / "target-root"
    (target_root / "usr" / "include").mkdir(parents=True)
    (target_root / "usr" / "include" / "zwtarget.h").write_text("")
    prefix = f"-DCMAKE_PREFIX_PATH={host}"

    native = cmake_finds(project, tmp_path / "native", prefix)
    # Control: without the toolchain file the same project finds the host's files.
    assert native["ZW_HOST_H"] == str(host / "include")
    assert native["ZW_HOST_LIB"] == str(host / "lib" / "libzwhost.a")
    if Path("/usr/include/stdio.h").is_file():
        assert native["ZW_STDIO"] == "/usr/include"

    toolchain = f"-DCMAKE_TOOLCHAIN_FILE={shim_sets[name].cmake_toolchain}"
    cross = cmake_finds(project, tmp_path / "cross", toolchain, prefix)
    for variable in ("ZW_STDIO", "ZW_LIBM", "ZW_HOST_H", "ZW_HOST_LIB", "ZW_TARGET_H"):
        assert cross[variable] == f"{variable}-NOTFOUND", cross

    rooted = cmake_finds(
        project, tmp_path / "rooted", toolchain, prefix, f"-DCMAKE_FIND_ROOT_PATH={target_root}"
    )
    assert rooted["ZW_TARGET_H"] == str(target_root / "usr" / "include")
    assert rooted["ZW_STDIO"] == "ZW_STDIO-NOTFOUND"
    assert rooted["ZW_HOST_H"] == "ZW_HOST_H-NOTFOUND"


@pytest.mark.parametrize(
    "flags",
    [
        ["-Wl,--dynamic-list=DL"],
        ["-Wl,--dynamic-list", "-Wl,DL"],
        ["-Wl,-rpath-link,/nonexistent"],
        ["-Wl,--icf=all"],
        ["-Wl,-znostart-stop-gc"],
        ["-Wl,-plugin-opt=O2"],
        ["-Wl,--undefined=main"],
        ["-Wp,-U_FORTIFY_SOURCE", "-Wp,-D_FORTIFY_SOURCE=2", "-O2"],
        ["-target", "x86_64-unknown-linux-gnu", "--target=x86_64-unknown-linux-gnu"],
        ["-march=x86-64-v2"],
    ],
)
def test_flags_zig_rejects_are_rewritten(
    flags: list[str], zig: Zig, shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    """Each of these makes plain `zig cc` fail; through the shim the link succeeds."""
    source = tmp_path / "hello.c"
    source.write_text("int main(void){return 0;}\n")
    (tmp_path / "DL").write_text("{ main; };\n")
    flags = [flag.replace("DL", str(tmp_path / "DL")) for flag in flags]
    target = shim_sets["x86_64-2_17"].target
    direct = subprocess.run(
        [
            *zig.command,
            "cc",
            "-target",
            target.zig_triple,
            *flags,
            str(source),
            "-o",
            str(tmp_path / "direct"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert direct.returncode != 0, f"zig accepts {flags} now; the rule may be obsolete"
    compile_with(
        shim_sets["x86_64-2_17"].cc, [*flags, str(source), "-o", str(tmp_path / "out")], tmp_path
    )


UNWINDER = textwrap.dedent(
    """
    #include <unwind.h>
    static _Unwind_Reason_Code count(struct _Unwind_Context *c, void *n) {
        (void)c; ++*(int *)n; return _URC_NO_REASON;
    }
    int zw_depth(void) { int n = 0; _Unwind_Backtrace(count, &n); return n; }
    """
)


@pytest.mark.parametrize("name", ["x86_64-2_17", "aarch64-musl"])
def test_flags_the_pinned_zig_handles_without_a_rule(
    name: str, shim_sets: dict[str, ShimSet], tmp_path: Path
) -> None:
    """rustc's -lgcc_s and -Wl,--no-undefined-version reach zig unchanged and do their job.

    If a new zig pin stops doing this, these fail and the rules come back to rewrites.toml.
    """
    shims = shim_sets[name]
    source = tmp_path / "unwind.c"
    source.write_text(UNWINDER)
    (tmp_path / "good.map").write_text("{ global: zw_depth; local: *; };\n")
    (tmp_path / "bad.map").write_text("{ global: zw_depth; zw_absent; local: *; };\n")
    lib = tmp_path / "libunwinder.so"
    base = ["-shared", "-fPIC", str(source), "-o", str(lib), "-lgcc_s"]
    compile_with(shims.linker, [*base, "-Wl,--version-script=good.map"], tmp_path)
    with lib.open("rb") as handle:
        elf = ELFFile(handle)
        dynamic = _dynamic_section(elf)
        needed = _needed(dynamic)
        assert not [n for n in needed if "gcc_s" in n], needed  # no libgcc_s at run time ...
        dynsym = _symbols(elf, ".dynsym")
        assert dynsym.get_symbol_by_name("_Unwind_Backtrace") is None  # ... its unwinder is inside
        assert dynsym.get_symbol_by_name("zw_depth")
    # --no-undefined-version reaches lld, not dropped: it overrides an earlier
    # --undefined-version (which alone lets the bad script through), so the link fails.
    compile_with(
        shims.linker, [*base, "-Wl,--version-script=bad.map", "-Wl,--undefined-version"], tmp_path
    )
    strict = subprocess.run(
        [
            str(shims.linker),
            *base,
            "-Wl,--version-script=bad.map",
            "-Wl,--undefined-version",
            "-Wl,--no-undefined-version",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert strict.returncode != 0
    assert "zw_absent" in strict.stderr


@pytest.mark.parametrize(
    "arch", ["x86_64", "aarch64", "i686", "armv7l", "ppc64le", "s390x", "riscv64"]
)
def test_zig_glibc_floor_in_the_table_is_exact(arch: str, zig: Zig, tmp_path: Path) -> None:
    """zig_min_glibc links; one glibc below it (if a policy asks for it) does not."""
    info = load_table().arches[Arch(arch)]
    source = tmp_path / "probe.c"
    source.write_text("int main(void){return 0;}\n")

    def links(minor: int) -> bool:
        triple = f"{info.zig[Libc.GLIBC]}.2.{minor}"
        argv = [*zig.command, "cc", "-target", triple, str(source), "-o", str(tmp_path / "p")]
        return subprocess.run(argv, capture_output=True, check=False, timeout=600).returncode == 0

    floor_minor = info.zig_min_glibc[1]
    assert links(floor_minor)
    oldest_policy_minor = int(info.manylinux[0].split("_")[1])
    if floor_minor > oldest_policy_minor:
        assert not links(floor_minor - 1)
