"""README's Reliability section states the counts this suite really has."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.conftest import PROJECT_DIR
from tests.reliability.conftest import CATEGORIES, category_of, summary_line

HERE = Path(__file__).resolve().parent


def collected() -> Counter[str]:
    """Tests per category, as pytest collects them (every parametrized case)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q",
         "-p", "no:cacheprovider", str(HERE)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        check=False,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    counts: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        category = category_of(line.strip()) if "::" in line else None
        if category is not None:
            counts[category] += 1
    return counts


def reliability_section(readme: str) -> str:
    start = readme.index("\n## Reliability\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_readme_states_the_counts_the_suite_collects() -> None:
    counts = collected()
    section = reliability_section((PROJECT_DIR / "README.md").read_text())

    assert set(counts) == set(CATEGORIES.values())
    assert summary_line(counts) in section
    assert counts["bad-input"] >= 60
    assert counts["faults"] >= 12
    for category, number in counts.items():
        title = category.replace("-", " ").capitalize()
        assert f"**{title}** ({number})" in section
