"""Wheel reading: file-name tags, RECORD order, and the caps that stop zip bombs."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path

import pytest

from zigwheel.compliance import archive as archive_module
from zigwheel.compliance.archive import Limits, WheelArchive, parse_wheel_name, unsafe_member_name
from zigwheel.errors import UnreadableInputError


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_compressed_tag_sets_expand() -> None:
    name = parse_wheel_name(
        "psutil-5.9.8-cp36-abi3-manylinux_2_12_x86_64.manylinux2010_x86_64."
        "manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    assert name.platforms == (
        "manylinux2010_x86_64",
        "manylinux2014_x86_64",
        "manylinux_2_12_x86_64",
        "manylinux_2_17_x86_64",
    )
    assert name.project == "psutil"


@pytest.mark.parametrize("bad", ["notawheel.zip", "a-b.whl", "x-1.0-py3-none.whl"])
def test_bad_wheel_names(bad: str) -> None:
    with pytest.raises(UnreadableInputError, match="not a wheel file name"):
        parse_wheel_name(bad)


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("pkg/mod.so", False),
        ("../evil.so", True),
        ("/etc/passwd", True),
        ("a/../../b", True),
        ("C:/x.so", True),
        ("pkg/..hidden", False),
    ],
)
def test_unsafe_member_names(name: str, unsafe: bool) -> None:
    assert unsafe_member_name(name) is unsafe


def test_record_order_and_directories(tmp_path: Path) -> None:
    wheel = _zip(
        tmp_path / "x-1.0-py3-none-any.whl",
        {
            "x/b.so": b"b",
            "x/a.so": b"a",
            "x.libs/l.so": b"l",
            "x-1.0.dist-info/RECORD": b"x/a.so,,\nx.libs/l.so,,\nx/b.so,,\n",
        },
    )
    with WheelArchive(wheel) as archive:
        assert archive.record_names() == [
            "x/a.so",
            "x.libs/l.so",
            "x/b.so",
        ]
        assert {"", "x", "x.libs", "x-1.0.dist-info"} <= archive.directories()
        assert archive.head("x/a.so") == b"a"
        assert archive.read("x/b.so") == b"b"


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/zeros.so": bytes(8 << 20)})
    size = Limits(max_member_bytes=1 << 20)
    with (
        WheelArchive(wheel, limits=size) as archive,
        pytest.raises(UnreadableInputError, match=r"over the 1048576 cap for one member \(zip"),
    ):
        archive.read("x/zeros.so")


def test_total_inflated_size_is_capped(tmp_path: Path) -> None:
    members = {f"x/{i}.so": bytes(range(256)) * 4096 for i in range(3)}  # 1 MiB each
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", members)
    with WheelArchive(wheel, limits=Limits(max_wheel_bytes=(5 << 20) // 2)) as archive:
        archive.read("x/0.so")
        archive.read("x/1.so")
        with pytest.raises(UnreadableInputError, match=r"x/2\.so: the wheel's members inflate"):
            archive.read("x/2.so")


def test_highly_compressible_members_of_real_size_are_read(tmp_path: Path) -> None:
    """A small library of zero-filled tables inflates hundreds of times (pillow's libXau: 223x):
    no ratio refuses it, only the absolute budgets count."""
    table = b"\x7fELF" + bytes(3 << 20) + bytes(range(256))
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/libXau.so": table})
    with zipfile.ZipFile(wheel) as raw:
        info = raw.getinfo("x/libXau.so")
        assert info.file_size > 500 * info.compress_size
    with WheelArchive(wheel) as archive:
        assert archive.read("x/libXau.so") == table


def test_inflated_bytes_are_counted_as_they_stream(tmp_path: Path) -> None:
    """A header that claims less than the member inflates to is caught, not trusted (zipfile
    stops at the header's size and then finds the CRC wrong; beyond, the counted chunks would)."""
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/a.so": bytes(3 << 20)})
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as raw:
        info = raw.getinfo("x/a.so")
    # the central directory's uncompressed size (offset 24 of its entry) says 1 MiB
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1 << 20)
    wheel.write_bytes(bytes(data))
    assert info.file_size == 3 << 20
    with (
        WheelArchive(wheel) as archive,
        pytest.raises(UnreadableInputError, match=r"x/a\.so (is larger|cannot be read)"),
    ):
        archive.read("x/a.so")


def test_scan_hashes_and_keeps_only_what_is_asked(tmp_path: Path) -> None:
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/a.txt": b"hello", "x/b.so": b"\x7fELF"})
    with WheelArchive(wheel) as archive:
        text = archive.scan("x/a.txt", keep=lambda head: head[:4] == b"\x7fELF", algorithm="sha256")
        assert (text.size, text.pieces) == (5, None)
        assert text.digest == hashlib.sha256(b"hello").digest()
        elf = archive.scan("x/b.so", keep=lambda head: head[:4] == b"\x7fELF")
        assert (elf.pieces, elf.digest) == (((0, b"\x7fELF"),), None)
    # A member big enough to be hashed on its own thread gives the same digest.
    big = bytes(range(256)) * (17 << 12)  # 17 MiB
    wheel = _zip(tmp_path / "y-1.0-py3-none-any.whl", {"y/big.bin": big})
    with WheelArchive(wheel) as archive:
        scanned = archive.scan("y/big.bin", keep=lambda _head: False, algorithm="sha256")
        assert scanned.digest == hashlib.sha256(big).digest()


def test_truncated_and_corrupt_archives(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x/a.so", b"\x7fELF" + bytes(4000))
    data = buffer.getvalue()
    truncated = tmp_path / "t-1.0-py3-none-any.whl"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableInputError, match="not a readable zip archive"):
        WheelArchive(truncated)
    corrupt = tmp_path / "c-1.0-py3-none-any.whl"
    corrupt.write_bytes(data[:40] + b"\xff" * 20 + data[60:])
    with WheelArchive(corrupt) as archive, pytest.raises(UnreadableInputError):
        archive.read("x/a.so")


def test_both_inflaters_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ISA-L's raw-stream reader and zipfile's agree, on deflated and stored members alike."""
    data = bytes(range(256)) * (9 << 12) + b"tail"  # over two 1 MiB chunks
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/a.so": data})
    with zipfile.ZipFile(wheel, "a", zipfile.ZIP_STORED) as raw:
        raw.writestr("x/b.so", data)
    found = []
    for inflater in (archive_module._INFLATE, None):
        monkeypatch.setattr(archive_module, "_INFLATE", inflater)
        with WheelArchive(wheel) as archive:
            for name in ("x/a.so", "x/b.so"):
                scanned = archive.scan(name, keep=lambda _head: True, algorithm="sha256")
                assert scanned.pieces is not None
                assert b"".join(chunk for _at, chunk in scanned.pieces) == data
                found.append(scanned.digest)
    assert found == [hashlib.sha256(data).digest()] * 4
