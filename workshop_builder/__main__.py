"""Entry point for ``python -m workshop_builder``."""

from __future__ import annotations

from workshop_builder.cli import main

if __name__ == "__main__":
    main()
