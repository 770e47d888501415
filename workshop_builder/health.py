"""Container health check: ``python -m workshop_builder.health``.

Proves the app can import and render content, without writing anything.
Exit 0 when healthy, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

HEALTH_TOPIC = "Health check"
HEALTH_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def check() -> None:
    """Raise if the CLI or the offline generator is unusable."""
    # Imported inside so that an import failure becomes a reported result.
    import workshop_builder.cli  # noqa: F401
    from workshop_builder.generators import get_generator
    from workshop_builder.writer import check_modules

    modules = get_generator("offline").generate(HEALTH_TOPIC, now=HEALTH_TIME)
    check_modules(modules)
    if HEALTH_TOPIC not in modules[0].body:
        raise RuntimeError("rendered module does not mention its topic")


def main() -> int:
    try:
        check()
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
