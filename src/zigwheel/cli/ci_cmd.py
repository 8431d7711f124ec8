"""CLI commands for CI and release: `explain`, `ci github` and `publish`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from zigwheel._version import __version__
from zigwheel.cli._console import (
    err_console,
    json_option,
    on_github_actions,
    out_console,
    print_json,
    printable,
)
from zigwheel.cli._options import split_list, target_option
from zigwheel.errors import EXIT_FAILED_CHECK, CommandFailedError, ConfigError
from zigwheel.explain import Explanation, explain_blocks, explain_file, read_blocks
from zigwheel.output import github_annotation
from zigwheel.release.publish import PublishResult, choose_repository, publish
from zigwheel.release.workflow import (
    DEFAULT_OUTPUT,
    MIRROR_VARIABLE,
    REGENERATE_LINE,
    ProjectFacts,
    WorkflowOptions,
    check_action_ref,
    check_requirement,
    choose_targets,
    default_action_ref,
    default_requirement,
    kinds_of,
    lint_workflow,
    qemu_tested,
    read_project_facts,
    regenerate_options,
    render_github_workflow,
    workflow_diff,
    write_workflow,
)
from zigwheel.toolchain.targets import Target, parse_arch, parse_policy


def explain_command(
    logfile: str = typer.Argument(
        "-",
        metavar="[LOGFILE | -]",
        help="A build, install or upload log; - reads standard input.",
    ),
    as_json: bool = json_option("Print the result as JSON on stdout.", default=False),
    github: Optional[bool] = typer.Option(  # noqa: UP045 - typer reads the annotation at run time
        None,
        "--github/--no-github",
        help="Print ::error annotations (default: when GITHUB_ACTIONS=true).",
        show_default=False,
    ),
) -> None:
    """Explain a failed build, install or upload: what went wrong and how to fix it.

    Exit codes: 0 something was explained; 1 nothing known was found; 6 the log is unreadable.
    """
    # Read block by block: a log of hundreds of MB is never held whole.
    if logfile == "-":
        found = explain_blocks(read_blocks(sys.stdin.buffer))
        source = "standard input"
    else:
        found = explain_file(Path(logfile))
        source = logfile
    if as_json:
        print_json(
            {
                "source": source,
                "explained": bool(found),
                "explanations": [item.to_json() for item in found],
            }
        )
    else:
        _print_explanations(found, source)
    if github is None:
        github = on_github_actions(os.environ)
    if github:
        for item in found:
            body = f"{item.cause}\nFix: {item.fix}\n(line {item.line_number}: {item.matched_line})"
            # A workflow command; on stderr with --json so that stdout stays one JSON document.
            annotation = github_annotation("error", body, title=item.title)
            print(annotation, file=sys.stderr if as_json else sys.stdout)
    if not found:
        raise typer.Exit(code=EXIT_FAILED_CHECK)


def _print_explanations(found: list[Explanation], source: str) -> None:
    out = out_console()
    if not found:
        err_console().print(
            f"No known failure found in {source}. zigwheel explain knows build, install and "
            "upload errors of maturin, cargo, zig, pip and twine; pass the full log.",
            markup=False,
        )
        return
    for index, item in enumerate(found):
        if index:
            out.print()
        out.print(f"[bold]{escape(item.title)}[/] [dim]({item.id})[/]")
        out.print(f"  [dim]line {item.line_number}:[/] {escape(item.matched_line)}")
        out.print(f"  [bold]cause:[/] {escape(item.cause)}")
        out.print(f"  [bold green]fix:[/]   {escape(item.fix)}")


ci_app = typer.Typer(
    name="ci",
    help="Write CI configuration that builds, checks, tests and publishes wheels with zigwheel.",
    no_args_is_help=True,
)


@ci_app.command("github")
def ci_github_command(
    *,
    targets: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer reads the annotation at run time
        target_option(
            "Architectures, comma-separated or repeated (default: [tool.zigwheel] targets, "
            "else x86_64,aarch64).",
            alias="--targets",
        ),
    ] = None,
    manylinux: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--manylinux",
            help="Policy to build for, repeatable: 2_17, manylinux_2_28, musllinux_1_2 ... "
            "(default: [tool.zigwheel]'s, else each architecture's, manylinux_2_17).",
        ),
    ] = None,
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Workflow file to write; - prints it to stdout."),
    ] = str(DEFAULT_OUTPUT),
    one_job: Annotated[
        bool,
        typer.Option("--one-job", help="Build every target in one job instead of a matrix."),
    ] = False,
    all_platforms: Annotated[
        bool,
        typer.Option(
            "--all-platforms",
            help="Add macOS (x86_64, arm64) and Windows wheel jobs built with plain maturin.",
        ),
    ] = False,
    use_action: Annotated[
        bool,
        typer.Option(
            "--use-action",
            help="Build, check and upload with zigwheel's GitHub Action (action.yml).",
        ),
    ] = False,
    action_ref: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--action-ref",
            metavar="OWNER/REPO@REF",
            help="Where --use-action finds zigwheel's action (default: "
            f"{default_action_ref()}).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="A wheel the workflow could not test fails its job."),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Compare the existing workflow (-o) with what this zigwheel would write, and "
            "lint it with actionlint when it is installed; exit 1 on drift.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing, different workflow file."),
    ] = False,
    zigwheel_requirement: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--zigwheel-requirement",
            metavar="SPEC",
            help="What the workflow pip-installs zigwheel from: any pip requirement, e.g. "
            "zigwheel==X.Y.Z, git+https://HOST/OWNER/zigwheel.git@TAG or a path in the "
            f"repository (default: {default_requirement()}).",
        ),
    ] = None,
    as_json: Annotated[bool, json_option("Print the result as JSON.")] = False,
) -> None:
    """Write a GitHub Actions workflow: zigwheel builds, checks and tests the wheels on plain
    Ubuntu runners (no container; aarch64 tested on the arm64 runner), uploads them as
    artifacts, builds the sdist, and publishes tags to PyPI with trusted publishing.

    Interpreters, free-threaded builds, targets and the policy come from the project in the
    current folder (requires-python, Cargo.lock's pyo3, [tool.zigwheel]).
    """
    if check:
        _check_workflow(Path(output if output != "-" else str(DEFAULT_OUTPUT)), as_json=as_json)
        return
    requirement = None if zigwheel_requirement is None else check_requirement(zigwheel_requirement)
    options = WorkflowOptions(
        targets=tuple(dict.fromkeys(parse_arch(name).value for name in split_list(targets))),
        policies=tuple(
            dict.fromkeys(parse_policy(p).name for p in split_list(manylinux, "--manylinux"))
        ),
        one_job=one_job,
        all_platforms=all_platforms,
        use_action=use_action,
        action_ref=None if action_ref is None else check_action_ref(action_ref),
        strict=strict,
        zigwheel_requirement=requirement,
    )
    command = shlex.join(options.argv())
    if output not in {"-", str(DEFAULT_OUTPUT)}:
        command += f" -o {shlex.quote(output)}"
    facts = read_project_facts(Path.cwd())
    resolved = choose_targets(options, facts)
    text = render_options(options, resolved, facts, command=command)
    installs = requirement or default_requirement()
    mirror_variable = MIRROR_VARIABLE if qemu_tested(resolved) else None
    document: dict[str, object] = {
        "version": 1,
        "jobs": "one-job" if one_job else "matrix",
        "zigwheel_requirement": installs,
        "mirror_variable": mirror_variable,
        "project": facts.to_json(),
        "targets": [
            {"arch": t.arch.value, "policy": t.policy, "platform": t.platform_tag,
             "rust_target": t.rust_triple, "test": kind}
            for t, kind in zip(resolved, kinds_of(resolved))
        ],
    }  # fmt: skip
    if output == "-":
        if as_json:
            print_json({**document, "path": None, "action": "printed", "workflow": text})
        else:
            sys.stdout.write(text)
            _print_workflow_notes(installs, default=requirement is None, mirror=mirror_variable,
                                  facts=facts)  # fmt: skip
        return
    result = write_workflow(text, Path(output), force=force)
    if as_json:
        print_json({**document, "path": str(result.path), "action": result.action})
        return
    verb = {"created": "wrote", "replaced": "replaced", "unchanged": "unchanged:"}[result.action]
    out_console().print(f"{verb} {result.path}", markup=False)
    _print_workflow_notes(installs, default=requirement is None, mirror=mirror_variable,
                          facts=facts)  # fmt: skip
    if result.action != "unchanged":
        err_console().print(
            "next: register this repository, the workflow file name and the environment 'pypi' "
            "as a trusted publisher of the project on PyPI; pushing a tag v* then publishes.",
            markup=False,
        )


def render_options(
    options: WorkflowOptions, targets: list[Target], facts: ProjectFacts, *, command: str
) -> str:
    """The workflow ``options`` describe, for ``targets`` and the project's ``facts``."""
    return render_github_workflow(
        targets,
        one_job=options.one_job,
        command=command,
        zigwheel_requirement=options.zigwheel_requirement,
        facts=facts,
        all_platforms=options.all_platforms,
        use_action=options.use_action,
        action_ref=options.action_ref,
        strict=options.strict,
    )


def _check_workflow(path: Path, *, as_json: bool) -> None:
    """`--check`: the drift between ``path`` and what this zigwheel writes, then actionlint."""
    try:
        existing = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read the workflow {path}: {err}"
        raise ConfigError(msg, hint="pass -o PATH to name the workflow file") from err
    options, written_output = regenerate_options(existing)
    match = REGENERATE_LINE.search(existing)
    command = match.group(1) if match else shlex.join(options.argv())
    facts = read_project_facts(Path.cwd())
    expected = render_options(options, choose_targets(options, facts), facts, command=command)
    diff = workflow_diff(existing, expected, path=str(path))
    lint = lint_workflow(path)
    ok = not diff and (lint.ok is not False)
    if as_json:
        print_json({
            "path": str(path), "matches": not diff, "diff": diff, "output": written_output,
            "lint": lint.to_json(), "ok": ok,
        })  # fmt: skip
    else:
        out = out_console()
        if diff:
            out.print(diff, markup=False, highlight=False, end="")
            err_console().print(
                f"{path} differs from what zigwheel {__version__} would write (drift); "
                f"regenerate with: {command} --force",
                markup=False,
            )
        else:
            out.print(f"{path} matches what zigwheel {__version__} would write", markup=False)
        if lint.ok is None:
            err_console().print(f"not linted: {lint.reason}", markup=False)
        elif lint.ok:
            out.print(f"actionlint: no problems in {path}", markup=False)
        else:
            out.print(lint.output, markup=False, highlight=False)
    if not ok:
        raise typer.Exit(code=EXIT_FAILED_CHECK)


def _print_workflow_notes(
    installs: str, *, default: bool, mirror: str | None, facts: ProjectFacts
) -> None:
    """What the workflow needs from its repository, on stderr (stdout may be the workflow)."""
    notes = [f"the workflow installs zigwheel with: pip install {shlex.quote(installs)}"]
    if default:
        notes.append(
            "  if that version is not on the package index, regenerate with "
            "--zigwheel-requirement SPEC (a version, a git URL, a path in the repository)"
        )
    if facts.found:
        built = ", ".join([*facts.interpreters, *facts.free_threaded]) or "abi3 only"
        notes.append(f"interpreters: {built} (from {facts.interpreters_from})")
        notes.extend(facts.notes)
    if mirror:
        notes.append(
            f"other architectures are tested under qemu-user in a Debian root: set the repository "
            f"variable {mirror} to a Debian mirror URL (one that holds dists/ and pool/); unset, "
            "those tests are skipped with a notice (x86_64 and aarch64 need no mirror)"
        )
    for note in notes:
        err_console().print(note, markup=False)


def publish_command(
    dists: Annotated[
        list[Path], typer.Argument(help="Wheels, sdists, or folders holding them (e.g. dist/).")
    ],
    *,
    repository: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--repository", "-r", help="pypi (default) or testpypi."),
    ] = None,
    repository_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--repository-url", help="Upload URL of any index (no PyPI token rules)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the gate and the credential checks only.")
    ] = False,
    as_json: Annotated[bool, json_option("Print the result as JSON.")] = False,
) -> None:
    """Check distributions before an upload, then upload them with twine.

    Refuses files an index would reject (linux_* tags, unknown architectures, bad file names,
    duplicates) and Linux wheels that fail `zigwheel check`; checks the token (user __token__,
    a pypi- token without whitespace) for PyPI and TestPyPI. Credentials come from
    ZIGWHEEL_PYPI_TOKEN, TWINE_USERNAME/TWINE_PASSWORD or MATURIN_PYPI_TOKEN and are never
    printed. Exit codes: 0 uploaded (or --dry-run passed); 1 refused; 5 the upload failed.
    """
    target = choose_repository(repository, repository_url)
    if not as_json:
        err_console().print(
            f"checking {len(dists)} path(s) before uploading to {target.label}", markup=False
        )
    try:
        result = publish(
            dists,
            repository=target,
            env=os.environ,
            python=sys.executable,
            dry_run=dry_run,
        )
    except CommandFailedError as err:
        if err.output:
            err_console().print(err.output, markup=False, highlight=False)
        raise
    if as_json:
        print_json(result.to_json())
    else:
        _print_publish(result)
    if on_github_actions(os.environ):
        stream = sys.stderr if as_json else sys.stdout  # stdout stays one JSON document
        for verdict in result.verdicts:
            if verdict.problems:
                body = "\n".join(verdict.problems)
                print(github_annotation("error", body, file=str(verdict.path)), file=stream)
        if result.credential_problems:
            body = "\n".join(result.credential_problems)
            print(github_annotation("error", body), file=stream)
    if not result.ok:
        raise typer.Exit(code=EXIT_FAILED_CHECK)


def _print_publish(result: PublishResult) -> None:
    out = out_console()
    for verdict in result.verdicts:
        mark = "[green]ok[/]     " if verdict.ok else "[red]REFUSED[/]"
        policy = f" [dim]({escape(verdict.policy)})[/]" if verdict.policy else ""
        out.print(f"{mark} {escape(printable(verdict.path.name))}{policy}")
        for problem in verdict.problems:
            out.print(f"        {escape(printable(problem))}")
        for note in verdict.notes:
            out.print(f"        [dim]note: {escape(printable(note))}[/]")
    source = result.credentials.source
    for problem in result.credential_problems:
        out.print(f"[red]REFUSED[/] credentials ({escape(source)}): {escape(problem)}")
    if not result.ok:
        err_console().print("nothing was uploaded", markup=False)
    elif result.dry_run:
        label = result.repository.label
        err_console().print(f"dry run: the files may be uploaded to {label}", markup=False)
    else:
        err_console().print(
            f"uploaded {len(result.verdicts)} file(s) to {result.repository.label}", markup=False
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the zigwheel app."""
    app.command("explain")(explain_command)
    app.add_typer(ci_app, name="ci")
    app.command("publish")(publish_command)
