"""The one place zigwheel's version is written (read by the build backend and the package root)."""

from __future__ import annotations

__version__ = "0.1.0"
