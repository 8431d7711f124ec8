"""The app loads the module of the command it runs, and every command has its module."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from zigwheel.cli import app
from zigwheel.cli.application import COMMAND_MODULES, build_app


def _names(typer_app: typer.Typer) -> set[str]:
    commands = {
        info.name or (info.callback.__name__ if info.callback else "")
        for info in typer_app.registered_commands
    }
    return commands | {info.name or "" for info in typer_app.registered_groups}


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    assert _names(app) == set(COMMAND_MODULES)
    for command in COMMAND_MODULES:
        assert command in _names(build_app(command)), command


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["check", "--help"], ["zigwheel.builder.jobs", "zigwheel.release.workflow"]),
        (["-v", "doctor", "--help"], ["zigwheel.compliance.analysis", "zigwheel.release.publish"]),
    ],
)
def test_a_run_loads_only_its_command(argv: list[str], absent: list[str]) -> None:
    code = (
        "import json, sys\n"
        f"sys.argv = ['zigwheel', *{argv!r}]\n"
        "from zigwheel.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    loaded = json.loads(result.stderr.splitlines()[-1])
    assert "Usage: zigwheel" in result.stdout
    for module in absent:
        assert module not in loaded, module


def test_an_unknown_command_still_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zigwheel", "chek"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "No such command" in result.stderr
