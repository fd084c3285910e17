"""The pre-commit hook, run by the real pre-commit tool against a temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLES, SCHEMAS

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def _try_hook(folder: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # The hook's environment gets the pure-Python wheel: the compiled build takes minutes
    # to build, and make test tests it from the wheel it builds itself.
    environment = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "MCFCHECK_PURE": "1"}
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "mcfcheck", "--all-files", "--verbose"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.mark.slow
def test_hook_passes_valid_samples_skips_schemas_and_fails_invalid_ones(tmp_path: Path) -> None:
    samples = tmp_path / "samples-repo"
    samples.mkdir()
    _git(samples, "init", "-q")
    _git(samples, "config", "user.email", "samples@example.com")
    _git(samples, "config", "user.name", "Samples")
    shutil.copy(SAMPLES / "cb-valid.xml", samples / "cb-valid.xml")
    # An XSD is XML too, but the hook must leave it alone (it has no bundled schema).
    shutil.copy(SCHEMAS / "mcf-1.0.xsd", samples / "mcf-1.0.xsd")
    _git(samples, "add", ".")
    home = tmp_path / "pre-commit-home"

    passing = _try_hook(samples, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "cb-valid.xml: valid" in passing.stdout
    assert not [line for line in passing.stdout.splitlines() if line.startswith("mcf-1.0.xsd:")]

    shutil.copy(SAMPLES / "status-value-invalid.xml", samples / "status-value-invalid.xml")
    _git(samples, "add", ".")
    failing = _try_hook(samples, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "status-value-invalid.xml: invalid, 1 error" in failing.stdout
