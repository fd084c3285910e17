"""Make docs/html-report.png: the HTML report of a run over generated files of every cohort.

Run with ``make docs``. It generates one file per cohort with planted errors, adds
some of the shipped samples, writes the HTML report and takes a screenshot of it in
headless Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import screenshot  # noqa: E402

from mcfcheck.generate import MCFGenerator  # noqa: E402
from mcfcheck.rules.cohorts import builtin_cohorts  # noqa: E402

SAMPLES = ("GEN003-mprn-check-digits-invalid.xml", "GEN010-unique-device-id-invalid.xml", "cb-valid.xml")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mcfcheck-docs-") as folder:
        inputs = []
        for seed, (name, cohort) in enumerate(builtin_cohorts().items()):
            path = Path(folder) / f"{name.lower()}-cohort.xml"
            MCFGenerator(cohort, seed=seed, error_rate=0.02).write(path, 2_000)
            inputs.append(path.name)
        for name in SAMPLES:
            shutil.copyfile(ROOT / "samples" / name, Path(folder) / name)
            inputs.append(name)
        report = Path(folder) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "mcfcheck", "validate", "--quiet", "-o", f"html={report}", *inputs],
            check=False,
            stdout=subprocess.DEVNULL,
            cwd=folder,
        )
        target = ROOT / "docs" / "html-report.png"
        screenshot(report.as_uri(), target, width=1280, height=1500)
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
