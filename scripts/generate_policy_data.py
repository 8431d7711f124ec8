"""Regenerate src/zigwheel/data/policy/*.json from the installed auditwheel package's policy files.

The manylinux/musllinux policies (symbol-version sets, library whitelists, blacklists) are facts
maintained by pypa/auditwheel. zigwheel keeps a normalised copy as package data so that checks do
not need auditwheel at run time. Run after upgrading auditwheel:

    python scripts/generate_policy_data.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "src" / "zigwheel" / "data" / "policy"

# auditwheel's own architecture spelling (its Architecture enum values) -> wheel tag arch.
_TAG_ARCH = {
    "x86_64": "x86_64",
    "i686": "i686",
    "aarch64": "aarch64",
    "armv7l": "armv7l",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loongarch64",
}


def _normalise(policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": policy["name"],
        "aliases": sorted(policy["aliases"]),
        "priority": policy["priority"],
        "symbol_versions": {
            arch: {ns: sorted(versions) for ns, versions in sorted(spaces.items())}
            for arch, spaces in sorted(policy["symbol_versions"].items())
        },
        "lib_whitelist": sorted(policy["lib_whitelist"]),
        "blacklist": {lib: sorted(syms) for lib, syms in sorted(policy["blacklist"].items())},
    }


def _musl_libc_sonames() -> dict[str, str]:
    """The musl libc soname per architecture that replaces the whitelist's generic 'libc.so'."""
    from auditwheel.architecture import Architecture  # noqa: PLC0415 - only this script needs it
    from auditwheel.libc import Libc  # noqa: PLC0415
    from auditwheel.policy import _fixup_musl_libc_soname  # noqa: PLC0415

    result: dict[str, str] = {}
    for arch_name, tag_arch in _TAG_ARCH.items():
        if arch_name == "ppc64":
            continue  # no musl port
        (soname,) = _fixup_musl_libc_soname(Libc.MUSL, Architecture(arch_name), ["libc.so"])
        result[tag_arch] = soname
    return result


def main(argv: list[str] | None = None) -> int:
    import auditwheel.policy  # noqa: PLC0415 - a dev dependency, imported on use

    parser = argparse.ArgumentParser(description="Regenerate zigwheel's policy data.")
    parser.add_argument(
        "--output", type=Path, default=OUT, help="folder to write (default: %(default)s)"
    )
    out = parser.parse_args(argv).output
    source_dir = Path(auditwheel.policy.__file__).parent
    version = metadata.version("auditwheel")
    out.mkdir(parents=True, exist_ok=True)
    for libc, stem in (("glibc", "manylinux"), ("musl", "musllinux")):
        raw = (source_dir / f"{stem}-policy.json").read_bytes()
        document: dict[str, Any] = {
            "generated_by": "scripts/generate_policy_data.py",
            "source": f"auditwheel {version} {stem}-policy.json",
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "libc": libc,
            "policies": [_normalise(p) for p in json.loads(raw)],
        }
        if libc == "musl":
            document["libc_soname"] = _musl_libc_sonames()
        target = out / f"{stem}.json"
        target.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {target} from auditwheel {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
