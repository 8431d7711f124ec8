"""Property: whatever a pyproject.toml or a flag holds, the CLI ends with an error, not a crash."""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from zigwheel.builder.settings import TABLE_KEYS
from zigwheel.cli import app
from zigwheel.cli._console import printable, report_error
from zigwheel.errors import ZigwheelError

# The exit codes of the README's table.
EXIT_CODES = {0, 1, 2, 3, 4, 5, 6}
ODD_TEXT = st.text(
    alphabet=st.sampled_from([*"ab_2[]/\\\"'{}\n\t ,.=", "\u202e", "\u200b", "\x1b", "é"]),
    max_size=12,
)
SCALARS = st.one_of(st.integers(-3, 3), st.booleans(), st.floats(allow_nan=False), ODD_TEXT)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(ODD_TEXT, SCALARS, max_size=2)
)
CARGO = (
    '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n'
    '[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\n'
    'pyo3 = { version = "0.27", features = ["abi3-py39"] }\n'
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else "0"
    if isinstance(value, str):
        return '"' + "".join(f"\\u{ord(c):04x}" if not c.isalnum() else c for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _outcome(args: list[str]) -> tuple[int, str]:
    """(exit code, what was printed) as `zigwheel` itself would end: errors through report_error."""
    result = CliRunner().invoke(app, args)
    if isinstance(result.exception, ZigwheelError):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = report_error(result.exception)
        return code, stderr.getvalue()
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.dictionaries(st.one_of(st.sampled_from(TABLE_KEYS), ODD_TEXT), VALUES, max_size=3),
    maturin=st.one_of(st.none(), VALUES),
    flags=st.lists(
        st.tuples(st.sampled_from(["-t", "--manylinux", "--musllinux", "-i", "-o"]), ODD_TEXT),
        max_size=2,
    ),
    garbage=st.booleans(),
)
def test_build_print_plan_never_crashes(
    table: dict[str, Any], maturin: Any, flags: list[tuple[str, str]], garbage: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "Cargo.toml").write_text(CARGO)
        lines = ['[build-system]\nrequires = ["maturin"]\nbuild-backend = "maturin"\n']
        if maturin is not None:
            lines.append(f"[tool.maturin]\nfeatures = {_toml_value(maturin)}\n")
        lines.append("[tool.zigwheel]\n")
        lines += [f"{_toml_value(key)} = {_toml_value(value)}\n" for key, value in table.items()]
        data = "".join(lines).encode()
        (project / "pyproject.toml").write_bytes(data + (b"\n# \xff\xfe\n" if garbage else b""))
        args = ["build", str(project), "--print-plan", *(part for flag in flags for part in flag)]
        code, printed = _outcome(args)
    assert code in EXIT_CODES
    assert "Traceback" not in printed


@settings(max_examples=30, deadline=None)
@given(name=ODD_TEXT.filter(lambda text: text.strip("./\\ \n") != "" and "/" not in text))
def test_a_missing_folder_is_named_verbatim(name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        missing = Path(folder) / name
        code, printed = _outcome(["build", str(missing), "--print-plan"])
    assert code == 2
    assert printable(str(missing.resolve()), newlines=True) in printed
