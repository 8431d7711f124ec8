"""CLI command `zigwheel build`: progress per target, folded maturin output, a summary table."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
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
    print_table,
    printable,
)
from zigwheel.cli._options import split_list, target_option
from zigwheel.output import error_document, github_annotation, github_fold_end, github_fold_start

if TYPE_CHECKING:
    from zigwheel.builder.jobs import BuildFailure, BuildJob, BuildPlan, BuiltWheel
    from zigwheel.builder.settings import Setting


def _setting_text(plan: BuildPlan, setting: Setting) -> str:
    value = getattr(plan.settings, setting.attr)
    if setting.key == "interpreters" and not value:
        # What no interpreters means depends on the crate, which the settings do not know.
        if plan.project.bindings == "bin":
            return "none: a program crate's wheels are py3-none, one per target"
        if plan.project.abi3 and plan.project.abi3_minimum:
            return f"abi3 (CPython >= {plan.project.abi3_minimum}): one wheel per target"
        if plan.project.abi3:  # a bare `abi3`: the interpreter sets the oldest Python
            return "abi3 without a minimum: the oldest requires-python allows"
        return "chosen from requires-python"
    return setting.kind.show(value)


def _print_plan(plan: BuildPlan) -> None:
    from zigwheel.builder.settings import BUILD_SETTINGS  # noqa: PLC0415

    console = out_console()
    binary = plan.project.bindings == "bin"
    kind = "bindings: bin" if binary else f"abi3: {'yes' if plan.project.abi3 else 'no'}"
    console.print(printable(f"project: {plan.project.directory} ({kind})"), markup=False)
    for setting in BUILD_SETTINGS:
        source = plan.settings.sources.get(setting.key, "?")
        text = _setting_text(plan, setting)
        console.print(f"  {setting.key}: {text} (from {source})", markup=False)
    for name, value in plan.settings.environment.items():
        source = plan.settings.environment_sources.get(name, "?")
        console.print(f"    {name}={value} (from {source})", markup=False)
    if plan.source_date_epoch is not None:
        epoch = plan.source_date_epoch
        console.print(f"  SOURCE_DATE_EPOCH: {epoch} (from the last commit)", markup=False)
    rows = [
        [
            job.target.arch.value,
            job.target.policy,
            job.target.rust_triple,
            job.target.zig_triple,
            (" ".join(job.interpreters) + (" (abi3)" if plan.project.abi3 else ""))
            if job.interpreters
            else ("abi3" if plan.project.abi3 else "maturin's choice"),
            job.rustc or "default",
        ]
        for job in plan.jobs
    ]
    headers: tuple[str, ...] = ("target", "policy", "rust triple", "zig triple", "interpreters",
                                "rustc")  # fmt: skip
    if binary:  # no interpreter column: a bin crate's wheels are for no Python
        headers, rows = headers[:4] + headers[5:], [row[:4] + row[5:] for row in rows]
    print_table(console, headers, rows)
    console.print(printable(f"output folder: {plan.settings.out_dir}"), markup=False)


def _summary(wheels: list[BuiltWheel]) -> None:
    rows = [
        [wheel.path.name, wheel.policy, f"{wheel.size / 1024:.0f} KiB", wheel.sha256]
        for wheel in wheels
    ]
    print_table(out_console(), ("wheel", "tag", "size", "sha256"), rows)
    # maturin's warnings scroll by in its folded output: said once more under the table.
    for wheel in wheels:
        for warning in wheel.warnings:
            err_console().print(
                Text.assemble(
                    ("warning:", "yellow"), f" {wheel.path.name}: maturin: ", printable(warning)
                )
            )


def _show_failure(err: BuildFailure, *, shown: bool, json_output: bool) -> None:
    console = err_console()
    if err.output and not shown:  # with -v or on GitHub it was shown already
        _fold(f"maturin output ({err.job.target.platform_tag})", err.output)
    for explanation in err.explanations:
        console.print(Text(explanation.title, style="bold"))
        console.print(printable(f"  matched: {explanation.matched_line}"), markup=False)
        console.print(f"  cause: {explanation.cause}", markup=False)
        console.print(f"  fix: {explanation.fix}", markup=False)
    if err.report is not None and not json_output:  # stdout holds only the JSON document then
        from zigwheel.cli.check_cmd import render  # noqa: PLC0415

        render(err.report)


def _not_built(plan: BuildPlan, err: BuildFailure) -> list[tuple[str, str]]:
    """(platform tag, state) of every target without a wheel: the failed one, those not run."""
    states: list[tuple[str, str]] = []
    reached = False
    for job in plan.jobs:
        if job == err.job:
            reached = True
            states.append((job.target.platform_tag, "failed"))
        elif reached:
            states.append((job.target.platform_tag, "not attempted"))
    return states


def _report_failure(plan: BuildPlan, err: BuildFailure, *, shown: bool, json_output: bool) -> None:
    tag = err.job.target.platform_tag
    err_console().print(Text.assemble((tag, "bold"), ": ", ("failed", "red"), ", no wheel written"))
    _show_failure(err, shown=shown, json_output=json_output)
    missing = _not_built(plan, err)
    if on_github_actions():
        body = f"{err}\nhint: {err.hint}" if err.hint else str(err)
        annotation = github_annotation("error", body, title=f"zigwheel build: {tag} failed")
        # stdout stays one JSON document with --json; the runner reads commands on stderr too.
        print(annotation, file=sys.stderr if json_output else sys.stdout, flush=True)
    if json_output:
        print_json(
            {
                **error_document(err),
                "target": err.job.target.platform_tag,
                "not_built": [{"target": tag, "state": state} for tag, state in missing],
                "explanations": [item.to_json() for item in err.explanations],
                "report": err.report.to_json() if err.report is not None else None,
                "wheels": [wheel.to_json() for wheel in err.built],
            }
        )
        return
    if err.built:
        _summary(err.built)
    for other, state in missing:
        if other != tag:  # the failed one was said above; the error line names it once more
            err_console().print(Text.assemble((other, "bold"), f": {state}, no wheel written"))


def _fold(title: str, text: str) -> None:
    github = on_github_actions()
    _open_fold(title, github=github)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    _close_fold(github=github)


def _open_fold(title: str, *, github: bool) -> None:
    if github:
        sys.stderr.write(github_fold_start(title))
    else:
        err_console().rule(Text(title))
    sys.stderr.flush()


def _close_fold(*, github: bool) -> None:
    if github:
        sys.stderr.write(github_fold_end())
    sys.stderr.flush()


# cargo's and maturin's words for the step a build is at: "Compiling zstd-sys v2.0.9".
_STEP = re.compile(r"^\s*(Compiling|Downloaded|Downloading|Updating|Building|Finished)\s+(\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Without a terminal (a CI log), how often a running build says where it is.
HEARTBEAT_SECONDS = 30.0
REDRAW_SECONDS = 0.1  # a terminal's status line is redrawn at most this often


class BuildWatch:
    """Progress of the running target: a status line on a terminal, a line every so often in a
    log, every line with -v, and on GitHub the whole log folded into a group.

    The heartbeat runs in a thread: one crate compiling for minutes prints no line to react to.
    """

    def __init__(self, *, verbose: bool, github: bool, terminal: bool, heartbeat: float) -> None:
        self.verbose, self.github, self.terminal = verbose, github, terminal
        self.heartbeat = heartbeat
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.tag, self.step, self.crates = "", "", 0
        self.started = self.drawn = 0.0
        self.folded = False  # the whole output was shown already (verbose or GitHub)
        self.warnings = 0  # maturin's warnings about the running target's wheel

    def __call__(self, event: str, job: BuildJob, text: str) -> None:
        """The ``progress`` callback of run_plan."""
        handlers = {
            "start": self._start,
            "line": self._line,
            "output": self._output,
            "warning": self._warning,
            "done": self._done,
        }
        handlers[event](job, text)

    def _status(self) -> str:
        crates = f"{self.crates} crate(s) compiled, " if self.crates else ""
        return f"{self.tag}: {self.step} ({crates}{time.monotonic() - self.started:.0f}s)"

    def _start(self, job: BuildJob, _text: str) -> None:
        self.tag = job.target.platform_tag
        self.step, self.crates, self.folded = "starting maturin", 0, False
        self.warnings = 0
        self.started = time.monotonic()
        extra = f" with RUSTC={job.rustc}" if job.rustc else ""
        err_console().print(Text.assemble((self.tag, "bold"), f": building{extra} ..."))
        if self.verbose:
            _open_fold(f"maturin output ({self.tag})", github=self.github)
        elif not self.terminal:
            self.stopped.clear()
            self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self.thread.start()

    def _beat(self) -> None:
        while not self.stopped.wait(self.heartbeat):
            with self.lock:
                err_console().print(f"{self._status()} ...", markup=False, highlight=False)

    def _line(self, _job: BuildJob, text: str) -> None:
        with self.lock:
            if self.verbose:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            found = _STEP.match(_ANSI.sub("", text))
            if found:
                self.step = printable(f"{found[1]} {found[2]}")
                self.crates += found[1] == "Compiling"
            if self.terminal and not self.verbose:
                now = time.monotonic()
                if now - self.drawn >= REDRAW_SECONDS:
                    self.drawn = now
                    width = max(20, err_console().width - 1)  # never wrap: \r redraws one line
                    sys.stderr.write("\r\x1b[K" + self._status()[:width])
                    sys.stderr.flush()

    def _output(self, _job: BuildJob, text: str) -> None:
        self.close()
        if self.verbose:
            _close_fold(github=self.github)
            self.folded = True
        elif self.github and text:
            _fold(f"maturin output ({self.tag})", text)
            self.folded = True

    def _warning(self, _job: BuildJob, text: str) -> None:
        self.warnings += 1
        err_console().print(
            Text.assemble(
                (self.tag, "bold"), ": ", ("maturin warning:", "yellow"), " ", printable(text)
            )
        )

    def _done(self, _job: BuildJob, text: str) -> None:
        if self.warnings:
            note = f" in {text} (checked; {self.warnings} maturin warning(s), see below)"
            err_console().print(Text.assemble((self.tag, "bold"), ": ", ("built", "yellow"), note))
            return
        err_console().print(
            Text.assemble((self.tag, "bold"), ": ", ("ok", "green"), f" in {text} (checked)")
        )

    def close(self) -> None:
        """Stop the heartbeat and clear the status line (again harmless)."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = 0.0


def _heartbeat_seconds() -> float:
    """HEARTBEAT_SECONDS, or ZIGWHEEL_PROGRESS_SECONDS when set to a positive number."""
    try:
        value = float(os.environ.get("ZIGWHEEL_PROGRESS_SECONDS", ""))
    except ValueError:
        return HEARTBEAT_SECONDS
    return value if value > 0 else HEARTBEAT_SECONDS


def register(app: typer.Typer) -> None:
    """Add `build` to the zigwheel app."""

    @app.command()
    def build(  # noqa: PLR0917 - typer passes every option
        project_dir: Annotated[
            Path, typer.Argument(help="The maturin/PyO3 project folder.")
        ] = Path(),
        target: Annotated[
            list[str], target_option("Architectures: x86_64,aarch64 (or repeat the option).")
        ] = [],  # noqa: B006 - typer copies list defaults
        manylinux: Annotated[
            Optional[str],  # noqa: UP045 - typer evaluates this annotation on Python 3.9
            typer.Option(help="manylinux policy, e.g. 2_17 or 2_28 [default: 2_17]."),
        ] = None,
        musllinux: Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(help="musllinux policy, e.g. 1_2."),
        ] = None,
        out: Annotated[
            Optional[Path],  # noqa: UP045
            typer.Option("--out", "-o", help="Output folder [default: PROJECT_DIR/dist]."),
        ] = None,
        interpreter: Annotated[
            list[str],
            typer.Option("--interpreter", "-i", help="Python versions for non-abi3 crates: 3.11"),
        ] = [],  # noqa: B006
        maturin_arg: Annotated[
            list[str], typer.Option(help="An extra maturin argument (repeat for more).")
        ] = [],  # noqa: B006
        print_plan: Annotated[
            bool, typer.Option(help="Show the resolved build matrix and stop.")
        ] = False,
        json_output: Annotated[bool, json_option("Print a JSON document.")] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Show maturin's output.")
        ] = False,
    ) -> None:
        """Build manylinux/musllinux wheels with maturin and zig; only compliant wheels are kept.

        Exit codes: 0 built, 1 a wheel was not compliant, 2 bad settings, 3 a missing tool or
        Rust target, 5 maturin failed. Wheels of targets built before a failure stay.
        """
        from zigwheel.api import plan as make_plan  # noqa: PLC0415
        from zigwheel.api import run_plan  # noqa: PLC0415
        from zigwheel.builder.jobs import BuildFailure  # noqa: PLC0415
        from zigwheel.cli._host import command_host  # noqa: PLC0415

        env = dict(os.environ)
        plan = make_plan(
            project_dir,
            targets=split_list(target),
            manylinux=manylinux,
            musllinux=musllinux,
            interpreters=interpreter,
            out_dir=out,
            maturin_args=maturin_arg,
            env=env,
            host=command_host(env),
        )
        for warning in plan.warnings:
            err_console().print(Text.assemble(("warning:", "yellow"), " ", warning))
        if print_plan:
            if json_output:
                print_json({"plan": plan.to_json()})
            else:
                _print_plan(plan)
            return

        watch = BuildWatch(
            verbose=verbose,
            github=on_github_actions(),
            terminal=err_console().is_terminal,
            heartbeat=_heartbeat_seconds(),
        )

        try:
            wheels = list(run_plan(plan, env=env, progress=watch).wheels)
        except BuildFailure as err:
            watch.close()
            _report_failure(plan, err, shown=watch.folded, json_output=json_output)
            raise  # zigwheel.cli.main prints the error and hint and exits with err.exit_code
        finally:
            watch.close()
        if json_output:
            print_json({"ok": True, "wheels": [w.to_json() for w in wheels]})
        else:
            _summary(wheels)
