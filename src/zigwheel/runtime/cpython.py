"""Test-root Pythons: CPython built from Debian's source packages with the pinned zig."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigwheel import _proc
from zigwheel.cache import staged_folder
from zigwheel.errors import CacheError, CommandFailedError, ConfigError, DataError, ToolchainError
from zigwheel.platforms import Libc, lookup
from zigwheel.resources import data_dir, load_toml

Progress = Callable[[str], None]

MARKER = ".zigwheel-python.json"
PREFIX = "/usr/local"  # where the Python lives inside a root (beside Debian's own /usr)
_OLDEST_GLIBC = (2, 17)  # the manylinux2014 floor: the build runs on every root zigwheel makes
_STEP_TIMEOUT = 3600.0  # seconds for one step (configure, make) on a slow machine
_FAILURE_LINES = 40  # of a failed step's output in the error


@dataclass(frozen=True)
class Recipe:
    """data/cpython-builds.toml, validated."""

    sources: Mapping[str, str]  # "3.11" -> the Debian release whose python3.11 is built
    zlib_package: str
    zlib_files: tuple[str, ...]
    zlib_defines: tuple[str, ...]
    configure_options: tuple[str, ...]
    cflags: tuple[str, ...]
    opt: str  # CPython's OPT make variable
    config_site: Mapping[str, str]
    musl_config_site: Mapping[str, str]
    musl_cflags: tuple[str, ...]
    musl_patches: tuple[tuple[str, str, str], ...]  # (file, old text, new text)
    prune_paths: tuple[str, ...]
    prune_globs: tuple[str, ...]


def load_recipe() -> Recipe:
    """Load and validate data/cpython-builds.toml."""
    path = data_dir() / "cpython-builds.toml"
    data = load_toml(path)

    def strings(value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            msg = f"{path.name}: {key} must be a list of strings"
            raise DataError(msg, hint="reinstall zigwheel; the package data is damaged")
        return tuple(value)

    def table(value: Any, key: str) -> dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            msg = f"{path.name}: [{key}] must map names to strings"
            raise DataError(msg, hint="reinstall zigwheel; the package data is damaged")
        return dict(value)

    try:
        configure = data["configure"]
        return Recipe(
            sources=table(data["sources"], "sources"),
            zlib_package=str(data["zlib"]["package"]),
            zlib_files=strings(data["zlib"]["files"], "zlib.files"),
            zlib_defines=strings(data["zlib"]["defines"], "zlib.defines"),
            configure_options=strings(configure["options"], "configure.options"),
            cflags=strings(configure["cflags"], "configure.cflags"),
            opt=str(configure["opt"]),
            config_site=table(configure["site"], "configure.site"),
            musl_config_site=table(data["musl"]["site"], "musl.site"),
            musl_cflags=strings(data["musl"]["cflags"], "musl.cflags"),
            musl_patches=tuple(
                (str(item["file"]), str(item["old"]), str(item["new"]))
                for item in data["musl"]["patches"]
            ),
            prune_paths=strings(data["prune"]["paths"], "prune.paths"),
            prune_globs=strings(data["prune"]["globs"], "prune.globs"),
        )
    except (KeyError, TypeError) as err:
        msg = f"{path.name} lacks the key {err}"
        raise DataError(msg, hint="reinstall zigwheel; the package data is damaged") from err


@dataclass(frozen=True)
class PythonTarget:
    """Which CPython to build: its version, the machine and libc it runs on, zig's target."""

    version: str  # "3.11"
    arch: str  # the wheel tag's spelling: x86_64, aarch64
    libc: Libc
    zig_target: str  # x86_64-linux-gnu.2.17
    gnu_host: str  # configure's --host: x86_64-linux-gnu
    release: str  # the Debian release whose source package is built

    @property
    def name(self) -> str:
        """The cache folder's name, e.g. ``cpython3.11-x86_64-linux-gnu.2.17``."""
        return f"cpython{self.version}-{self.zig_target}"


def plan_target(version: str, arch: str, libc: Libc, recipe: Recipe) -> PythonTarget:
    """The build of CPython ``version`` for ``arch``/``libc``; ConfigError for what cannot be."""
    release = recipe.sources.get(version)
    if release is None:
        msg = f"zigwheel builds no CPython {version}"
        raise ConfigError(msg, hint=f"choose one of: {', '.join(recipe.sources)}")
    row = lookup(arch)
    if row is None or not row.build or libc not in row.zig:
        msg = f"zigwheel builds no CPython for {arch} with {libc}"
        raise ConfigError(msg, hint="choose x86_64 or aarch64 (or another arch zigwheel builds)")
    zig_triple = row.zig[libc]
    if libc is Libc.MUSL:
        zig_target = zig_triple  # musl has no version in zig's triple: it is 1.2.x
    else:
        glibc = max(row.zig_min_glibc, _OLDEST_GLIBC)
        zig_target = f"{zig_triple}.{glibc[0]}.{glibc[1]}"
    return PythonTarget(
        version=version,
        arch=row.name,
        libc=libc,
        zig_target=zig_target,
        gnu_host=zig_triple,
        release=release,
    )


def shim_scripts(zig: Sequence[str], target: PythonTarget, cflags: Sequence[str]) -> dict[str, str]:
    """The tools configure and make call, as sh scripts: zig for the compiler and archiver.

    ``readelf`` and ``dpkg-architecture`` answer "no": configure only needs readelf's path,
    and setup.py would otherwise add the build machine's multiarch include folder (Debian's
    glibc headers) to every module's compile line.
    """
    zig_words = " ".join(shlex.quote(word) for word in zig)
    flags = " ".join(shlex.quote(flag) for flag in cflags)
    cc = f"{zig_words} cc -target {target.zig_target}"
    return {
        # setup.py reads the compiler's include folders from `-E -v -`, and zig's answer for
        # stdin is the build machine's (/usr/include): the target's headers come first anyway.
        "cc": f'#!/bin/sh\nif [ "$*" = "-E -v -" ]; then exec {cc} -E -; fi\n'
              f'exec {cc} {flags} "$@"\n',
        "ar": f'#!/bin/sh\nexec {zig_words} ar "$@"\n',
        "ranlib": f'#!/bin/sh\nexec {zig_words} ranlib "$@"\n',
        "readelf": "#!/bin/sh\nexit 1\n",
        "dpkg-architecture": "#!/bin/sh\nexit 1\n",
    }


def config_site(recipe: Recipe, libc: Libc = Libc.GLIBC) -> str:
    """The CONFIG_SITE file: answers configure cannot get by running target programs."""
    answers = dict(recipe.config_site)
    if libc is Libc.MUSL:
        answers.update(recipe.musl_config_site)
    return "".join(f"{key}={value}\n" for key, value in answers.items())


def target_cflags(recipe: Recipe, libc: Libc) -> tuple[str, ...]:
    """The flags every compile and link of the build gets."""
    return (*recipe.cflags, *(recipe.musl_cflags if libc is Libc.MUSL else ()))


def configure_argv(
    target: PythonTarget, *, build_python: str, build_triple: str, recipe: Recipe
) -> list[str]:
    """``./configure`` for a cross build into PREFIX (the target's libc is never the host's)."""
    return [
        "./configure",
        f"--build={build_triple}",
        f"--host={target.gnu_host}",
        f"--prefix={PREFIX}",
        f"--with-build-python={build_python}",
        *recipe.configure_options,
    ]


def build_env(
    env: Mapping[str, str], *, shims: Path, deps: Path, site: Path, opt: str
) -> dict[str, str]:
    """The environment of configure and make: the shims first on PATH, zlib's folders."""
    dropped = ("PYTHON", "CFLAGS", "CPPFLAGS", "LDFLAGS", "OPT", "MAKEFLAGS")
    out = {key: value for key, value in env.items() if not key.startswith(dropped)}
    out.update({
        "OPT": opt,
        "PATH": f"{shims}{os.pathsep}{env.get('PATH', os.defpath)}",
        "CC": str(shims / "cc"),
        "AR": str(shims / "ar"),
        "RANLIB": str(shims / "ranlib"),
        "READELF": str(shims / "readelf"),
        "CONFIG_SITE": str(site),
        "CPPFLAGS": f"-I{deps / 'include'}",
        "LDFLAGS": f"-L{deps / 'lib'}",
    })  # fmt: skip
    return out


@dataclass(frozen=True)
class BuiltPython:
    """A CPython installed under ``path`` (its files under ``path``/usr/local)."""

    path: Path
    version: str  # "3.11"
    full_version: str  # "3.11.2"
    zig_target: str
    source: str  # "python3.11 3.11.2-6+deb12u8 (bookworm)"
    from_cache: bool

    @property
    def executable(self) -> str:
        """The interpreter's path inside a root."""
        return f"{PREFIX.lstrip('/')}/bin/python{self.version}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "path": str(self.path),
            "version": self.version,
            "full_version": self.full_version,
            "zig_target": self.zig_target,
            "source": self.source,
            "from_cache": self.from_cache,
        }


def read_built(path: Path) -> BuiltPython | None:
    """The finished build at ``path`` (its marker), or None."""
    try:
        data = json.loads((path / MARKER).read_text())
        return BuiltPython(
            path, str(data["version"]), str(data["full_version"]), str(data["zig_target"]),
            str(data["source"]), from_cache=True,
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Sources:
    """The two source tarballs a build needs, downloaded and verified."""

    python: Path
    python_source: str  # "python3.11 3.11.2-6+deb12u8 (bookworm)"
    zlib: Path


def build_python(
    target: PythonTarget,
    *,
    sources: Sources,
    dest: Path,
    zig: Sequence[str],
    build_python_exe: str,
    env: Mapping[str, str],
    recipe: Recipe,
    progress: Progress,
    jobs: int = 0,
) -> BuiltPython:
    """Build CPython into ``dest``: zlib, configure, make, install, prune, in a sibling folder
    renamed into place at the end, so a failed or interrupted build leaves nothing behind."""
    found = read_built(dest)
    if found is not None:
        return found
    if shutil.which("make", path=env.get("PATH", os.defpath)) is None:
        msg = "make is needed to build CPython and was not found on PATH"
        raise ToolchainError(msg, hint="install make (Debian/Ubuntu: apt-get install make)")
    renaming = False
    try:
        with staged_folder(dest) as staging:
            built = _build_into(target, staging, sources=sources, zig=zig, env=env, recipe=recipe,
                                build_python_exe=build_python_exe, progress=progress,
                                jobs=jobs or os.cpu_count() or 2)  # fmt: skip
            renaming = True
    except OSError as err:
        if not renaming:
            raise
        finished = read_built(dest)
        if finished is not None:  # another process finished the same build first
            return finished
        msg = f"cannot move the built Python to {dest}: {err}"
        raise CacheError(msg, hint="check the cache folder's permissions") from err
    return BuiltPython(dest, built.version, built.full_version, built.zig_target, built.source,
                       from_cache=False)  # fmt: skip


def _build_into(
    target: PythonTarget,
    out: Path,
    *,
    sources: Sources,
    zig: Sequence[str],
    env: Mapping[str, str],
    recipe: Recipe,
    build_python_exe: str,
    progress: Progress,
    jobs: int,
) -> BuiltPython:
    work = out / "build"
    shims, deps = work / "bin", work / "deps"
    for folder in (shims, deps / "include", deps / "lib"):
        folder.mkdir(parents=True)
    for name, text in shim_scripts(zig, target, target_cflags(recipe, target.libc)).items():
        (shims / name).write_text(text)
        (shims / name).chmod(0o755)
    site = work / "config.site"
    site.write_text(config_site(recipe, target.libc))
    run_env = build_env(env, shims=shims, deps=deps, site=site, opt=recipe.opt)

    progress(f"building zlib for {target.zig_target}")
    zlib_dir = _unpack(sources.zlib, work)
    for name in recipe.zlib_files:
        defines = [f"-D{define}" for define in recipe.zlib_defines]
        _step(f"compiling zlib's {name}", [shims / "cc", "-O2", "-fPIC", *defines, "-c", name],
              cwd=zlib_dir, env=run_env)  # fmt: skip
    objects = [Path(name).with_suffix(".o").name for name in recipe.zlib_files]
    _step("archiving zlib", [shims / "ar", "rcs", deps / "lib" / "libz.a", *objects],
          cwd=zlib_dir, env=run_env)  # fmt: skip
    for header in ("zlib.h", "zconf.h"):
        shutil.copy2(zlib_dir / header, deps / "include" / header)

    source = _unpack(sources.python, work)
    if target.libc is Libc.MUSL:
        _patch(source, recipe.musl_patches)
    full_version = _full_version(source)
    build_triple = _build_triple(source, run_env)
    progress(f"configuring CPython {full_version} for {target.zig_target}")
    _step("configure", configure_argv(target, build_python=build_python_exe,
                                      build_triple=build_triple, recipe=recipe),
          cwd=source, env=run_env)  # fmt: skip
    progress(f"compiling CPython {full_version} ({jobs} jobs; a few minutes)")
    started = time.monotonic()
    _step("make", ["make", f"-j{jobs}"], cwd=source, env=run_env)
    progress(f"compiled in {time.monotonic() - started:.0f} s; installing it")
    image = out / "image"
    _step("make altinstall", ["make", "altinstall", f"DESTDIR={image}"], cwd=source, env=run_env)
    prefix = image / PREFIX.lstrip("/")
    _prune(prefix, target.version, recipe)
    shutil.rmtree(work)
    for child in image.iterdir():
        child.rename(out / child.name)
    image.rmdir()
    built = BuiltPython(out, target.version, full_version, target.zig_target,
                        sources.python_source, from_cache=False)  # fmt: skip
    document = built.to_json()
    for key in ("path", "from_cache"):
        document.pop(key)
    (out / MARKER).write_text(json.dumps(document, indent=2) + "\n")
    return built


def _step(what: str, argv: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str]) -> None:
    """Run one build step; its failure names the step and shows the end of its output."""
    result = _proc.run(argv, cwd=cwd, env=env, check=False, own_group=True,
                       timeout=_STEP_TIMEOUT)  # fmt: skip
    if result.returncode != 0:
        msg = f"building CPython failed at {what} (exit code {result.returncode})"
        raise CommandFailedError(
            msg, command=[str(a) for a in argv], returncode=result.returncode,
            output=_proc.tail(result.stdout, _FAILURE_LINES),
            hint="the output above says why; nothing of the build was kept",
        )  # fmt: skip


def _unpack(tarball: Path, into: Path) -> Path:
    """Unpack a source tarball under ``into``; return its one top folder."""
    with tarfile.open(tarball) as archive:
        tops = {member.name.split("/", 1)[0] for member in archive.getmembers()}
        if len(tops) != 1:
            msg = f"{tarball.name} does not hold one top folder"
            hint = "the source package has an unexpected layout"
            raise CommandFailedError(msg, command=["tar"], returncode=1, hint=hint)
        try:
            archive.extractall(into, filter="data")  # type: ignore[call-arg,unused-ignore]
        except TypeError:  # Python before 3.11.4 / 3.10.12: no filter argument
            archive.extractall(into)  # a verified Debian source tarball
    return into / tops.pop()


def _patch(source: Path, patches: Sequence[tuple[str, str, str]]) -> None:
    """Apply the recipe's text replacements; one whose text is absent (fixed upstream) is
    skipped."""
    for name, old, new in patches:
        path = source / name
        text = path.read_text()
        if old in text:
            path.write_text(text.replace(old, new))


def _full_version(source: Path) -> str:
    """PY_VERSION from Include/patchlevel.h, e.g. 3.11.2."""
    for line in (source / "Include" / "patchlevel.h").read_text().splitlines():
        words = line.split()
        if len(words) == 3 and words[:2] == ["#define", "PY_VERSION"]:
            return words[2].strip('"').rstrip("+")
    return "?"


def _build_triple(source: Path, env: Mapping[str, str]) -> str:
    """The build machine's triple, by CPython's own config.guess."""
    result = _proc.run(["sh", source / "config.guess"], cwd=source, env=env, check=False)
    triple = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not triple:
        msg = "CPython's config.guess could not name this build machine"
        raise ToolchainError(msg, hint=_proc.tail(result.stdout, 5) or "check that sh works")
    return triple


def _prune(prefix: Path, version: str, recipe: Recipe) -> None:
    for relative in recipe.prune_paths:
        shutil.rmtree(prefix / relative.format(v=version), ignore_errors=True)
    for pattern in recipe.prune_globs:
        for path in prefix.glob(pattern.format(v=version)):
            path.unlink()


__all__ = [
    "MARKER",
    "BuiltPython",
    "PythonTarget",
    "Recipe",
    "Sources",
    "build_python",
    "load_recipe",
    "plan_target",
    "read_built",
]
