"""Use-case `zigwheel check`: the manylinux/musllinux policy a wheel's ELF files satisfy and why."""

from __future__ import annotations

import contextlib
import logging
import posixpath
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zigwheel.compliance.archive import (
    DEFAULT_LIMITS,
    Limits,
    WheelArchive,
    WheelName,
    parse_wheel_name,
    unsafe_member_name,
)
from zigwheel.compliance.elf import (
    STT_FUNC,
    STT_NOTYPE,
    ElfInfo,
    is_elf,
    module_init_names,
    parse_elf,
)
from zigwheel.compliance.policy import (
    GLIBC,
    MUSL,
    PlatformTag,
    Policy,
    PolicyLadder,
    build_flag,
    ladder,
    parse_platform_tag,
)
from zigwheel.errors import UnreadableInputError

log = logging.getLogger(__name__)

JSON_VERSION = 1
# The `policy` values that are not platform tags: "any" for a wheel without ELF files, and
# "unknown" when there is no verdict: the wheel (or one of its members) could not be read, or
# none of its ELF files is for an architecture a wheel tag can name.
PURE_POLICY = "any"
UNKNOWN_POLICY = "unknown"
_LIBPYTHON_RE = re.compile(r"^libpython\d+\.\d+m?.so(\.\d)*$")
_ORIGIN_RE = re.compile(r"\$(ORIGIN|\{ORIGIN\})")
_PYFPE = frozenset({"PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"})
_WHEEL_ROOT = "/\x00wheel"  # a path prefix no real directory has: stands for the wheel's root
_MAX_SYMBOLS_SHOWN = 3
_WORKERS = 2  # members inflated at once
# Members above this size are inflated and parsed one at a time, so memory holds at most one big
# member (up to Limits.max_member_bytes) and one smaller one, not two multi-GB CUDA libraries.
_BIG_MEMBER = 256 << 20


@dataclass(frozen=True)
class OffendingSymbol:
    """An imported symbol the most restrictive claimed tag forbids.

    Either its version is too new, or the policy blacklists the symbol of that library
    (e.g. libz's ``_tr_flush_block``); a blacklisted symbol is usually unversioned: version None.
    """

    symbol: str
    version: str | None
    library: str

    @property
    def label(self) -> str:
        """``symbol@version``, or ``symbol (blacklisted in library)`` for an unversioned import."""
        if self.version:
            return f"{self.symbol}@{self.version}"
        return f"{self.symbol} (blacklisted in {self.library})"

    def to_json(self) -> dict[str, str | None]:
        """JSON form: {"symbol", "version" (null when unversioned), "library"}."""
        return {"symbol": self.symbol, "version": self.version, "library": self.library}


@dataclass
class ElfReport:
    """What one ELF file in the wheel needs."""

    path: str
    arch: str | None
    needed: list[str]
    versions: dict[str, list[str]]
    offending: list[OffendingSymbol] = field(default_factory=list)
    note: str | None = None  # why the ELF was left out of the verdict, if it was

    def to_json(self) -> dict[str, Any]:
        """JSON form (schema version 1)."""
        return {
            "path": self.path,
            "arch": self.arch,
            "needed": list(self.needed),
            "versions": {lib: list(v) for lib, v in self.versions.items()},
            "offending": [o.to_json() for o in self.offending],
        }


@dataclass
class WheelReport:
    """The verdict on one wheel: claimed tags, the policy its content satisfies, the problems."""

    wheel: str
    path: str
    claimed: list[str]
    policy: str
    compliant: bool
    problems: list[str]
    elves: list[ElfReport]
    readable: bool = True

    def to_json(self) -> dict[str, Any]:
        """JSON form (schema version 1, one entry of "wheels")."""
        return {
            "wheel": self.wheel,
            "path": self.path,
            "claimed": list(self.claimed),
            "policy": self.policy,
            "compliant": self.compliant,
            "problems": list(self.problems),
            "elves": [e.to_json() for e in self.elves],
        }


def reports_to_json(reports: Iterable[WheelReport]) -> dict[str, Any]:
    """The ``--json`` document for several wheels."""
    return {"version": JSON_VERSION, "wheels": [r.to_json() for r in reports]}


def check_paths(paths: Sequence[Path], *, limits: Limits = DEFAULT_LIMITS) -> list[WheelReport]:
    """Check every wheel given, expanding folders to the ``*.whl`` files inside them (sorted)."""
    reports: list[WheelReport] = []
    for path in paths:
        if path.is_dir():
            wheels = sorted(p for p in path.rglob("*.whl") if p.is_file())
            if not wheels:
                reports.append(_unreadable(path, f"{path} holds no .whl files"))
            reports.extend(check_wheel(w, limits=limits) for w in wheels)
        else:
            reports.append(check_wheel(path, limits=limits))
    return reports


def check_wheel(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> WheelReport:
    """Check one wheel. Never raises for a bad file: the problem is in the report."""
    if not path.exists():  # before the name: `check dist` with no dist folder is not a name issue
        return _unreadable(path, f"{path}: no such file or folder")
    try:
        name = parse_wheel_name(path.name)
    except UnreadableInputError as err:
        return _unreadable(path, str(err))
    if not path.is_file():
        return _unreadable(path, f"{path} is not a file", list(name.platforms))
    try:
        with WheelArchive(path, limits=limits) as archive:
            return _Analysis(path, name, archive).run()
    except UnreadableInputError as err:
        return _unreadable(path, str(err), list(name.platforms))


def one_line(text: str) -> str:
    """``text`` with control characters (from names inside a hostile file) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _unreadable(path: Path, problem: str, claimed: list[str] | None = None) -> WheelReport:
    return WheelReport(
        wheel=path.name,
        path=str(path),
        claimed=claimed or [],
        policy=UNKNOWN_POLICY,
        compliant=False,
        problems=[one_line(problem)],
        elves=[],
        readable=False,
    )


def _member_problem(member: str, problem: str) -> str:
    """One line for a member that could not be read or parsed, naming the member once."""
    problem = problem.removeprefix(f"member {member} ").removeprefix(f"member {member}: ")
    return f"{member}: {problem}"


@dataclass
class _Elf:
    path: str  # member name inside the wheel
    info: ElfInfo
    extension: bool = False
    py_major: int | None = None


@dataclass(frozen=True)
class _Evaluation:
    ladder: PolicyLadder
    reasons: dict[str, list[str]]  # policy name -> why the content fails it
    satisfied: list[Policy]
    overall: Policy  # auditwheel's overall policy
    external: dict[str, bool]  # policy name -> the content needs libraries from the host


@dataclass
class _Lib:
    in_wheel: str | None  # member path when the library resolves inside the wheel
    needed: tuple[str, ...] = ()


def _elf_libc(elf: _Elf) -> tuple[str | None, str | None]:
    """(libc, error) for one ELF: interpreter, then DT_NEEDED, then the file-name suffix."""
    info = elf.info
    libc: str | None = None
    if info.interpreter is not None:
        libc = MUSL if posixpath.basename(info.interpreter).startswith("ld-musl-") else GLIBC
    for soname in info.needed:
        found = None
        if soname.startswith(("libc.musl-", "ld-musl-")):
            found = MUSL
        elif soname == "libc.so.6" or soname.startswith(("ld-linux-", "ld64.so.")):
            found = GLIBC
        if found is not None:
            if libc is not None and libc != found:
                return None, f"{elf.path} mixes glibc and musl ({soname})"
            libc = found
    if libc is None:
        base = posixpath.basename(elf.path)
        if base.endswith(("-arm-linux-musleabihf.so", "-linux-musl.so")):
            libc = MUSL
        elif base.endswith(("-arm-linux-gnueabihf.so", "-linux-gnu.so")):
            soabi = base.rsplit(".", 2)[-2].split("-") if base.count(".") >= 2 else [""]
            if (
                len(soabi) > 1
                and soabi[0] == "cpython"
                and soabi[1][:1] == "3"
                and soabi[1][1:3].isdigit()
                and int(soabi[1][1:3]) >= 11
            ):
                libc = GLIBC
    return libc, None


class _Analysis:
    """One wheel's analysis, following auditwheel's `show` algorithm without touching the host."""

    def __init__(self, path: Path, name: WheelName, archive: WheelArchive) -> None:
        self.path = path
        self.name = name
        self.archive = archive
        self.problems: list[str] = []
        self.readable = True
        self.reports: dict[str, ElfReport] = {}
        self.parsed: dict[str, _Elf] = {}  # every parsed ELF, by member path
        self.accepted: list[_Elf] = []
        self.libc_evidence = False  # some accepted ELF shows which libc it needs
        self.tags = [parse_platform_tag(t) for t in name.platforms]
        self._big = threading.Lock()
        self.top: list[_Elf] = []  # the ELF files the wheel's users load first

    # -- reading -------------------------------------------------------------------------------
    def _wheel_arch_and_libc(self) -> tuple[str | None, str | None]:
        arches: set[str] = set()
        missed = False
        for tag in self.tags:
            if tag.tag == "any":
                continue
            if tag.baseline is None:
                missed = True
            else:
                arches.add(tag.baseline)
        arch = next(iter(arches)) if len(arches) == 1 and not missed else None
        libcs = {
            GLIBC if t.tag.startswith("manylinux") else MUSL
            for t in self.tags
            if t.tag.startswith(("manylinux", "musllinux"))
        }
        libc = next(iter(libcs)) if len(libcs) == 1 else None
        return arch, libc

    def _members(self) -> list[str]:
        for member in self.archive.names:
            if unsafe_member_name(member):
                self.problems.append(f"member name {member!r} is unsafe (absolute or '..' path)")
        record = self.archive.record_names()
        if record is None:
            self.problems.append("the wheel has no single .dist-info/RECORD file")
            return list(self.archive.iter_files())
        return record

    def _read_elves(self) -> list[_Elf]:
        candidates: list[str] = []
        for member in self._members():
            if member.endswith((".py", "/")):
                continue
            if not self.archive.has(member):
                self.problems.append(f"{member} is listed in RECORD but missing from the wheel")
                continue
            try:
                if is_elf(self.archive.head(member)):
                    candidates.append(member)
            except UnreadableInputError as err:
                self.problems.append(_member_problem(member, str(err)))
                self.readable = False
        # Inflating (zlib releases the GIL) and parsing overlap across a few threads; the
        # results keep RECORD order, which decides the architecture and libc like auditwheel.
        workers = min(_WORKERS, len(candidates)) or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(self._load, candidates))
        found: list[_Elf] = []
        for member, loaded in zip(candidates, results):
            if isinstance(loaded, str):
                self.problems.append(_member_problem(member, loaded))
                self.readable = False
                continue
            self.parsed[member] = loaded
            info = loaded.info
            versions: dict[str, set[str]] = {}
            for lib, names in info.verneed:
                versions.setdefault(lib, set()).update(names)
            self.reports[member] = ElfReport(
                path=member,
                arch=info.arch,
                needed=list(info.needed),
                versions={lib: sorted(names) for lib, names in versions.items()},
            )
            found.append(loaded)
        return found

    def _load(self, member: str) -> _Elf | str:
        """Inflate and parse one ELF member; the problem text when that fails."""
        init = module_init_names(posixpath.basename(member))
        try:
            big = self.archive.size(member) > _BIG_MEMBER
            with self._big if big else contextlib.nullcontext():
                info = parse_elf(self.archive.read(member), init_names=list(init))
        except UnreadableInputError as err:
            return str(err)
        elf = _Elf(member, info)
        if info.python_init is not None:
            elf.extension = True
            elf.py_major = init[info.python_init]
        return elf

    # -- the verdict ---------------------------------------------------------------------------
    def run(self) -> WheelReport:
        arch, libc = self._wheel_arch_and_libc()
        elves = self._read_elves()
        if not self.readable:
            # Some member could not be read: any verdict would rest on part of the wheel.
            return self._report(UNKNOWN_POLICY, compliant=False)
        purelib = [e.path for e in elves if "purelib" in e.path.split("/")[:-1]]
        if purelib:
            self.problems.append(
                f"shared libraries in a purelib folder ({', '.join(purelib)}): "
                "a platform wheel must put them in platlib"
            )
            return self._report(f"linux_{arch}" if arch else UNKNOWN_POLICY, compliant=False)
        for elf in elves:
            info = elf.info
            report = self.reports[elf.path]
            if info.arch is None:
                report.note = f"ignored: {info.arch_error}"
                continue
            if arch is None:
                arch = info.arch
            elif info.arch != arch:
                report.note = f"ignored: {info.arch} ELF in a {arch} wheel"
                continue
            elf_libc, error = _elf_libc(elf)
            if error:
                self.problems.append(error)
                report.note = "ignored: mixed libc"
                continue
            if elf_libc is not None:
                self.libc_evidence = True
                if libc is None:
                    libc = elf_libc
                elif libc != elf_libc:
                    self.problems.append(
                        f"{elf.path} links {'musl' if elf_libc == MUSL else 'glibc'} "
                        f"in a {'musllinux' if libc == MUSL else 'manylinux'} wheel"
                    )
                    report.note = "ignored: other libc"
                    continue
            self.accepted.append(elf)

        if not self.accepted:
            return self._no_native_code(arch, elves)
        assert arch is not None  # set by the first accepted ELF
        if libc is None:
            libc = GLIBC  # auditwheel falls back to the host's libc; zigwheel assumes glibc
        return self._judge(ladder(libc, arch))

    def _no_native_code(self, arch: str | None, elves: list[_Elf]) -> WheelReport:
        platform_tags = [t for t in self.tags if t.tag != "any"]
        if not elves:
            for tag in platform_tags:
                self.problems.append(
                    f"{tag.tag}: the wheel contains no ELF file; tag it '-none-any' instead"
                )
            return self._report(PURE_POLICY, compliant=not self.problems)
        kinds = sorted({e.info.arch or e.info.machine for e in elves})
        self.problems.append(
            f"no ELF file for {arch or 'the claimed architecture'} (found {', '.join(kinds)})"
        )
        return self._report(f"linux_{arch}" if arch else UNKNOWN_POLICY, compliant=False)

    def _judge(self, policies: PolicyLadder) -> WheelReport:
        needed_everywhere = {lib for e in self.accepted for lib in e.info.needed}
        top = [
            e
            for e in self.accepted
            if e.extension or posixpath.basename(e.path) not in needed_everywhere
        ]
        dirs = self.archive.directories()
        self.top = top
        trees = {e.path: self._resolve(e, dirs) for e in top}
        evaluations = {policies.libc: self._evaluate(policies, top, trees)}
        # A wheel whose ELF files show no libc (static code) may claim both libcs' tags.
        for tag in self.tags:
            other = tag.libc
            if other in (GLIBC, MUSL) and other not in evaluations and not self.libc_evidence:
                evaluations[other] = self._evaluate(ladder(other, policies.arch), top, trees)
        compliant = self._judge_claims(policies, evaluations)
        overall = evaluations[policies.libc].overall
        return self._report(overall.tag, compliant=compliant and not self.problems)

    def _evaluate(  # noqa: PLR0912 - auditwheel's criteria, one by one
        self, policies: PolicyLadder, top: list[_Elf], trees: dict[str, dict[str, _Lib]]
    ) -> _Evaluation:
        """Every policy's failures, and auditwheel's overall policy, for one ladder."""
        reasons: dict[str, list[str]] = {p.name: [] for p in policies}
        external: dict[str, bool] = {}
        blacklisted: dict[str, bool] = {}
        for p in policies:
            if p.is_linux:
                external[p.name] = blacklisted[p.name] = False
                continue
            libs_p = self._external_libs(p, top, trees)
            bl_p = self._blacklisted(p, top)
            external[p.name] = bool(libs_p)
            blacklisted[p.name] = bool(bl_p)
            reasons[p.name].extend(libs_p)
            reasons[p.name].extend(bl_p)

        versions: dict[tuple[str, str], list[str]] = {}
        for elf in self.accepted:
            for lib, version in elf.info.policy_versions():
                versions.setdefault((lib, version), []).append(elf.path)
        all_versions = {v for _, v in versions}
        for p in policies:
            if p.is_linux:
                continue
            for (lib, version), paths in sorted(versions.items()):
                if not p.allows_version(version):
                    reasons[p.name].append(self._version_reason(lib, version, paths))

        whole_wheel: list[str] = []
        for elf in top:
            if elf.info.isa_error:
                whole_wheel.append(f"{elf.path}: {elf.info.isa_error}")
            elif elf.info.isa_level:
                whole_wheel.append(
                    f"{elf.path} needs {elf.info.isa_level} instructions (only baseline "
                    f"{policies.arch} is portable)"
                )
        for elf in self.accepted:
            if not elf.extension:
                continue
            if any(
                s.name in _PYFPE and s.type in (STT_FUNC, STT_NOTYPE) for s in elf.info.undefined
            ):
                whole_wheel.append(f"{elf.path} uses PyFPE_jbuf (an fpectl build of Python)")
            if elf.py_major == 2 and any(
                "PyUnicodeUCS2_" in s.name and s.type == STT_FUNC for s in elf.info.undefined
            ):
                whole_wheel.append(f"{elf.path} was built for a narrow-unicode (UCS2) Python")
        for p in policies:
            if not p.is_linux:
                reasons[p.name].extend(whole_wheel)

        # auditwheel's overall tag: the minimum over its per-criterion maxima. For musl it keeps
        # only the newest musllinux policy (its answer on any non-musl host).
        candidates = list(policies)
        if policies.libc == MUSL and len(candidates) > 1:
            candidates = [policies.linux, min(candidates[1:], key=lambda p: p.priority)]

        def best(ok: Any) -> Policy:
            return max((p for p in candidates if p.is_linux or ok(p)), key=lambda p: p.priority)

        overall = min(
            (
                policies.versions_policy(all_versions, among=candidates),
                best(lambda p: not external[p.name]),
                best(lambda p: not blacklisted[p.name]),
                best(lambda _p: not whole_wheel),
            ),
            key=lambda p: p.priority,
        )
        satisfied = [p for p in policies if not p.is_linux and not reasons[p.name]]
        return _Evaluation(policies, reasons, satisfied, overall, external)

    def _version_reason(self, lib: str, version: str, paths: list[str]) -> str:
        symbols: list[str] = []
        for path in dict.fromkeys(paths):
            for sym in self.parsed[path].info.undefined:
                if sym.version == version and sym.library == lib:
                    symbols.append(sym.name)
        where = ", ".join(dict.fromkeys(paths))
        text = f"{where} needs {version} from {lib}"
        if symbols:
            shown = ", ".join(sorted(set(symbols))[:_MAX_SYMBOLS_SHOWN])
            more = len(set(symbols)) - _MAX_SYMBOLS_SHOWN
            text += f" ({shown}{f' and {more} more' if more > 0 else ''})"
        return text

    def _resolve(self, top: _Elf, dirs: set[str]) -> dict[str, _Lib]:
        """DT_NEEDED resolution inside the wheel, in auditwheel's lddtree search order.

        Only in-wheel directories are searched: a library not found in the wheel would be
        looked up on the host, and any such library makes the wheel depend on the host.
        """
        libs: dict[str, _Lib] = {}
        if top.info.interpreter:
            libs[posixpath.basename(top.info.interpreter)] = _Lib(None)
        top_runpath = self._search_dirs(top.info.runpath, top.path, dirs)
        top_rpath = [] if top_runpath else self._search_dirs(top.info.rpath, top.path, dirs)

        def search_order(elf: _Elf) -> list[str]:
            runpath = self._search_dirs(elf.info.runpath, elf.path, dirs)
            rpath = [] if runpath else self._search_dirs(elf.info.rpath, elf.path, dirs)
            return list(dict.fromkeys(top_rpath + rpath + runpath + top_runpath))

        # Depth first in DT_NEEDED order; the first resolution of a soname wins.
        stack = [(top, iter(top.info.needed), search_order(top))]
        while stack:
            elf, pending, order = stack[-1]
            soname = next(pending, None)
            if soname is None:
                stack.pop()
                continue
            if soname in libs:
                continue
            if _LIBPYTHON_RE.match(soname):
                libs[soname] = _Lib(None)
                continue
            found = self._find(elf, soname, order)
            if found is None:
                libs[soname] = _Lib(None)
                continue
            libs[soname] = _Lib(found.path, found.info.needed)
            stack.append((found, iter(found.info.needed), search_order(found)))
        return libs

    def _find(self, elf: _Elf, soname: str, order: list[str]) -> _Elf | None:
        for folder in order:
            candidate = self.parsed.get(posixpath.join(folder, soname) if folder else soname)
            if candidate is not None and elf.info.compatible_with(candidate.info):
                return candidate
        return None

    @staticmethod
    def _search_dirs(value: str | None, member: str, dirs: set[str]) -> list[str]:
        """In-wheel folders of an RPATH/RUNPATH value ($ORIGIN expanded; "" is the wheel root)."""
        if not value:
            return []
        origin = posixpath.join(_WHEEL_ROOT, posixpath.dirname(member))
        result: list[str] = []
        for entry in value.split(":"):
            if entry == "":
                folder = _WHEEL_ROOT
            elif _ORIGIN_RE.search(entry):
                folder = posixpath.normpath(_ORIGIN_RE.sub(lambda _m: origin, entry))
            else:
                continue  # a host folder: never searched
            if folder == _WHEEL_ROOT:
                relative = ""
            elif folder.startswith(_WHEEL_ROOT + "/"):
                relative = folder[len(_WHEEL_ROOT) + 1 :]
            else:
                continue
            if relative in dirs and relative not in result:
                result.append(relative)
        return result

    @staticmethod
    def _external_libs(
        policy: Policy, top: list[_Elf], trees: dict[str, dict[str, _Lib]]
    ) -> list[str]:
        def keep(lib: str) -> bool:
            return not ("ld-linux" in lib or lib in ("ld64.so.2", "ld64.so.1")) and (
                lib not in policy.whitelist
            )

        found: dict[str, list[str]] = {}
        for elf in top:
            libs = trees[elf.path]
            pending = [lib for lib in elf.info.needed if keep(lib)]
            closure: set[str] = set()
            while pending:
                lib = pending.pop()
                if lib in closure:
                    continue
                closure.add(lib)
                entry = libs.get(lib)
                pending.extend(d for d in (entry.needed if entry else ()) if keep(d))
            for lib in sorted(closure):
                entry = libs.get(lib)
                if entry is None or entry.in_wheel is None:
                    found.setdefault(lib, []).append(elf.path)
        return [
            f"{', '.join(paths)} links {lib}, which {policy.name} does not allow "
            "and the wheel does not bundle"
            for lib, paths in sorted(found.items())
        ]

    @staticmethod
    def _blacklisted(policy: Policy, top: list[_Elf]) -> list[str]:
        result: list[str] = []
        for elf in top:
            names: set[str] | None = None
            for lib in sorted(set(policy.blacklist) & set(elf.info.needed)):
                if names is None:
                    names = {s.name for s in elf.info.undefined if not s.weak} | {"*"}
                hits = sorted(policy.blacklist[lib] & names)
                if hits:
                    result.append(
                        f"{elf.path} uses {', '.join(hits)} from {lib}, which {policy.name} forbids"
                    )
        return result

    # -- claimed tags --------------------------------------------------------------------------
    def _judge_claims(self, policies: PolicyLadder, evaluations: dict[str, _Evaluation]) -> bool:
        ok = True
        restrictive: tuple[tuple[int, int], Policy] | None = None
        for tag in self.tags:
            problem = self._claim_problem(tag, policies, evaluations)
            if problem is not None:
                self.problems.append(problem)
                ok = False
                continue
            if tag.libc not in evaluations or tag.version is None:
                continue  # linux_<arch>: the content always satisfies it
            found = evaluations[str(tag.libc)]
            rules = found.ladder.get(tag.policy_name or "") or found.ladder.for_version(tag.version)
            if rules is None:
                self.problems.append(
                    f"{tag.tag}: no {tag.libc} policy that old exists for {policies.arch} "
                    f"(the oldest is {found.ladder.highest.tag})"
                )
                ok = False
                continue
            if tag.libc == policies.libc and (restrictive is None or tag.version < restrictive[0]):
                restrictive = (tag.version, rules)
            if any(p.version is not None and p.version <= tag.version for p in found.satisfied):
                continue
            ok = False
            for reason in found.reasons[rules.name]:
                self.problems.append(f"{tag.tag}: {reason}")
            better = found.overall if not found.overall.is_linux else None
            if better is None and found.satisfied:
                better = max(found.satisfied, key=lambda p: p.priority)
            advice = f"rebuild with `zigwheel build {build_flag(rules)}`"
            if better is not None:
                advice += f", or claim {better.tag} instead"
            if found.external.get(rules.name):
                advice += "; bundle the libraries it lacks into the wheel (`auditwheel repair`)"
            self.problems.append(f"{tag.tag} does not hold: {advice}")
        if restrictive is not None:
            self._mark_offending(restrictive[1])
        return ok

    def _claim_problem(
        self, tag: PlatformTag, policies: PolicyLadder, evaluations: dict[str, _Evaluation]
    ) -> str | None:
        if tag.tag == "any":
            return f"the wheel is tagged 'any' but contains {policies.arch} ELF files"
        if tag.libc is None:
            return f"{tag.tag} is not a Linux platform tag"
        if tag.baseline != policies.arch:
            return f"{tag.tag} is for {tag.arch}, but the ELF files are {policies.arch}"
        if tag.libc in (GLIBC, MUSL) and tag.libc not in evaluations:
            return f"{tag.tag} promises {tag.libc}, but the ELF files are built for {policies.libc}"
        return None

    def _mark_offending(self, rules: Policy) -> None:
        top = {e.path for e in self.top}
        for elf in self.accepted:
            report = self.reports[elf.path]
            seen: set[tuple[str, str | None, str]] = set()
            if elf.path in top:  # the ELF files _blacklisted judges
                for lib in sorted(set(rules.blacklist) & set(elf.info.needed)):
                    for sym in elf.info.undefined:
                        key = (sym.name, sym.version, lib)
                        if not sym.weak and sym.name in rules.blacklist[lib] and key not in seen:
                            seen.add(key)
                            report.offending.append(OffendingSymbol(*key))
            for sym in elf.info.undefined:
                if sym.version is None or sym.library is None:
                    continue
                if sym.library.startswith("ld-linux") or sym.library in ("ld64.so.1", "ld64.so.2"):
                    continue
                key = (sym.name, sym.version, sym.library)
                if key not in seen and not rules.allows_version(sym.version):
                    seen.add(key)
                    report.offending.append(OffendingSymbol(*key))

    def _report(self, policy: str, *, compliant: bool) -> WheelReport:
        return WheelReport(
            wheel=self.path.name,
            path=str(self.path),
            claimed=list(self.name.platforms),
            policy=policy,
            compliant=compliant and self.readable,
            problems=[one_line(p) for p in self.problems],
            elves=list(self.reports.values()),
            readable=self.readable,
        )
