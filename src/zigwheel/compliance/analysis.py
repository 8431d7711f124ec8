"""Use-case `zigwheel check`: the stages (read, select, resolve, evaluate, judge) run per wheel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from zigwheel.compliance.archive import DEFAULT_LIMITS, Limits, WheelArchive, parse_wheel_name
from zigwheel.compliance.batch import check_files, worker_count
from zigwheel.compliance.evaluate import evaluate_ladders
from zigwheel.compliance.findings import ErrorDetail, Finding, FindingKind, PathDetail
from zigwheel.compliance.judge import judge_claims, offending_symbols
from zigwheel.compliance.policy import GLIBC, PlatformTag, ladder, parse_platform_tag
from zigwheel.compliance.read import Elf, MemberLock, WheelContent, read_wheel
from zigwheel.compliance.report import (
    JSON_VERSION,
    PURE_POLICY,
    UNKNOWN_POLICY,
    ElfReport,
    OffendingSymbol,
    WheelReport,
    reports_to_json,
)
from zigwheel.compliance.resolve import resolve_libraries
from zigwheel.compliance.select import (
    claimed_arch_and_libc,
    no_native_code,
    purelib_finding,
    select_elves,
    suffix_findings,
)
from zigwheel.compliance.words import one_line, render_finding
from zigwheel.errors import UnreadableInputError
from zigwheel.output import expand_folders


def check_paths(
    paths: Sequence[Path], *, limits: Limits = DEFAULT_LIMITS, jobs: int | None = 1
) -> list[WheelReport]:
    """Check every wheel given; a folder gives the wheels directly inside it (output's rule).

    The reports come in the order of the inputs. ``jobs`` caps the processes checking wheels at
    once: 1 checks them one by one in this process; None starts a worker per CPU (beside this
    process) when there are several wheels and enough bytes of them to pay for the workers.
    Workers are spawned, so on any system a script calling this with ``jobs`` other than 1
    needs the ``if __name__ == "__main__":`` guard of multiprocessing.
    """
    inputs = expand_folders(paths)
    reports: list[WheelReport | None] = [
        _unreadable(path, FindingKind.NO_WHEELS_IN_FOLDER) if path.is_dir() else None
        for path in inputs
    ]
    # Only a file that can be a wheel goes to a worker: every other input is a report at once.
    files = [i for i, path in enumerate(inputs) if reports[i] is None and path.is_file()]
    workers = worker_count([inputs[i].stat().st_size for i in files], jobs)
    if workers:
        checked = check_files([inputs[i] for i in files], limits, workers, check_file)
        for index, report in zip(files, checked):
            reports[index] = report
    return [
        report if report is not None else check_wheel(path, limits=limits)
        for path, report in zip(inputs, reports)
    ]


def check_wheel(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> WheelReport:
    """Check one wheel. Never raises for a bad file: the problem is in the report."""
    return check_file(path, limits, None)


def check_file(path: Path, limits: Limits, lock: MemberLock | None) -> WheelReport:
    """``check_wheel``, inflating members over 256 MiB under ``lock`` (shared by processes)."""
    if not path.exists():  # before the name: `check dist` with no dist folder is not a name issue
        return _unreadable(path, FindingKind.NO_SUCH_PATH)
    try:
        name = parse_wheel_name(path.name)
    except UnreadableInputError as err:
        return _unreadable(path, FindingKind.BAD_WHEEL_NAME, error=str(err))
    claimed = list(name.platforms)
    if not path.is_file():
        return _unreadable(path, FindingKind.NOT_A_FILE, claimed=claimed)
    try:
        with WheelArchive(path, limits=limits) as archive:
            content = read_wheel(archive, lock)
    except UnreadableInputError as err:
        return _unreadable(path, FindingKind.WHEEL_UNREADABLE, claimed=claimed, error=str(err))
    return _Verdict(path, claimed, content, name.pythons).report()


def _unreadable(
    path: Path, kind: FindingKind, *, claimed: list[str] | None = None, error: str | None = None
) -> WheelReport:
    detail = ErrorDetail(error) if error is not None else PathDetail(str(path))
    finding = Finding(kind, detail=detail)
    return WheelReport(
        wheel=path.name,
        path=str(path),
        claimed=claimed or [],
        policy=UNKNOWN_POLICY,
        compliant=False,
        findings=(finding,),
        elves=[],
        readable=False,
    )


class _Verdict:
    """The stages run in order on one wheel's content; each stage's findings are kept in order."""

    def __init__(
        self,
        path: Path,
        claimed: list[str],
        content: WheelContent,
        pythons: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.path = path
        self.claimed = claimed
        self.content = content
        self.pythons = tuple(pythons)
        self.tags: tuple[PlatformTag, ...] = tuple(parse_platform_tag(t) for t in claimed)

    def report(self) -> WheelReport:
        content = self.content
        if not content.readable:
            # Some member could not be read: any verdict would rest on part of the wheel.
            return self._report(UNKNOWN_POLICY, holds=False, findings=content.findings)
        purelib = purelib_finding(content.elves)
        if purelib is not None:
            # The tags' architecture only: the ELF files are not selected in a wheel this broken.
            arch, _libc = claimed_arch_and_libc(self.tags)
            policy = f"linux_{arch}" if arch else UNKNOWN_POLICY
            return self._report(policy, holds=False, findings=(*content.findings, purelib))
        selection = select_elves(content.elves, self.tags)
        findings = (*content.findings, *selection.findings)
        notes = selection.notes
        if not selection.accepted:
            arch = selection.arch
            findings += no_native_code(content.elves, self.tags, arch)
            if not content.elves:
                return self._report(PURE_POLICY, holds=True, findings=findings, notes=notes)
            policy = f"linux_{arch}" if arch else UNKNOWN_POLICY
            return self._report(policy, holds=False, findings=findings, notes=notes)
        assert selection.arch is not None  # set by the first accepted ELF
        findings += suffix_findings(
            selection.accepted, self.pythons, selection.arch, selection.libc
        )
        # auditwheel falls back to the host's libc; zigwheel assumes glibc
        policies = ladder(selection.libc or GLIBC, selection.arch)
        resolution = resolve_libraries(selection.accepted, content.elves, content.directories)
        evaluations = evaluate_ladders(
            policies, self.tags, selection.accepted, resolution,
            libc_evidence=selection.libc_evidence,
        )  # fmt: skip
        judgement = judge_claims(self.tags, policies, evaluations)
        offending = (
            offending_symbols(judgement.restrictive, selection.accepted, resolution.top)
            if judgement.restrictive is not None
            else {}
        )
        return self._report(
            evaluations[policies.libc].overall.tag,
            holds=judgement.holds,
            findings=(*findings, *judgement.findings),
            notes=notes,
            offending=offending,
        )

    def _report(
        self,
        policy: str,
        *,
        holds: bool,
        findings: tuple[Finding, ...],
        notes: Mapping[str, str] | None = None,
        offending: Mapping[str, tuple[OffendingSymbol, ...]] | None = None,
    ) -> WheelReport:
        return WheelReport(
            wheel=self.path.name,
            path=str(self.path),
            claimed=list(self.claimed),
            policy=policy,
            compliant=holds and not findings and self.content.readable,
            findings=findings,
            elves=_elf_reports(self.content.elves, notes or {}, offending or {}),
            readable=self.content.readable,
        )


def _elf_reports(
    elves: Sequence[Elf],
    notes: Mapping[str, str],
    offending: Mapping[str, tuple[OffendingSymbol, ...]],
) -> list[ElfReport]:
    """One report per ELF member (a member RECORD lists twice is one report, at its first place)."""
    reports: dict[str, ElfReport] = {}
    for elf in elves:
        versions: dict[str, set[str]] = {}
        for lib, names in elf.info.verneed:
            versions.setdefault(lib, set()).update(names)
        reports[elf.path] = ElfReport(
            path=elf.path,
            arch=elf.info.arch,
            needed=list(elf.info.needed),
            versions={lib: sorted(names) for lib, names in versions.items()},
            offending=list(offending.get(elf.path, ())),
            note=notes.get(elf.path),
        )
    return list(reports.values())


__all__ = [
    "JSON_VERSION",
    "PURE_POLICY",
    "UNKNOWN_POLICY",
    "ElfReport",
    "Finding",
    "FindingKind",
    "OffendingSymbol",
    "WheelReport",
    "check_paths",
    "check_wheel",
    "one_line",
    "render_finding",
    "reports_to_json",
]
