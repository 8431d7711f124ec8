"""Every `zigwheel ...` command that the workflow and the explanations tell users to run exists."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from zigwheel.cli import app
from zigwheel.explain import load_rules
from zigwheel.release.workflow import ProjectFacts, render_github_workflow, resolve_targets

ROOT: Any = typer.main.get_command(app)  # a group: typer types it as its plain Command


def _workflow_commands() -> list[str]:
    targets = resolve_targets(["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"])
    lines: list[str] = []
    crate = ProjectFacts(found=True, interpreters=("3.12",), free_threaded=("3.13t",))
    for one_job in (False, True):
        text = render_github_workflow(targets, one_job=one_job)
        text += render_github_workflow(targets, one_job=one_job, facts=crate, strict=True)
        for line in text.splitlines():
            found = re.search(r"(?:^|run: |\s)(zigwheel (?!==)[^\n#]*)$", line.strip())
            if found and not line.lstrip().startswith("#"):
                lines.append(found.group(1).strip())
    return sorted(set(lines))


def _explanation_commands() -> list[str]:
    commands: set[str] = set()
    for rule in load_rules():
        commands.update(re.findall(r"`(zigwheel [^`]+)`", rule.fix))
    return sorted(commands)


def _resolve(argv: list[str]) -> tuple[Any, list[str]]:
    """The (click-style) command that ``argv`` runs and the words left for it."""
    command: Any = ROOT
    rest = argv[1:]
    # typer may vendor its own click: walk groups through their `commands` mapping.
    while getattr(command, "commands", None) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"no command {rest[0]!r} in {' '.join(argv)}"
        command, rest = sub, rest[1:]
    return command, rest


def _check(line: str) -> None:
    # ${{ ... }} expressions and shell expansions stand for one word each.
    cleaned = re.sub(r"\$\{\{[^}]*\}\}", "VALUE", line)
    cleaned = re.sub(r"\$\{[^}]*\}", "", cleaned)
    argv = shlex.split(cleaned)
    assert argv[1] in ROOT.commands, f"{line!r}: no command zigwheel {argv[1]}"
    command, rest = _resolve(argv)
    known = {name for param in command.params for name in param.opts + param.secondary_opts}
    for word in rest:
        if word.startswith("--") or re.fullmatch(r"-[a-zA-Z]", word):
            assert word.split("=")[0] in known, f"{line!r}: {word} is not an option of the command"


@pytest.mark.parametrize("line", _workflow_commands())
def test_workflow_commands_exist(line: str) -> None:
    _check(line)


@pytest.mark.parametrize("line", _explanation_commands())
def test_explanation_commands_exist(line: str) -> None:
    _check(line)
