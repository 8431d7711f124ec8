"""Entry point for ``python -m zigwheel``."""

from __future__ import annotations

from zigwheel.cli import main

if __name__ == "__main__":
    main()
