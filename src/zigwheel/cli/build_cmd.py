"""CLI command `zigwheel build`: progress per target, folded maturin output, a summary table."""

from __future__ import annotations

import os
import sys
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
from zigwheel.output import error_document

if TYPE_CHECKING:
    from zigwheel.builder.jobs import BuildFailure, BuildJob, BuildPlan, BuiltWheel
    from zigwheel.builder.settings import Setting


def _setting_text(plan: BuildPlan, setting: Setting) -> str:
    value = getattr(plan.settings, setting.attr)
    if setting.key == "interpreters" and not value:
        # What no interpreters means depends on the crate, which the settings do not know.
        return "abi3: one wheel per target" if plan.project.abi3 else "chosen from requires-python"
    return setting.kind.show(value)


def _print_plan(plan: BuildPlan) -> None:
    from zigwheel.builder.settings import BUILD_SETTINGS  # noqa: PLC0415

    console = out_console()
    abi3 = "yes" if plan.project.abi3 else "no"
    console.print(printable(f"project: {plan.project.directory} (abi3: {abi3})"), markup=False)
    for setting in BUILD_SETTINGS:
        source = plan.settings.sources.get(setting.key, "?")
        text = _setting_text(plan, setting)
        console.print(f"  {setting.key}: {text} (from {source})", markup=False)
    for name, value in plan.settings.environment.items():
        source = plan.settings.environment_sources.get(name, "?")
        console.print(f"    {name}={value} (from {source})", markup=False)
    rows = [
        [
            job.target.arch.value,
            job.target.policy,
            job.target.rust_triple,
            job.target.zig_triple,
            " ".join(job.interpreters) or ("abi3" if plan.project.abi3 else "maturin's choice"),
            job.rustc or "default",
        ]
        for job in plan.jobs
    ]
    headers = ("target", "policy", "rust triple", "zig triple", "interpreters", "rustc")
    print_table(console, headers, rows)
    console.print(printable(f"output folder: {plan.settings.out_dir}"), markup=False)


def _summary(wheels: list[BuiltWheel]) -> None:
    rows = [
        [wheel.path.name, wheel.policy, f"{wheel.size / 1024:.0f} KiB", wheel.sha256]
        for wheel in wheels
    ]
    print_table(out_console(), ("wheel", "tag", "size", "sha256"), rows)


def _show_failure(err: BuildFailure, *, verbose: bool, json_output: bool) -> None:
    console = err_console()
    if err.output and not verbose:  # with -v it was shown already
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


def _report_failure(
    plan: BuildPlan, err: BuildFailure, *, verbose: bool, json_output: bool
) -> None:
    tag = err.job.target.platform_tag
    err_console().print(Text.assemble((tag, "bold"), ": ", ("failed", "red"), ", no wheel written"))
    _show_failure(err, verbose=verbose, json_output=json_output)
    missing = _not_built(plan, err)
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
    if github:
        sys.stderr.write(f"::group::{title}\n")
    else:
        err_console().rule(title)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    if github:
        sys.stderr.write("::endgroup::\n")
    sys.stderr.flush()


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
        )
        for warning in plan.warnings:
            err_console().print(Text.assemble(("warning:", "yellow"), " ", warning))
        if print_plan:
            if json_output:
                print_json({"plan": plan.to_json()})
            else:
                _print_plan(plan)
            return

        def progress(event: str, job: BuildJob, text: str) -> None:
            tag = job.target.platform_tag
            if event == "start":
                extra = f" with RUSTC={job.rustc}" if job.rustc else ""
                err_console().print(Text.assemble((tag, "bold"), f": building{extra} ..."))
            elif event == "output" and verbose:
                _fold(f"maturin output ({tag})", text)
            elif event == "done":
                err_console().print(
                    Text.assemble((tag, "bold"), ": ", ("ok", "green"), f" in {text} (checked)")
                )

        try:
            wheels = list(run_plan(plan, env=env, progress=progress).wheels)
        except BuildFailure as err:
            _report_failure(plan, err, verbose=verbose, json_output=json_output)
            raise  # zigwheel.cli.main prints the error and hint and exits with err.exit_code
        if json_output:
            print_json({"ok": True, "wheels": [w.to_json() for w in wheels]})
        else:
            _summary(wheels)
