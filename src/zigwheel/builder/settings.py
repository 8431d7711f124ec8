"""The settings table: each setting once, over defaults, [tool.zigwheel], ZIGWHEEL_* and flags."""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from packaging.requirements import InvalidRequirement, Requirement

from zigwheel.errors import ConfigError

DEFAULT = "default"
PYPROJECT = "pyproject"
ENVIRONMENT = "env"
FLAG = "flag"
LAYERS = (DEFAULT, PYPROJECT, ENVIRONMENT, FLAG)  # lowest first: a later layer wins

BUILD = "build"
TEST = "test"

# The limit zigwheel test puts on one step (an import, a command) today.
DEFAULT_TEST_TIMEOUT = 900.0

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# "3.11", or an interpreter name or path maturin accepts ("python3.11", "pypy3.10", "/x/python").
_PYTHON_VERSION = re.compile(r"^(?:(?:python|pypy)?3\.\d{1,2}t?|.*/.+)$")
# An extra (PEP 685) or a dependency group (PEP 735) name.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


class _Unset:
    """What a layer gives when it does not name the setting (not the same as an empty value)."""


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Spot:
    """Where a raw value was written: its layer, the setting's names there, and the base folder."""

    setting: Setting
    layer: str
    names: tuple[str, ...]  # as this layer spells them: table keys, variables or flags
    base: Path  # where a relative path written in this layer starts

    def where(self, index: int = 0) -> str:
        """The name an error names: ``[tool.zigwheel] out-dir``, ``ZIGWHEEL_OUT_DIR``, ``--out``."""
        name = self.names[index]
        return f"[tool.zigwheel] {name}" if self.layer == PYPROJECT else name

    def wrong_type(self, raw: object, index: int = 0) -> ConfigError:
        """The error for a TOML value of the wrong type: the key, the type expected, an example."""
        msg = f"{self.where(index)} must be {self.setting.kind.toml}, not {raw!r}"
        return ConfigError(msg, hint=f"write e.g. {self.names[index]} = {self.setting.example}")


class Kind:
    """How one type of setting is read from each layer; parse gives UNSET when nothing is given."""

    toml = "a string"  # what [tool.zigwheel] accepts, as said in the wrong-type error
    text = "a string"  # how a ZIGWHEEL_* variable spells it
    merges: ClassVar[bool] = False  # a mapping whose items add to the lower layers' items

    def parse(self, raws: Sequence[object], spot: Spot) -> Any:
        """The value one layer gives; ``raws`` holds the raw value of each name (None: absent)."""
        (raw,) = raws
        if raw is None:
            return UNSET
        if spot.layer == PYPROJECT:
            return self.from_toml(raw, spot)
        if spot.layer == ENVIRONMENT:
            # An empty variable is how a shell unsets a setting for one command.
            return self.from_text(str(raw), spot) if str(raw).strip() else UNSET
        return self.from_flag(raw, spot)

    def from_toml(self, raw: object, spot: Spot) -> Any:
        """The value of a [tool.zigwheel] entry."""
        raise NotImplementedError

    def from_text(self, text: str, spot: Spot) -> Any:
        """The value of a ZIGWHEEL_* variable (not blank)."""
        raise NotImplementedError

    def from_flag(self, raw: object, spot: Spot) -> Any:
        """The value of a flag, as the CLI parsed it; UNSET when the flag was not given."""
        raise NotImplementedError

    def show(self, value: Any) -> str:
        """The value in the words of ``--print-plan``."""
        return str(value)


def _split_list(value: str) -> list[str]:
    return [item for part in value.replace(",", " ").split() if (item := part.strip())]


def _shell_words(text: str, where: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as err:
        msg = f"{where} is not valid shell quoting: {err}"
        raise ConfigError(msg, hint="quote words holding spaces: 'two words'") from err


class Words(Kind):
    """A list of strings; ``comma`` lists split every item on commas and spaces, as --target does.

    A list that is not ``comma`` (maturin arguments, requirements) is split with shell quoting
    when written as one string, and a flag's repetitions are taken word for word.
    """

    toml = "a string or a list of strings"

    def __init__(
        self,
        *,
        comma: bool,
        check: Callable[[str, str], None] | None = None,
        unique: bool = True,
    ) -> None:
        self.comma = comma
        self.check = check
        self.unique = unique
        self.text = "comma- or space-separated" if comma else "shell words"

    def _split(self, text: str, where: str) -> list[str]:
        return _split_list(text) if self.comma else _shell_words(text, where)

    def _finish(self, items: list[str], where: str) -> tuple[str, ...]:
        if self.check is not None:
            for item in items:
                self.check(item, where)
        return tuple(dict.fromkeys(items)) if self.unique else tuple(items)

    def from_toml(self, raw: object, spot: Spot) -> Any:
        if isinstance(raw, str):
            return self._finish(self._split(raw, spot.where()), spot.where())
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise spot.wrong_type(raw)
        items = [part for item in raw for part in _split_list(item)] if self.comma else raw
        return self._finish(items, spot.where())

    def from_text(self, text: str, spot: Spot) -> Any:
        return self._finish(self._split(text, spot.where()), spot.where())

    def from_flag(self, raw: object, spot: Spot) -> Any:
        values = [str(value) for value in raw] if isinstance(raw, (list, tuple)) else [str(raw)]
        items = [part for value in values for part in _split_list(value)] if self.comma else values
        if values and not items:  # `-t ''`: naming nothing is not leaving the option out
            msg = f"{spot.where()} was given an empty value"
            raise ConfigError(msg, hint=f"name at least one, or leave {spot.where()} out")
        return self._finish(items, spot.where()) if items else UNSET

    def show(self, value: Any) -> str:
        return (", ".join(value) if self.comma else shlex.join(value)) or "none"


class FolderPath(Kind):
    """A folder; relative to where it was written: the project (pyproject.toml), else the cwd."""

    toml = "a string (a path)"
    text = "a path"

    def from_toml(self, raw: object, spot: Spot) -> Any:
        if not isinstance(raw, str):
            raise spot.wrong_type(raw)
        return spot.base / raw

    def from_text(self, text: str, spot: Spot) -> Any:
        return spot.base / text

    def from_flag(self, raw: object, spot: Spot) -> Any:
        return spot.base / Path(str(raw))


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


class Policy(Kind):
    """A manylinux or a musllinux policy: one setting spelt by two names in every layer."""

    text = "a policy version: 2_17, 2014, manylinux_2_28; 1_2 for musllinux"

    def parse(self, raws: Sequence[object], spot: Spot) -> Any:
        many, musl = (self._version(raw, spot, index) for index, raw in enumerate(raws))
        if not (many or musl):
            return UNSET
        where = {
            PYPROJECT: "[tool.zigwheel]",
            ENVIRONMENT: f"the environment ({' / '.join(spot.names)})",
        }.get(spot.layer, "the command line")
        return policy_from_flags(many, musl, where)

    @staticmethod
    def _version(raw: object, spot: Spot, index: int) -> str | None:
        if raw is None:
            return None
        if spot.layer == PYPROJECT and not isinstance(raw, str):
            raise spot.wrong_type(raw, index)
        text = str(raw)
        if spot.layer == ENVIRONMENT:
            # Stripped (a shell's stray space); an empty variable unsets the setting.
            return text.strip() or None
        if not text.strip():
            # In the table or on the command line an empty policy is a mistake, not a default.
            name = spot.where(index) if spot.layer == PYPROJECT else spot.names[index]
            msg = f"{name} is empty"
            example = '"2_17"' if index == 0 else '"1_2"'
            hint = f"write e.g. {spot.names[index]} = {example}, or leave it out"
            if spot.layer != PYPROJECT:
                hint = f"pass e.g. {spot.names[index]} {example.strip(chr(34))}, or leave it out"
            raise ConfigError(msg, hint=hint)
        return text

    def show(self, value: Any) -> str:
        return str(value) if value else "each architecture's default"


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


class Variables(Kind):
    """Environment variables for the build; each layer adds to and overrides the one below."""

    toml = "a table of strings"
    text = 'KEY=VALUE pairs, shell-quoted: A=1 B="two words"'
    merges = True

    def from_toml(self, raw: object, spot: Spot) -> Any:
        if not isinstance(raw, dict) or not all(
            isinstance(value, str) and _ENV_KEY.match(key) for key, value in raw.items()
        ):
            raise spot.wrong_type(raw)
        return dict(raw) or UNSET  # an empty table leaves the default in place

    def from_text(self, text: str, spot: Spot) -> Any:
        return _environment_pairs(text, spot.where()) or UNSET

    def show(self, value: Any) -> str:
        return f"{len(value)} variable(s)" if value else "none"


def parse_test_command(value: object) -> str | None:
    """``[tool.zigwheel] test-command``: a string, or a list of strings joined with ``&&``."""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return " && ".join(value) or None
    if value is None or isinstance(value, str):
        return value or None
    msg = f"[tool.zigwheel] test-command must be a string or a list of strings, not {value!r}"
    raise ConfigError(msg, hint='write e.g. test-command = "python -m pytest {project}/tests"')


class ShellCommand(Kind):
    """A shell command: a string, or a list of commands joined with ``&&``."""

    toml = "a string or a list of strings"
    text = "a shell command"

    def from_toml(self, raw: object, spot: Spot) -> Any:
        if not (isinstance(raw, str) or (
            isinstance(raw, list) and all(isinstance(part, str) for part in raw)
        )):
            raise spot.wrong_type(raw)
        return parse_test_command(raw)

    def from_text(self, text: str, spot: Spot) -> Any:
        return text

    def from_flag(self, raw: object, spot: Spot) -> Any:
        return str(raw) or UNSET

    def show(self, value: Any) -> str:
        return str(value) if value else "none"


class Seconds(Kind):
    """A time limit in seconds: a positive, finite number."""

    toml = "a positive number of seconds"
    text = "a number of seconds"

    def _checked(self, number: float, spot: Spot) -> float:
        if not math.isfinite(number) or number <= 0:
            msg = f"{spot.where()} must be a positive number of seconds, not {number!r}"
            raise ConfigError(msg, hint=f"write e.g. {spot.names[0]} = {spot.setting.example}")
        return float(number)

    def from_toml(self, raw: object, spot: Spot) -> Any:
        # bool is an int in Python; `test-timeout = true` is a mistake, not one second.
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise spot.wrong_type(raw)
        return self._checked(raw, spot)

    def from_text(self, text: str, spot: Spot) -> Any:
        try:
            number = float(text)
        except ValueError:
            msg = f"{spot.where()} must be a number of seconds, not {text!r}"
            raise ConfigError(msg, hint=f"write e.g. {spot.names[0]}=600") from None
        return self._checked(number, spot)

    def from_flag(self, raw: object, spot: Spot) -> Any:
        if isinstance(raw, str):
            return self.from_text(raw, spot)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            msg = f"{spot.where()} must be a number of seconds, not {raw!r}"
            raise ConfigError(msg, hint=f"write e.g. {spot.names[0]} 600")
        return self._checked(raw, spot)

    def show(self, value: Any) -> str:
        return f"{value:g} s"


def _check_interpreter(item: str, where: str) -> None:
    if not _PYTHON_VERSION.match(item):
        msg = f"{where}: {item!r} is not a Python version"
        raise ConfigError(msg, hint="name versions like 3.11, comma-separated: -i 3.11,3.12")


def _check_requirement(item: str, where: str) -> None:
    try:
        Requirement(item)
    except InvalidRequirement as err:
        msg = f"{where}: {item!r} is not a requirement: {err}"
        raise ConfigError(msg, hint='write pip requirements, e.g. ["pytest>=8", "numpy"]') from err


def _check_name(item: str, where: str) -> None:
    if not _NAME.match(item):
        msg = f"{where}: {item!r} is not an extra or dependency group name"
        raise ConfigError(msg, hint="names are letters, digits, '.', '-' and '_'")


@dataclass(frozen=True)
class Defaults:
    """What a default may depend on."""

    project_dir: Path
    host_arch: str


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    key: str  # the name in `sources` and in --print-plan
    attr: str  # the field of BuildSettings / TestSettings that holds the value
    command: str  # BUILD or TEST: whose settings object carries it
    kind: Kind
    default: Callable[[Defaults], Any]
    help: str  # one line
    example: str  # a TOML value, shown in hints
    names: tuple[str, ...]  # [tool.zigwheel] keys; a flag layer's values are keyed by them too
    variables: tuple[str, ...] = ()  # ZIGWHEEL_* variables; none: no environment layer
    flags: tuple[str, ...] = ()  # command-line spellings; none: no flag layer


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "targets", "targets", BUILD, Words(comma=True),
        lambda at: (at.host_arch,),
        "Architectures to build (x86_64, aarch64, ...); default: the host's.",
        '["x86_64", "aarch64"]', ("targets",), ("ZIGWHEEL_TARGETS",), ("--target",),
    ),
    Setting(
        "policy", "policy", BUILD, Policy(),
        lambda at: None,
        "The manylinux or musllinux policy; default: each architecture's (manylinux 2_17).",
        '"2_17"', ("manylinux", "musllinux"), ("ZIGWHEEL_MANYLINUX", "ZIGWHEEL_MUSLLINUX"),
        ("--manylinux", "--musllinux"),
    ),
    Setting(
        "interpreters", "interpreters", BUILD, Words(comma=True, check=_check_interpreter),
        lambda at: (),
        "Python versions for non-abi3 crates (3.11, ...); default: chosen from requires-python.",
        '["3.11", "3.12"]', ("interpreters",), ("ZIGWHEEL_INTERPRETERS",), ("--interpreter",),
    ),
    Setting(
        "out-dir", "out_dir", BUILD, FolderPath(),
        lambda at: at.project_dir / "dist",
        "Output folder, relative to where it is written; default: the project's dist.",
        '"dist"', ("out-dir",), ("ZIGWHEEL_OUT_DIR",), ("--out",),
    ),
    Setting(
        "maturin-args", "maturin_args", BUILD, Words(comma=False, unique=False),
        lambda at: (),
        "Extra arguments for maturin build (a string is split with shell quoting).",
        '["--features", "fast"]', ("maturin-args",), ("ZIGWHEEL_MATURIN_ARGS",),
        ("--maturin-arg",),
    ),
    Setting(
        "environment", "environment", BUILD, Variables(),
        lambda at: {},
        "Environment variables for the build; the variable's pairs add to the table's.",
        '{ AWS_LC_SYS_NO_ASM = "1" }', ("environment",), ("ZIGWHEEL_ENVIRONMENT",),
    ),
    Setting(
        "test-command", "command", TEST, ShellCommand(),
        lambda at: None,
        "Shell command zigwheel test runs after the imports (a list joins with &&).",
        '"python -m pytest {project}/tests -q"', ("test-command",), (), ("--command",),
    ),
    Setting(
        "test-requires", "requires", TEST, Words(comma=False, check=_check_requirement),
        lambda at: (),
        "Requirements installed for the test command (a string is split with shell quoting).",
        '["pytest>=8"]', ("test-requires",), ("ZIGWHEEL_TEST_REQUIRES",), ("--test-requires",),
    ),
    Setting(
        "test-extras", "extras", TEST, Words(comma=True, check=_check_name),
        lambda at: (),
        "Extras of the wheel installed with it for the tests.",
        '["test"]', ("test-extras",), ("ZIGWHEEL_TEST_EXTRAS",), ("--test-extras",),
    ),
    Setting(
        "test-groups", "groups", TEST, Words(comma=True, check=_check_name),
        lambda at: (),
        "PEP 735 dependency groups of the project installed for the tests.",
        '["test"]', ("test-groups",), ("ZIGWHEEL_TEST_GROUPS",), ("--test-groups",),
    ),
    Setting(
        "test-timeout", "timeout", TEST, Seconds(),
        lambda at: DEFAULT_TEST_TIMEOUT,
        "Seconds one wheel's test step may take.",
        "600", ("test-timeout",), ("ZIGWHEEL_TEST_TIMEOUT",), ("--timeout",),
    ),
)  # fmt: skip
BUILD_SETTINGS = tuple(setting for setting in SETTINGS if setting.command == BUILD)
TEST_SETTINGS = tuple(setting for setting in SETTINGS if setting.command == TEST)
TABLE_KEYS = tuple(name for setting in SETTINGS for name in setting.names)
# [tool.zigwheel] key -> ZIGWHEEL_* variable, for the settings that have one.
ENV_NAMES = {
    name: variable
    for setting in SETTINGS
    for name, variable in zip(setting.names, setting.variables)
}


@dataclass(frozen=True)
class FlagValues:
    """What the command line of `zigwheel build` said; None or empty means "not given"."""

    targets: Sequence[str] = ()
    manylinux: str | None = None
    musllinux: str | None = None
    interpreters: Sequence[str] = ()
    out_dir: Path | None = None  # relative: to the current folder
    maturin_args: Sequence[str] = ()

    PREFIX: ClassVar[str] = ""


@dataclass(frozen=True)
class TestFlagValues:
    """What the command line of `zigwheel test` said; None or empty means "not given"."""

    command: str | None = None
    requires: Sequence[str] = ()
    extras: Sequence[str] = ()
    groups: Sequence[str] = ()
    timeout: float | None = None

    PREFIX: ClassVar[str] = "test-"
    __test__: ClassVar[bool] = False  # a name pytest would otherwise try to collect


def _flag_layer(flags: FlagValues | TestFlagValues) -> dict[str, object]:
    """The flags keyed by [tool.zigwheel] key (out_dir -> out-dir), without those not given."""
    given: dict[str, object] = {}
    for item in fields(flags):
        value = getattr(flags, item.name)
        if value is not None and value not in ((), []):
            given[flags.PREFIX + item.name.replace("_", "-")] = value
    return given


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


@dataclass(frozen=True)
class TestSettings:
    """The resolved settings of `zigwheel test`, with where each came from."""

    command: str | None
    requires: tuple[str, ...]
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    timeout: float
    sources: Mapping[str, str] = field(default_factory=dict)

    __test__: ClassVar[bool] = False  # a name pytest would otherwise try to collect


@dataclass(frozen=True)
class Resolved:
    """Every value of a set of rows (by attr), its layer (by key), and per-item layers (by key)."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    item_sources: Mapping[str, Mapping[str, str]]


def setting(key: str) -> Setting:
    """The row of ``key`` (``out-dir``, ``policy``, ``test-timeout``)."""
    (row,) = (row for row in SETTINGS if row.key == key)
    return row


def tool_table(pyproject: Mapping[str, Any]) -> Mapping[str, Any]:
    """The [tool.zigwheel] table of a parsed pyproject.toml, checked for unknown keys."""
    tool = pyproject.get("tool", {})
    table = tool.get("zigwheel", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        msg = "[tool.zigwheel] in pyproject.toml must be a table"
        raise ConfigError(msg, hint="write it as a [tool.zigwheel] section")
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        msg = f"[tool.zigwheel] has unknown key(s): {', '.join(unknown)}"
        guesses = [
            f"{key!r} -> {close[0]!r}"
            for key in unknown
            if (close := difflib.get_close_matches(key, TABLE_KEYS, n=1))
        ]
        hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
        raise ConfigError(msg, hint=f"{hint}known keys: {', '.join(TABLE_KEYS)}")
    return table


def resolve(
    rows: Sequence[Setting],
    *,
    pyproject: Mapping[str, Any],
    env: Mapping[str, str],
    flags: Mapping[str, object],
    defaults: Defaults,
    cwd: Path,
) -> Resolved:
    """The one loop: for each row, default -> pyproject -> environment -> flags; later wins.

    ``flags`` is keyed by [tool.zigwheel] key. A relative path is relative to where it was
    written: the project folder in pyproject.toml, ``cwd`` in a variable or a flag.
    """
    table = tool_table(pyproject)
    layers: tuple[tuple[str, Mapping[str, object], Path], ...] = (
        (PYPROJECT, table, defaults.project_dir),
        (ENVIRONMENT, env, cwd),
        (FLAG, flags, cwd),
    )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    item_sources: dict[str, dict[str, str]] = {}
    for row in rows:
        value, source, items = row.default(defaults), DEFAULT, {}
        for layer, given, base in layers:
            names = {PYPROJECT: row.names, ENVIRONMENT: row.variables, FLAG: row.flags}[layer]
            if not names:
                continue  # this setting is not spelt in this layer
            keys = row.variables if layer == ENVIRONMENT else row.names
            raws = [given.get(key) for key in keys]
            if all(raw is None for raw in raws):
                continue
            new = row.kind.parse(raws, Spot(row, layer, names, base))
            if new is UNSET:
                continue
            if row.kind.merges:
                value = {**value, **new}
                items.update(dict.fromkeys(new, layer))
            else:
                value = new
            source = layer
        values[row.attr], sources[row.key] = value, source
        if row.kind.merges:
            item_sources[row.key] = {**dict.fromkeys(value, DEFAULT), **items}
    return Resolved(values, sources, item_sources)


def resolve_settings(
    *,
    pyproject: Mapping[str, Any],
    env: Mapping[str, str],
    flags: FlagValues,
    project_dir: Path,
    host_arch: str,
    cwd: Path | None = None,
) -> BuildSettings:
    """The build's settings; ``sources`` says which layer each came from (cwd: Path.cwd())."""
    defaults = Defaults(project_dir, host_arch)
    base = cwd if cwd is not None else Path.cwd()
    built = resolve(
        BUILD_SETTINGS, pyproject=pyproject, env=env, flags=_flag_layer(flags),
        defaults=defaults, cwd=base,
    )  # fmt: skip
    # The project's test-command travels with the build, for callers that test what it built.
    command = setting("test-command")
    tested = resolve(
        (command,), pyproject=pyproject, env=env, flags={}, defaults=defaults, cwd=base
    )
    if not built.values["targets"]:
        msg = "no target architecture was given"
        raise ConfigError(msg, hint="pass --target x86_64 (or aarch64, ...)")
    return BuildSettings(
        **built.values,
        test_command=tested.values[command.attr],
        sources=built.sources,
        environment_sources=built.item_sources["environment"],
    )


def resolve_test_settings(
    *,
    pyproject: Mapping[str, Any],
    env: Mapping[str, str],
    flags: TestFlagValues | None = None,
    project_dir: Path,
    cwd: Path | None = None,
) -> TestSettings:
    """The settings of `zigwheel test` (test-command, -requires, -extras, -groups, -timeout)."""
    resolved = resolve(
        TEST_SETTINGS,
        pyproject=pyproject,
        env=env,
        flags=_flag_layer(flags or TestFlagValues()),
        defaults=Defaults(project_dir, host_arch=""),
        cwd=cwd if cwd is not None else Path.cwd(),
    )
    return TestSettings(**resolved.values, sources=resolved.sources)
