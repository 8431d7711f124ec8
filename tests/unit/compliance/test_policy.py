"""Policy data: equal to the installed auditwheel's, validated on load, same ladder decisions."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import auditwheel.policy as aw_policy
import pytest
from auditwheel.architecture import Architecture
from auditwheel.libc import Libc
from hypothesis import given, settings
from hypothesis import strategies as st

from zigwheel.compliance.policy import (
    GLIBC,
    MUSL,
    build_flag,
    ladder,
    load_document,
    parse_platform_tag,
    validate_policy_document,
)
from zigwheel.errors import DataError
from zigwheel.resources import data_dir

AUDITWHEEL_DIR = Path(aw_policy.__file__).parent
ARCHES = (
    "x86_64",
    "i686",
    "aarch64",
    "armv7l",
    "ppc64le",
    "ppc64",
    "s390x",
    "riscv64",
    "loongarch64",
)


def _auditwheel(stem: str) -> list[dict[str, Any]]:
    document: list[dict[str, Any]] = json.loads(
        (AUDITWHEEL_DIR / f"{stem}-policy.json").read_text()
    )
    return document


@pytest.mark.parametrize(("libc", "stem"), [(GLIBC, "manylinux"), (MUSL, "musllinux")])
def test_shipped_data_equals_installed_auditwheel(libc: str, stem: str) -> None:
    ours = {p["name"]: p for p in load_document(libc)["policies"]}
    theirs = {p["name"]: p for p in _auditwheel(stem)}
    assert ours.keys() == theirs.keys()
    for name, policy in theirs.items():
        mine = ours[name]
        assert mine["priority"] == policy["priority"]
        assert sorted(mine["aliases"]) == sorted(policy["aliases"])
        assert set(mine["lib_whitelist"]) == set(policy["lib_whitelist"])
        assert {k: set(v) for k, v in mine["blacklist"].items()} == {
            k: set(v) for k, v in policy["blacklist"].items()
        }
        assert {
            a: {ns: set(v) for ns, v in spaces.items()}
            for a, spaces in mine["symbol_versions"].items()
        } == {
            a: {ns: set(v) for ns, v in spaces.items()}
            for a, spaces in policy["symbol_versions"].items()
        }


@pytest.mark.parametrize("arch", ARCHES)
def test_ladder_equals_auditwheel_policies(arch: str) -> None:
    theirs = aw_policy.WheelPolicies(libc=Libc.GLIBC, arch=Architecture(arch))
    ours = ladder(GLIBC, arch)
    assert [p.tag for p in ours] == [p.name for p in theirs]
    for mine, policy in zip(ours, theirs):
        assert mine.priority == policy.priority
        assert mine.whitelist == policy.whitelist
        assert {k: set(v) for k, v in mine.blacklist.items()} == {
            k: set(v) for k, v in policy.blacklist.items()
        }


@pytest.mark.parametrize("arch", [a for a in ARCHES if a != "ppc64"])
def test_musl_whitelist_names_the_musl_loader(arch: str) -> None:
    theirs = aw_policy.WheelPolicies(
        libc=Libc.MUSL, arch=Architecture(arch), musl_policy="musllinux_1_2"
    )
    ours = ladder(MUSL, arch).get("musllinux_1_2")
    assert ours is not None
    # auditwheel names musl by its loader's name only; upstream musl's soname "libc.so" (what zig
    # and most musl cross toolchains link) is musl too, and allowed beside it.
    assert ours.whitelist == theirs.highest.whitelist | {"libc.so"}


@settings(max_examples=300, deadline=None, database=None)
@given(
    arch=st.sampled_from(["x86_64", "aarch64", "i686", "ppc64le"]),
    data=st.data(),
)
def test_versions_policy_agrees_with_auditwheel(arch: str, data: st.DataObject) -> None:
    ours = ladder(GLIBC, arch)
    pool = sorted({v for p in ours for space in p.symbol_versions.values() for v in space})
    pool += ["GLIBC_PRIVATE", "GLIBC_2.99", "GFORTRAN_8", "OPENSSL_3.0.0"]
    needed = set(data.draw(st.lists(st.sampled_from(pool), max_size=6)))
    theirs = aw_policy.WheelPolicies(libc=Libc.GLIBC, arch=Architecture(arch))
    expected = theirs.versioned_symbols_policy({"libx.so": needed}).name
    assert ours.versions_policy(needed).tag == expected


def _valid() -> dict[str, Any]:
    return copy.deepcopy(load_document(GLIBC))


def test_validation_accepts_the_shipped_data() -> None:
    assert len(validate_policy_document(_valid(), source="test")) > 10


@pytest.mark.parametrize(
    "breakage",
    [
        "drop_whitelist",
        "drop_version",
        "duplicate_priority",
        "no_linux",
        "priority_order",
        "not_a_list",
        "no_aliases",
        "alias_not_text",
        "versions_not_a_list",
        "arch_not_a_mapping",
        "blacklist_not_a_list",
        "soname_not_text",
    ],
)
def test_validation_rejects_broken_data(breakage: str) -> None:
    document = _valid()
    policies = {p["name"]: p for p in document["policies"]}
    if breakage == "drop_whitelist":
        policies["manylinux_2_28"]["lib_whitelist"].remove("libz.so.1")
    elif breakage == "drop_version":
        policies["manylinux_2_28"]["symbol_versions"]["x86_64"]["GLIBC"].remove("2.17")
    elif breakage == "duplicate_priority":
        policies["manylinux_2_28"]["priority"] = policies["manylinux_2_27"]["priority"]
    elif breakage == "no_linux":
        document["policies"] = [p for p in document["policies"] if p["name"] != "linux"]
    elif breakage == "priority_order":
        policies["manylinux_2_5"]["priority"] = 1
    elif breakage == "no_aliases":
        del policies["manylinux_2_17"]["aliases"]
    elif breakage == "alias_not_text":
        policies["manylinux_2_17"]["aliases"] = [2014]
    elif breakage == "versions_not_a_list":
        policies["manylinux_2_17"]["symbol_versions"]["x86_64"]["GLIBC"] = "2.17"
    elif breakage == "arch_not_a_mapping":
        policies["manylinux_2_17"]["symbol_versions"]["x86_64"] = ["GLIBC_2.17"]
    elif breakage == "blacklist_not_a_list":
        policies["manylinux_2_17"]["blacklist"]["libz.so.1"] = None
    elif breakage == "soname_not_text":
        document["libc_soname"] = {"x86_64": 1}
    else:
        document["policies"] = {"not": "a list"}
    with pytest.raises(DataError, match="policy data test is invalid"):
        validate_policy_document(document, source="test")


@pytest.mark.parametrize(
    ("tag", "libc", "version", "baseline"),
    [
        ("manylinux1_x86_64", GLIBC, (2, 5), "x86_64"),
        ("manylinux2010_i686", GLIBC, (2, 12), "i686"),
        ("manylinux2014_aarch64", GLIBC, (2, 17), "aarch64"),
        ("manylinux_2_28_ppc64le", GLIBC, (2, 28), "ppc64le"),
        ("manylinux_2_17_x86_64_v3", GLIBC, (2, 17), "x86_64"),
        ("musllinux_1_2_armv7l", MUSL, (1, 2), "armv7l"),
        ("linux_x86_64", "linux", None, "x86_64"),
        ("linux_armv6l", "linux", None, None),
        ("macosx_11_0_arm64", None, None, None),
        ("any", None, None, None),
    ],
)
def test_parse_platform_tag(
    tag: str, libc: str | None, version: tuple[int, int] | None, baseline: str | None
) -> None:
    parsed = parse_platform_tag(tag)
    assert (parsed.libc, parsed.version, parsed.baseline) == (libc, version, baseline)


def test_for_version_and_build_flag() -> None:
    x86 = ladder(GLIBC, "x86_64")
    policy = x86.for_version((2, 29))
    assert policy is not None
    assert policy.name == "manylinux_2_28"
    assert ladder(GLIBC, "aarch64").for_version((2, 12)) is None
    assert build_flag(policy) == "--manylinux 2_28"
    musl = ladder(MUSL, "x86_64").get("musllinux_1_1")
    assert musl is not None
    assert build_flag(musl) == "--musllinux 1_1"
    with pytest.raises(ValueError, match="linux"):
        build_flag(x86.linux)
    assert x86.highest.display() == "manylinux_2_5_x86_64 (manylinux1)"


def test_generator_script_reproduces_the_shipped_files(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[3] / "scripts" / "generate_policy_data.py"
    result = subprocess.run(
        [sys.executable, str(script), "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shipped = data_dir() / "policy"
    for name in ("manylinux.json", "musllinux.json"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name
