"""The public API (zigwheel.plan/build/check/test): the same objects and errors as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import zigwheel
from zigwheel.errors import ConfigError, ZigwheelError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ExampleWheel = Callable[..., Path]


def test_import_zigwheel_loads_no_use_case() -> None:
    # The API is loaded on first use: the CLI's start-up must not pay for it.
    code = "import sys, zigwheel; print(sorted(m for m in sys.modules if m.startswith('zigwheel')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.replace("'", '"')) == ["zigwheel", "zigwheel._version"]


def test_plan_follows_the_same_layers_as_the_cli() -> None:
    plan = zigwheel.plan(EXAMPLES / "hello-abi3", targets=["x86_64,aarch64"], env={})
    assert [job.target.platform_tag for job in plan.jobs] == [
        "manylinux_2_17_x86_64",
        "manylinux_2_17_aarch64",
    ]
    assert plan.settings.sources["targets"] == "flag"
    from_env = zigwheel.plan(EXAMPLES / "hello-abi3", env={"ZIGWHEEL_MANYLINUX": "2_28"})
    assert from_env.settings.sources["policy"] == "env"
    assert {job.target.policy for job in from_env.jobs} == {"manylinux_2_28"}


def test_errors_are_the_documented_ones(tmp_path: Path) -> None:
    with pytest.raises(ZigwheelError) as caught:
        zigwheel.plan(tmp_path / "nowhere")
    assert caught.value.hint
    with pytest.raises(ConfigError, match="no wheel found in"):
        zigwheel.test([tmp_path])


def test_check_reports_each_wheel_of_a_folder(tmp_path: Path, check_builders: ModuleType) -> None:
    builders = check_builders
    pure = builders.make_wheel(tmp_path, "pure", "any", {"pure/__init__.py": b""})
    host = builders.host_built_wheel(tmp_path)
    reports = zigwheel.check([tmp_path, pure])  # pure named twice: reported once
    by_name = {Path(report.path).name: report for report in reports}
    assert len(reports) == 2
    assert by_name[pure.name].policy == "any"
    assert by_name[pure.name].compliant
    assert not by_name[host.name].compliant
    assert by_name[host.name].policy.startswith("manylinux_2_")


@pytest.mark.slow
def test_build_then_test_an_example(example_wheel: ExampleWheel) -> None:
    wheel = example_wheel("hello-abi3", "x86_64")  # conftest builds it through zigwheel.build
    (report,) = zigwheel.check([wheel])
    assert report.compliant
    assert report.policy == "manylinux_2_17_x86_64"
    run = zigwheel.test([wheel], env=None)
    assert [result.status for result in run.results] == ["passed"]
    assert run.counts == {"passed": 1, "failed": 0, "not-tested": 0}
    assert run.ok(strict=True)
