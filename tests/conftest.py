"""Shared fixtures: the repository's folders and small generated MCFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcfcheck.cohorts import builtin_cohorts
from mcfcheck.generate import MCFGenerator

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SCHEMAS = ROOT / "schemas"


@pytest.fixture
def write_mcf(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a generated MCF (or given text) into the test's folder and return its path."""

    def write(text: str | None = None, name: str = "file.xml", cohort: str = "CB", installations: int = 3) -> Path:
        path = tmp_path / name
        if text is None:
            text = "".join(MCFGenerator(builtin_cohorts()[cohort], seed=5).iter_text(installations))
        path.write_text(text, encoding="utf-8")
        return path

    return write
