"""zigwheel: Docker-free manylinux/musllinux wheels for Rust/PyO3 projects, built with zig."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
