"""zigwheel publish against a real local index (pypiserver) with the real uploader (twine)."""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from passlib.apache import HtpasswdFile

from zigwheel.explain import load_rules

ARCH = platform.machine()
USER = "alice"
SECRET = "s3cret-Publish-Pass"  # must never show up in zigwheel's output
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 300


@dataclass(frozen=True)
class Index:
    """A running pypiserver: its upload URL, simple index URL and package folder."""

    url: str
    simple: str
    packages: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_index(root: Path, *, auth: bool) -> Iterator[Index]:
    packages = root / "packages"
    packages.mkdir(parents=True)
    if auth:
        htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
        htpasswd.set_password(USER, SECRET)
        htpasswd.save()
        access = ["-P", str(root / "htpasswd"), "-a", "update"]
    else:
        access = ["-P", ".", "-a", "."]  # pypiserver's spelling of "no authentication at all"
    port = _free_port()
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
         *access, str(packages)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{base}/simple/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"pypiserver did not start: {(root / 'server.log').read_text()}")
                time.sleep(0.2)
        yield Index(url=f"{base}/", simple=f"{base}/simple/", packages=packages)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    """A local index that requires USER/SECRET for uploads (downloads are open)."""
    yield from _start_index(tmp_path / "index", auth=True)


@pytest.fixture
def open_index(tmp_path: Path) -> Iterator[Index]:
    """A local index that takes uploads without credentials."""
    yield from _start_index(tmp_path / "open-index", auth=False)


# --- wheels --------------------------------------------------------------------------------------

EXTENSION = """
#define Py_LIMITED_API 0x03090000
#include <Python.h>
#include <string.h>
#include <stdio.h>
static PyObject *answer(PyObject *self, PyObject *args) {
    (void)self; (void)args;
#ifdef NEW_GLIBC
    char buf[4]; strlcpy(buf, "42", sizeof buf); return PyLong_FromLong(atol(buf));
#else
    return PyLong_FromLong(42);
#endif
}
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "42"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "NAME", NULL, -1, methods};
PyMODINIT_FUNC PyInit_NAME(void) { return PyModule_Create(&module); }
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_extension_wheel(
    out: Path, name: str, *, glibc: str = "2.17", tag_glibc: str = "2_17"
) -> Path:
    """A real abi3 extension wheel: a C module compiled and linked by zig for ``glibc``."""
    work = out / f"build-{name}"
    work.mkdir(parents=True)
    source = work / f"{name}.c"
    source.write_text(EXTENSION.replace("NAME", name))
    library = work / f"{name}.abi3.so"
    defines = ["-DNEW_GLIBC"] if glibc >= "2.38" else []
    compiled = subprocess.run(
        [sys.executable, "-m", "ziglang", "cc", "-target", f"{ARCH}-linux-gnu.{glibc}", "-shared",
         "-fPIC", "-O2", *defines, "-I", sysconfig.get_paths()["include"], "-o", str(library),
         str(source)],
        capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    tag = f"cp39-abi3-manylinux_{tag_glibc}_{ARCH}"
    wheel = out / f"{name}-0.1.0-{tag}.whl"
    members = {
        f"{name}.abi3.so": library.read_bytes(),
        f"{name}-0.1.0.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\nRequires-Python: >=3.9\n"
        ).encode(),
        f"{name}-0.1.0.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: zigwheel-tests\nRoot-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
    }
    record = [_record_line(member, data) for member, data in members.items()]
    record.append(f"{name}-0.1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        archive.writestr(f"{name}-0.1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture(scope="session")
def publishable_wheel(example_wheel: Callable[..., Path]) -> tuple[Path, str]:
    """(wheel, module): examples/hello-abi3 built by zigwheel (a real maturin build: the tests
    that use it are marked slow). A failed build fails them; there is no stand-in wheel."""
    return example_wheel("hello-abi3", ARCH), "hello_abi3"


def _publish(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWINE_", "ZIGWHEEL_PYPI", "MATURIN_PYPI"))
    }
    full_env.update(env)
    full_env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", "publish", *args],
        capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT, env=full_env,
    )  # fmt: skip


def _assert_secret_hidden(result: subprocess.CompletedProcess[str]) -> None:
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_upload_then_install_from_the_index(
    index: Index, publishable_wheel: tuple[Path, str], tmp_path: Path
) -> None:
    wheel, module = publishable_wheel
    credentials = {"TWINE_USERNAME": USER, "TWINE_PASSWORD": SECRET}
    result = _publish("--repository-url", index.url, str(wheel), env=credentials)
    _assert_secret_hidden(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (index.packages / wheel.name).is_file()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=COMMAND_TIMEOUT)
    python = venv / "bin" / "python"
    project = wheel.name.split("-")[0]
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
         "--index-url", index.simple, project],
        capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    imported = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.__file__)"],
        capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert str(venv) in imported.stdout

    again = _publish("--repository-url", index.url, str(wheel), env=credentials)
    _assert_secret_hidden(again)
    assert again.returncode == 5
    # Explained by zigwheel (twine's own message also says "already"): its title and its fix.
    (rule,) = [rule for rule in load_rules() if rule.id == "upload-file-exists"]
    said = " ".join(again.stderr.split())  # the console wraps long lines
    assert rule.title in said
    assert "--skip-existing" in said


@pytest.mark.slow
def test_wrong_password_is_refused_explained_and_not_printed(
    index: Index, publishable_wheel: tuple[Path, str]
) -> None:
    wheel, _ = publishable_wheel
    wrong = SECRET + "-wrong"
    result = _publish(
        "--repository-url", index.url, str(wheel),
        env={"TWINE_USERNAME": USER, "TWINE_PASSWORD": wrong},
    )  # fmt: skip
    assert result.returncode == 5, result.stdout + result.stderr
    assert wrong not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "403 Forbidden" in result.stderr
    assert "refused the upload" in result.stderr  # the explanation of upload-forbidden
    assert not (index.packages / wheel.name).exists()


@pytest.mark.slow
def test_json_result_of_an_upload(index: Index, publishable_wheel: tuple[Path, str]) -> None:
    import json  # noqa: PLC0415

    wheel, _ = publishable_wheel
    result = _publish(
        "--json", "--repository-url", index.url, str(wheel),
        env={"ZIGWHEEL_PYPI_TOKEN": "", "TWINE_USERNAME": USER, "TWINE_PASSWORD": SECRET},
    )  # fmt: skip
    _assert_secret_hidden(result)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["uploaded"] is True
    assert document["credentials"] == {
        "source": "TWINE_PASSWORD", "username": USER, "password": "set", "problems": []
    }  # fmt: skip
    (entry,) = document["files"]
    assert entry["ok"] is True
    assert entry["policy"].startswith("manylinux_2_17") or entry["policy"].startswith(
        "manylinux_2_5"
    )


def test_custom_index_without_credentials(open_index: Index, tmp_path: Path) -> None:
    wheel = build_extension_wheel(tmp_path, "openext")
    result = _publish("--repository-url", open_index.url, str(wheel), env={})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (open_index.packages / wheel.name).is_file()


def test_non_compliant_wheel_is_never_uploaded(open_index: Index, tmp_path: Path) -> None:
    """A wheel tagged manylinux_2_17 whose library needs GLIBC_2.38 fails the check gate."""
    wheel = build_extension_wheel(tmp_path, "newext", glibc="2.39", tag_glibc="2_17")
    result = _publish("--repository-url", open_index.url, str(wheel), env={})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REFUSED" in result.stdout
    assert "GLIBC_2.38" in result.stdout
    assert "nothing was uploaded" in result.stderr
    assert list(open_index.packages.iterdir()) == []


def test_anonymous_upload_to_a_protected_index_is_refused_and_explained(
    index: Index, tmp_path: Path
) -> None:
    wheel = build_extension_wheel(tmp_path, "nocreds")
    result = _publish("--repository-url", index.url, str(wheel), env={})
    assert result.returncode == 5, result.stdout + result.stderr
    assert "401 Unauthorized" in result.stderr
    assert "did not accept the credentials" in result.stderr  # explained
    assert not (index.packages / wheel.name).exists()
