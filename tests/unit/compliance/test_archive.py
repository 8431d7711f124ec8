"""Wheel reading: file-name tags, RECORD order, and the caps that stop zip bombs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

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
    ratio = Limits(ratio_floor=1 << 20, max_ratio=100)
    with (
        WheelArchive(wheel, limits=ratio) as archive,
        pytest.raises(UnreadableInputError, match="bomb"),
    ):
        archive.read("x/zeros.so")
    size = Limits(max_member_bytes=1 << 20)
    with (
        WheelArchive(wheel, limits=size) as archive,
        pytest.raises(UnreadableInputError, match="cap"),
    ):
        archive.read("x/zeros.so")


def test_total_inflated_size_is_capped(tmp_path: Path) -> None:
    members = {f"x/{i}.so": bytes(range(256)) * 4096 for i in range(3)}  # 1 MiB each
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", members)
    with WheelArchive(wheel, limits=Limits(max_wheel_bytes=(5 << 20) // 2)) as archive:
        archive.read("x/0.so")
        archive.read("x/1.so")
        with pytest.raises(UnreadableInputError, match="inflate to more than"):
            archive.read("x/2.so")


def test_large_members_get_a_stricter_ratio(tmp_path: Path) -> None:
    """A small wheel cannot hold a member that inflates to gigabytes (scaled down here)."""
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", {"x/big.so": bytes(8 << 20)})
    lenient = Limits(max_ratio=1 << 20, large_member_bytes=16 << 20, large_ratio=20)
    with WheelArchive(wheel, limits=lenient) as archive:
        assert len(archive.read("x/big.so")) == 8 << 20
    strict = Limits(max_ratio=1 << 20, large_member_bytes=4 << 20, large_ratio=20)
    with (
        WheelArchive(wheel, limits=strict) as archive,
        pytest.raises(UnreadableInputError, match="over the 20x cap for its size"),
    ):
        archive.read("x/big.so")


def test_whole_wheel_inflation_scales_with_its_size(tmp_path: Path) -> None:
    members = {f"x/{i}.so": bytes(4 << 20) for i in range(3)}  # 12 MiB from a ~40 KB wheel
    wheel = _zip(tmp_path / "x-1.0-py3-none-any.whl", members)
    limits = Limits(max_ratio=1 << 20, wheel_floor=6 << 20, wheel_ratio=20)
    with WheelArchive(wheel, limits=limits) as archive:
        archive.read("x/0.so")
        with pytest.raises(UnreadableInputError, match=r"x/1\.so: the wheel's members inflate"):
            archive.read("x/1.so")


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
