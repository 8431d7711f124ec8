"""The gate before an upload: refuse files an index would reject, check credentials, run twine."""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import tarfile
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
)

from zigwheel import _proc
from zigwheel.compliance.archive import parse_wheel_name
from zigwheel.errors import (
    CommandFailedError,
    ConfigError,
    DataError,
    ToolchainError,
    UnreadableInputError,
)
from zigwheel.explain import explain
from zigwheel.output import DISTRIBUTION_SUFFIXES, JSON_VERSION, expand_folders
from zigwheel.resources import data_dir, load_toml

logger = logging.getLogger(__name__)

UPLOADER_COLUMNS = "4096"
INDEXES = ("pypi", "testpypi")  # twine knows their upload URLs; zigwheel names them only
TOKEN_USER = "__token__"
TOKEN_PREFIX = "pypi-"
UPLOAD_TIMEOUT = 1800.0
_LINUX_TAG = re.compile(
    r"^(?P<family>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)$"
)


# --- what PyPI accepts --------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexRules:
    """Which Linux platform tags the index accepts (data/pypi-platforms.toml)."""

    manylinux_arches: frozenset[str]
    musllinux_arches: frozenset[str]
    legacy_tags: frozenset[str]


def parse_index_rules(document: Mapping[str, Any], *, source: str) -> IndexRules:
    """Validate the platform-tag data; DataError when it is malformed."""
    if document.get("schema") != 1:
        msg = f"{source} has schema {document.get('schema')!r}, expected 1"
        raise DataError(msg, hint="reinstall zigwheel; the data does not match the code")
    lists: dict[str, frozenset[str]] = {}
    for key in ("manylinux_arches", "musllinux_arches", "legacy_tags"):
        value = document.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            msg = f"{source}: {key} must be a non-empty list of strings"
            raise DataError(msg, hint="fix zigwheel's index data")
        lists[key] = frozenset(value)
    return IndexRules(lists["manylinux_arches"], lists["musllinux_arches"], lists["legacy_tags"])


@functools.lru_cache(maxsize=1)
def load_index_rules() -> IndexRules:
    """The shipped platform-tag rules, validated (cached)."""
    path = data_dir() / "pypi-platforms.toml"
    return parse_index_rules(load_toml(path), source=path.name)


def platform_problem(tag: str, rules: IndexRules) -> str | None:
    """Why an index would refuse (or zigwheel refuses) a wheel's platform tag; None if fine."""
    if tag.startswith("linux_"):
        return (
            f"platform tag {tag} is a bare linux tag: package indexes refuse it and it is not "
            "portable; build a manylinux/musllinux wheel (zigwheel build)"
        )
    if tag in rules.legacy_tags:
        return None
    match = _LINUX_TAG.match(tag)
    if match is None:
        if tag.startswith(("manylinux", "musllinux")):
            return f"platform tag {tag} is not a valid manylinux/musllinux tag"
        return None  # another operating system: zigwheel does not judge it
    arches = rules.manylinux_arches if match["family"] == "manylinux" else rules.musllinux_arches
    if match["arch"] not in arches:
        return (
            f"platform tag {tag}: the index accepts no {match['family']} wheels for {match['arch']}"
        )
    return None


# --- the gate over distribution files -----------------------------------------------------------


@dataclass
class DistVerdict:
    """The gate's verdict on one file: problems refuse it, notes are for information."""

    path: Path
    kind: str  # "wheel" | "sdist" | "unknown"
    project: str | None = None
    version: str | None = None
    platforms: list[str] = field(default_factory=list)
    policy: str | None = None  # the check's verdict for Linux wheels
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing refuses this file."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the verdict."""
        return {
            "file": self.path.name,
            "path": str(self.path),
            "kind": self.kind,
            "project": self.project,
            "version": self.version,
            "platforms": self.platforms,
            "policy": self.policy,
            "ok": self.ok,
            "problems": self.problems,
            "notes": self.notes,
        }


WheelChecker = Callable[[Path], Any]  # compliance.analysis.check_wheel: Path -> report


def _default_checker(path: Path) -> Any:
    from zigwheel.compliance.analysis import check_wheel  # noqa: PLC0415 - pyelftools only when a wheel is checked

    return check_wheel(path)


def _judge_wheel(verdict: DistVerdict, rules: IndexRules, checker: WheelChecker) -> None:
    try:
        name = parse_wheel_name(verdict.path.name)
    except (InvalidWheelFilename, ValueError, UnreadableInputError) as err:
        verdict.problems.append(f"not a valid wheel file name: {err}")
        return
    verdict.project, verdict.version = name.project, name.version
    verdict.platforms = list(name.platforms)
    for tag in name.platforms:
        problem = platform_problem(tag, rules)
        if problem:
            verdict.problems.append(problem)
    linux = any(tag.startswith(("manylinux", "musllinux", "linux")) for tag in name.platforms)
    if not linux and name.platforms != ("any",):
        verdict.notes.append("not a Linux wheel: its platform is not checked by zigwheel")
        return
    # A pure wheel is checked too: what an installer verifies (RECORD's sizes and hashes,
    # members it does not list) holds for every wheel, and a pure one has no ELF to judge.
    report = checker(verdict.path)
    verdict.policy = report.policy
    if not report.compliant:
        verdict.problems.extend(f"zigwheel check: {problem}" for problem in report.problems)
        if not report.problems:
            verdict.problems.append(f"zigwheel check: the content only satisfies {report.policy}")


_PROJECT_NAME = re.compile(r"^(?:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def _sdist_content_problem(path: Path) -> str | None:
    """Why ``path`` is not a gzip-compressed tar archive (what an index unpacks); None if it is."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
        if magic != b"\x1f\x8b":
            return "not a gzip file: an sdist must be a .tar.gz archive (python -m build --sdist)"
        with tarfile.open(path, mode="r:gz") as archive:
            if archive.next() is None:
                return "an empty tar archive: an sdist holds the project's source"
    except (OSError, tarfile.TarError, EOFError) as err:
        return f"not a readable .tar.gz archive: {err}"
    return None


def _judge_sdist(verdict: DistVerdict) -> None:
    try:
        project, version = parse_sdist_filename(verdict.path.name)
    except (InvalidSdistFilename, ValueError) as err:
        verdict.problems.append(f"not a valid sdist file name: {err}")
        return
    verdict.project, verdict.version = str(project), str(version)
    given = verdict.path.name[: -len(".tar.gz")].rpartition("-")[0]
    if not _PROJECT_NAME.match(given):
        verdict.problems.append(
            f"{given!r} is not a valid project name: letters, digits, '.', '-' and '_', "
            "starting and ending with a letter or digit"
        )
    else:
        normalized = f"{canonicalize_name(given).replace('-', '_')}-{version}.tar.gz"
        if verdict.path.name != normalized:
            verdict.notes.append(f"PEP 625 spells this sdist {normalized}")
    problem = _sdist_content_problem(verdict.path)
    if problem:
        verdict.problems.append(problem)


def gate(
    paths: Sequence[Path],
    *,
    rules: IndexRules | None = None,
    checker: WheelChecker | None = None,
) -> list[DistVerdict]:
    """Judge every distribution file; folders are searched for wheels and sdists.

    Refused: unreadable or unknown files, invalid file names, platform tags the index rejects,
    Linux wheels that fail `zigwheel check`, and two files with the same name.
    """
    rules = rules or load_index_rules()
    checker = checker or _default_checker
    verdicts: list[DistVerdict] = []
    seen: dict[str, Path] = {}
    for path in expand_folders(paths, DISTRIBUTION_SUFFIXES):
        verdict = DistVerdict(path=path, kind="unknown")
        verdicts.append(verdict)
        if path.is_dir():
            verdict.problems.append("the folder holds no .whl or .tar.gz files")
            continue
        if not path.is_file():
            verdict.problems.append("no such file")
            continue
        if path.name in seen:
            verdict.problems.append(f"duplicate file name: {seen[path.name]} has the same name")
        seen.setdefault(path.name, path)
        if path.name.endswith(".whl"):
            verdict.kind = "wheel"
            _judge_wheel(verdict, rules, checker)
        elif path.name.endswith(".tar.gz"):
            verdict.kind = "sdist"
            _judge_sdist(verdict)
        else:
            verdict.problems.append("not a distribution: upload wheels (.whl) and sdists (.tar.gz)")
    return verdicts


# --- credentials --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Who uploads. The password never appears in repr, JSON or messages."""

    username: str | None
    password: str | None = field(default=None, repr=False)
    source: str = "none"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict without the password."""
        return {
            "source": self.source,
            "username": self.username,
            "password": "set" if self.password else None,
        }


def read_credentials(env: Mapping[str, str]) -> Credentials:
    """Credentials from ZIGWHEEL_PYPI_TOKEN, TWINE_USERNAME/TWINE_PASSWORD or MATURIN_PYPI_TOKEN."""
    if env.get("ZIGWHEEL_PYPI_TOKEN"):
        return Credentials(TOKEN_USER, env["ZIGWHEEL_PYPI_TOKEN"], "ZIGWHEEL_PYPI_TOKEN")
    if env.get("TWINE_PASSWORD"):
        return Credentials(env.get("TWINE_USERNAME"), env["TWINE_PASSWORD"], "TWINE_PASSWORD")
    if env.get("MATURIN_PYPI_TOKEN"):
        return Credentials(TOKEN_USER, env["MATURIN_PYPI_TOKEN"], "MATURIN_PYPI_TOKEN")
    if env.get("TWINE_USERNAME"):
        return Credentials(env["TWINE_USERNAME"], None, "TWINE_USERNAME")
    return Credentials(None, None, "none")


def _describe_bad_characters(secret: str) -> str | None:
    """Name the kind of unwanted character in ``secret`` without revealing any of it."""
    if secret != secret.strip():
        return "leading or trailing whitespace (often a newline pasted with it)"
    for char in secret:
        if char.isspace():
            return "whitespace inside it"
        if unicodedata.category(char).startswith("C"):
            return "a control or invisible character"
    return None


def credential_problems(
    credentials: Credentials, *, token_rules: bool, trusted_publishing: bool = False
) -> list[str]:
    """What is wrong with ``credentials`` for the index; never quotes the password.

    ``token_rules`` applies PyPI's (and TestPyPI's): user ``__token__``, a ``pypi-`` token.
    ``trusted_publishing`` (an OIDC-capable CI) makes missing credentials acceptable.
    """
    problems: list[str] = []
    secret = credentials.password
    if secret:
        bad = _describe_bad_characters(secret)
        if bad:
            problems.append(f"the password/token from {credentials.source} has {bad}")
    if not token_rules:
        return problems
    if secret is None:
        if not trusted_publishing:
            problems.append(
                "no token: set ZIGWHEEL_PYPI_TOKEN (or TWINE_USERNAME=__token__ and "
                "TWINE_PASSWORD) to a PyPI API token, or publish from CI with trusted publishing"
            )
        return problems
    username = credentials.username
    if username is None:
        pass  # twine is given __token__ below
    elif username != TOKEN_USER and username.lower() == TOKEN_USER:
        problems.append(f"the user name must be {TOKEN_USER} in lowercase, not {username}")
    elif username != TOKEN_USER:
        problems.append(
            f"PyPI accepts API tokens only: the user name must be {TOKEN_USER}, not {username!r}"
        )
    if not secret.strip().startswith(TOKEN_PREFIX):
        problems.append(f"the token does not start with {TOKEN_PREFIX} (is it a PyPI API token?)")
    return problems


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and its trimmed form) replaced."""
    if not secret:
        return text
    for form in {secret, secret.strip()}:
        if len(form) >= 4:
            text = text.replace(form, "********")
    return text


def redact_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part masked."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:********@{host}"))


# --- the upload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    """Where to upload: a named index twine knows (pypi, testpypi) or any upload URL."""

    name: str | None
    url: str | None

    @property
    def label(self) -> str:
        """How to show the repository: a password inside the URL is masked."""
        return redact_url(self.url) if self.url else self.name or "pypi"

    @property
    def url_secret(self) -> str | None:
        """The password (a token) written inside the URL, which no output may show."""
        if self.url is None:
            return None
        return urllib.parse.urlsplit(self.url).password or None

    @property
    def token_rules(self) -> bool:
        """PyPI's credential rules apply to the named indexes only."""
        return self.url is None


def choose_repository(name: str | None, url: str | None) -> Repository:
    """Validate --repository / --repository-url; ConfigError for an unknown index or bad URL."""
    if url is not None:
        if name is not None:
            msg = "--repository and --repository-url were both given"
            raise ConfigError(msg, hint="pass one of them")
        if not re.match(r"^https?://[^\s/]+", url):
            msg = f"--repository-url {url!r} is not an http(s) URL"
            raise ConfigError(msg, hint="e.g. --repository-url http://127.0.0.1:8080/")
        return Repository(None, url)
    chosen = (name or "pypi").lower()
    if chosen not in INDEXES:
        msg = f"unknown repository {name!r}"
        raise ConfigError(msg, hint="use --repository pypi or testpypi, or --repository-url URL")
    return Repository(chosen, None)


@dataclass
class PublishResult:
    """The outcome of `zigwheel publish`: the gate, the credentials check and the upload."""

    repository: Repository
    dry_run: bool
    verdicts: list[DistVerdict]
    credentials: Credentials
    credential_problems: list[str]
    uploaded: bool = False
    output: str = ""  # the uploader's output, with the password removed

    @property
    def ok(self) -> bool:
        """True when every file passed and the credentials are usable."""
        return all(v.ok for v in self.verdicts) and not self.credential_problems

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (never the password)."""
        return {
            "version": JSON_VERSION,
            "repository": self.repository.label,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "uploaded": self.uploaded,
            "files": [v.to_json() for v in self.verdicts],
            "credentials": {
                **self.credentials.to_json(),
                "problems": self.credential_problems,
            },
        }


def twine_command(python: str, repository: Repository, files: Sequence[Path]) -> list[str]:
    """The uploader's command line: no credentials in it (they go through the environment)."""
    argv = [python, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar"]
    argv.append("--verbose")  # the index's own error message, for the explanations
    if repository.url is not None and repository.url_secret is None:
        argv += ["--repository-url", repository.url]
    elif repository.url is not None:
        pass  # a URL holding a password goes through TWINE_REPOSITORY_URL (see publish)
    else:
        argv += ["--repository", repository.name or "pypi"]
    return argv + [str(path) for path in files]


def twine_env(
    env: Mapping[str, str], credentials: Credentials, *, anonymous: bool = False
) -> dict[str, str]:
    """The uploader's environment: credentials as TWINE_* variables, no stray repository setting.

    ``anonymous`` (an index without authentication): empty credentials, so that twine neither
    asks for them nor fails for want of them.
    """
    child = {
        key: value
        for key, value in env.items()
        if key
        not in {"TWINE_USERNAME", "TWINE_PASSWORD", "TWINE_REPOSITORY", "TWINE_REPOSITORY_URL"}
    }
    if credentials.password is not None:
        child["TWINE_USERNAME"] = credentials.username or TOKEN_USER
        child["TWINE_PASSWORD"] = credentials.password
    elif credentials.username is not None:
        child["TWINE_USERNAME"] = credentials.username
    elif anonymous:
        child["TWINE_USERNAME"] = ""
        child["TWINE_PASSWORD"] = ""
    child.setdefault("NO_COLOR", "1")
    # Wide enough that twine's console never wraps a message (a server's "... already exists"
    # line names the file): explain() reads one line at a time. A terminal's COLUMNS is overridden.
    child["COLUMNS"] = UPLOADER_COLUMNS
    return child


def publish(
    paths: Sequence[Path],
    *,
    repository: Repository,
    env: Mapping[str, str],
    python: str,
    dry_run: bool = False,
    checker: WheelChecker | None = None,
) -> PublishResult:
    """Gate ``paths`` and, unless ``dry_run`` or something was refused, upload them with twine.

    A refused file or credential is a result (``ok`` is False), not an exception; a failed upload
    raises CommandFailedError whose hint explains the uploader's error.
    """
    verdicts = gate(paths, checker=checker)
    credentials = read_credentials(env)
    trusted = bool(env.get("ACTIONS_ID_TOKEN_REQUEST_URL"))
    problems = credential_problems(
        credentials, token_rules=repository.token_rules, trusted_publishing=trusted or dry_run
    )
    result = PublishResult(repository, dry_run, verdicts, credentials, problems)
    if dry_run or not result.ok:
        return result
    if importlib.util.find_spec("twine") is None:
        msg = "the uploader twine is not installed"
        raise ToolchainError(msg, hint="python -m pip install twine")
    command = twine_command(python, repository, [v.path for v in verdicts])
    child_env = twine_env(env, credentials, anonymous=not repository.token_rules)
    if repository.url is not None and repository.url_secret is not None:
        # Not on the command line, which `zigwheel -v` logs and `ps` shows to every user.
        child_env["TWINE_REPOSITORY_URL"] = repository.url
    completed = _proc.run(command, env=child_env, check=False, timeout=UPLOAD_TIMEOUT)
    output = redact(redact(completed.stdout, credentials.password), repository.url_secret)
    if completed.returncode != 0:
        found = explain(output)
        hint = (
            " ".join(f"{item.title}: {item.fix}" for item in found)
            if found
            else "read the uploader's output above; `zigwheel explain` knows common upload errors"
        )
        msg = f"the upload to {repository.label} failed (twine exited with {completed.returncode})"
        raise CommandFailedError(
            msg,
            command=command,
            returncode=completed.returncode,
            output=_proc.tail(output),
            hint=hint,
        )
    result.uploaded = True
    result.output = output
    return result
