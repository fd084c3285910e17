"""Make docs/html-report.png and docs/stats-report.png: the HTML pages of validate and stats.

Run with ``make docs``. For the report, it generates one file per cohort with planted
errors and adds some of the shipped samples; for the statistics, one file per cohort.
It writes each page and takes a screenshot of it in headless Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import cohort_files, screenshot  # noqa: E402

SAMPLES = ("GEN003-mprn-check-digits-invalid.xml", "GEN010-unique-device-id-invalid.xml", "cb-valid.xml")


def _page(folder: Path, command: str, inputs: list[str], target: str, height: int) -> None:
    """Run ``mcfcheck COMMAND`` over ``inputs`` with its HTML page, and take a screenshot of the page."""
    page = folder / f"{command}.html"
    subprocess.run(
        [sys.executable, "-m", "mcfcheck", command, "--quiet", "-o", f"html={page}", *inputs],
        check=False,
        stdout=subprocess.DEVNULL,
        cwd=folder,
    )
    path = ROOT / "docs" / target
    screenshot(page.as_uri(), path, width=1280, height=height)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mcfcheck-docs-") as name:
        folder = Path(name)
        inputs = [path.name for path in cohort_files(folder, 2_000, error_rate=0.02, suffix="-cohort.xml")]
        for sample in SAMPLES:
            shutil.copyfile(ROOT / "samples" / sample, folder / sample)
        _page(folder, "validate", [*inputs, *SAMPLES], "html-report.png", 1500)
    with tempfile.TemporaryDirectory(prefix="mcfcheck-docs-") as name:
        folder = Path(name)
        inputs = [path.name for path in cohort_files(folder, 2_000, suffix="-cohort.xml")]
        _page(folder, "stats", inputs, "stats-report.png", 1700)


if __name__ == "__main__":
    main()
