"""Build settings from defaults, [tool.zigwheel], ZIGWHEEL_* variables and flags, in that order."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zigwheel.errors import ConfigError

DEFAULT = "default"
PYPROJECT = "pyproject"
ENVIRONMENT = "env"
FLAG = "flag"

# [tool.zigwheel] key -> ZIGWHEEL_* variable. Every setting can come from each layer.
ENV_NAMES = {
    "targets": "ZIGWHEEL_TARGETS",
    "manylinux": "ZIGWHEEL_MANYLINUX",
    "musllinux": "ZIGWHEEL_MUSLLINUX",
    "interpreters": "ZIGWHEEL_INTERPRETERS",
    "out-dir": "ZIGWHEEL_OUT_DIR",
    "maturin-args": "ZIGWHEEL_MATURIN_ARGS",
    "environment": "ZIGWHEEL_ENVIRONMENT",
}
# test-command is read by `zigwheel test --project`; it has no variable (--command is the override).
TABLE_KEYS = (*ENV_NAMES, "test-command")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FlagValues:
    """What the command line said; None or empty means "not given"."""

    targets: Sequence[str] = ()
    manylinux: str | None = None
    musllinux: str | None = None
    interpreters: Sequence[str] = ()
    out_dir: Path | None = None
    maturin_args: Sequence[str] = ()


@dataclass(frozen=True)
class BuildSettings:
    """The resolved settings of one build, with where each came from."""

    targets: tuple[str, ...]
    policy: str | None  # "manylinux_2_17", "musllinux_1_2", or None for each arch's default
    interpreters: tuple[str, ...]
    out_dir: Path
    maturin_args: tuple[str, ...]
    environment: Mapping[str, str]
    test_command: str | None
    sources: Mapping[str, str] = field(default_factory=dict)
    environment_sources: Mapping[str, str] = field(default_factory=dict)  # per variable


# "3.11", or an interpreter name or path maturin accepts ("python3.11", "pypy3.10", "/x/python").
_PYTHON_VERSION = re.compile(r"^(?:(?:python|pypy)?3\.\d{1,2}|.*/.+)$")


def _interpreter_list(values: Sequence[str], where: str) -> list[str]:
    # The same comma/space splitting as --target, so "-i 3.11,3.12" means two interpreters.
    items = [item for value in values for item in _split_list(value)]
    for item in items:
        if not _PYTHON_VERSION.match(item):
            msg = f"{where}: {item!r} is not a Python version"
            raise ConfigError(msg, hint="name versions like 3.11, comma-separated: -i 3.11,3.12")
    return items


def _environment_pairs(text: str, where: str) -> dict[str, str]:
    """``A=1 B="two words"`` (shell quoting) as a dict; ConfigError on anything else."""
    try:
        words = shlex.split(text)
    except ValueError as err:
        msg = f"{where} is not valid shell quoting: {err}"
        raise ConfigError(msg, hint='write KEY=VALUE pairs, e.g. A=1 B="two words"') from err
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not _ENV_KEY.match(key):
            msg = f"{where}: {word!r} is not a KEY=VALUE pair"
            raise ConfigError(msg, hint='write KEY=VALUE pairs, e.g. A=1 B="two words"')
        pairs[key] = value
    return pairs


def _split_list(value: str) -> list[str]:
    return [item for part in value.replace(",", " ").split() if (item := part.strip())]


def _as_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return _split_list(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    msg = f"[tool.zigwheel] {key} must be a string or a list of strings, not {value!r}"
    raise ConfigError(msg, hint=f'write e.g. {key} = ["x86_64", "aarch64"]')


def _as_str(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    msg = f"[tool.zigwheel] {key} must be a string, not {value!r}"
    raise ConfigError(msg, hint=f'quote it: {key} = "2_17"')


def parse_test_command(value: object) -> str | None:
    """``[tool.zigwheel] test-command``: a string, or a list of strings joined with ``&&``."""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return " && ".join(value) or None
    if value is None:
        return None
    return _as_str(value, "test-command") or None


def policy_from_flags(manylinux: str | None, musllinux: str | None, where: str) -> str | None:
    """The policy that ``--manylinux X`` / ``--musllinux Y`` (or their table keys) name.

    "2_17" -> "manylinux_2_17", "2014" -> "manylinux2014", "1_2" -> "musllinux_1_2"; None when
    neither is given. Not validated here: resolve_target says which policies exist.
    """
    if manylinux and musllinux:
        msg = f"{where} names both a manylinux and a musllinux policy"
        raise ConfigError(msg, hint="build glibc and musl wheels in two runs")
    if manylinux:
        text = manylinux.strip().lower()
        if text.startswith("manylinux"):
            return text
        # "1", "2010", "2014" are the legacy names; "2_17" the PEP 600 form.
        return f"manylinux{text}" if text.isdigit() else f"manylinux_{text}"
    if musllinux:
        text = musllinux.strip().lower()
        return text if text.startswith("musllinux") else f"musllinux_{text}"
    return None


def tool_table(pyproject: Mapping[str, Any]) -> Mapping[str, Any]:
    """The [tool.zigwheel] table of a parsed pyproject.toml, checked for unknown keys."""
    table = pyproject.get("tool", {}).get("zigwheel", {})
    if not isinstance(table, dict):
        msg = "[tool.zigwheel] in pyproject.toml must be a table"
        raise ConfigError(msg, hint="write it as a [tool.zigwheel] section")
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        msg = f"[tool.zigwheel] has unknown key(s): {', '.join(unknown)}"
        raise ConfigError(msg, hint=f"known keys: {', '.join(TABLE_KEYS)}")
    return table


def resolve_settings(  # noqa: PLR0912, PLR0915 - one flat pass per layer reads best
    *,
    pyproject: Mapping[str, Any],
    env: Mapping[str, str],
    flags: FlagValues,
    project_dir: Path,
    host_arch: str,
) -> BuildSettings:
    """Merge the four layers; later layers win, and ``sources`` records which one did."""
    table = tool_table(pyproject)
    sources: dict[str, str] = {}

    targets: list[str] = [host_arch]
    sources["targets"] = DEFAULT
    policy: str | None = None
    sources["policy"] = DEFAULT
    interpreters: list[str] = []
    sources["interpreters"] = DEFAULT
    out_dir = project_dir / "dist"
    sources["out-dir"] = DEFAULT
    maturin_args: list[str] = []
    sources["maturin-args"] = DEFAULT

    # pyproject
    if "targets" in table:
        targets, sources["targets"] = _as_list(table["targets"], "targets"), PYPROJECT
    many = _as_str(table["manylinux"], "manylinux") if "manylinux" in table else None
    musl = _as_str(table["musllinux"], "musllinux") if "musllinux" in table else None
    if many or musl:
        policy, sources["policy"] = policy_from_flags(many, musl, "[tool.zigwheel]"), PYPROJECT
    if "interpreters" in table:
        interpreters = _interpreter_list(
            _as_list(table["interpreters"], "interpreters"), "[tool.zigwheel] interpreters"
        )
        sources["interpreters"] = PYPROJECT
    if "out-dir" in table:
        out_dir, sources["out-dir"] = project_dir / _as_str(table["out-dir"], "out-dir"), PYPROJECT
    if "maturin-args" in table:
        raw = table["maturin-args"]
        maturin_args = shlex.split(raw) if isinstance(raw, str) else _as_list(raw, "maturin-args")
        sources["maturin-args"] = PYPROJECT
    environment = table.get("environment", {})
    if not isinstance(environment, dict) or not all(
        isinstance(value, str) and _ENV_KEY.match(key) for key, value in environment.items()
    ):
        msg = "[tool.zigwheel] environment must be a table of strings"
        raise ConfigError(msg, hint='write e.g. environment = { AWS_LC_SYS_NO_ASM = "1" }')
    environment = dict(environment)
    environment_sources = dict.fromkeys(environment, PYPROJECT)
    sources["environment"] = PYPROJECT if environment else DEFAULT
    test_command = parse_test_command(table.get("test-command"))

    # environment variables
    if env.get(ENV_NAMES["targets"], "").strip():
        targets, sources["targets"] = _split_list(env[ENV_NAMES["targets"]]), ENVIRONMENT
    env_policy = policy_from_flags(
        env.get(ENV_NAMES["manylinux"], "").strip() or None,
        env.get(ENV_NAMES["musllinux"], "").strip() or None,
        "the environment (ZIGWHEEL_MANYLINUX / ZIGWHEEL_MUSLLINUX)",
    )
    if env_policy:
        policy, sources["policy"] = env_policy, ENVIRONMENT
    if env.get(ENV_NAMES["interpreters"], "").strip():
        name = ENV_NAMES["interpreters"]
        interpreters = _interpreter_list([env[name]], name)
        sources["interpreters"] = ENVIRONMENT
    if env.get(ENV_NAMES["out-dir"], "").strip():
        out_dir, sources["out-dir"] = Path(env[ENV_NAMES["out-dir"]]), ENVIRONMENT
    if env.get(ENV_NAMES["maturin-args"], "").strip():
        maturin_args = shlex.split(env[ENV_NAMES["maturin-args"]])
        sources["maturin-args"] = ENVIRONMENT

    if env.get(ENV_NAMES["environment"], "").strip():
        # Per variable: the shell's pairs add to and override the table's.
        extra = _environment_pairs(env[ENV_NAMES["environment"]], ENV_NAMES["environment"])
        environment.update(extra)
        environment_sources.update(dict.fromkeys(extra, ENVIRONMENT))
        sources["environment"] = ENVIRONMENT

    # flags
    flag_targets = [item for value in flags.targets for item in _split_list(value)]
    if flag_targets:
        targets, sources["targets"] = flag_targets, FLAG
    flag_policy = policy_from_flags(flags.manylinux, flags.musllinux, "the command line")
    if flag_policy:
        policy, sources["policy"] = flag_policy, FLAG
    flag_interpreters = _interpreter_list(flags.interpreters, "--interpreter")
    if flag_interpreters:
        interpreters, sources["interpreters"] = flag_interpreters, FLAG
    if flags.out_dir is not None:
        out_dir, sources["out-dir"] = flags.out_dir, FLAG
    if flags.maturin_args:
        maturin_args, sources["maturin-args"] = list(flags.maturin_args), FLAG

    if not targets:
        msg = "no target architecture was given"
        raise ConfigError(msg, hint="pass --target x86_64 (or aarch64, ...)")
    return BuildSettings(
        targets=tuple(dict.fromkeys(targets)),
        policy=policy,
        interpreters=tuple(dict.fromkeys(interpreters)),
        out_dir=out_dir,
        maturin_args=tuple(maturin_args),
        environment=environment,
        test_command=test_command,
        sources=sources,
        environment_sources=environment_sources,
    )
