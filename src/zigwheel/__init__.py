"""zigwheel: Docker-free manylinux/musllinux wheels for Rust/PyO3 projects, built with zig."""

from __future__ import annotations

from zigwheel._version import __version__

__all__ = ["__version__"]
